"""Sign-in pages (#4): password, TOTP, enrolment, forced password change, sign-out, and
the user's own sessions. Server-rendered forms, Simplified Chinese by default.

Sign-in, in order:

* ``POST /login``: the source address and the account are not throttled, the account
  exists and has a password, the password matches, the account is usable (active, not
  past expiry, not a service account). Every refusal (unknown user, wrong password,
  frozen, expired, deactivated, locked, throttled address) gets the same page, status
  and work: one argon2 verification, against a dummy hash when there is no real one.
* ``POST /login/totp`` or ``/login/enrol``: accounts with TOTP, and every administrator
  (who enrols on first sign-in). A time step is accepted once.
* ``POST /login/password``: first sign-in, an administrator's reset or an
  administrator's password older than ``admin_password_max_days``.
* Then a new browser session (``idp.sessions.start``, replacing the browser's old one:
  no fixation) and a 303 to ``next`` when it is a relative path, else ``/account``.

Between steps the browser holds only a short-lived signed token (``idp.mfa.Pending``).
Every failure and success is audited (``login.failed`` with a reason, ``login.succeeded``).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from sqlalchemy.orm import Session

from directory import accounts
from directory import audit
from directory import passwords
from directory.db import utcnow
from directory.errors import DomainError
from directory.models import Account
from directory.models import AccountStatus
from directory.models import AccountType
from directory.models import BrowserSession
from directory.passwords import PasswordSettings
from directory.passwords import hash_password
from directory.passwords import verify_password
from idp import csrf
from idp import i18n
from idp import mfa
from idp import sessions
from idp import throttle
from idp.oidc import backchannel
from idp.runtime import Runtime
from idp.runtime import runtime

bp = Blueprint("login", __name__)
LOGIN_PATH = "/login"
ACCOUNT_PATH = "/account"
ADMIN_TYPES = frozenset({AccountType.SYSTEM_ADMIN, AccountType.GRADED_ADMIN})
_SESSION_ID = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE_NEXT = re.compile(r"[\x00-\x20\x7f\\]")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    _dummy_hash(runtime(app).directory.passwords)  # now, not during the first refusal


def _rt() -> Runtime:
    return runtime(current_app)


# -- rules -------------------------------------------------------------------------------


def safe_next(value: str | None) -> str | None:
    """``next`` when it is a path on this server: one leading "/", no scheme or host, no
    backslash, space or control character (browsers read "/\\evil" and "/\\t/evil" as
    "//evil"). Anything else is dropped: no open redirect."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return None
    return None if _UNSAFE_NEXT.search(value) else value


def password_refusal(username: str, password: str, confirm: str | None = None) -> str | None:
    """The code of the rule a new password breaks, or None (docs/login.md): the two typed
    passwords differ, or ``directory.passwords.refusal``."""
    if confirm is not None and password != confirm:
        return "idp.password.mismatch"
    return passwords.refusal(username, password)


def must_change_password(account: Account, max_days: int, now: dt.datetime) -> bool:
    if account.must_change_password:
        return True
    if account.type not in ADMIN_TYPES:
        return False
    changed = account.password_changed_at
    return changed is None or now - changed > dt.timedelta(days=max_days)


@functools.cache
def _dummy_hash(settings: PasswordSettings) -> str:
    return hash_password("not a password: equalises the time of refusals", settings)


def equalise_timing(settings: PasswordSettings, password: str) -> None:
    """One argon2 verification that always fails, for attempts with no hash to check."""
    verify_password(_dummy_hash(settings), password, settings)


# -- pages -------------------------------------------------------------------------------


@bp.before_request
def _check_csrf() -> Response | None:
    if request.method == "POST" and not csrf.valid(request, _rt().settings):
        return _page("login/error.html", 400, message="error_csrf")
    return None


@bp.after_request
def _protect(response: Response) -> Response:
    return csrf.protect(response, _rt().settings)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    body = i18n.render(request, template, csrf_token=csrf.token(request, _rt().settings),
                       **context)
    return Response(body, status, mimetype="text/html")


def _redirect(location: str, status: int = 303) -> Response:
    """A redirect to a path on this server (relative Location, RFC 9110 §10.2.2)."""
    return Response(status=status, headers={"Location": location})


