"""speech: the page's name for each recording (upload_key), kept once per person

A recording whose upload is sent again, because the answer to the first try was lost on the way,
is then measured and kept once. Rows from before have no key and stay as they are.

Revision ID: 0017_speech_upload_key
Revises: 0016_person_standing
Create Date: 2026-12-06

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_speech_upload_key'
down_revision = '0016_person_standing'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('speech_attempt', sa.Column('upload_key', sa.String(length=40), nullable=True))
    op.create_index('ix_speech_attempt_upload', 'speech_attempt', ['user_id', 'upload_key'], unique=True)


def downgrade():
    op.drop_index('ix_speech_attempt_upload', table_name='speech_attempt')
    op.drop_column('speech_attempt', 'upload_key')
