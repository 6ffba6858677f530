"""The second step of sign-in: TOTP codes (RFC 6238), enrolment, and the signed token
that carries a half-finished sign-in between steps.

* A code is checked against the time steps t-1, t and t+1 (one step of clock skew) and
  then claimed with ``directory.accounts.claim_totp_step``: a time step is never
  accepted twice, not even on another worker a millisecond later.
* Enrolment (administrators without TOTP): a new secret, its otpauth URI as a QR code
  (an SVG data URI drawn by segno) and as text; stored only once the user proves it
  with one code.
* Pending sign-in: no half-logged-in cookie. The next step's form carries a token signed
  with the secret key (itsdangerous), valid ``PENDING_SECONDS``, naming the account, the
  step it allows, the methods done so far, where to go after, a fingerprint of the
  account's password hash and TOTP secret (a password or TOTP change voids it) and a
  digest of the browser's CSRF nonce (it works in that browser only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from typing import Any

import pyotp
import segno
from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session

from directory import accounts
from directory.models import Account
from directory.settings import DirectorySettings

PENDING_SECONDS = 300
ISSUER_NAME = "统一用户体系"
STAGES = ("totp", "enrol", "password")


@dataclass(frozen=True)
class Pending:
    """A sign-in that passed some steps; ``stage`` is the only step it may take next."""

    account_id: uuid.UUID
    stage: str
    next_url: str | None
    amr: tuple[str, ...]
    fingerprint: str
    binding: str
    enrol_secret: str | None = None


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="idp.login.pending")


def fingerprint(account: Account) -> str:
    material = f"{account.password_hash}|{account.totp_secret_enc}|{account.status}"
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def issue(secret_key: str, pending: Pending) -> str:
    body: dict[str, Any] = {"a": str(pending.account_id), "s": pending.stage,
                            "n": pending.next_url, "m": list(pending.amr),
                            "f": pending.fingerprint, "b": pending.binding}
    if pending.enrol_secret:
        body["k"] = pending.enrol_secret
    return _serializer(secret_key).dumps(body)


def read(secret_key: str, token: str, stage: str, binding: str) -> Pending | None:
    """The pending sign-in in ``token`` if it is genuine, fresh, for ``stage`` and made
    in this browser; else None."""
    if not token or len(token) > 2000:
        return None
    try:
        body = _serializer(secret_key).loads(token, max_age=PENDING_SECONDS)
        pending = Pending(account_id=uuid.UUID(body["a"]), stage=body["s"],
                          next_url=body["n"], amr=tuple(body["m"]), fingerprint=body["f"],
                          binding=body["b"], enrol_secret=body.get("k"))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None
    if pending.stage != stage or not hmac.compare_digest(pending.binding, binding):
        return None
    return pending


def matching_step(secret: str, code: str, now: float | None = None) -> int | None:
    """The time step (t-1, t or t+1) whose code is ``code``, or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    moment = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)
    current = totp.timecode(moment)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def verify(db: Session, dsettings: DirectorySettings, account: Account, code: str) -> bool:
    """The account's code is right and its time step was never used before."""
    secret = accounts.totp_secret(dsettings, account)
    if secret is None:
        return False
    step = matching_step(secret, code)
    return step is not None and accounts.claim_totp_step(db, account.id, step)


def confirm_enrolment(db: Session, secret: str, account: Account, code: str) -> bool:
    """The code proves the new secret; its step is claimed like any other."""
    step = matching_step(secret, code)
    return step is not None and accounts.claim_totp_step(db, account.id, step)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning(secret: str, username: str) -> tuple[str, str]:
    """(otpauth URI, QR code as an SVG data URI) for an authenticator app."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER_NAME)
    return uri, segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def needs_totp(account: Account, admin: bool) -> str | None:
    """The TOTP stage this account must pass: "totp", "enrol" (administrators without a
    secret) or None."""
    if account.totp_secret_enc is not None:
        return "totp"
    return "enrol" if admin else None
