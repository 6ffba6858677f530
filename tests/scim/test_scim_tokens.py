"""Bearer tokens an administrator creates for a SCIM client: stored hashed, with an expiry,
revocable; they act as the app, within its scope, only while it is online."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from directory import audit
from directory import scim_commands
from directory import scim_store
from directory.errors import DomainError
from directory.models import AuditEvent
from directory.models import ScimToken
from tests.scim.conftest import Client

ADMIN = audit.Context(actor="account:admin")


def _issue(sessions, client_id: str, days: int = 30) -> tuple:
    with sessions.begin() as s:
        row, token = scim_commands.issue_token(s, ADMIN, client_id, days)
        return row.id, token


def test_a_token_acts_as_its_app_within_its_scope(world, ids, sessions):
    app, _ = world
    _token_id, token = _issue(sessions, ids["edu_client"])
    client = Client(app, token)
    assert client.get(f"/Users/{ids['clerk']}").status_code == 200
    assert client.get(f"/Users/{ids['villager']}").status_code == 404
    with sessions() as s:
        row = s.scalar(select(ScimToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in " ".join(s.scalars(select(AuditEvent.summary)))


def test_revoked_and_expired_tokens_are_401(world, ids, sessions):
    app, _ = world
    token_id, token = _issue(sessions, ids["edu_client"])
    with sessions.begin() as s:
        scim_commands.revoke_token(s, ADMIN, token_id)
    assert Client(app, token).get("/Users").status_code == 401
    expired_id, expired = _issue(sessions, ids["edu_client"])
    with sessions.begin() as s:
        row = s.get(ScimToken, expired_id)
        row.expires_at = row.created_at
    assert Client(app, expired).get("/Users").status_code == 401
    assert Client(app, "scim_" + "x" * 43).get("/Users").status_code == 401


def test_a_token_of_an_app_that_is_not_online_is_401(world, ids, sessions):
    app, _ = world
    _id, token = _issue(sessions, ids["offline_client"])
    assert Client(app, token).get("/Users").status_code == 401


def test_token_lifetime_is_bounded(sessions, world, ids):
    with pytest.raises(DomainError), sessions.begin() as s:
        scim_commands.issue_token(s, ADMIN, ids["edu_client"], 0)
    with sessions() as s:
        assert scim_store.tokens_of(s, ids["edu_client"]) == []
