"""per-day rollups of the dashboard's figures, kept by triggers, backfilled from the rows

Revision ID: 0009_stats_rollups
Revises: 0008_dashboard_stats
Create Date: 2026-12-04 18:40:00
"""

import sqlalchemy as sa
from alembic import op

from townsquare.store import stats


revision = '0009_stats_rollups'
down_revision = '0008_dashboard_stats'
branch_labels = None
depends_on = None


def _count(name):
    return sa.Column(name, sa.Integer(), nullable=False, server_default='0')


def _site():
    return sa.Column('site_id', sa.Integer(), sa.ForeignKey('sites.id', ondelete='CASCADE'), primary_key=True)


def upgrade() -> None:
    op.create_table('stats_days', _site(), sa.Column('day', sa.Integer(), primary_key=True),
                    *(_count(s) for s in ('published', 'pending', 'rejected', 'deleted', 'commenters', 'votes',
                                          'reports')))
    op.create_table('stats_commenters', _site(), sa.Column('day', sa.Integer(), primary_key=True),
                    sa.Column('who', sa.Text(), primary_key=True), _count('comments'))
    op.create_table('stats_thread_days',
                    sa.Column('thread_id', sa.Integer(), sa.ForeignKey('threads.id', ondelete='CASCADE'),
                              primary_key=True),
                    sa.Column('day', sa.Integer(), primary_key=True), sa.Column('site_id', sa.Integer(), nullable=False),
                    _count('comments'))
    op.create_index('ix_stats_thread_days_site_day', 'stats_thread_days', ['site_id', 'day', 'thread_id', 'comments'])
    op.create_table('stats_thread_blocks',
                    sa.Column('thread_id', sa.Integer(), sa.ForeignKey('threads.id', ondelete='CASCADE'),
                              primary_key=True),
                    sa.Column('block', sa.Integer(), primary_key=True), sa.Column('site_id', sa.Integer(), nullable=False),
                    _count('comments'))
    op.create_index('ix_stats_thread_blocks_site_block', 'stats_thread_blocks', ['site_id', 'block', 'thread_id', 'comments'])
    op.create_table('stats_toxicity', _site(), sa.Column('day', sa.Integer(), primary_key=True),
                    sa.Column('bucket', sa.Integer(), primary_key=True), _count('comments'))
    op.create_table('stats_held_reasons', _site(), sa.Column('day', sa.Integer(), primary_key=True),
                    sa.Column('phase', sa.Text(), primary_key=True), _count('comments'))
    op.create_table('stats_paused', sa.Column('token', sa.Text(), primary_key=True))
    # The rollups are counted from the rows and their triggers installed by 0012_thread_stats,
    # with the SQL of store/stats.py as it is now (which also reads the tables 0012 adds). A
    # database that ran this migration before had them installed here; 0012 installs them again.


def downgrade() -> None:
    stats.uninstall(op.get_bind())  # present only on databases that ran this migration before 0012 existed
    for table in ('stats_paused', 'stats_held_reasons', 'stats_toxicity', 'stats_thread_blocks', 'stats_thread_days',
                  'stats_commenters', 'stats_days'):
        op.drop_table(table)
