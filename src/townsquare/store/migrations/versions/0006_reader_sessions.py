"""verified reader identities, their sessions, used e-mail sign-in links; comments keep their identity

Revision ID: 0006_reader_sessions
Revises: 0005_reader_addresses
Create Date: 2026-12-04 16:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0006_reader_sessions'
down_revision = '0005_reader_addresses'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('site_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('badges', sa.Text(), nullable=False),
        sa.Column('created', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name='fk_identities_site_id_sites', ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_identities'),
        sa.UniqueConstraint('site_id', 'kind', 'subject', name='uq_identities_site_id_kind_subject'),
    )
    op.create_table(
        'reader_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('identity_id', sa.Integer(), nullable=False),
        sa.Column('created', sa.Float(), nullable=False),
        sa.Column('expires', sa.Float(), nullable=False),
        sa.Column('revoked', sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(['identity_id'], ['identities.id'], name='fk_reader_sessions_identity_id_identities',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_reader_sessions'),
    )
    op.create_index('ix_reader_sessions_identity_id', 'reader_sessions', ['identity_id'], unique=False)
    op.create_table(
        'sign_in_links_used',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('used', sa.Float(), nullable=False),
        sa.Column('expires', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_sign_in_links_used'),
    )
    # Not a batch (copy-and-move) on SQLite: dropping the old comments table would cascade to its
    # votes and reports. SQLite adds a nullable column with its reference in place.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE comments ADD COLUMN identity_id INTEGER '
                   'REFERENCES identities (id) ON DELETE SET NULL')
    else:
        op.add_column('comments', sa.Column('identity_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_comments_identity_id_identities', 'comments', 'identities', ['identity_id'], ['id'],
                              ondelete='SET NULL')
    op.create_index('ix_comments_identity_id', 'comments', ['identity_id', 'created'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_comments_identity_id', table_name='comments')
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE comments DROP COLUMN identity_id')
    else:
        op.drop_constraint('fk_comments_identity_id_identities', 'comments', type_='foreignkey')
        op.drop_column('comments', 'identity_id')
    op.drop_table('sign_in_links_used')
    op.drop_index('ix_reader_sessions_identity_id', table_name='reader_sessions')
    op.drop_table('reader_sessions')
    op.drop_table('identities')
