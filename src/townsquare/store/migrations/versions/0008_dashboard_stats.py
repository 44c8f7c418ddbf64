"""indexes on votes.created and moderation_reports.created: the dashboard counts both per day

Revision ID: 0008_dashboard_stats
Revises: 0007_live_events
Create Date: 2026-12-04 17:00:00
"""

from alembic import op


revision = '0008_dashboard_stats'
down_revision = '0007_live_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_votes_created', 'votes', ['created'], unique=False)
    op.create_index('ix_moderation_reports_created', 'moderation_reports', ['created'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_moderation_reports_created', table_name='moderation_reports')
    op.drop_index('ix_votes_created', table_name='votes')
