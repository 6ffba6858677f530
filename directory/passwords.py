"""Password hashing: argon2id with its parameters stored in the hash (argon2-cffi).

The floor is OWASP's: m = 19 MiB, t = 2, p = 1. ``verify`` reports when a hash was made
with other parameters so the caller rehashes at login.
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

OWASP_MEMORY_KIB = 19 * 1024
OWASP_TIME_COST = 2
OWASP_PARALLELISM = 1


@dataclass(frozen=True)
class PasswordSettings:
    memory_kib: int = OWASP_MEMORY_KIB
    time_cost: int = OWASP_TIME_COST
    parallelism: int = OWASP_PARALLELISM

    def __post_init__(self) -> None:
        if (
            self.memory_kib < OWASP_MEMORY_KIB
            or self.time_cost < OWASP_TIME_COST
            or self.parallelism < 1
        ):
            raise ValueError("argon2id parameters below the OWASP floor (m=19 MiB, t=2, p=1)")


def hasher(settings: PasswordSettings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.time_cost,
        memory_cost=settings.memory_kib,
        parallelism=settings.parallelism,
        type=Type.ID,
    )


def hash_password(password: str, settings: PasswordSettings) -> str:
    return hasher(settings).hash(password)


def verify_password(stored: str, password: str, settings: PasswordSettings) -> tuple[bool, bool]:
    """(matches, needs_rehash)."""
    ph = hasher(settings)
    try:
        ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return True, ph.check_needs_rehash(stored)
