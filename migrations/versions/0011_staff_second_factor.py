"""Staff: a second factor (TOTP secret sealed, last step used, recovery codes) and the lead flag

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, not a batch copy: on SQLite a copy of delegation_staff fails as soon as
    # sessions or audit rows refer to a staff member.
    op.add_column('delegation_staff', sa.Column('lead', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('delegation_staff', sa.Column('totp_secret_sealed', sa.Text(), nullable=True))
    op.add_column('delegation_staff', sa.Column('totp_enrolled_at', sa.DateTime(), nullable=True))
    op.add_column('delegation_staff', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
    op.create_table(
        "staff_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["delegation_staff.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("staff_recovery_code", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_recovery_code_staff_id"), ["staff_id"], unique=False)


def downgrade():
    with op.batch_alter_table('staff_recovery_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_recovery_code_staff_id'))
    op.drop_table('staff_recovery_code')
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL), for the reason given in upgrade().
    for column in ('totp_last_step', 'totp_enrolled_at', 'totp_secret_sealed', 'lead'):
        op.execute(f'ALTER TABLE delegation_staff DROP COLUMN {column}')
