"""private_key_jwt clients' jwks_uri and the cache of the key sets fetched from it

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import directory.db

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jwks_uri', sa.String(length=500), nullable=True))

    op.create_table('jwks_uri_cache',
    sa.Column('app_id', sa.Uuid(), nullable=False),
    sa.Column('jwks_uri', sa.String(length=500), nullable=False),
    sa.Column('jwks', sa.Text(), nullable=True),
    sa.Column('fetched_at', directory.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempted_at', directory.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('failure', sa.String(length=100), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], name=op.f('fk_jwks_uri_cache_app_id_apps')),
    sa.PrimaryKeyConstraint('app_id', 'jwks_uri', name=op.f('pk_jwks_uri_cache'))
    )


def downgrade() -> None:
    op.drop_table('jwks_uri_cache')
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('jwks_uri')
