"""votes and reports count once per reader address; trust records what it trusts

Revision ID: 0005_reader_addresses
Revises: 0004_sign_in_failures
Create Date: 2026-12-04 09:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0005_reader_addresses'
down_revision = '0004_sign_in_failures'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows from before have no address (NULL), which no unique constraint compares equal.
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_votes_comment_id_address', ['comment_id', 'address'])
    with op.batch_alter_table('moderation_reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint('uq_moderation_reports_comment_id_address', ['comment_id', 'address'])
    # Trust from before was keyed by a typed e-mail address: kept as kind 'email', no longer honoured.
    with op.batch_alter_table('moderation_trusted', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), nullable=False, server_default='email'))


def downgrade() -> None:
    with op.batch_alter_table('moderation_trusted', schema=None) as batch_op:
        batch_op.drop_column('kind')
    with op.batch_alter_table('moderation_reports', schema=None) as batch_op:
        batch_op.drop_constraint('uq_moderation_reports_comment_id_address', type_='unique')
        batch_op.drop_column('address')
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_constraint('uq_votes_comment_id_address', type_='unique')
        batch_op.drop_column('address')
