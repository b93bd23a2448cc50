"""Passkeys (« clés d'accès »): one table for agents' and staff's WebAuthn credentials

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08

Exactly one owner per row (a check constraint); the credential id is unique across the site.
The ceremonies' challenges live in `flow_state` (single use, five minutes): no table of their own.
"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "passkey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("credential_id", sa.LargeBinary(length=1023), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("sign_count", sa.BigInteger(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.Column("user_handle", sa.LargeBinary(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_used_at", sa.DateTime(), nullable=True),
        sa.Column("cloned_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("(agent_id IS NULL) <> (staff_id IS NULL)", name="ck_passkey_one_owner"),
        sa.ForeignKeyConstraint(["agent_id"], ["agent.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["staff_id"], ["delegation_staff.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_id"),
    )
    op.create_index("ix_passkey_agent_id", "passkey", ["agent_id"], unique=False)
    op.create_index("ix_passkey_staff_id", "passkey", ["staff_id"], unique=False)


def downgrade():
    op.drop_index("ix_passkey_staff_id", table_name="passkey")
    op.drop_index("ix_passkey_agent_id", table_name="passkey")
    op.drop_table("passkey")
