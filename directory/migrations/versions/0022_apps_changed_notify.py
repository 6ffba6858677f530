"""apps: a PostgreSQL notification on every change (the workers' client caches)

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-24 07:00:00.000000

Each worker keeps the OAuth columns of the apps it has served (``directory.app_cache``)
and listens on ``idp_apps``; this trigger tells every listener, at the commit of any
statement that inserts, updates, deletes or truncates apps, whoever wrote it (our code,
a migration or an operator's SQL). SQLite has no notifications and no cache.
"""

from __future__ import annotations

from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
        CREATE FUNCTION idp_apps_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('idp_apps', '');
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps
        FOR EACH STATEMENT EXECUTE FUNCTION idp_apps_changed()""")
    op.execute("""
        CREATE TRIGGER apps_truncated AFTER TRUNCATE ON apps
        FOR EACH STATEMENT EXECUTE FUNCTION idp_apps_changed()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER apps_truncated ON apps")
    op.execute("DROP TRIGGER apps_changed ON apps")
    op.execute("DROP FUNCTION idp_apps_changed()")
