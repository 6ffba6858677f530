"""TOTP at sign-in (#4, RFC 6238): required for accounts that have it and always for
administrators, enrolment on an administrator's first sign-in, a time step accepted once,
and the signed pending step that cannot be skipped, replayed elsewhere or kept."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select

from directory import accounts
from directory.models import Account
from directory.models import AuditEvent
from idp import mfa
from tests.idp.test_login_support import ADMIN_PASSWORD
from tests.idp.test_login_support import PASSWORD
from tests.idp.test_login_support import code_at
from tests.idp.test_login_support import cookie
from tests.idp.test_login_support import error_code
from tests.idp.test_login_support import fields
from tests.idp.test_login_support import live_rows
from tests.idp.test_login_support import login
from tests.idp.test_login_support import make_signin
from tests.idp.test_login_support import step
from tests.idp.test_login_support import text


@pytest.fixture
def signin(world, sessions, dsettings, ctx):
    return make_signin(world, sessions, dsettings, ctx)


def test_administrator_needs_a_code(signin, sessions) -> None:
    app, w, secret = signin
    client = app.test_client()
    first = login(client, "boss", ADMIN_PASSWORD, next_url="/portal")
    assert first.status_code == 200 and 'action="/login/totp"' in text(first)
    assert cookie(client) is None  # no half-signed-in session
    assert "pending" in fields(text(first))
    done = step(client, first, "/login/totp", code=code_at(secret))
    assert done.status_code == 303 and done.headers["Location"] == "/portal"
    [row] = live_rows(sessions, w["boss_account"])
    assert row.amr == "pwd otp"


def test_user_with_totp_needs_a_code(signin, sessions, dsettings, ctx) -> None:
    app, w, _ = signin
    secret = pyotp.random_base32()
    with sessions.begin() as s:
        accounts.set_totp_secret(s, dsettings, ctx, w["clerk_account"], secret)
    client = app.test_client()
    first = login(client, "clerk", PASSWORD)
    assert 'action="/login/totp"' in text(first)
    assert step(client, first, "/login/totp", code=code_at(secret)).status_code == 303


def test_wrong_code_refused_and_counted(signin, sessions) -> None:
    app, w, secret = signin
    client = app.test_client()
    first = login(client, "boss", ADMIN_PASSWORD)
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    refused = step(client, first, "/login/totp", code=wrong)
    assert refused.status_code == 403 and error_code(text(refused)) == "idp.totp.refused"
    assert cookie(client) is None
    with sessions() as s:
        assert s.scalar(select(AuditEvent.summary).where(AuditEvent.action == "login.failed")
                        ) == '{"locked": false, "reason": "wrong_totp"}'
    # the same pending step can still be completed with the right code
    assert step(client, refused, "/login/totp", code=code_at(secret)).status_code == 303


def test_a_time_step_is_accepted_once(signin, sessions) -> None:
    """RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the OTP after
    the successful validation has been issued for the first OTP"."""
    app, w, secret = signin
    code = code_at(secret)
    first = app.test_client()
    assert step(first, login(first, "boss", ADMIN_PASSWORD), "/login/totp",
                code=code).status_code == 303
    second = app.test_client()
    replay = step(second, login(second, "boss", ADMIN_PASSWORD), "/login/totp", code=code)
    assert replay.status_code == 403 and error_code(text(replay)) == "idp.totp.refused"
    older = step(second, replay, "/login/totp", code=code_at(secret, -1))
    assert older.status_code == 403  # an earlier step than the last accepted one
    later = code_at(secret, 1)
    assert step(second, older, "/login/totp", code=later).status_code == 303
    with sessions() as s:
        last = s.scalar(select(Account.totp_last_step).where(Account.id == w["boss_account"]))
    assert pyotp.TOTP(secret).generate_otp(last) == later


def test_claim_is_atomic(signin, sessions) -> None:
    _, w, _ = signin
    with sessions.begin() as s:
        assert accounts.claim_totp_step(s, w["boss_account"], 1000)
        assert not accounts.claim_totp_step(s, w["boss_account"], 1000)
        assert not accounts.claim_totp_step(s, w["boss_account"], 999)
        assert accounts.claim_totp_step(s, w["boss_account"], 1001)


