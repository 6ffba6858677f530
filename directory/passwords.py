"""Password hashing: argon2id (RFC 9106) with its parameters stored in the PHC string.

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

from dataclasses import dataclass

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
