"""Mail change: an opaque confirmation token, stored as its digest, with its expiry

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_change_token_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('email_change_expires_at', sa.DateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_agent_email_change_token_digest'), ['email_change_token_digest'],
                              unique=True)


def downgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_email_change_token_digest'))
        batch_op.drop_column('email_change_expires_at')
        batch_op.drop_column('email_change_token_digest')
