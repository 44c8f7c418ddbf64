"""per-thread rollups for the dashboard's thread view: a thread's comments per day by status,
commenters, votes and reports, toxicity buckets and held reasons; triggers installed again and
every rollup counted from the rows

Revision ID: 0012_thread_stats
Revises: 0011_thread_keyset
Create Date: 2026-12-04 22:00:00
"""

import sqlalchemy as sa
from alembic import op

from townsquare.store import stats


revision = '0012_thread_stats'
down_revision = '0011_thread_keyset'
branch_labels = None
depends_on = None

COLUMNS = ('published', 'pending', 'rejected', 'deleted', 'commenters', 'votes', 'reports')
TABLES = ('stats_thread_commenters', 'stats_thread_toxicity', 'stats_thread_held_reasons')


def _count(name):
    return sa.Column(name, sa.Integer(), nullable=False, server_default='0')


def _thread():
    return sa.Column('thread_id', sa.Integer(), sa.ForeignKey('threads.id', ondelete='CASCADE'), primary_key=True)


def upgrade() -> None:
    conn = op.get_bind()
    stats.uninstall(conn)  # the triggers of 0009, on databases that ran it before this migration existed
    with op.batch_alter_table('stats_thread_days') as batch:
        for name in COLUMNS:
            batch.add_column(_count(name))
    op.create_table('stats_thread_commenters', _thread(), sa.Column('day', sa.Integer(), primary_key=True),
                    sa.Column('who', sa.Text(), primary_key=True), _count('comments'))
    op.create_table('stats_thread_toxicity', _thread(), sa.Column('day', sa.Integer(), primary_key=True),
                    sa.Column('bucket', sa.Integer(), primary_key=True), _count('comments'))
    op.create_table('stats_thread_held_reasons', _thread(), sa.Column('day', sa.Integer(), primary_key=True),
                    sa.Column('phase', sa.Text(), primary_key=True), _count('comments'))
    # Counted from the rows, then kept by the triggers from here on (run `migrate` with the
    # servers stopped, as for every migration). The SQL is store/stats.py's: a later change to
    # the triggers needs a migration of its own that installs them again.
    stats.rebuild(conn)
    stats.install(conn)


def downgrade() -> None:
    # Below this revision the rollups are no longer kept (the triggers read the tables dropped
    # here); upgrading again counts them afresh.
    stats.uninstall(op.get_bind())
    for table in TABLES:
        op.drop_table(table)
    with op.batch_alter_table('stats_thread_days') as batch:
        for name in COLUMNS:
            batch.drop_column(name)
