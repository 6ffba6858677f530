"""scim_store.taken (the uniqueness probes of a run of new SCIM Users in one statement)
and db.insert_rows (few rows on the driver's cursor): what they find and refuse, with a
few values (one placeholder each, on the driver's cursor), more (IN lists), and from
COPY_FROM values (on PostgreSQL arrays under custom plans)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from directory import accounts
from directory import apps
from directory import db
from directory import scim_commands
from directory import scim_store as store
from directory.identifiers import normalise_mobile
from directory.models import Account
from directory.models import AccountType
from tests import factories as f


def _client(s, ctx, scope) -> store.Client:
    app, _secret = apps.create_client(s, ctx, apps.ClientSpec(name="人事", scope=("scim",),
                                                                status="online"))
    apps.set_directory_access(s, ctx, app, scope_node_ids=[n.id for n in scope],
                              hidden_node_ids=[], upward=False)
    client = store.load_client(s, app.client_id)
    assert client is not None
    return client


# up to FEW_TAKEN values a kind: a placeholder each on the driver's cursor; then IN lists;
# from COPY_FROM on PostgreSQL, arrays
@pytest.mark.parametrize("extra", [0, store.FEW_TAKEN + 1, db.COPY_FROM + 5])
def test_taken_finds_what_others_have(sessions, dsettings, ctx, extra):
    """Existing userNames (SCIM identity or account name), account names, externalIds the
    client sees (not one outside its scope) and mobile hashes; nothing of the new values."""
    new = [f"new.{i}" for i in range(extra)]
    with sessions.begin() as s:
        t = f.qingpu(s, ctx)
        number = f.mobile()
        named = f.person(s, dsettings, ctx, t["office"], external_id="HR-1", mobile=number)
        scim_commands.set_user_name(s, ctx, named.id, "Named@QP.gov.cn")
        plain = f.person(s, dsettings, ctx, t["office"])
        accounts.create(s, dsettings, ctx, username="plain.user", account_type="user",
                        person_id=plain.id)
        f.person(s, dsettings, ctx, t["village"], external_id="HR-2")  # outside edu
        client = _client(s, ctx, [t["edu"]])
        mobile = dsettings.cipher.lookup_hash(normalise_mobile(number), "mobile")
        found = store.taken(
            s, client, user_names={"named@qp.gov.cn", "plain.user", *new},
            account_names={"plain.user", "other.name", *new},
            external_ids={"HR-1", "HR-2", *(f"X-{n}" for n in new)},
            mobiles={mobile, *(f"m{i}" for i in range(extra))},
            id_numbers={f"i{i}" for i in range(extra)})
    assert found == {"user_name": {"named@qp.gov.cn", "plain.user"}, "account": {"plain.user"},
                     "external_id": {"HR-1"}, "mobile": {mobile}, "id_number": set()}


def test_taken_asks_nothing_of_nothing(sessions, ctx):
    with sessions.begin() as s:
        t = f.qingpu(s, ctx)
        assert store.taken(s, _client(s, ctx, [t["root"]])) == {
            "user_name": set(), "account": set(), "external_id": set(), "mobile": set(),
            "id_number": set()}


@pytest.mark.parametrize("count", [1, db.FEW, db.FEW + 1])
def test_insert_rows_writes_rows_and_refuses_as_sqlalchemy_does(sessions, count):
    """The rows with their Python defaults; a unique key taken is SQLAlchemy's
    IntegrityError (a SCIM 409, a Bulk run retried one by one), nothing written."""
    rows = [{"id": uuid.uuid4(), "username": f"few.{count}.{i}", "type": AccountType.USER,
             "person_id": None} for i in range(count)]
    with sessions.begin() as s:
        written = db.insert_rows(s, Account.__table__, rows)
    assert all(r["status"] is not None and r["created_at"] is not None for r in written)
    with sessions() as s:
        got = set(s.scalars(select(Account.username).where(
            Account.username.like(f"few.{count}.%"))))
    assert got == {r["username"] for r in rows}
    again = [{**r, "id": uuid.uuid4()} for r in rows]
    with pytest.raises(IntegrityError), sessions.begin() as s:
        db.insert_rows(s, Account.__table__, again)
    with sessions() as s:
        assert len(list(s.scalars(select(Account.id).where(
            Account.username.like(f"few.{count}.%"))))) == count
