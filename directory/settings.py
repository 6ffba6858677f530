"""Settings of the directory package, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from directory.crypto import FieldCipher
from directory.passwords import PasswordSettings
from policies.accounts import AccountSettings


@dataclass(frozen=True)
class DirectorySettings:
    """cipher: encrypts ID numbers, mobiles and TOTP secrets and makes their lookup hashes.
    passwords: argon2id parameters. accounts: account-type limits."""

    cipher: FieldCipher
    passwords: PasswordSettings = field(default_factory=PasswordSettings)
    accounts: AccountSettings = field(default_factory=AccountSettings)
