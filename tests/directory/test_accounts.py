"""Accounts: creation rules, argon2id hashing and rehash, login lookup, freeze, TOTP."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from directory import accounts
from directory import people
from directory.crypto import DecryptionError
from directory.db import utcnow
from directory.errors import DomainError
from directory.models import Account
from directory.models import AccountStatus
from directory.passwords import PasswordSettings
from tests import factories as f
from tests.directory.helpers import audit_actions
from tests.directory.helpers import count
from tests.directory.helpers import last_audit
from tests.directory.helpers import summary

PASSWORD = "correct horse battery"


@pytest.fixture
def zhang(session, ctx, dsettings):
    with session.begin():
        return f.person(session, dsettings, ctx, None, "张伟", mobile="13811112222")


def create(session, dsettings, ctx, **kw):
    kw.setdefault("account_type", "user")
    return accounts.create(session, dsettings, ctx, **kw)


def code_field(exc_info):
    return exc_info.value.code, exc_info.value.field


# --- create ---------------------------------------------------------------------------

def test_create(session, sessions, ctx, dsettings, zhang):
    with session.begin():
        account = create(session, dsettings, ctx, username=" Zhang.Wei ", person_id=zhang.id)
    assert (account.username, account.type, account.status) == ("zhang.wei", "user", "active")
    assert account.password_hash is None and account.password_changed_at is None
    assert account.must_change_password
    event = last_audit(sessions)
    assert (event.action, event.target_id) == ("account.created", str(account.id))
    assert summary(event)["password"] == "[cleared]"


@pytest.mark.parametrize("username", [
    "ab", ".abc", "-abc", "_abc", "zhang wei", "张伟abc", "zhang@wei", "a" * 65, "",
], ids=["too-short", "dot-first", "dash-first", "underscore-first", "space", "hanzi", "at",
        "too-long", "empty"])
def test_bad_username(session, ctx, dsettings, username):
    with session.begin():
        with pytest.raises(DomainError) as exc:
            create(session, dsettings, ctx, username=username)
    assert code_field(exc) == ("directory.account.username", "username")


@pytest.mark.parametrize("username", ["abc", "a.b-c_1", "007", "a" * 64])
def test_good_username(session, ctx, dsettings, username):
    with session.begin():
        assert create(session, dsettings, ctx, username=username).username == username


def test_create_conflicts(session, sessions, ctx, dsettings, zhang):
    with session.begin():
        create(session, dsettings, ctx, username="zhangwei", person_id=zhang.id)
        other = f.person(session, dsettings, ctx, None, "李娜")
        gone = f.person(session, dsettings, ctx, None, "王芳")
        people.deactivate(session, ctx, gone.id, "retired")
    cases = [
        ({"username": "ZhangWei", "person_id": other.id}, "directory.account.username_taken",
         "username"),
        ({"username": "zhangwei2", "person_id": zhang.id},
         "directory.account.person_has_account", "person_id"),
        ({"username": "wangfang", "person_id": gone.id}, "directory.person.not_found",
         "person_id"),
        ({"username": "nobody", "person_id": f.uid()}, "directory.person.not_found",
         "person_id"),
        ({"username": "weird", "account_type": "superuser"}, "directory.account.type", "type"),
        ({"username": "shorty", "password": "1234567"}, "directory.account.password_length",
         "password"),
    ]
    for kw, code, field in cases:
        with session.begin():
            with pytest.raises(DomainError) as exc:
                create(session, dsettings, ctx, **kw)
        assert code_field(exc) == (code, field), kw
    assert count(sessions, Account) == 1


@pytest.mark.parametrize(("expires_in", "code"), [
    (None, "directory.account.expiry_required"),
    (dt.timedelta(days=91), "directory.account.expiry_too_far"),
    (dt.timedelta(seconds=-1), "directory.account.expiry_past"),
    (dt.timedelta(days=89), None),
], ids=["no-expiry", "too-far", "past", "ok"])
def test_temporary_account_expiry(session, ctx, dsettings, expires_in, code):
    expires_at = None if expires_in is None else utcnow() + expires_in
    with session.begin():
        if code is None:
            account = create(session, dsettings, ctx, username="temp1",
                             account_type="temporary", expires_at=expires_at)
            assert account.expires_at == expires_at
            return
        with pytest.raises(DomainError) as exc:
            create(session, dsettings, ctx, username="temp1", account_type="temporary",
                   expires_at=expires_at)
    assert code_field(exc) == (code, "expires_at")


# --- passwords ------------------------------------------------------------------------

def test_password_hash_parameters_and_rehash(session, sessions, ctx, dsettings):
    base = dataclasses.replace(dsettings, passwords=PasswordSettings(memory_kib=19456,
                                                                     time_cost=2))
    stronger = dataclasses.replace(dsettings, passwords=PasswordSettings(memory_kib=19456,
                                                                         time_cost=3))
    with session.begin():
        account = create(session, base, ctx, username="zhangwei", password=PASSWORD)
    original = account.password_hash
    assert original.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert account.password_changed_at is not None
    with session.begin():
        assert not accounts.check_password(session, stronger, account, "wrong password")
        assert account.password_hash == original  # a failed login never rehashes
        assert accounts.check_password(session, base, account, PASSWORD)
        assert account.password_hash == original  # same parameters: no rehash
        assert accounts.check_password(session, stronger, account, PASSWORD)
    with sessions() as s:
        stored = s.get_one(Account, account.id).password_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=3,p=1$")


def test_set_password(session, sessions, ctx, dsettings):
    with session.begin():
        account = create(session, dsettings, ctx, username="zhangwei")
        assert not accounts.check_password(session, dsettings, account, PASSWORD)
        accounts.set_password(session, dsettings, ctx, account.id, PASSWORD, must_change=True)
        assert account.must_change_password
        with pytest.raises(DomainError) as exc:
            accounts.set_password(session, dsettings, ctx, account.id, "short")
    assert code_field(exc) == ("directory.account.password_length", "password")
    assert last_audit(sessions).action == "account.password_reset"
    assert summary(last_audit(sessions)) == {"password": "[set]"}


# --- login lookup ---------------------------------------------------------------------

def test_find_for_login(session, sessions, ctx, dsettings, zhang):
    with session.begin():
        account = create(session, dsettings, ctx, username="zhangwei", person_id=zhang.id)
        create(session, dsettings, ctx, username="service1", account_type="service")
    with sessions() as s:
        for login in ("zhangwei", " ZhangWei ", "13811112222", "+86 138 1111 2222"):
            found = accounts.find_for_login(s, dsettings, login)
            assert found is not None and found.id == account.id, login
        for login in ("lina", "13899990000", "not a mobile", ""):
            assert accounts.find_for_login(s, dsettings, login) is None, login


# --- freeze, unfreeze, usable ---------------------------------------------------------

def test_freeze_and_unfreeze(session, sessions, ctx, dsettings):
    with session.begin():
        account = create(session, dsettings, ctx, username="zhangwei")
        accounts.freeze(session, ctx, account.id)
        assert account.status == AccountStatus.FROZEN and not accounts.usable(account)
        with pytest.raises(DomainError) as exc:
            accounts.freeze(session, ctx, account.id)
        assert code_field(exc) == ("directory.account.not_active", "account_id")
        accounts.unfreeze(session, ctx, account.id)
        assert account.status == AccountStatus.ACTIVE and accounts.usable(account)
        with pytest.raises(DomainError) as exc:
            accounts.unfreeze(session, ctx, account.id)
        assert code_field(exc) == ("directory.account.not_frozen", "account_id")
        with pytest.raises(DomainError) as exc:
            accounts.freeze(session, ctx, f.uid())
        assert code_field(exc) == ("directory.account.not_found", "account_id")
    assert audit_actions(sessions)[-2:] == ["account.frozen", "account.unfrozen"]


def test_deactivated_account_cannot_freeze(session, ctx, dsettings, zhang):
    with session.begin():
        account = create(session, dsettings, ctx, username="zhangwei", person_id=zhang.id)
        people.deactivate(session, ctx, zhang.id, "transferred_out")
        assert not accounts.usable(account)
        for command, code in ((accounts.freeze, "not_active"), (accounts.unfreeze, "not_frozen")):
            with pytest.raises(DomainError) as exc:
                command(session, ctx, account.id)
            assert exc.value.code == f"directory.account.{code}"


def test_usable_temporary_account(session, ctx, dsettings):
    now = utcnow()
    with session.begin():
        temp = create(session, dsettings, ctx, username="temp1", account_type="temporary",
                      expires_at=now + dt.timedelta(days=10))
        user = create(session, dsettings, ctx, username="user1")
    assert accounts.usable(temp) and accounts.usable(temp, now + dt.timedelta(days=9))
    assert not accounts.usable(temp, now + dt.timedelta(days=10))
    assert not accounts.usable(temp, now + dt.timedelta(days=11))
    assert accounts.usable(user, now + dt.timedelta(days=3650))


# --- TOTP -----------------------------------------------------------------------------

def test_totp_secret_encrypted_at_rest(session, sessions, ctx, dsettings):
    secret = "JBSWY3DPEHPK3PXP"
    with session.begin():
        account = create(session, dsettings, ctx, username="admin1",
                         account_type="system_admin")
        assert accounts.totp_secret(dsettings, account) is None
        accounts.set_totp_secret(session, dsettings, ctx, account.id, secret)
    with sessions() as s:
        stored = s.get_one(Account, account.id)
        assert secret not in stored.totp_secret_enc
        assert stored.totp_secret_enc.startswith("t1:")
        assert accounts.totp_secret(dsettings, stored) == secret
        with pytest.raises(DecryptionError):
            dsettings.cipher.decrypt(stored.totp_secret_enc, "persons.mobile")
    event = last_audit(sessions)
    assert (event.action, summary(event)) == ("account.totp_set", {"totp_secret": "[set]"})
    with session.begin():
        accounts.set_totp_secret(session, dsettings, ctx, account.id, None)
    with sessions() as s:
        assert s.get_one(Account, account.id).totp_secret_enc is None
    assert last_audit(sessions).action == "account.totp_cleared"
