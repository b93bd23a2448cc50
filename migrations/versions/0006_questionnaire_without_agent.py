"""A questionnaire may match no agent (numéro and birth date kept, no agent)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_change_request', schema=None) as batch_op:
        batch_op.alter_column('agent_id', existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.execute("DELETE FROM mail_change_request WHERE agent_id IS NULL")
    with op.batch_alter_table('mail_change_request', schema=None) as batch_op:
        batch_op.alter_column('agent_id', existing_type=sa.Integer(), nullable=False)
