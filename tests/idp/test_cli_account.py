"""`idp account freeze|unfreeze USERNAME` and `idp password set USERNAME --password-stdin
[--temporary]` (#4): operator actions, audited with the operator as actor; freezing ends
the account's sessions at once; a temporary password must be changed at sign-in."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from directory import accounts
from directory.models import Account
from directory.models import AccountStatus
from directory.models import AuditEvent
from idp import throttle
from tests.idp.support import run
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import live_rows
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import text

NEW = "operator chosen phrase"


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


def _actor(sessions, action: str) -> str:
    with sessions() as s:
        return s.scalar(select(AuditEvent.actor).where(AuditEvent.action == action)
                        .order_by(AuditEvent.seq.desc()).limit(1))


def test_freeze_and_unfreeze(signin, sessions, cli_env) -> None:
    app, w, _ = signin
    client = app.test_client()
    assert login(client, "clerk", PASSWORD).status_code == 303
    frozen = run(cli_env, "account", "freeze", "Clerk", "--json")
    assert frozen.exit_code == 0, frozen.output
    assert json.loads(frozen.output) == {"username": "clerk", "status": "frozen"}
    assert _actor(sessions, "account.frozen").startswith("cli:")
    assert live_rows(sessions, w["clerk_account"]) == []
    assert client.get("/account").status_code == 303
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 403
    again = run(cli_env, "account", "freeze", "clerk")
    assert again.exit_code != 0 and "directory.account.not_active" in again.output
    thawed = run(cli_env, "account", "unfreeze", "clerk")
    assert thawed.exit_code == 0 and thawed.output.strip() == "clerk: active"
    assert _actor(sessions, "account.unfrozen").startswith("cli:")
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 303


def test_unknown_account(cli_env, sessions) -> None:
    result = run(cli_env, "account", "freeze", "nobody")
    assert result.exit_code != 0 and "no account named 'nobody'" in result.output


def test_password_set_temporary(signin, sessions, cli_env, settings) -> None:
    app, w, _ = signin
    old_device = app.test_client()
    assert login(old_device, "clerk", PASSWORD).status_code == 303
    for _ in range(settings.login_max_failures):
        login(app.test_client(), "clerk", "wrong password!")
    result = run(cli_env, "password", "set", "clerk", "--password-stdin", "--temporary",
                 "--json", stdin=NEW + "\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"username": "clerk", "must_change_password": True}
    assert NEW not in result.output
    with sessions() as s:
        account = s.get(Account, w["clerk_account"])
        assert account.must_change_password and account.status == AccountStatus.ACTIVE
        assert throttle.locked_until(s, account.id) is None  # the reset unlocks
        summary = s.scalar(select(AuditEvent.summary).where(
            AuditEvent.action == "account.password_reset"))
        assert summary == '{"password": "[set]"}'
    assert _actor(sessions, "account.password_reset").startswith("cli:")
    assert old_device.get("/account").status_code == 303  # sessions ended
    page = login(app.test_client(), "clerk", NEW)
    assert page.status_code == 200 and 'action="/login/password"' in text(page)


def test_password_set_permanent(signin, sessions, cli_env, dsettings) -> None:
    app, w, _ = signin
    result = run(cli_env, "password", "set", "villager", "--password-stdin", stdin=NEW + "\n")
    assert result.exit_code == 0 and result.output.strip() == "villager: password set"
    with sessions() as s:
        account = s.get(Account, w["villager_account"])
        assert not account.must_change_password
        assert accounts.check_password(s, dsettings, account, NEW)
    assert login(app.test_client(), "villager", NEW).status_code == 303


@pytest.mark.parametrize(("password", "code"), [
    ("password1", "idp.password.common"), ("short", "idp.password.too_short"),
    ("villager", "idp.password.username")])
def test_password_set_refuses_weak_passwords(signin, cli_env, password, code) -> None:
    result = run(cli_env, "password", "set", "villager", "--password-stdin",
                 stdin=password + "\n")
    assert result.exit_code != 0 and code in result.output


def test_password_comes_only_from_stdin(cli_env, sessions) -> None:
    result = run(cli_env, "password", "set", "villager")
    assert result.exit_code != 0 and "--password-stdin" in result.output
