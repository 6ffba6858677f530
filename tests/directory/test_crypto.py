"""Field encryption, key rotation, keyed lookup, masks and GB 11643 ID numbers."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
from sqlalchemy import text

from directory import accounts
from directory import people
from directory.crypto import DecryptionError
from directory.crypto import FieldCipher
from directory.crypto import decode_key
from directory.crypto import mask_id_number
from directory.crypto import mask_mobile
from directory.crypto import new_key_text
from directory.errors import DomainError
from directory.identifiers import id_check_char
from directory.identifiers import normalise_id_number
from directory.identifiers import normalise_mobile
from tests import factories as f

VALID_ID = "11010519491231002X"


@pytest.fixture
def cipher(dsettings):
    return dsettings.cipher


# --- FieldCipher ----------------------------------------------------------------------

def test_round_trip_and_fresh_nonce(cipher):
    one, two = cipher.encrypt("13812345678", "persons.mobile"), cipher.encrypt(
        "13812345678", "persons.mobile")
    assert one != two
    assert one.startswith("t1:") and "13812345678" not in one
    assert cipher.decrypt(one, "persons.mobile") == cipher.decrypt(two, "persons.mobile") == (
        "13812345678")
    assert cipher.decrypt(cipher.encrypt("张伟", "c"), "c") == "张伟"


@pytest.mark.parametrize("mangle", [
    lambda token: (token, "persons.id_number"),                     # other column (AAD)
    lambda token: ("zz:" + token.partition(":")[2], "persons.mobile"),  # unknown key id
    lambda token: (token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "persons.mobile"),
], ids=["wrong-column", "unknown-key", "tampered"])
def test_decrypt_failures(cipher, mangle):
    token, column = mangle(cipher.encrypt("13812345678", "persons.mobile"))
    with pytest.raises(DecryptionError):
        cipher.decrypt(token, column)


def test_key_rotation(cipher):
    old = dataclasses.replace(cipher, active_key_id="t0")
    token = old.encrypt("secret value", "accounts.totp_secret")
    assert token.startswith("t0:")
    assert cipher.decrypt(token, "accounts.totp_secret") == "secret value"
    assert cipher.needs_rotation(token) and not old.needs_rotation(token)
    assert not cipher.needs_rotation(cipher.encrypt("x", "c"))
    retired = FieldCipher(keys={"t1": cipher.keys["t1"]}, active_key_id="t1",
                          index_key=cipher.index_key)
    with pytest.raises(DecryptionError):
        retired.decrypt(token, "accounts.totp_secret")


def test_cipher_configuration_errors(cipher):
    with pytest.raises(ValueError):
        FieldCipher(keys=cipher.keys, active_key_id="t9", index_key=cipher.index_key)
    with pytest.raises(ValueError):
        decode_key("c2hvcnQ")
    assert len(decode_key(new_key_text())) == 32


def test_lookup_hash_is_keyed_and_separated_by_column(cipher):
    digest = cipher.lookup_hash("13812345678", "mobile")
    assert digest == cipher.lookup_hash("13812345678", "mobile")
    assert digest != cipher.lookup_hash("13812345678", "id_number")
    assert digest != hashlib.sha256(b"13812345678").hexdigest()
    other = dataclasses.replace(cipher, index_key=b"\x01" * 32)
    assert digest != other.lookup_hash("13812345678", "mobile")


# --- through the directory ------------------------------------------------------------

def test_rotation_through_people(session, sessions, ctx, dsettings):
    old_settings = dataclasses.replace(
        dsettings, cipher=dataclasses.replace(dsettings.cipher, active_key_id="t0"))
    with session.begin():
        p = f.person(session, old_settings, ctx, None, mobile="13900001111",
                     id_number=VALID_ID)
    assert p.mobile_enc.startswith("t0:")
    with sessions() as s:
        stored = people.find_by_mobile(s, dsettings, "139-0000-1111")
        assert stored.id == p.id
        assert people.reveal(s, dsettings, stored, "mobile") == "13900001111"
        assert people.reveal(s, dsettings, stored, "id_number") == VALID_ID
        assert dsettings.cipher.needs_rotation(stored.id_number_enc)


@pytest.mark.parametrize("formatted", [
    "13812349876", "+86 138 1234 9876", "+86-138-1234-9876", "0086 13812349876",
    "(138) 1234-9876",
], ids=["plain", "plus86-spaces", "plus86-dashes", "0086", "parens"])
def test_find_by_mobile_formats(session, sessions, ctx, dsettings, formatted):
    with session.begin():
        p = f.person(session, dsettings, ctx, None, mobile="13812349876")
    with sessions() as s:
        assert people.find_by_mobile(s, dsettings, formatted).id == p.id
        assert people.find_by_mobile(s, dsettings, "13812349877") is None


def test_sensitive_values_not_stored_in_clear(session, sessions, ctx, dsettings):
    mobile, id_number, totp = "13712345678", VALID_ID, "JBSWY3DPEHPK3PXP"
    with session.begin():
        p = f.person(session, dsettings, ctx, None, mobile="+86 137 1234 5678",
                     id_number=id_number.lower())
        a = accounts.create(session, dsettings, ctx, username="zhangwei", account_type="user",
                            person_id=p.id)
        accounts.set_totp_secret(session, dsettings, ctx, a.id, totp)
    with sessions() as s:
        for table in ("persons", "accounts", "audit_events"):
            for row in s.execute(text(f"SELECT * FROM {table}")):
                for value in row:
                    for secret in (mobile, id_number, id_number.lower(), totp, "1234 5678"):
                        assert secret not in str(value), (table, secret)
        assert accounts.totp_secret(dsettings, s.get_one(type(a), a.id)) == totp


# --- masks ----------------------------------------------------------------------------

@pytest.mark.parametrize(("mask", "value", "expected"), [
    (mask_mobile, "13812345678", "138****5678"),
    (mask_mobile, "1234567", "1234567"),
    (mask_mobile, "123456", "****"),
    (mask_id_number, VALID_ID, "110***********002X"),
    (mask_id_number, "1234567", "1234567"),
    (mask_id_number, "12345", "*****"),
], ids=["mobile", "mobile-7", "mobile-short", "id", "id-7", "id-short"])
def test_masks(mask, value, expected):
    assert mask(value) == expected


# --- GB 11643 and mobiles -------------------------------------------------------------

def test_known_valid_id_number():
    assert id_check_char(VALID_ID[:17]) == "X"
    assert normalise_id_number(VALID_ID) == VALID_ID
    assert normalise_id_number(" 11010519491231002x ") == VALID_ID
    assert normalise_id_number(f.id_number()) == f.id_number()


@pytest.mark.parametrize(("value", "code"), [
    ("110105194912310021", "directory.person.id_number_checksum"),
    ("11010519491231002", "directory.person.id_number_format"),
    ("1101051949123100211", "directory.person.id_number_format"),
    ("11010519491231002Y", "directory.person.id_number_format"),
    ("110105-94912310021", "directory.person.id_number_format"),
    (f.id_number(birth="19491331"), "directory.person.id_number_birthdate"),
    (f.id_number(birth="20230229"), "directory.person.id_number_birthdate"),
], ids=["checksum", "17-chars", "19-chars", "bad-letter", "dash", "month-13", "feb-29"])
def test_invalid_id_numbers(value, code):
    with pytest.raises(DomainError) as exc:
        normalise_id_number(value, field="id_number")
    assert (exc.value.code, exc.value.field) == (code, "id_number")


@pytest.mark.parametrize(("value", "expected"), [
    ("13812345678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("0086-199-0000-0000", "19900000000"),
    ("12812345678", None),
    ("1381234567", None),
    ("138123456789", None),
    ("+1 138 1234 5678", None),
    ("一三八", None),
], ids=["plain", "plus86", "0086", "bad-prefix", "10-digits", "12-digits", "foreign", "hanzi"])
def test_normalise_mobile(value, expected):
    if expected is not None:
        assert normalise_mobile(value) == expected
        return
    with pytest.raises(DomainError) as exc:
        normalise_mobile(value, field="login")
    assert (exc.value.code, exc.value.field) == ("directory.person.mobile_format", "login")
