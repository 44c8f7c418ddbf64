"""thread_events: what changed in each thread, for readers' live streams

Revision ID: 0007_live_events
Revises: 0006_reader_sessions
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0007_live_events'
down_revision = '0006_reader_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'thread_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=True),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('created', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_events_thread_id_threads'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_events')),
    )
    op.create_index('ix_thread_events_thread_id_id', 'thread_events', ['thread_id', 'id'])
    op.create_index('ix_thread_events_created', 'thread_events', ['created'])
    op.create_index('ix_thread_events_comment_id', 'thread_events', ['comment_id'])


def downgrade() -> None:
    op.drop_index('ix_thread_events_comment_id', table_name='thread_events')
    op.drop_index('ix_thread_events_created', table_name='thread_events')
    op.drop_index('ix_thread_events_thread_id_id', table_name='thread_events')
    op.drop_table('thread_events')
