"""An app's life (001 §13–§19, DOMAIN.md §6) and what an OAuth client may be.

applied → approved | rejected; approved → testing; testing → online; online ⇄ offline
(maintenance); any state but deregistered → deregistered (注销, after its data is backed up
or moved). Only an online app obtains tokens of its own.
"""

from __future__ import annotations

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
AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post", "none"})
PUBLIC = "none"  # RFC 7591 §2: token_endpoint_auth_method of a public client
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