def _ctx(account: Account | None) -> audit.Context:
    return audit.Context(actor=f"account:{account.id}" if account else "anonymous",
                         source_ip=request.remote_addr, request_id=g.get("request_id"))


def _with_lang(path: str) -> str:
    lang = i18n.explicit(request)
    return path if lang is None else f"{path}{'&' if '?' in path else '?'}lang={lang}"


@bp.get(LOGIN_PATH)
def login_form() -> Response:
    return _page("login/form.html", next_url=safe_next(request.args.get("next")), login="")


@bp.post(LOGIN_PATH)
def login_submit() -> Response:
    rt = _rt()
    login = request.form.get("login", "").strip()[:128]
    password = request.form.get("password", "")[:1024]
    next_url = safe_next(request.form.get("next"))
    with rt.sessions.begin() as db:
        account = accounts.find_for_login(db, rt.directory, login) if login else None
        reason = _password_refusal(db, rt, account, password)
        if reason is not None:
            _failed(db, rt, account, reason)
            return _page("login/form.html", 403, next_url=next_url, login=login,
                         error="idp.login.refused")
        assert account is not None
        return _proceed(db, rt, account, next_url, ("pwd",))


def _password_refusal(db: Session, rt: Runtime, account: Account | None,
                      password: str) -> str | None:
    """Why this password attempt is refused, or None."""
    if throttle.refused(db, account.id if account else None, request.remote_addr):
        equalise_timing(rt.directory.passwords, password)
        return "throttled"
    if account is None or account.password_hash is None:
        equalise_timing(rt.directory.passwords, password)
        return "unknown_account" if account is None else "no_password"
    if not accounts.check_password(db, rt.directory, account, password):
        return "wrong_password"
    if not accounts.usable(account):  # frozen, deactivated, expired or past expires_at
        active = account.status == AccountStatus.ACTIVE
        return "account_expired" if active else f"account_{account.status.value}"
    return "service_account" if account.type == AccountType.SERVICE else None


def _failed(db: Session, rt: Runtime, account: Account | None, reason: str) -> None:
    counted = None if account is None or reason == "throttled" else account.id
    locked = throttle.failed(db, rt.settings, counted, request.remote_addr)
    audit.record(db, "login.failed", _ctx(account), target_type="account" if account else None,
                 target_id=account.id if account else None,
                 summary={"reason": reason, "locked": locked})


def _proceed(db: Session, rt: Runtime, account: Account, next_url: str | None,
             amr: tuple[str, ...]) -> Response:
    """The next step this sign-in must take, or the session when none is left."""
    if "otp" not in amr:
        stage = mfa.needs_totp(account, account.type in ADMIN_TYPES)
        if stage is not None:
            secret = mfa.new_secret() if stage == "enrol" else None
            return _step(account, _pending(account, stage, next_url, amr, secret))
    if must_change_password(account, rt.settings.admin_password_max_days, utcnow()):
        return _step(account, _pending(account, "password", next_url, amr))
    return _finish(db, rt, account, next_url, amr)


def _pending(account: Account, stage: str, next_url: str | None, amr: tuple[str, ...],
             secret: str | None = None) -> mfa.Pending:
    return mfa.Pending(account_id=account.id, stage=stage, next_url=next_url, amr=amr,
                       fingerprint=mfa.fingerprint(account),
                       binding=csrf.binding(request, _rt().settings), enrol_secret=secret)


def _step(account: Account, pending: mfa.Pending, status: int = 200,
          error: str | None = None, token: str | None = None) -> Response:
    context: dict[str, Any] = {"pending": token or mfa.issue(_rt().settings.secret_key, pending),
                               "error": error, "min_length": passwords.MIN_PASSWORD_LENGTH}
    if pending.stage == "enrol" and pending.enrol_secret:
        context["otpauth_uri"], context["qr"] = mfa.provisioning(pending.enrol_secret,
                                                                 account.username)
        context["secret"] = pending.enrol_secret
    return _page(f"login/{pending.stage}.html", status, **context)


