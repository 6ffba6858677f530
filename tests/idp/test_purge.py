"""Purging expired protocol state (idp.purge, #4): dead codes, refresh tokens, grants,
browser sessions and replay-cache entries go after their grace period; live ones stay;
a purged grant answers exactly as a revoked one; one purge per interval across workers."""

from __future__ import annotations

import datetime as dt
import time
import uuid

from sqlalchemy import func
from sqlalchemy import select

from directory.db import utcnow
from directory.models import AuthorizationCode
from directory.models import BrowserSession
from directory.models import OAuthGrant
from directory.models import RefreshToken
from directory.models import SeenOnce
from idp import purge
from tests.idp import test_oidc_flow as flow
from tests.idp.support import run
from tests.idp.test_rfc7009_revocation import revoke

DAY = dt.timedelta(days=1)


def _count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def _grant(s, account_id, *, expires: dt.datetime, revoked: dt.datetime | None = None,
           codes: int = 0, refresh: int = 0, code_expires: dt.datetime | None = None
           ) -> uuid.UUID:
    grant = OAuthGrant(client_id="c", account_id=account_id, expires_at=expires,
                       revoked_at=revoked)
    s.add(grant)
    s.flush()
    for _ in range(codes):
        s.add(AuthorizationCode(code_hash=uuid.uuid4().hex * 2, grant_id=grant.id,
                                client_id="c", redirect_uri="https://rp/cb",
                                code_challenge="x" * 43, expires_at=code_expires or expires))
    for _ in range(refresh):
        s.add(RefreshToken(token_hash=uuid.uuid4().hex * 2, grant_id=grant.id,
                           expires_at=expires))
    return grant.id


def test_dead_rows_go_live_rows_stay(world, sessions) -> None:
    _app, w = world
    now = utcnow()
    account = w["clerk_account"]
    with sessions.begin() as s:
        live = _grant(s, account, expires=now + 30 * DAY, codes=1, refresh=2)
        # a live grant's code that expired two days ago goes; the grant and tokens stay
        s.add(AuthorizationCode(code_hash="e" * 64, grant_id=live, client_id="c",
                                redirect_uri="https://rp/cb", code_challenge="x" * 43,
                                expires_at=now - 2 * DAY))
        expired = _grant(s, account, expires=now - 2 * DAY, codes=1, refresh=3)
        revoked_long_ago = _grant(s, account, expires=now + 20 * DAY,
                                  revoked=now - 2 * DAY, refresh=2)
        revoked_just_now = _grant(s, account, expires=now + 20 * DAY, revoked=now, refresh=1)
        for i, (expires, ended) in enumerate([(now + DAY, None), (now - 2 * DAY, None),
                                              (now + DAY, now - 2 * DAY), (now + DAY, now)]):
            s.add(BrowserSession(id=f"{i}" * 64, account_id=account, expires_at=expires,
                                 ended_at=ended))
        s.add_all([SeenOnce(key="jti:old", expires_at=now - dt.timedelta(seconds=1)),
                   SeenOnce(key="jti:new", expires_at=now + dt.timedelta(minutes=5))])

    purged = purge.purge_expired(sessions, now=now, batch=2)  # several batches each

    assert purged.as_dict() == {"codes": 2, "refresh_tokens": 5, "grants": 2, "sessions": 2,
                                "seen_once": 1}
    with sessions() as s:
        assert set(s.scalars(select(OAuthGrant.id))) == {live, revoked_just_now}
        assert s.scalar(select(func.count()).where(RefreshToken.grant_id == live)) == 2
        assert s.scalar(select(func.count()).where(AuthorizationCode.grant_id == live)) == 1
        assert not set(s.scalars(select(RefreshToken.grant_id))) & {expired, revoked_long_ago}
        assert set(s.scalars(select(BrowserSession.id))) == {"0" * 64, "3" * 64}
        assert list(s.scalars(select(SeenOnce.key))) == ["jti:new"]
    assert purge.purge_expired(sessions, now=now).as_dict() == purge.Purged().as_dict()


def test_a_purged_grant_answers_as_a_revoked_one(world, sessions, ctx) -> None:
    """Revoke a family, purge it (grace 0), then its still-unexpired access token is
    refused by introspection and the contacts API, and its refresh token is unknown."""
    app, w = world
    rp = flow._client(sessions, ctx, public=False, redirect_uris=(flow.RP_REDIRECT,))
    http = flow.signed_in(app, w["clerk_account"])
    body = flow.tokens_for(http, rp, scope="openid profile offline_access")
    assert revoke(http, rp, body["refresh_token"]).status_code == 200

    purged = purge.purge_expired(sessions, grace=dt.timedelta(0))

    assert purged.grants == 1 and purged.refresh_tokens >= 1
    assert _count(sessions, OAuthGrant) == 0
    assert flow.introspect(http, rp, body["access_token"]).get_json() == {"active": False}
    api = app.test_client().get("/api/v1/me", headers=flow.bearer(body["access_token"]))
    assert api.status_code == 401
    again = flow.refresh(http, rp, body["refresh_token"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_one_purge_per_interval_across_workers(world, sessions) -> None:
    """The lease is a shared counter: the first caller of the interval wins, every other
    worker (here: the same database through another session) is told it is not due."""
    assert purge.due(sessions, interval_seconds=3600) is True
    assert purge.due(sessions, interval_seconds=3600) is False
    assert purge.run_if_due(sessions, interval_seconds=3600) is None


def test_the_background_purge_runs_by_itself(world, sessions) -> None:
    """What ``idp serve`` starts in every worker: the thread purges at its interval."""
    with sessions.begin() as s:
        s.add(SeenOnce(key="jti:stale", expires_at=utcnow() - dt.timedelta(seconds=1)))
    stop = purge.start_background(sessions, interval_seconds=1)
    try:
        deadline = time.monotonic() + 15
        while _count(sessions, SeenOnce) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        stop.set()
    assert _count(sessions, SeenOnce) == 0


def test_idp_purge_from_the_command_line(world, sessions, cli_env) -> None:
    now = utcnow()
    with sessions.begin() as s:
        s.add_all([SeenOnce(key="jti:old", expires_at=now - dt.timedelta(seconds=1)),
                   BrowserSession(id="a" * 64, account_id=world[1]["clerk_account"],
                                  expires_at=now - dt.timedelta(hours=3)),
                   BrowserSession(id="b" * 64, account_id=world[1]["clerk_account"],
                                  expires_at=now - dt.timedelta(minutes=30))])
    done = run(cli_env, "purge", "--grace-hours", "1")
    assert done.exit_code == 0, done.output
    assert done.output.split() == ["codes=0", "refresh_tokens=0", "grants=0", "sessions=1",
                                   "seen_once=1"]
    with sessions() as s:
        assert list(s.scalars(select(BrowserSession.id))) == ["b" * 64]
    refused = run(cli_env, "purge", "--grace-hours", "-1")
    assert refused.exit_code == 2 and "--grace-hours" in refused.output
