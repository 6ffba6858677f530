"""Account types (DOMAIN.md §3): what each may be, checked before any account is written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

ADMIN_TYPES = frozenset({"system_admin", "graded_admin"})
ACCOUNT_TYPES = frozenset({"system_admin", "graded_admin", "user", "temporary", "service"})


@dataclass(frozen=True)
class AccountSettings:
    """temporary_max_days: longest life of a temporary account (临时账号)."""

    temporary_max_days: int = 90


@dataclass(frozen=True)
class Refusal:
    code: str
    field: str
    message: str


def check_new_account(
    account_type: str,
    expires_at: dt.datetime | None,
    now: dt.datetime,
    settings: AccountSettings,
) -> Refusal | None:
    """None when an account of this type and expiry may exist, else why not."""
    if account_type not in ACCOUNT_TYPES:
        return Refusal("directory.account.type", "type", f"unknown account type {account_type!r}")
    if account_type != "temporary":
        return None
    if expires_at is None:
        return Refusal(
            "directory.account.expiry_required", "expires_at", "a temporary account needs an expiry"
        )
    if expires_at <= now:
        return Refusal("directory.account.expiry_past", "expires_at", "expiry is in the past")
    if expires_at - now > dt.timedelta(days=settings.temporary_max_days):
        return Refusal(
            "directory.account.expiry_too_far",
            "expires_at",
            f"a temporary account lives at most {settings.temporary_max_days} days",
        )
    return None


def requires_totp(account_type: str) -> bool:
    """Administrators always log in with a second factor (000 §16, 003 §15)."""
    return account_type in ADMIN_TYPES


def limited_to_listed_apps(account_type: str) -> bool:
    """Temporary accounts (临时账号) reach only the apps listed on them; the other types are
    governed by each app's own access policy."""
    return account_type == "temporary"


def may_use_app(account_type: str, listed_apps: frozenset[str], client_id: str) -> bool:
    return not limited_to_listed_apps(account_type) or client_id in listed_apps