def _resume(db: Session, rt: Runtime, stage: str) -> tuple[mfa.Pending, Account] | None:
    """The pending sign-in this form continues, if it is still good for this step."""
    pending = mfa.read(rt.settings.secret_key, request.form.get("pending", ""), stage,
                       csrf.binding(request, rt.settings))
    if pending is None:
        return None
    account = db.get(Account, pending.account_id)
    if (account is None or mfa.fingerprint(account) != pending.fingerprint
            or not accounts.usable(account)
            or throttle.refused(db, account.id, request.remote_addr)):
        return None
    return pending, account


def _expired() -> Response:
    return _page("login/form.html", 403, next_url=None, login="", error="idp.login.step_expired")


@bp.post("/login/totp")
def totp_submit() -> Response:
    rt = _rt()
    with rt.sessions.begin() as db:
        resumed = _resume(db, rt, "totp")
        if resumed is None:
            return _expired()
        pending, account = resumed
        if not mfa.verify(db, rt.directory, account, request.form.get("code", "")):
            _failed(db, rt, account, "wrong_totp")
            return _step(account, pending, 403, "idp.totp.refused", request.form["pending"])
        return _proceed(db, rt, account, pending.next_url, (*pending.amr, "otp"))


@bp.post("/login/enrol")
def enrol_submit() -> Response:
    rt = _rt()
    with rt.sessions.begin() as db:
        resumed = _resume(db, rt, "enrol")
        if resumed is None or not resumed[0].enrol_secret:
            return _expired()
        pending, account = resumed
        secret = str(pending.enrol_secret)
        if not mfa.confirm_enrolment(db, secret, account, request.form.get("code", "")):
            _failed(db, rt, account, "wrong_totp")
            return _step(account, pending, 403, "idp.totp.refused", request.form["pending"])
        accounts.set_totp_secret(db, rt.directory, _ctx(account), account.id, secret)
        return _proceed(db, rt, account, pending.next_url, (*pending.amr, "otp"))


@bp.post("/login/password")
def password_submit() -> Response:
    rt = _rt()
    new = request.form.get("new_password", "")[:1024]
    with rt.sessions.begin() as db:
        resumed = _resume(db, rt, "password")
        if resumed is None:
            return _expired()
        pending, account = resumed
        refusal = password_refusal(account.username, new, request.form.get("confirm", ""))
        notices: list[backchannel.Notice] = []
        if refusal is None:
            notices = backchannel.for_account(db, account.id)
            try:  # the rules again, not the current password; ends every session and grant
                accounts.change_own_password(db, rt.directory, _ctx(account), account.id, new)
            except DomainError as exc:
                notices = []
                refusal = exc.code if exc.code in passwords.RULES else "idp.password.too_short"
        if refusal is not None:
            return _step(account, pending, 400, refusal, request.form["pending"])
        response = _proceed(db, rt, account, pending.next_url, pending.amr)
    backchannel.send(notices, f"account:{account.id}")  # after the commit
    return response


def _finish(db: Session, rt: Runtime, account: Account, next_url: str | None,
            amr: tuple[str, ...]) -> Response:
    old = request.cookies.get(sessions.cookie_name(rt.settings))
    row, raw = sessions.start(db, rt.settings, account, amr=" ".join(amr),
                              user_agent=request.user_agent.string,
                              source_ip=request.remote_addr, replacing=old)
    throttle.reset(db, account.id)
    audit.record(db, "login.succeeded", _ctx(account), target_type="account",
                 target_id=account.id, summary={"amr": row.amr})
    response = _redirect(next_url or ACCOUNT_PATH, 303)
    sessions.set_cookie(response, rt.settings, raw)
    return response


@bp.post("/logout")
def logout() -> Response:
    rt = _rt()
    notices: list[backchannel.Notice] = []
    with rt.sessions.begin() as db:
        row = sessions.current(db, rt.settings, _cookie(), touch=False)
        if row is not None:
            notices = backchannel.for_session(db, row.account_id, row.id)
            sessions.end(db, row.id, "logout")
            audit.record(db, "session.ended", audit.Context(
                actor=f"account:{row.account_id}", source_ip=request.remote_addr,
                request_id=g.get("request_id")), target_type="account",
                target_id=row.account_id, summary={"reason": "logout"})
    if row is not None:
        backchannel.send(notices, f"account:{row.account_id}")  # after the commit
    return _signed_out()


