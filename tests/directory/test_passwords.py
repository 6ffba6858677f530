"""argon2id hashing (directory.passwords): OWASP's floors, libsodium and argon2-cffi reading
each other's hashes, rehash on changed parameters."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from argon2 import Type

from directory.passwords import PasswordSettings
from directory.passwords import hash_password
from directory.passwords import verify_password

DEFAULT = PasswordSettings()


def test_default_is_owasps_seven_mib_five_passes() -> None:
    stored = hash_password("正确的马电池钉书钉-2026", DEFAULT)
    assert stored.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert verify_password(stored, "正确的马电池钉书钉-2026", DEFAULT) == (True, False)
    assert verify_password(stored, "正确的马电池钉书钉-2027", DEFAULT) == (False, False)


@pytest.mark.parametrize(("memory_kib", "time_cost"),
                         [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5), (7168, 9)])
def test_owasp_equivalent_floors_accepted(memory_kib: int, time_cost: int) -> None:
    PasswordSettings(memory_kib=memory_kib, time_cost=time_cost)


@pytest.mark.parametrize(("memory_kib", "time_cost", "parallelism"),
                         [(47103, 1, 1), (19455, 2, 1), (12287, 3, 1), (9215, 4, 1),
                          (7167, 5, 1), (65536, 0, 1), (19456, 2, 0)])
def test_below_the_floor_refused(memory_kib: int, time_cost: int, parallelism: int) -> None:
    with pytest.raises(ValueError, match="OWASP floor"):
        PasswordSettings(memory_kib=memory_kib, time_cost=time_cost, parallelism=parallelism)


def test_argon2_cffi_hashes_verify_and_ask_for_a_rehash() -> None:
    """Hashes made before the default changed (m = 19 MiB, t = 2, by argon2-cffi) still
    sign in, and ask to be rehashed; so do multi-lane hashes libsodium cannot compute."""
    for lanes in (1, 2):
        old = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=lanes,
                             type=Type.ID).hash("旧密码-Old-2025")
        assert verify_password(old, "旧密码-Old-2025", DEFAULT) == (True, True)
        assert verify_password(old, "旧密码-Old-2026", DEFAULT) == (False, False)


def test_libsodium_hashes_verify_with_argon2_cffi() -> None:
    stored = hash_password("Interop-密码-1", DEFAULT)
    assert PasswordHasher().verify(stored, "Interop-密码-1")


def test_multi_lane_settings_hash_with_argon2_cffi() -> None:
    settings = PasswordSettings(memory_kib=19456, time_cost=2, parallelism=2)
    stored = hash_password("Lanes-2-密码", settings)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=2$")
    assert verify_password(stored, "Lanes-2-密码", settings) == (True, False)


@pytest.mark.parametrize("stored", ["", "garbage", "$argon2id$v=19$m=7168,t=5,p=1$zz$zz",
                                    "$argon2i$v=19$m=7168,t=5,p=1$c2FsdHNhbHQ$aGFzaA",
                                    "$2b$12$abcdefghijklmnopqrstuv"])
def test_malformed_hashes_never_match(stored: str) -> None:
    assert verify_password(stored, "anything", DEFAULT) == (False, False)


def test_unencodable_password_never_matches() -> None:
    stored = hash_password("plain-Password-1", DEFAULT)
    assert verify_password(stored, "\udcff", DEFAULT) == (False, False)
