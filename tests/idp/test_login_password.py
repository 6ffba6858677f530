"""Forced password change at sign-in (#4): first sign-in and an administrator's reset
(must_change_password), administrators' passwords older than admin_password_max_days;
the rules for a new password (length, not the username, not a common password)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from directory import accounts
from directory import passwords
from directory.db import utcnow
from directory.models import Account
from idp import login as login_views
from tests.idp.test_login_support import ADMIN_PASSWORD
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import code_at
from tests.idp.test_login_support import cookie
from tests.idp.test_login_support import error_code
from tests.idp.test_login_support import live_rows
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import step
from tests.idp.test_login_support import text

NEW = "a fresh long passphrase"


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


@pytest.fixture
def newcomer(signin, sessions, dsettings, ctx):
    """An account whose password was set by an administrator (must change it)."""
    with sessions.begin() as s:
        accounts.set_password(s, dsettings, ctx, signin[1]["villager_account"], PASSWORD,
                              must_change=True)
    return signin


def test_common_password_list_is_offline_and_3000_long() -> None:
    common = passwords.common_passwords()
    assert len(common) == 3000 and "password" in common and "qwertyuiop" in common


@pytest.mark.parametrize(("password", "confirm", "code"), [
    ("short7!", None, "idp.password.too_short"),
    ("villager", None, "idp.password.username"),
    ("VILLAGER", None, "idp.password.username"),
    ("password1", None, "idp.password.common"),
    ("Qwertyuiop", None, "idp.password.common"),
    (NEW, NEW + "x", "idp.password.mismatch"),
    (NEW, NEW, None),
    ("八个汉字的中文密码", None, None),
], ids=["short", "username", "username-case", "common", "common-case", "mismatch", "good",
        "chinese"])
def test_new_password_rules(password, confirm, code) -> None:
    assert login_views.password_refusal("villager", password, confirm) == code


def test_first_sign_in_forces_a_change(newcomer, sessions) -> None:
    app, w, _ = newcomer
    other = app.test_client()  # a session on another device, from before the reset
    client = app.test_client()
    page = login(client, "villager", PASSWORD, next_url="/portal")
    assert page.status_code == 200 and 'action="/login/password"' in text(page)
    assert cookie(client) is None
    for bad, code in (("password123", "idp.password.common"), ("villager", "idp.password.username"),
                      ("short", "idp.password.too_short"), (PASSWORD, "idp.password.reused")):
        page = step(client, page, "/login/password", new_password=bad, confirm=bad)
        assert page.status_code == 400 and error_code(text(page)) == code
    done = step(client, page, "/login/password", new_password=NEW, confirm=NEW)
    assert done.status_code == 303 and done.headers["Location"] == "/portal"
    with sessions() as s:
        account = s.get(Account, w["villager_account"])
        assert not account.must_change_password
    assert len(live_rows(sessions, w["villager_account"])) == 1
    assert login(other, "villager", PASSWORD).status_code == 403  # the old password is gone
    assert login(app.test_client(), "villager", NEW).status_code == 303  # no change asked


def test_the_change_form_cannot_be_replayed(newcomer) -> None:
    app, _, _ = newcomer
    client = app.test_client()
    page = login(client, "villager", PASSWORD)
    assert step(client, page, "/login/password", new_password=NEW, confirm=NEW
                ).status_code == 303
    again = step(client, page, "/login/password", new_password=NEW + "2", confirm=NEW + "2")
    assert again.status_code == 400  # its CSRF token was bound to "no session"
    client.delete_cookie("idp_session")
    again = step(client, page, "/login/password", new_password=NEW + "2", confirm=NEW + "2")
    assert again.status_code == 403 and error_code(text(again)) == "idp.login.step_expired"


def test_old_admin_password_expires(signin, sessions, settings) -> None:
    app, w, secret = signin
    with sessions.begin() as s:
        s.execute(update(Account).where(Account.id == w["boss_account"]).values(
            password_changed_at=utcnow() - dt.timedelta(days=settings.admin_password_max_days,
                                                        hours=1)))
    client = app.test_client()
    first = login(client, "boss", ADMIN_PASSWORD)
    assert 'action="/login/totp"' in text(first)  # the second factor comes first
    page = step(client, first, "/login/totp", code=code_at(secret))
    assert page.status_code == 200 and 'action="/login/password"' in text(page)
    done = step(client, page, "/login/password", new_password=NEW, confirm=NEW)
    assert done.status_code == 303
    [row] = live_rows(sessions, w["boss_account"])
    assert row.amr == "pwd otp"


def test_users_passwords_do_not_expire(signin, sessions, settings) -> None:
    app, w, _ = signin
    with sessions.begin() as s:
        s.execute(update(Account).where(Account.id == w["clerk_account"]).values(
            password_changed_at=utcnow() - dt.timedelta(days=1000)))
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 303
