"""sign-in failures counted per (account, address) in one row

Revision ID: 0004_sign_in_failures
Revises: 0003_rate_counters_seconds
Create Date: 2026-12-04 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_sign_in_failures'
down_revision = '0003_rate_counters_seconds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('moderation_sign_in_failures',
    sa.Column('account', sa.String(length=320), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_attempt', sa.Float(), nullable=False),
    sa.Column('locked_until', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'address', name=op.f('pk_moderation_sign_in_failures'))
    )
    # The old per-key failure rows only throttled; nothing in them needs keeping.
    with op.batch_alter_table('moderation_login_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_moderation_login_failures_key')
    op.drop_table('moderation_login_failures')


def downgrade() -> None:
    op.create_table('moderation_login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=400), nullable=False),
    sa.Column('created', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moderation_login_failures'))
    )
    with op.batch_alter_table('moderation_login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_moderation_login_failures_key', ['key', 'created'], unique=False)
    op.drop_table('moderation_sign_in_failures')