def test_administrator_without_totp_enrols(signin, sessions, dsettings, ctx) -> None:
    app, w, _ = signin
    with sessions.begin() as s:
        admin = accounts.create(s, dsettings, ctx, username="graded", account_type="graded_admin",
                                password=ADMIN_PASSWORD, must_change_password=False)
    client = app.test_client()
    page = login(client, "graded", ADMIN_PASSWORD)
    body = text(page)
    assert page.status_code == 200 and 'action="/login/enrol"' in body
    assert 'src="data:image/svg+xml' in body
    secret = body.split('<code class="secret">')[1].split("<")[0]
    assert len(secret) == 32
    with sessions() as s:
        assert s.get(Account, admin.id).totp_secret_enc is None  # not before it is proven
    wrong = step(client, page, "/login/enrol", code="000000" if code_at(secret) != "000000"
                 else "111111")
    assert wrong.status_code == 403 and secret in text(wrong)  # same secret offered again
    done = step(client, wrong, "/login/enrol", code=code_at(secret))
    assert done.status_code == 303 and done.headers["Location"] == "/account"
    with sessions() as s:
        stored = s.get(Account, admin.id)
        assert accounts.totp_secret(dsettings, stored) == secret
        assert s.scalar(select(AuditEvent.summary).where(
            AuditEvent.action == "account.totp_set")) == '{"totp_secret": "[set]"}'
    [row] = live_rows(sessions, admin.id)
    assert row.amr == "pwd otp"
    # next sign-in: the code, not enrolment again
    again = app.test_client()
    assert 'action="/login/totp"' in text(login(again, "graded", ADMIN_PASSWORD))


def test_pending_step_cannot_be_skipped(signin) -> None:
    """A token for the TOTP step does not open the password step (or any other)."""
    app, _, _ = signin
    client = app.test_client()
    first = login(client, "boss", ADMIN_PASSWORD)
    for path in ("/login/password", "/login/enrol"):
        skipped = step(client, first, path, new_password="a brand new pass", confirm="a brand "
                       "new pass", code="123456")
        assert skipped.status_code == 403
        assert error_code(text(skipped)) == "idp.login.step_expired"
    assert cookie(client) is None


def test_pending_step_is_bound_to_the_browser(signin) -> None:
    app, _, secret = signin
    victim = app.test_client()
    pending = fields(text(login(victim, "boss", ADMIN_PASSWORD)))["pending"]
    thief = app.test_client()
    own = fields(text(thief.get("/login")))
    stolen = thief.post("/login/totp", data=own | {"pending": pending, "code": code_at(secret)})
    assert stolen.status_code == 403 and error_code(text(stolen)) == "idp.login.step_expired"


@pytest.mark.parametrize("tamper", ["expired", "forged"])
def test_pending_step_expires_and_is_signed(signin, monkeypatch, tamper) -> None:
    app, _, secret = signin
    client = app.test_client()
    first = login(client, "boss", ADMIN_PASSWORD)
    form = fields(text(first))
    if tamper == "expired":
        monkeypatch.setattr(mfa, "PENDING_SECONDS", -1)
    else:
        form["pending"] = form["pending"][:-3] + ("AAA" if form["pending"][-3:] != "AAA"
                                                  else "BBB")
    late = client.post("/login/totp", data=form | {"code": code_at(secret)})
    assert late.status_code == 403 and error_code(text(late)) == "idp.login.step_expired"


def test_freeze_between_steps_voids_the_pending_step(signin, sessions, ctx) -> None:
    app, w, secret = signin
    client = app.test_client()
    first = login(client, "boss", ADMIN_PASSWORD)
    with sessions.begin() as s:
        accounts.freeze(s, ctx, w["boss_account"])
    late = step(client, first, "/login/totp", code=code_at(secret))
    assert late.status_code == 403 and cookie(client) is None


def test_one_code_in_parallel_signs_in_once(signin, sessions) -> None:
    """Eight browsers that passed the password send the same code at the same moment:
    one session, seven refusals (the claim is one conditional UPDATE)."""
    import threading

    app, w, secret = signin
    browsers = [app.test_client() for _ in range(8)]
    pages = [login(b, "boss", ADMIN_PASSWORD) for b in browsers]
    code = code_at(secret)
    barrier = threading.Barrier(len(browsers))
    statuses: list[int] = []

    def send(browser, page) -> None:
        barrier.wait()
        statuses.append(step(browser, page, "/login/totp", code=code).status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(browsers, pages,
                                                                         strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [303] + [403] * 7
    assert len(live_rows(sessions, w["boss_account"])) == 1
