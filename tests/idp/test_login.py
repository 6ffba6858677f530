"""Sign-in with a password (#4): success and redirect to a relative ``next`` only,
every refusal identical (unknown, wrong password, frozen, expired, deactivated, no
password), audit records, session rotation at sign-in, security headers, languages."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from directory import accounts
from directory.db import utcnow
from directory.models import Account
from directory.models import AccountStatus
from directory.models import BrowserSession
from idp import login as login_views
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import actions
from tests.idp.test_login_support import cookie
from tests.idp.test_login_support import error_code
from tests.idp.test_login_support import fields
from tests.idp.test_login_support import live_rows
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import text


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


def test_form_is_chinese_with_csrf_and_security_headers(signin) -> None:
    app, _, _ = signin
    page = app.test_client().get("/login")
    assert page.status_code == 200 and page.mimetype == "text/html"
    body = text(page)
    assert '<html lang="zh-CN">' in body and "用户名或手机号" in body
    assert len(fields(body)["csrf_token"]) == 64
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert "idp_csrf=" in page.headers["Set-Cookie"] and "HttpOnly" in page.headers["Set-Cookie"]


@pytest.mark.parametrize("how", ["query", "accept-language"])
def test_english_on_request(signin, how) -> None:
    app, _, _ = signin
    client = app.test_client()
    if how == "query":
        page = client.get("/login?lang=en", headers={"Accept-Language": "zh-CN"})
    else:
        page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    body = text(page)
    assert '<html lang="en">' in body and "Username or mobile number" in body
    assert "用户名或手机号" not in body


def test_english_stays_across_a_refusal(signin) -> None:
    app, _, _ = signin
    refused = login(app.test_client(), "clerk", "wrong password", lang="en")
    assert "Wrong username or password" in text(refused)


def test_success_redirects_to_account_with_a_session(signin, sessions) -> None:
    app, w, _ = signin
    client = app.test_client()
    done = login(client, "clerk", PASSWORD)
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    set_cookie = done.headers.getlist("Set-Cookie")
    assert any(c.startswith("idp_session=") and "HttpOnly" in c and "SameSite=Lax" in c
               for c in set_cookie)
    [row] = live_rows(sessions, w["clerk_account"])
    assert row.amr == "pwd" and row.source_ip == "127.0.0.1"
    me = client.get("/account")
    assert me.status_code == 200 and 'data-username="clerk"' in text(me)
    assert me.headers["Cache-Control"] == "no-store"
    assert ("login.succeeded", '{"amr": "pwd"}') in actions(sessions)


def test_mobile_number_signs_in(signin) -> None:
    app, _, _ = signin
    assert login(app.test_client(), "13812345678", PASSWORD).status_code == 303


def test_relative_next_is_followed(signin) -> None:
    app, _, _ = signin
    target = "/authorize?client_id=abc&state=x%20y"
    done = login(app.test_client(), "clerk", PASSWORD, next_url=target)
    assert done.headers["Location"] == target


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "javascript:alert(1)", "evil.example", "/%0a/evil", "/ok\r\n",
], ids=["absolute", "scheme-relative", "backslash", "double-backslash", "tab",
        "javascript", "no-slash", "encoded-ok-but-raw-newline-free", "crlf"])
def test_next_open_redirect_refused(signin, target) -> None:
    app, _, _ = signin
    client = app.test_client()
    page = text(client.get("/login", query_string={"next": target}))
    done = login(client, "clerk", PASSWORD, next_url=target)
    expected = target if target == "/%0a/evil" else "/account"  # a path on this server
    assert done.status_code == 303 and done.headers["Location"] == expected
    if expected == "/account":
        assert 'name="next"' not in page


def _refusal(client, username: str, password: str = PASSWORD):
    response = login(client, username, password)
    return response.status_code, text(response).replace(username, "LOGIN"), error_code(
        text(response))


def test_every_refusal_is_identical(signin, sessions, dsettings, ctx) -> None:
    app, w, _ = signin
    with sessions.begin() as s:
        frozen = accounts.create(s, dsettings, ctx, username="frozen1", account_type="user",
                                 password=PASSWORD, must_change_password=False)
        accounts.freeze(s, ctx, frozen.id)
        expired = accounts.create(s, dsettings, ctx, username="expired1",
                                  account_type="temporary", password=PASSWORD,
                                  must_change_password=False,
                                  expires_at=utcnow() + dt.timedelta(days=1))
        gone = accounts.create(s, dsettings, ctx, username="gone1", account_type="user",
                               password=PASSWORD, must_change_password=False)
        nopass = accounts.create(s, dsettings, ctx, username="nopass1", account_type="user")
        service = accounts.create(s, dsettings, ctx, username="robot1", account_type="service",
                                  password=PASSWORD, must_change_password=False)
        s.execute(update(Account).where(Account.id == expired.id)
                  .values(expires_at=utcnow() - dt.timedelta(minutes=1)))
        s.execute(update(Account).where(Account.id == gone.id)
                  .values(status=AccountStatus.DEACTIVATED))
    client = app.test_client()
    cases = {
        "wrong password": _refusal(client, "clerk", "not the password"),
        "unknown": _refusal(client, "nobody1"),
        "frozen": _refusal(client, "frozen1"),
        "expired": _refusal(client, "expired1"),
        "deactivated": _refusal(client, "gone1"),
        "no password": _refusal(client, "nopass1"),
        "service": _refusal(client, "robot1"),
    }
    assert len(set(cases.values())) == 1, cases
    status, _, code = cases["unknown"]
    assert status == 403 and code == "idp.login.refused"
    assert nopass and service  # made, refused like the rest
    reasons = [summary for action, summary in actions(sessions) if action == "login.failed"]
    assert len(reasons) == 7
    assert {'"unknown_account"', '"wrong_password"', '"account_frozen"', '"account_expired"',
            '"account_deactivated"', '"no_password"', '"service_account"'} == {
        r.split('"reason": ')[1].rstrip("}") for r in reasons}


def test_unknown_user_costs_one_argon2_verification(signin, monkeypatch) -> None:
    app, _, _ = signin
    calls = []
    real = login_views.verify_password

    def counting(stored, password, settings):
        calls.append(stored)
        return real(stored, password, settings)

    monkeypatch.setattr(login_views, "verify_password", counting)
    login(app.test_client(), "nobody-at-all", "whatever123")
    assert len(calls) == 1 and calls[0].startswith("$argon2id$")


def test_password_is_never_audited(signin, sessions) -> None:
    app, _, _ = signin
    login(app.test_client(), "clerk", "hunter2-secret-typo")
    login(app.test_client(), "clerk", PASSWORD)
    assert not any("hunter2" in summary or PASSWORD in summary
                   for _, summary in actions(sessions, ""))


def test_session_id_rotates_at_sign_in(signin, sessions) -> None:
    """Session fixation: a cookie planted before sign-in (or the previous session's) is
    dead after it, and the browser gets a new value."""
    app, w, _ = signin
    client = app.test_client()
    client.set_cookie("idp_session", "planted-by-an-attacker-0123456789")
    login(client, "clerk", PASSWORD)
    first = cookie(client)
    assert first and first != "planted-by-an-attacker-0123456789"
    login(client, "clerk", PASSWORD)
    second = cookie(client)
    assert second != first
    rows = live_rows(sessions, w["clerk_account"])
    assert len(rows) == 1
    with sessions() as s:
        from idp.sessions import digest

        old = s.get(BrowserSession, digest(first))
        assert old is not None and old.end_reason == "replaced"
    stolen = app.test_client()
    stolen.set_cookie("idp_session", first)
    assert stolen.get("/account").status_code == 303


def test_logout_ends_the_session_and_clears_the_cookie(signin, sessions) -> None:
    app, w, _ = signin
    client = app.test_client()
    login(client, "clerk", PASSWORD)
    raw = cookie(client)
    token = fields(text(client.get("/account")))["csrf_token"]
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["Location"] == "/login"
    assert cookie(client) is None
    assert live_rows(sessions, w["clerk_account"]) == []
    replay = app.test_client()
    replay.set_cookie("idp_session", raw)
    assert replay.get("/account").status_code == 303


def test_account_page_needs_a_session(signin) -> None:
    app, _, _ = signin
    away = app.test_client().get("/account/sessions")
    assert away.status_code == 303
    assert away.headers["Location"] == "/login?next=%2Faccount%2Fsessions"


def test_secure_cookies_on_https(settings, signin) -> None:
    """__Host- prefixed, Secure cookies on an https issuer, through a whole sign-in."""
    from dataclasses import replace

    from idp import create_app
    from idp.app import runtime

    base = "https://id.example.gov.cn"
    app = create_app(replace(settings, issuer=base))
    try:
        client = app.test_client()
        page = client.get("/login", base_url=base)
        cookie_header = page.headers["Set-Cookie"]
        assert cookie_header.startswith("__Host-idp_csrf=") and "Secure" in cookie_header
        data = fields(text(page)) | {"login": "clerk", "password": PASSWORD}
        done = client.post("/login", data=data, base_url=base)
        assert done.status_code == 303
        [session_cookie] = done.headers.getlist("Set-Cookie")
        assert session_cookie.startswith("__Host-idp_session=")
        assert "Secure" in session_cookie and "HttpOnly" in session_cookie
        assert "Domain" not in session_cookie and "Path=/" in session_cookie
        assert client.get("/account", base_url=base).status_code == 200
    finally:
        runtime(app).engine.dispose()


def test_catalogue_covers_every_key_in_both_languages() -> None:
    import re
    from pathlib import Path

    from idp import i18n

    used = set()
    for template in Path(login_views.__file__).parent.joinpath("templates", "login").glob("*"):
        used |= set(re.findall(r't\("([a-z_.]+)"[,)]', template.read_text(encoding="utf-8")))
    assert used and used <= set(i18n.CATALOGUE)
    assert all(zh and en and zh != en for zh, en in i18n.CATALOGUE.values())
    for kind in ("system_admin", "graded_admin", "user", "temporary", "service"):
        assert f"type.{kind}" in i18n.CATALOGUE
