"""Browser sessions (#4): idle timeout and absolute lifetime, freeze kills the session on
the next request, a user lists their sessions and ends one or every other (004 §三.3),
never someone else's."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from directory import accounts
from directory.db import utcnow
from directory.models import BrowserSession
from idp import sessions as idp_sessions
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import cookie
from tests.idp.test_login_support import fields
from tests.idp.test_login_support import live_rows
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import text


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


def _signed_in(app, username: str = "clerk", agent: str = "TestBrowser/1.0"):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = agent
    assert login(client, username, PASSWORD).status_code == 303
    return client


def _move(sessions, raw: str, **values) -> None:
    with sessions.begin() as s:
        s.execute(update(BrowserSession).where(
            BrowserSession.id == idp_sessions.digest(raw)).values(**values))


def test_idle_timeout(signin, sessions, settings) -> None:
    app, _, _ = signin
    client = _signed_in(app)
    raw = cookie(client)
    _move(sessions, raw, last_seen_at=utcnow() - dt.timedelta(
        minutes=settings.session_idle_minutes - 1))
    assert client.get("/account").status_code == 200  # still alive, and touched
    _move(sessions, raw, last_seen_at=utcnow() - dt.timedelta(
        minutes=settings.session_idle_minutes, seconds=1))
    away = client.get("/account")
    assert away.status_code == 303 and away.headers["Location"] == "/login?next=%2Faccount"
    assert cookie(client) is None  # the dead cookie is cleared


def test_activity_keeps_a_session_alive(signin, sessions) -> None:
    app, _, _ = signin
    client = _signed_in(app)
    raw = cookie(client)
    _move(sessions, raw, last_seen_at=utcnow() - dt.timedelta(minutes=10))
    client.get("/account")
    with sessions() as s:
        row = s.get(BrowserSession, idp_sessions.digest(raw))
        assert utcnow() - row.last_seen_at < dt.timedelta(minutes=1)


def test_absolute_lifetime(signin, sessions, settings) -> None:
    app, w, _ = signin
    client = _signed_in(app)
    [row] = live_rows(sessions, w["clerk_account"])
    assert row.expires_at - row.created_at == dt.timedelta(hours=settings.session_max_hours)
    _move(sessions, cookie(client), expires_at=utcnow() - dt.timedelta(seconds=1),
          last_seen_at=utcnow())
    assert client.get("/account").status_code == 303


def test_freeze_kills_the_session_on_the_next_request(signin, sessions, ctx) -> None:
    app, w, _ = signin
    phone, laptop = _signed_in(app, agent="Phone"), _signed_in(app, agent="Laptop")
    assert phone.get("/account").status_code == 200
    with sessions.begin() as s:
        accounts.freeze(s, ctx, w["clerk_account"])
    for client in (phone, laptop):
        away = client.get("/account")
        assert away.status_code == 303 and away.headers["Location"].startswith("/login")
    assert live_rows(sessions, w["clerk_account"]) == []
    with sessions.begin() as s:
        accounts.unfreeze(s, ctx, w["clerk_account"])
    assert phone.get("/account").status_code == 303  # unfreezing revives nothing


def test_list_and_end_sessions(signin, sessions) -> None:
    app, w, _ = signin
    phone = _signed_in(app, agent="Phone <script>")
    laptop = _signed_in(app, agent="Laptop")
    page = laptop.get("/account/sessions")
    body = text(page)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "Phone &lt;script&gt;" in body and "<script>" not in body
    assert body.count("data-session=") == 2 and 'class="current"' in body
    assert "127.0.0.1" in body
    phone_id = idp_sessions.digest(cookie(phone))
    token = fields(body)["csrf_token"]
    ended = laptop.post(f"/account/sessions/{phone_id}/end", data={"csrf_token": token})
    assert ended.status_code == 303 and ended.headers["Location"] == "/account/sessions"
    assert phone.get("/account").status_code == 303
    assert laptop.get("/account").status_code == 200
    with sessions() as s:
        assert s.get(BrowserSession, phone_id).end_reason == "ended_by_user"


def test_end_every_other_session(signin, sessions) -> None:
    app, w, _ = signin
    others = [_signed_in(app, agent=f"Device {n}") for n in range(3)]
    here = _signed_in(app, agent="Here")
    token = fields(text(here.get("/account/sessions")))["csrf_token"]
    done = here.post("/account/sessions/end-others", data={"csrf_token": token})
    assert done.status_code == 303
    assert [r.user_agent for r in live_rows(sessions, w["clerk_account"])] == ["Here"]
    assert all(o.get("/account").status_code == 303 for o in others)
    assert here.get("/account").status_code == 200


def test_ending_the_current_session_signs_out(signin, sessions) -> None:
    app, w, _ = signin
    client = _signed_in(app)
    token = fields(text(client.get("/account/sessions")))["csrf_token"]
    own = idp_sessions.digest(cookie(client))
    out = client.post(f"/account/sessions/{own}/end", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert cookie(client) is None and live_rows(sessions, w["clerk_account"]) == []


@pytest.mark.parametrize("target", ["other-user", "ended", "garbage"])
def test_someone_elses_session_is_not_found(signin, sessions, target) -> None:
    app, w, _ = signin
    victim = _signed_in(app, "villager")
    attacker = _signed_in(app, "clerk")
    victim_id = idp_sessions.digest(cookie(victim))
    session_id = {"other-user": victim_id, "ended": None, "garbage": "x" * 64}[target]
    if target == "ended":
        mine = _signed_in(app, "clerk", agent="old")
        session_id = idp_sessions.digest(cookie(mine))
        with sessions.begin() as s:
            idp_sessions.end(s, session_id, "logout")
    token = fields(text(attacker.get("/account/sessions")))["csrf_token"]
    refused = attacker.post(f"/account/sessions/{session_id}/end", data={"csrf_token": token})
    assert refused.status_code == 404
    assert victim.get("/account").status_code == 200
    assert 'data-code="error_not_found"' in text(refused)


def test_session_pages_in_english(signin) -> None:
    app, _, _ = signin
    client = _signed_in(app)
    body = text(client.get("/account/sessions?lang=en"))
    assert "Devices and sessions" in body and "This device" in body
    assert '<input type="hidden" name="lang" value="en">' in body


def test_user_freezes_their_own_account_from_another_device(signin, sessions) -> None:
    from sqlalchemy import select

    from directory.models import Account
    from directory.models import AccountStatus
    from directory.models import AuditEvent

    app, w, _ = signin
    lost_phone, laptop = _signed_in(app, agent="Phone"), _signed_in(app, agent="Laptop")
    token = fields(text(laptop.get("/account")))["csrf_token"]
    unconfirmed = laptop.post("/account/freeze", data={"csrf_token": token})
    assert unconfirmed.status_code == 303 and laptop.get("/account").status_code == 200
    out = laptop.post("/account/freeze", data={"csrf_token": token, "confirm": "yes"})
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert lost_phone.get("/account").status_code == 303
    assert live_rows(sessions, w["clerk_account"]) == []
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 403
    with sessions() as s:
        assert s.get(Account, w["clerk_account"]).status == AccountStatus.FROZEN
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "account.frozen")
                        ) == f"account:{w['clerk_account']}"
