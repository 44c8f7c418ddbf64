"""rate_counters count per second (a sliding window): `window` holds epoch seconds, 64-bit

Revision ID: 0003_rate_counters_seconds
Revises: 0002_outbox_subscription_ix
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0003_rate_counters_seconds'
down_revision = '0002_outbox_subscription_ix'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The rows counted minutes; they are only live for a minute, so they go rather than convert.
    op.execute(sa.text("DELETE FROM rate_counters"))
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.alter_column('window', existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM rate_counters"))
    with op.batch_alter_table('rate_counters', schema=None) as batch_op:
        batch_op.alter_column('window', existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False)
