"""index alert_outbox.subscription_id

Revision ID: 0002_outbox_subscription_ix
Revises: 0001_initial
Create Date: 2026-12-04 06:30:00
"""

from alembic import op


revision = '0002_outbox_subscription_ix'
down_revision = '0001_initial'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_alert_outbox_subscription', ['subscription_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_outbox_subscription')
