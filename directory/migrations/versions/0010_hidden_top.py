"""hidden_top: each node's and post's outermost active hidden node, for one-column filters

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 18:30:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PATH = sa.String(length=512).with_variant(sa.String(length=512, collation='C'), 'postgresql')


def upgrade() -> None:
    op.add_column('nodes', sa.Column('hidden_top', PATH, nullable=True))
    op.add_column('posts', sa.Column('hidden_top', PATH, nullable=True))
    # Backfill: each outermost active hidden node's path onto its subtree (as
    # directory.hidden_paths.refresh does for the whole tree).
    conn = op.get_bind()
    paths = sorted(conn.execute(sa.text(
        "SELECT path FROM nodes WHERE hidden AND status = 'active'")).scalars())
    kept: list[str] = []
    for path in paths:
        if not (kept and path.startswith(kept[-1])):
            kept.append(path)
    for path in kept:
        conn.execute(sa.text("UPDATE nodes SET hidden_top = :p WHERE path >= :p AND path < :c")
                     .bindparams(p=path, c=path + '~'))
        conn.execute(sa.text(  # active posts: ended ones never come back
            "UPDATE posts SET hidden_top = :p WHERE node_path >= :p AND node_path < :c"
            " AND active").bindparams(p=path, c=path + '~'))
    # the hidden set's cached copies are rebuilt from this state
    conn.execute(sa.text("UPDATE cache_versions SET token = :t WHERE name = 'hidden'")
                 .bindparams(t=uuid.uuid4().hex))


def downgrade() -> None:
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('hidden_top')
    with op.batch_alter_table('nodes', schema=None) as batch_op:
        batch_op.drop_column('hidden_top')
