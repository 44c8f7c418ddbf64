"""editors' picks (comments.featured), a pinned comment per thread and a per-thread close time

Revision ID: 0010_newsroom_tools
Revises: 0008_dashboard_stats
Create Date: 2026-12-04 19:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0010_newsroom_tools'
down_revision = '0009_stats_rollups'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('comments', sa.Column('featured', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('threads', sa.Column('pinned_id', sa.Integer(), nullable=True))
    op.add_column('threads', sa.Column('closes', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('threads') as batch:
        batch.drop_column('closes')
        batch.drop_column('pinned_id')
    with op.batch_alter_table('comments') as batch:
        batch.drop_column('featured')
