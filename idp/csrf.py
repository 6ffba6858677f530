"""CSRF tokens for every form of the sign-in pages, and the headers those pages carry.

* Signed double submit (OWASP CSRF cheat sheet): the browser holds a random nonce in an
  HttpOnly, SameSite=Lax cookie (Lax so that arriving from an app's
  redirect keeps it) (``__Host-`` and Secure on https); a form carries
  HMAC-SHA256(secret key, nonce | session id) where the session id is the digest of the
  browser's session cookie, if any. A forged form from another site has neither the
  nonce nor the key; a token leaked from one browser or session fails in another.
* Compared in constant time (``hmac.compare_digest``); a missing or wrong token is 400.
* Auth pages: ``Cache-Control: no-store``, ``frame-ancestors 'none'`` (and
  X-Frame-Options for old browsers), ``Referrer-Policy: no-referrer`` so a ``next`` or a
  pending token never leaks to another site.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Request
from flask import Response
from flask import g

from idp import sessions
from idp.config import Settings

PLAIN_COOKIE = "idp_csrf"
SECURE_COOKIE = "__Host-idp_csrf"
FIELD = "csrf_token"
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def cookie_name(settings: Settings) -> str:
    return SECURE_COOKIE if sessions.secure(settings) else PLAIN_COOKIE


def nonce(request: Request, settings: Settings) -> str:
    """The browser's nonce; a new one (set on the response by ``protect``) when it has none."""
    if "csrf_nonce" not in g:
        given = request.cookies.get(cookie_name(settings), "")
        g.csrf_nonce = given if 20 <= len(given) <= 100 else secrets.token_urlsafe(32)
        g.csrf_new = g.csrf_nonce != given
    return str(g.csrf_nonce)


def _mac(settings: Settings, nonce_value: str, session_cookie: str | None) -> str:
    bound = sessions.digest(session_cookie) if session_cookie else ""
    message = f"csrf|{nonce_value}|{bound}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def session_cookie(request: Request, settings: Settings) -> str | None:
    """The session cookie this request carries, or the one it is being given."""
    if "new_session_cookie" in g:
        return str(g.new_session_cookie)
    return request.cookies.get(sessions.cookie_name(settings))


def token(request: Request, settings: Settings) -> str:
    """The token for a form on the page being rendered."""
    return _mac(settings, nonce(request, settings), session_cookie(request, settings))


def valid(request: Request, settings: Settings) -> bool:
    """The form's token matches this browser's nonce and session cookie."""
    given_nonce = request.cookies.get(cookie_name(settings), "")
    sent = request.form.get(FIELD, "")
    if not given_nonce or not sent:
        return False
    expected = _mac(settings, given_nonce, request.cookies.get(sessions.cookie_name(settings)))
    return hmac.compare_digest(expected.encode(), sent.encode())


def binding(request: Request, settings: Settings) -> str:
    """A short digest of the browser's nonce: pending sign-in steps are bound to it."""
    return hashlib.sha256(f"bind|{nonce(request, settings)}".encode()).hexdigest()[:32]


def protect(response: Response, settings: Settings) -> Response:
    """The auth pages' headers, and the nonce cookie when it was just made."""
    for name, value in HEADERS.items():
        response.headers[name] = value
    if g.get("csrf_new"):
        response.set_cookie(cookie_name(settings), str(g.csrf_nonce), httponly=True,
                            secure=sessions.secure(settings), samesite="Lax", path="/")
    return response
