"""Passwords: argon2id hashing (RFC 9106) with its parameters stored in the PHC string, and
the rules a password its owner chooses must pass (``refusal``, docs/login.md "New
passwords"), here below every adapter so that the sign-in page, ``idp password set`` and
SCIM ``/Me`` apply the same ones.

The floor is OWASP's Password Storage Cheat Sheet, which lists five configurations of
equal strength, all with p = 1: m = 46 MiB and t = 1, 19 MiB and 2, 12 MiB and 3, 9 MiB
and 4, 7 MiB and 5. The default is the last: it fits the CPU's caches best and is the
fastest of the five on the machines we measured (bench/README.md).

Single-lane hashes (p = 1, every configuration above) are made and checked by libsodium
(PyNaCl), whose argon2 uses the CPU's vector instructions (AVX2 where there are some);
argon2-cffi's portable build takes ~1.5× as long for the same hash. Hashes with more
lanes, which libsodium does not implement, go through argon2-cffi. Both libraries read and
write the same strings (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``). ``verify_password``
reports when a hash was made with other parameters so the caller rehashes at login.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash.argon2id as sodium_argon2id
from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

# OWASP's equivalent floors: the least memory (KiB) for each iteration count
OWASP_FLOOR_KIB = {1: 46 * 1024, 2: 19 * 1024, 3: 12 * 1024, 4: 9 * 1024, 5: 7 * 1024}
DEFAULT_MEMORY_KIB = 7 * 1024
DEFAULT_TIME_COST = 5
DEFAULT_PARALLELISM = 1
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common_passwords.txt"
# The code of each rule for a new password (stable: the sign-in page shows it as data-code,
# SCIM in its error detail) and what it says.
RULES = {
    "idp.password.too_short": f"a password has {MIN_PASSWORD_LENGTH} to "
                              f"{MAX_PASSWORD_LENGTH} characters",
    "idp.password.username": "a password must not be the login name",
    "idp.password.common": "a password must not be one of the most common passwords",
    "idp.password.reused": "the new password must differ from the current one",
}


def floor_kib(time_cost: int) -> int:
    """The least memory OWASP allows with ``time_cost`` iterations (≥ 5: 7 MiB)."""
    return OWASP_FLOOR_KIB[min(time_cost, 5)]


@dataclass(frozen=True)
class PasswordSettings:
    memory_kib: int = DEFAULT_MEMORY_KIB
    time_cost: int = DEFAULT_TIME_COST
    parallelism: int = DEFAULT_PARALLELISM

    def __post_init__(self) -> None:
        if (self.time_cost < 1 or self.parallelism < 1
                or self.memory_kib < floor_kib(self.time_cost)):
            raise ValueError(
                "argon2id parameters below the OWASP floor (p ≥ 1 and m ≥ 46 MiB with t = 1, "
                "19 MiB with t = 2, 12 MiB with t = 3, 9 MiB with t = 4, 7 MiB with t ≥ 5)")


def hasher(settings: PasswordSettings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.time_cost,
        memory_cost=settings.memory_kib,
        parallelism=settings.parallelism,
        type=Type.ID,
    )


def hash_password(password: str, settings: PasswordSettings) -> str:
    if settings.parallelism == 1:
        return sodium_argon2id.str(password.encode(), opslimit=settings.time_cost,
                                   memlimit=settings.memory_kib * 1024).decode("ascii")
    return hasher(settings).hash(password)


def _single_lane(stored: str) -> bool:
    parts = stored.split("$")
    return len(parts) == 6 and parts[1] == "argon2id" and parts[3].endswith(",p=1")


def verify_password(stored: str, password: str, settings: PasswordSettings) -> tuple[bool, bool]:
    """(matches, needs_rehash)."""
    ph = hasher(settings)
    try:
        if _single_lane(stored):
            sodium_argon2id.verify(stored.encode("ascii"), password.encode())
        else:
            ph.verify(stored, password)
    except (VerificationError, InvalidHashError, nacl.exceptions.CryptoError,
            UnicodeEncodeError):
        return False, False
    return True, ph.check_needs_rehash(stored)


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 3,000 most common passwords of 8 characters or more, lower-cased (offline)."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip())


def refusal(username: str, password: str) -> str | None:
    """The code of the rule a new password breaks, or None (docs/login.md)."""
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        return "idp.password.too_short"
    if password.strip().lower() == username.strip().lower():
        return "idp.password.username"
    if password.strip().lower() in common_passwords():
        return "idp.password.common"
    return None
