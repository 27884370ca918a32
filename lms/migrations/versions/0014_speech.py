"""spoken practice: measured recordings per person, and the audio when the organisation keeps it

Revision ID: 0014_speech
Revises: 0013_question_search
Create Date: 2026-12-03

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_speech'
down_revision = '0013_question_search'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('speech_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('set_key', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('characters', sa.Integer(), nullable=False),
    sa.Column('total_seconds', sa.Float(), nullable=False),
    sa.Column('voiced_seconds', sa.Float(), nullable=False),
    sa.Column('first_voice_at', sa.Float(), nullable=True),
    sa.Column('pauses', sa.JSON(), nullable=False),
    sa.Column('syllables', sa.Integer(), nullable=False),
    sa.Column('rate', sa.Float(), nullable=True),
    sa.Column('band_low', sa.Integer(), nullable=False),
    sa.Column('band_high', sa.Integer(), nullable=False),
    sa.Column('in_band', sa.Boolean(), nullable=True),
    sa.Column('too_short', sa.Boolean(), nullable=False),
    sa.Column('rings', sa.Integer(), nullable=True),
    sa.Column('ring_limit', sa.Integer(), nullable=True),
    sa.Column('answered_in_time', sa.Boolean(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_speech_attempt_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_speech_attempt'))
    )
    op.create_index(op.f('ix_speech_attempt_user_id'), 'speech_attempt', ['user_id'], unique=False)
    op.create_index(op.f('ix_speech_attempt_created_at'), 'speech_attempt', ['created_at'], unique=False)
    op.create_table('speech_audio',
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('wav', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['attempt_id'], ['speech_attempt.id'], name=op.f('fk_speech_audio_attempt_id_speech_attempt'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('attempt_id', name=op.f('pk_speech_audio'))
    )


def downgrade():
    op.drop_table('speech_audio')
    op.drop_index(op.f('ix_speech_attempt_created_at'), table_name='speech_attempt')
    op.drop_index(op.f('ix_speech_attempt_user_id'), table_name='speech_attempt')
    op.drop_table('speech_attempt')
