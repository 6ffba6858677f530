"""CSRF (#4): every form of the sign-in pages carries a token bound to the browser's nonce
cookie and session; a missing, wrong, foreign or stale token is refused with 400 before
anything happens."""

from __future__ import annotations

import pytest
from sqlalchemy import func
from sqlalchemy import select

from directory.models import BrowserSession
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import actions
from tests.idp.test_login_support import cookie
from tests.idp.test_login_support import fields
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import text


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


POSTS = ["/login", "/login/totp", "/login/enrol", "/login/password", "/logout",
         "/account/sessions/end-others", "/account/sessions/" + "0" * 64 + "/end"]


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("token", ["missing", "wrong", "foreign"])
def test_forms_refuse_bad_tokens(signin, sessions, path, token) -> None:
    app, _, _ = signin
    client = app.test_client()
    assert login(client, "villager", PASSWORD).status_code == 303
    data = {"login": "clerk", "password": PASSWORD}
    if token == "wrong":
        data["csrf_token"] = "0" * 64
    elif token == "foreign":  # a real token, from the attacker's own browser
        data["csrf_token"] = fields(text(app.test_client().get("/login")))["csrf_token"]
    refused = client.post(path, data=data)
    assert refused.status_code == 400
    assert 'data-code="error_csrf"' in text(refused)
    assert refused.headers["X-Frame-Options"] == "DENY"
    assert ("login.succeeded", '{"amr": "pwd"}') in actions(sessions)
    assert len([a for a in actions(sessions) if a[0] == "login.succeeded"]) == 1
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(BrowserSession).where(
            BrowserSession.ended_at.is_(None))) == 1


def test_token_without_the_nonce_cookie_is_refused(signin) -> None:
    app, _, _ = signin
    client = app.test_client()
    token = fields(text(client.get("/login")))["csrf_token"]
    client.delete_cookie("idp_csrf")
    refused = client.post("/login", data={"csrf_token": token, "login": "clerk",
                                          "password": PASSWORD})
    assert refused.status_code == 400 and cookie(client) is None


def test_login_form_token_dies_with_the_sign_in(signin) -> None:
    """The token is bound to the session: a form rendered before sign-in (when an
    attacker could have seen it) does not work after it."""
    app, _, _ = signin
    client = app.test_client()
    before = fields(text(client.get("/login")))["csrf_token"]
    assert login(client, "clerk", PASSWORD).status_code == 303
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    after = fields(text(client.get("/account")))["csrf_token"]
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 303
