"""Partial subtree index spelled as the queries render ``Post.active`` on SQLite

SQLite uses a partial index only when the query's WHERE clause implies the index's;
SQLAlchemy renders ``posts.active = 1`` there, which SQLite does not match with a bare
``active``. PostgreSQL is unaffected (same index recreated).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _recreate(sqlite_where: str) -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_index("ix_posts_active_subtree")
        batch_op.create_index("ix_posts_active_subtree", ["node_path", "sort_order", "person_id"],
                              unique=False, sqlite_where=sa.text(sqlite_where),
                              postgresql_where=sa.text("active"))


def upgrade() -> None:
    _recreate("active = 1")


def downgrade() -> None:
    _recreate("active")
