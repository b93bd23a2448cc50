"""Charter version accepted by each agent; the word table of the commune search

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

Agents who accepted the charter before it had versions are recorded as having accepted the
first one (2026-11); `flask setup` fills `commune_word` from the communes.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('charter_version', sa.String(length=40), nullable=True))
    op.execute("UPDATE agent SET charter_version = '2026-11' WHERE charter_accepted_at IS NOT NULL")
    op.create_table('commune_word',
    sa.Column('word', sa.String(length=120), nullable=False),
    sa.Column('insee', sa.String(length=5), nullable=False),
    sa.ForeignKeyConstraint(['insee'], ['commune.insee'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('word', 'insee')
    )
    with op.batch_alter_table('commune_word', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_commune_word_insee'), ['insee'], unique=False)


def downgrade():
    with op.batch_alter_table('commune_word', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_commune_word_insee'))
    op.drop_table('commune_word')
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_column('charter_version')