def _cookie() -> str | None:
    return request.cookies.get(sessions.cookie_name(_rt().settings))


def _signed_out(next_url: str | None = None) -> Response:
    target = LOGIN_PATH if next_url is None else f"{LOGIN_PATH}?{urlencode({'next': next_url})}"
    response = _redirect(_with_lang(target), 303)
    if _cookie():
        sessions.clear_cookie(response, _rt().settings)
    return response


# -- the user's own account and sessions (004 §三.3) ------------------------------------


def _signed_in(db: Session) -> tuple[BrowserSession, Account] | None:
    row = sessions.current(db, _rt().settings, _cookie())
    if row is None:
        return None
    account = db.get(Account, row.account_id)
    return None if account is None else (row, account)


def _to_login() -> Response:
    """To the sign-in page, back here afterwards (GET pages only)."""
    return _signed_out(request.path if request.method == "GET" else ACCOUNT_PATH)


@bp.get(ACCOUNT_PATH)
def account_page() -> Response:
    with _rt().sessions.begin() as db:
        signed_in = _signed_in(db)
        if signed_in is None:
            return _to_login()
        row, account = signed_in
        return _page("login/account.html", account=account, current=row)


@bp.get(f"{ACCOUNT_PATH}/sessions")
def sessions_page() -> Response:
    rt = _rt()
    with rt.sessions.begin() as db:
        signed_in = _signed_in(db)
        if signed_in is None:
            return _to_login()
        row, account = signed_in
        live = sessions.live_sessions(db, rt.settings, account.id)
        return _page("login/sessions.html", account=account, current=row, live=live)


@bp.post(f"{ACCOUNT_PATH}/sessions/<session_id>/end")
def end_session(session_id: str) -> Response:
    rt = _rt()
    with rt.sessions.begin() as db:
        signed_in = _signed_in(db)
        if signed_in is None:
            return _to_login()
        row, account = signed_in
        target = db.get(BrowserSession, session_id) if _SESSION_ID.match(session_id) else None
        if (target is None or target.account_id != account.id
                or not sessions.alive(target, rt.settings, utcnow())):
            return _page("login/error.html", 404, message="error_not_found")
        sessions.end(db, target.id, "ended_by_user")
        audit.record(db, "session.ended", _ctx(account), target_type="account",
                     target_id=account.id, summary={"reason": "ended_by_user",
                                                    "current": target.id == row.id})
    if target.id == row.id:
        return _signed_out()
    return _redirect(_with_lang(f"{ACCOUNT_PATH}/sessions"), 303)


@bp.post(f"{ACCOUNT_PATH}/sessions/end-others")
def end_other_sessions() -> Response:
    rt = _rt()
    with rt.sessions.begin() as db:
        signed_in = _signed_in(db)
        if signed_in is None:
            return _to_login()
        row, account = signed_in
        ended = sessions.end_all(db, account.id, "ended_by_user", keep=row.id)
        audit.record(db, "session.ended", _ctx(account), target_type="account",
                     target_id=account.id, summary={"reason": "ended_by_user",
                                                    "sessions": len(ended)})
    return _redirect(_with_lang(f"{ACCOUNT_PATH}/sessions"), 303)


@bp.post(f"{ACCOUNT_PATH}/freeze")
def freeze_own_account() -> Response:
    """#4 Freeze: the user, from any signed-in device (a lost phone), freezes their own
    account; every session and grant dies with it. Only an administrator unfreezes."""
    rt = _rt()
    with rt.sessions.begin() as db:
        signed_in = _signed_in(db)
        if signed_in is None:
            return _to_login()
        _, account = signed_in
        if request.form.get("confirm") != "yes":
            return _redirect(_with_lang(ACCOUNT_PATH))
        notices = backchannel.for_account(db, account.id)
        accounts.freeze(db, _ctx(account), account.id)
    backchannel.send(notices, f"account:{account.id}")  # after the commit
    return _signed_out()
