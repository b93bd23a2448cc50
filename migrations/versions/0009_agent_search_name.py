"""Agent search in the back office: a folded, indexed `search_name` filled for every agent; mail found in any case

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

from cgos.reference_data import normalize_search_text


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade():
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_name', sa.String(length=201), nullable=False, server_default=''))
    agent = sa.table('agent', sa.column('id', sa.Integer), sa.column('last_name', sa.String),
                     sa.column('first_name', sa.String), sa.column('search_name', sa.String))
    connection = op.get_bind()
    last_id = 0
    while True:
        rows = connection.execute(
            sa.select(agent.c.id, agent.c.last_name, agent.c.first_name)
            .where(agent.c.id > last_id).order_by(agent.c.id).limit(BATCH)
        ).all()
        if not rows:
            break
        connection.execute(
            agent.update().where(agent.c.id == sa.bindparam('agent_id')),
            [{'agent_id': id_, 'search_name': normalize_search_text(f'{last} {first}')} for id_, last, first in rows],
        )
        last_id = rows[-1][0]
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_search_name'), ['search_name'], unique=False)
    op.create_index('ix_agent_email_lower', 'agent', [sa.text('lower(email)')], unique=False)


def downgrade():
    op.drop_index('ix_agent_email_lower', table_name='agent')
    with op.batch_alter_table('agent', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_search_name'))
        batch_op.drop_column('search_name')
