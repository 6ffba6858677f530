"""An app's life (001 §13–§19, DOMAIN.md §6) and what an OAuth client may be.

applied → approved | rejected; approved → testing; testing → online; online ⇄ offline
(maintenance); any state but deregistered → deregistered (注销, after its data is backed up
or moved). Only an online app obtains tokens of its own.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlsplit

from policies.transport import https_or_loopback

TRANSITIONS: dict[str, frozenset[str]] = {
    "applied": frozenset({"approved", "rejected"}),
    "approved": frozenset({"testing"}),
    "rejected": frozenset(),
    "testing": frozenset({"online"}),
    "online": frozenset({"offline"}),
    "offline": frozenset({"online"}),
    "deregistered": frozenset(),
}

# What this server implements and enforces; nothing else may be registered (#4: no
# implicit flow, no password grant).
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693, proxies only
GRANT_TYPES = frozenset({"authorization_code", "client_credentials", "refresh_token",
                         TOKEN_EXCHANGE})
PRIVATE_KEY_JWT = "private_key_jwt"  # OIDC Core §9, RFC 7523 §2.2: a signed client assertion
AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post", "none", PRIVATE_KEY_JWT})
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})
PUBLIC = "none"  # RFC 7591 §2: token_endpoint_auth_method of a public client
# OIDC Registration §2 ``id_token_signed_response_alg``: what our signing keys can do.
ID_TOKEN_ALGS = ("ES256", "RS256")
DEFAULT_ID_TOKEN_ALG = "ES256"
# Algorithms of a client assertion: asymmetric only (never ``none``, never HS*: a client
# registers public keys, and an HMAC "keyed" with a public key proves nothing).
ASSERTION_ALGS = ("ES256", "RS256", "PS256")
MIN_RSA_BITS = 2048
# Members of a JWK that only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# Scopes a user-facing client may be given (OIDC Core §5.4, ``org`` is ours) besides the
# API scopes (``directory``) of the client credentials grant.
OIDC_SCOPES = ("openid", "profile", "phone", "email", "org", "offline_access")


def client_problem(grant_types: frozenset[str], auth_method: str,
                   redirect_uri_count: int) -> str | None:
    """Why a client registration is refused, or None. RFC 6749 §2.1: a public client has
    no credentials, so it cannot use the client credentials grant; the authorization code
    grant needs a registered redirect URI (§3.1.2.2); refresh tokens come from codes."""
    if auth_method == PUBLIC and "client_credentials" in grant_types:
        return "public_client_credentials"
    if auth_method == PUBLIC and TOKEN_EXCHANGE in grant_types:
        return "public_token_exchange"  # the exchange needs the client's own authentication
    if "authorization_code" in grant_types and redirect_uri_count == 0:
        return "redirect_uri_required"
    if "refresh_token" in grant_types and "authorization_code" not in grant_types:
        return "refresh_without_code"
    if not grant_types:
        return "no_grant_type"
    return None


def key_registration_problem(auth_method: str, has_jwks: bool,
                             has_jwks_uri: bool = False) -> str | None:
    """RFC 7523 §2.2: a private_key_jwt client is known by its registered public keys, given
    inline (``jwks``) or as a URL to fetch them from (``jwks_uri``), never both (RFC 7591
    §2); keys registered for any other method would be keys nobody checks."""
    if has_jwks and has_jwks_uri:
        return "jwks_and_jwks_uri"
    if auth_method == PRIVATE_KEY_JWT and not (has_jwks or has_jwks_uri):
        return "jwks_required"
    if auth_method != PRIVATE_KEY_JWT and has_jwks:
        return "jwks_without_private_key_jwt"
    if auth_method != PRIVATE_KEY_JWT and has_jwks_uri:
        return "jwks_uri_without_private_key_jwt"
    return None


MAX_URI_LENGTH = 500


def jwks_uri_problem(uri: Any) -> str | None:
    """RFC 7591 §2 ``jwks_uri``: an absolute https URL (plain http to a loopback host only,
    ``policies.transport``), at most 500 characters, without a fragment (RFC 7517 §5 names
    a document) or credentials (a URL is logged and shown to administrators)."""
    if not isinstance(uri, str) or len(uri) > MAX_URI_LENGTH or any(c.isspace() for c in uri):
        return "jwks_uri_invalid"
    if not https_or_loopback(uri) or "#" in uri or "@" in urlsplit(uri).netloc:
        return "jwks_uri_invalid"
    return None


def auth_method_change_problem(old: str, new: Any) -> str | None:
    """A registered client changes between the confidential methods only: a public client
    (``none``) has no credentials and may hold grants no confidential client could, and
    the reverse; such a change is a new registration."""
    if not isinstance(new, str) or new not in AUTH_METHODS:
        return "auth_method"
    if (old == PUBLIC) != (new == PUBLIC):
        return "auth_method_public"
    return None


def _rsa_bits(n: Any) -> int:
    try:
        raw = base64.urlsafe_b64decode(str(n) + "=" * (-len(str(n)) % 4))
    except (binascii.Error, ValueError):
        return 0
    return int.from_bytes(raw, "big").bit_length()


def jwk_problem(jwk: Any) -> str | None:
    """One registered client key: a public EC P-256 or RSA (at least 2048 bits) key for
    signing, whose ``alg``, if stated, is one a client assertion may use."""
    if not isinstance(jwk, dict):
        return "jwk_not_object"
    if PRIVATE_MEMBERS & jwk.keys():
        return "jwk_private"
    if jwk.get("use", "sig") != "sig":
        return "jwk_not_for_signing"
    kty, alg = jwk.get("kty"), jwk.get("alg")
    if kty == "EC":
        if jwk.get("crv") != "P-256" or alg not in (None, "ES256"):
            return "jwk_unsupported"
    elif kty == "RSA":
        if alg not in (None, "RS256", "PS256"):
            return "jwk_unsupported"
        if _rsa_bits(jwk.get("n")) < MIN_RSA_BITS:
            return "jwk_rsa_too_short"
    else:
        return "jwk_unsupported"
    return None


def jwks_problem(jwks: Any) -> str | None:
    """A client's registered JWKS (RFC 7517 §5): one or more public signing keys; with
    several, each has its own ``kid`` (the assertion's header names the one it used)."""
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        return "jwks_empty"
    for jwk in keys:
        problem = jwk_problem(jwk)
        if problem is not None:
            return problem
    if len(keys) > 1:
        kids = [k.get("kid") for k in keys]
        if not all(isinstance(k, str) and k for k in kids) or len(set(kids)) != len(kids):
            return "jwks_kid"
    return None


def may_transition(old: str, new: str) -> bool:
    if new == "deregistered":
        return old != "deregistered"
    return new in TRANSITIONS.get(old, frozenset())


def may_issue_tokens(status: str) -> bool:
    """The token endpoint serves online apps, and testing apps for the grants their testers
    obtained (``/authorize`` gives a testing app's codes to its testers only)."""
    return status in ("online", "testing")


def may_use_client_credentials(status: str) -> bool:
    """An app's own token (client credentials) only while it is online."""
    return status == "online"
