"""Person search as index ranges: names, pinyin and initials in code point order, indexed
with id

directory.search reads each way of matching (name prefix, pinyin prefix, initials prefix)
as an index range in index order and stops after a page (bench/README.md,
bench/directory_reads.py). Before: no index on ``name``; LIKE used neither the pinyin nor
the initials index (SQLite's LIKE is case-insensitive; PostgreSQL's needs the C collation);
every search scanned all persons. On PostgreSQL the three columns take the C collation, as
tree paths do, so ranges and ORDER BY agree with SQLite's BINARY order whatever the
server's default collation; (name_pinyin) and (name_initials) are replaced by (…, id).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (("name", 100), ("name_pinyin", 400), ("name_initials", 100))
NEW = (("ix_persons_name_order", "name"), ("ix_persons_pinyin_order", "name_pinyin"),
       ("ix_persons_initials_order", "name_initials"))
OLD = (("ix_persons_name_pinyin", "name_pinyin"), ("ix_persons_name_initials", "name_initials"))


def _collation(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column, length in COLUMNS:
        op.alter_column("persons", column, existing_type=sa.String(length),
                        type_=sa.String(length, collation=collation), existing_nullable=False)


def upgrade() -> None:
    for name, _column in OLD:
        op.drop_index(name, table_name="persons")
    _collation("C")
    for name, column in NEW:
        op.create_index(name, "persons", [column, "id"], unique=False)


def downgrade() -> None:
    for name, _column in NEW:
        op.drop_index(name, table_name="persons")
    _collation(None)
    for name, column in OLD:
        op.create_index(name, "persons", [column], unique=False)
