"""Daily login cap and single-use provisional PINs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_blocked_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('provisional_used_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('provisional_used_at')
        batch_op.drop_column('pin_blocked_at')
