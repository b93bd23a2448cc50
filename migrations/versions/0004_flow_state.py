"""Server-side flow state (wizard steps, keypad layouts)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('flow_state',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('flow_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_flow_state_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('flow_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_flow_state_expires_at'))
    op.drop_table('flow_state')
