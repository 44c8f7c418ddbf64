"""comments.reply_count (published comments below each comment) and the keyset indexes a thread
page is read by, so a thread read no longer reads the whole thread

Revision ID: 0011_thread_keyset
Revises: 0008_dashboard_stats
Create Date: 2026-12-04 19:00:00
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op


revision = '0011_thread_keyset'
down_revision = '0010_newsroom_tools'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('comments', sa.Column('reply_count', sa.Integer(), nullable=False, server_default='0'))
    _count_replies(op.get_bind())
    op.drop_index('ix_comments_parent', table_name='comments')
    op.create_index('ix_comments_parent', 'comments', ['parent_id', 'created', 'id'], unique=False)
    op.create_index('ix_comments_top_oldest', 'comments', ['thread_id', 'parent_id', 'created', 'id'], unique=False)
    op.create_index('ix_comments_top_score', 'comments',
                    ['thread_id', 'parent_id', sa.text('(dislikes - likes)'), 'created', 'id'], unique=False)
    op.create_index('ix_comments_top_replies', 'comments',
                    ['thread_id', 'parent_id', sa.text('(0 - reply_count)'), 'created', 'id'], unique=False)


def _count_replies(conn) -> None:
    """Every comment's published descendants, counted bottom-up in one pass over the table."""
    rows = conn.execute(sa.text("SELECT id, parent_id, status FROM comments")).all()
    parent = {r.id: r.parent_id for r in rows}
    children = defaultdict(list)
    for r in rows:
        if r.parent_id in parent:
            children[r.parent_id].append(r.id)
    order, stack = [], [r.id for r in rows if r.parent_id not in parent]
    while stack:  # no recursion: reply chains can be thousands deep
        n = stack.pop()
        order.append(n)
        stack.extend(children[n])
    published = {r.id for r in rows if r.status == 'published'}
    count = dict.fromkeys(parent, 0)
    for n in reversed(order):
        p = parent[n]
        if p in count:
            count[p] += count[n] + (n in published)
    changed = [{'i': i, 'n': n} for i, n in count.items() if n]
    if changed:
        conn.execute(sa.text("UPDATE comments SET reply_count = :n WHERE id = :i"), changed)


def downgrade() -> None:
    op.drop_index('ix_comments_top_replies', table_name='comments')
    op.drop_index('ix_comments_top_score', table_name='comments')
    op.drop_index('ix_comments_top_oldest', table_name='comments')
    op.drop_index('ix_comments_parent', table_name='comments')
    op.create_index('ix_comments_parent', 'comments', ['parent_id'], unique=False)
    with op.batch_alter_table('comments') as batch:
        batch.drop_column('reply_count')
