"""policies.accounts: which account may exist, and which needs a second factor."""

from __future__ import annotations

import datetime as dt

import pytest

from policies.accounts import ACCOUNT_TYPES
from policies.accounts import AccountSettings
from policies.accounts import Refusal
from policies.accounts import check_new_account
from policies.accounts import requires_totp

NOW = dt.datetime(2025, 6, 1, 8, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)

CASES = [
    # id, type, expires_at - NOW (None: no expiry), max days, refusal code (None: allowed)
    ("user", "user", None, 90, None),
    ("user-with-expiry", "user", 10 * DAY, 90, None),
    ("user-expiry-past-ignored", "user", -DAY, 90, None),
    ("system-admin", "system_admin", None, 90, None),
    ("graded-admin", "graded_admin", None, 90, None),
    ("service", "service", None, 90, None),
    ("unknown-type", "superuser", None, 90, "directory.account.type"),
    ("type-is-case-sensitive", "User", None, 90, "directory.account.type"),
    ("temporary-no-expiry", "temporary", None, 90, "directory.account.expiry_required"),
    ("temporary-past", "temporary", -SECOND, 90, "directory.account.expiry_past"),
    ("temporary-now", "temporary", dt.timedelta(0), 90, "directory.account.expiry_past"),
    ("temporary-one-second", "temporary", SECOND, 90, None),
    ("temporary-at-limit", "temporary", 90 * DAY, 90, None),
    ("temporary-past-limit", "temporary", 90 * DAY + SECOND, 90,
     "directory.account.expiry_too_far"),
    ("temporary-custom-limit", "temporary", 7 * DAY, 7, None),
    ("temporary-past-custom-limit", "temporary", 8 * DAY, 7, "directory.account.expiry_too_far"),
]

FIELDS = {"directory.account.type": "type"}


@pytest.mark.parametrize(("account_type", "delta", "max_days", "code"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check_new_account(account_type, delta, max_days, code):
    expires_at = None if delta is None else NOW + delta
    refusal = check_new_account(account_type, expires_at, NOW,
                                AccountSettings(temporary_max_days=max_days))
    if code is None:
        assert refusal is None
        return
    assert isinstance(refusal, Refusal)
    assert (refusal.code, refusal.field) == (code, FIELDS.get(code, "expires_at"))
    assert refusal.message


def test_default_limit_is_90_days():
    assert AccountSettings().temporary_max_days == 90
    assert check_new_account("temporary", NOW + 91 * DAY, NOW, AccountSettings()) is not None


@pytest.mark.parametrize(("account_type", "needs"), [
    ("system_admin", True), ("graded_admin", True), ("user", False), ("temporary", False),
    ("service", False), ("unknown", False),
])
def test_requires_totp(account_type, needs):
    assert requires_totp(account_type) is needs


def test_every_type_is_known():
    now = NOW
    for account_type in ACCOUNT_TYPES - {"temporary"}:
        assert check_new_account(account_type, None, now, AccountSettings()) is None
