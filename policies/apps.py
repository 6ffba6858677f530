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

# What this server implements and enforces; nothing else may be registered.
GRANT_TYPES = frozenset({"client_credentials"})
AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


def may_transition(old: str, new: str) -> bool:
    if new == "deregistered":
        return old != "deregistered"
    return new in TRANSITIONS.get(old, frozenset())


def may_issue_tokens(status: str) -> bool:
    return status == "online"
