"""Sealed mail secrets; the bodies of mails already sent are emptied (they held PINs and links in clear)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_secrets', sa.Text(), nullable=True))
    op.execute("UPDATE outbound_mail SET text_body = '', html_body = NULL WHERE sent_at IS NOT NULL")


def downgrade():
    with op.batch_alter_table('outbound_mail', schema=None) as batch_op:
        batch_op.drop_column('sealed_secrets')
