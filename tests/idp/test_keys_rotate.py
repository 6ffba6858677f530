"""`idp keys rotate` (#4): the new key is published first and signs only after a grace
period; the older keys stay in the JWKS, and keep verifying, until every token they
signed has expired; then they leave it and verify nothing."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from directory import audit
from directory.db import utcnow
from directory.models import AuditEvent
from directory.models import SigningKey
from idp import keys
from idp import store
from idp import tokens
from idp.app import runtime
from tests.idp.support import run

CTX = audit.Context(actor="test")


def _kid(token: str) -> str:
    import json

    return json.loads(tokens._b64url(token.split(".", 1)[0]))["kid"]


def _mint(app) -> str:
    rt = runtime(app)
    with rt.sessions() as s:
        return tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                        subject="app", client_id="app", scope="directory")


def _verifies(app, token: str) -> bool:
    rt = runtime(app)
    with rt.sessions() as s:
        try:
            tokens.verify_access_token(s, rt.settings.issuer, token)
        except tokens.InvalidToken:
            return False
    return True


def _jwks(app) -> set[str]:
    return {k["kid"] for k in app.test_client().get("/jwks.json").get_json()["keys"]}


def _rotate(app, sessions, now: dt.datetime, grace: int = 900) -> store.Rotation:
    rt = runtime(app)
    with sessions.begin() as s:
        return store.rotate_signing_key(
            s, rt.directory.cipher, CTX, "ES256", grace_seconds=grace,
            token_seconds=rt.settings.access_token_seconds,
            leeway_seconds=tokens.LEEWAY_SECONDS, now=now)


def _es256(sessions) -> str:
    with sessions() as s:
        return s.scalars(select(SigningKey.kid).where(SigningKey.alg == "ES256")).one()


def test_new_key_is_published_first_and_does_not_sign_yet(world, sessions) -> None:
    app, _ = world
    old = _es256(sessions)
    rotation = _rotate(app, sessions, utcnow())
    assert rotation.kid != old and old in rotation.retiring
    assert {old, rotation.kid} <= _jwks(app)  # relying parties can fetch it now
    assert _kid(_mint(app)) == old  # but it signs only after the grace period


def test_after_the_grace_period_the_new_key_signs_and_old_tokens_still_verify(
        world, sessions) -> None:
    app, _ = world
    old = _es256(sessions)
    before = _mint(app)
    rotation = _rotate(app, sessions, utcnow() - dt.timedelta(seconds=901))  # grace over
    after = _mint(app)
    assert _kid(before) == old and _kid(after) == rotation.kid
    assert _verifies(app, before) and _verifies(app, after)
    assert {old, rotation.kid} <= _jwks(app)


def test_old_key_retires_when_its_last_token_has_expired(world, sessions) -> None:
    app, _ = world
    old = _es256(sessions)
    settings = runtime(app).settings
    now = utcnow()
    rotation = _rotate(app, sessions, now)
    expected = rotation.signs_from + dt.timedelta(
        seconds=settings.access_token_seconds + keys.RING_SECONDS + tokens.LEEWAY_SECONDS)
    assert rotation.retiring[old] == expected
    # A token the old key signs at the last moment of the grace period (plus the cache's
    # delay) has expired, leeway included, before the key leaves the JWKS.
    last_exp = rotation.signs_from + dt.timedelta(
        seconds=keys.RING_SECONDS + settings.access_token_seconds + tokens.LEEWAY_SECONDS)
    assert last_exp <= expected


def test_a_retired_key_leaves_the_jwks_and_verifies_nothing(world, sessions) -> None:
    app, _ = world
    old = _es256(sessions)
    token = _mint(app)
    _rotate(app, sessions, utcnow() - dt.timedelta(days=1))  # long ago: old key retired
    assert old not in _jwks(app)
    assert not _verifies(app, token)
    with sessions.begin() as s:
        assert store.mark_retired(s, CTX) == [old]
        assert s.get(SigningKey, old).status == "retired"


def test_a_second_rotation_keeps_the_earlier_retirement(world, sessions) -> None:
    app, _ = world
    old = _es256(sessions)
    first = _rotate(app, sessions, utcnow())
    second = _rotate(app, sessions, utcnow() + dt.timedelta(seconds=60))
    assert second.retiring[old] == first.retiring[old]
    assert second.retiring[first.kid] > first.retiring[old]


def test_cli_rotate_both_algorithms_audited(cli_env, sessions) -> None:
    assert run(cli_env, "init").exit_code == 0
    result = run(cli_env, "keys", "rotate", "--grace-seconds", "900")
    assert result.exit_code == 0, result.output
    assert "stays in the JWKS until" in result.output
    with sessions() as s:
        rows = s.scalars(select(SigningKey)).all()
        assert sorted(k.alg for k in rows) == ["ES256", "ES256", "RS256", "RS256"]
        new = [k for k in rows if k.signs_from is not None]
        old = [k for k in rows if k.signs_from is None]
        assert len(new) == 2 and all(k.retired_at is not None for k in old)
        assert all(k.signs_from > utcnow() + dt.timedelta(seconds=800) for k in new)
        actions = s.scalars(select(AuditEvent.action).where(
            AuditEvent.action == "key.rotated")).all()
        assert len(actions) == 2
    listing = run(cli_env, "keys", "list")
    assert listing.exit_code == 0
    assert listing.output.count("\tpublished\t") == 2
    assert listing.output.count("\tretiring\t") == 2


@pytest.mark.parametrize("grace", ["0", "299"])
def test_cli_refuses_a_grace_shorter_than_the_jwks_cache(cli_env, sessions, grace) -> None:
    assert run(cli_env, "init").exit_code == 0
    result = run(cli_env, "keys", "rotate", "--grace-seconds", grace)
    assert result.exit_code != 0 and "--grace-seconds" in result.output
    with sessions() as s:
        assert len(s.scalars(select(SigningKey)).all()) == 2


def _info(kid: str, created: dt.datetime, signs_from: dt.datetime,
          retired_at: dt.datetime | None = None) -> keys.KeyInfo:
    return keys.KeyInfo(kid=kid, alg="ES256", public_jwk="{}", private_enc="",
                        created_at=created, signs_from=signs_from, retired_at=retired_at)


def test_the_rings_signer_changes_when_a_key_starts_signing_or_retires() -> None:
    """``Ring.signer`` keeps its choice only until the next time a key of that algorithm
    starts signing or is retired, without the snapshot being read again."""
    import time

    now = utcnow()
    old = _info("old", now - dt.timedelta(days=1), now - dt.timedelta(days=1),
                retired_at=now + dt.timedelta(seconds=0.6))
    new = _info("new", now, now + dt.timedelta(seconds=0.3))
    rsa = _info("rsa", now, now)
    ring, reads = keys.Ring(), []

    def load() -> list[keys.KeyInfo]:
        reads.append(1)
        return [old, new, dataclasses.replace(rsa, alg="RS256")]

    assert ring.signer("db", load, "ES256") is old
    assert ring.signer("db", load, "ES256") is old  # kept
    assert ring.signer("db", load, "RS256").kid == "rsa"
    time.sleep(0.35)
    assert ring.signer("db", load, "ES256") is new  # its grace period is over
    time.sleep(0.3)
    assert ring.signer("db", load, "ES256") is new and not old.published(utcnow())
    assert len(reads) == 1  # one snapshot throughout
    assert ring.signer("db", lambda: [old], "ES256") is new  # the snapshot is still fresh
    ring.forget()
    assert ring.signer("db", lambda: [old], "ES256") is None  # re-read: only a retired key
