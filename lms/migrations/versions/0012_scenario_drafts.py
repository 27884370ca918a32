"""scenario drafts: the editor's unpublished text, one per scenario

Revision ID: 0012_scenario_drafts
Revises: 0011
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_scenario_drafts'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scenario_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scenario_id', sa.Integer(), nullable=False),
    sa.Column('yaml_text', sa.Text(), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['scenario_id'], ['scenario.id'], name=op.f('fk_scenario_draft_scenario_id_scenario')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_scenario_draft_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scenario_draft')),
    sa.UniqueConstraint('scenario_id', name=op.f('uq_scenario_draft_scenario_id'))
    )


def downgrade():
    op.drop_table('scenario_draft')
