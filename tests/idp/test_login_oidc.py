"""The sign-in pages behind the OIDC authorization endpoint (#4), end to end with a
browser: /authorize without a session → /login?next= → password and TOTP → back to
/authorize → a code for the app, whose ID token says how the user signed in."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.idp.test_login_support import ADMIN_PASSWORD
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import code_at
from tests.idp.test_login_support import fields
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import text
from tests.idp.test_oidc_flow import RP_REDIRECT
from tests.idp.test_oidc_flow import _client
from tests.idp.test_oidc_flow import authorize
from tests.idp.test_oidc_flow import exchange
from tests.idp.test_oidc_flow import pkce


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


def _browse_to_code(app, rp, username: str, password: str, secret: str | None):
    browser = app.test_client()
    verifier, challenge = pkce()
    first = authorize(browser, rp, challenge=challenge)
    login_url = urlsplit(first.headers["Location"])
    assert login_url.path == "/login"
    next_url = parse_qs(login_url.query)["next"][0]
    page = browser.get("/login", query_string={"next": next_url})
    form = fields(text(page))
    assert form["next"] == next_url
    done = browser.post("/login", data=form | {"login": username, "password": password})
    if secret is not None:
        done = browser.post("/login/totp", data=fields(text(done)) | {"code": code_at(secret)})
    assert done.status_code == 303 and done.headers["Location"] == next_url
    back = browser.get(done.headers["Location"])
    assert back.status_code == 302 and back.headers["Location"].startswith(RP_REDIRECT)
    code = parse_qs(urlsplit(back.headers["Location"]).query)["code"][0]
    return browser, code, verifier


@pytest.mark.parametrize("who", ["user", "administrator"])
def test_sign_in_through_authorize(signin, sessions, ctx, who) -> None:
    app, _, secret = signin
    rp = _client(sessions, ctx, public=False, redirect_uris=(RP_REDIRECT,))
    username, password, otp = (("clerk", PASSWORD, None) if who == "user"
                               else ("boss", ADMIN_PASSWORD, secret))
    browser, code, verifier = _browse_to_code(app, rp, username, password, otp)
    tokens = exchange(browser, rp, code, verifier)
    assert tokens.status_code == 200, tokens.get_json()
    keys = KeySet.import_key_set(browser.get("/jwks.json").get_json())
    claims = jwt.decode(tokens.get_json()["id_token"], keys).claims
    assert claims["amr"] == (["pwd"] if otp is None else ["pwd", "otp"])  # RFC 8176
