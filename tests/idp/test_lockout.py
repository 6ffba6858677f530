"""Throttling without enumeration (#4): 5 failures lock an account for 15 minutes, 30
failures block a source address, the refusal looks like any other, the counters live in
the database (shared by workers), a success or an operator's reset clears them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.models import RateCounter
from idp import login as login_views
from idp import throttle
from tests.idp.test_login_support import ADMIN_PASSWORD
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import actions
from tests.idp.test_login_support import code_at
from tests.idp.test_login_support import error_code
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import step
from tests.idp.test_login_support import text


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


def _fail(client, username: str, times: int) -> None:
    for _ in range(times):
        assert login(client, username, "wrong password!").status_code == 403


def test_five_failures_lock_the_account(signin, sessions, settings, monkeypatch) -> None:
    app, w, _ = signin
    client = app.test_client()
    _fail(client, "clerk", settings.login_max_failures - 1)
    assert login(client, "clerk", PASSWORD).status_code == 303  # not yet: success resets
    _fail(client, "clerk", settings.login_max_failures)
    fresh = app.test_client()
    locked = login(fresh, "clerk", PASSWORD)
    wrong = login(fresh, "clerk", "wrong password!")
    assert locked.status_code == wrong.status_code == 403
    assert text(locked) == text(wrong) and error_code(text(locked)) == "idp.login.refused"
    failed = [s for a, s in actions(sessions) if a == "login.failed"]
    assert failed[2 * settings.login_max_failures - 2] == '{"locked": true, "reason": "wrong_password"}'
    assert failed[-2] == '{"locked": false, "reason": "throttled"}'
    with sessions() as s:
        assert throttle.locked_until(s, w["clerk_account"]) is not None
    # other accounts are unaffected
    assert login(app.test_client(), "villager", PASSWORD).status_code == 303
    # 15 minutes later the right password works again
    later = throttle._now() + settings.login_lockout_minutes * 60 + 1
    monkeypatch.setattr(throttle, "_now", lambda: later)
    assert login(app.test_client(), "clerk", PASSWORD).status_code == 303
    with sessions() as s:
        assert s.scalars(select(RateCounter.key).where(
            RateCounter.key.like(f"login:%:{w['clerk_account']}"))).all() == []


def test_locked_attempts_do_not_check_the_real_password(signin, settings, monkeypatch) -> None:
    """A locked account answers after the same dummy verification as an unknown one, so
    neither the time nor the answer says whether the password was right."""
    app, _, _ = signin
    _fail(app.test_client(), "clerk", settings.login_max_failures)
    seen = []
    real = login_views.verify_password

    def spy(stored, password, psettings):
        seen.append(stored)
        return real(stored, password, psettings)

    monkeypatch.setattr(login_views, "verify_password", spy)
    login(app.test_client(), "clerk", PASSWORD)
    assert seen == [login_views._dummy_hash(settings.directory().passwords)]


def test_locked_accounts_do_not_stay_locked_by_more_tries(signin, settings, sessions) -> None:
    """Attempts on a locked account are refused without extending the lock."""
    app, w, _ = signin
    _fail(app.test_client(), "clerk", settings.login_max_failures)
    with sessions() as s:
        first = throttle.locked_until(s, w["clerk_account"])
    _fail(app.test_client(), "clerk", settings.login_max_failures)
    with sessions() as s:
        assert throttle.locked_until(s, w["clerk_account"]) == first


def test_wrong_codes_count_towards_the_lock(signin, settings) -> None:
    app, _, secret = signin
    client = app.test_client()
    page = login(client, "boss", ADMIN_PASSWORD)
    wrong = f"{(int(code_at(secret)) + 500_000) % 1_000_000:06d}"
    for _ in range(settings.login_max_failures):
        page = step(client, page, "/login/totp", code=wrong)
        assert page.status_code == 403
    # locked now: even the right code and then the right password are refused
    late = step(client, page, "/login/totp", code=code_at(secret))
    assert late.status_code == 403 and error_code(text(late)) == "idp.login.step_expired"
    assert login(app.test_client(), "boss", ADMIN_PASSWORD).status_code == 403


def test_one_address_is_limited(signin, monkeypatch) -> None:
    app, _, _ = signin
    monkeypatch.setattr(throttle, "IP_MAX_FAILURES", 4)
    attacker = app.test_client()
    for n in range(4):  # spread over unknown accounts: no account lock helps here
        assert login(attacker, f"guess{n}", "wrong password!").status_code == 403
    blocked = login(attacker, "clerk", PASSWORD)
    assert blocked.status_code == 403 and error_code(text(blocked)) == "idp.login.refused"
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert login(elsewhere, "clerk", PASSWORD).status_code == 303


def test_default_limits_stay_under_a_hundred_guesses_an_hour(settings) -> None:
    """#4: "bounded well under 100 attempts an hour" per account."""
    windows_per_hour = 60 / settings.login_lockout_minutes
    # at worst: N-1 at the end of a window, then N (the lock) at the start of the next,
    # then nothing for the lock's length
    assert (2 * settings.login_max_failures - 1) * windows_per_hour < 100
    assert throttle.IP_MAX_FAILURES * (3600 / throttle.IP_WINDOW_SECONDS) <= 120
