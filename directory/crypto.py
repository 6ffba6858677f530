"""Field encryption (AES-256-GCM) and keyed lookup hashes (HMAC-SHA256).

Ciphertext format: ``<key id>:<base64url(nonce || ciphertext+tag)>``. The column name is
bound as associated data, so a ciphertext copied into another column fails to decrypt.
The key id travels with the ciphertext: keys rotate by adding a new active key while the
old ones stay configured for reading (``FieldCipher.needs_rotation`` tells which values to
re-encrypt).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12


class DecryptionError(Exception):
    """A stored ciphertext could not be decrypted (unknown key id or tampered value)."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_key(text: str) -> bytes:
    """A 256-bit key given as base64 (standard or url-safe) text."""
    raw = _b64d(text.strip().replace("+", "-").replace("/", "_"))
    if len(raw) != 32:
        raise ValueError("a data key must be 32 bytes (base64 of 256 random bits)")
    return raw


def new_key_text() -> str:
    return _b64e(os.urandom(32))


@dataclass(frozen=True)
class FieldCipher:
    """Encrypts sensitive columns; ``keys`` maps key id -> 32-byte key."""

    keys: dict[str, bytes]
    active_key_id: str
    index_key: bytes

    def __post_init__(self) -> None:
        if self.active_key_id not in self.keys:
            raise ValueError(f"active data key id {self.active_key_id!r} is not configured")

    def encrypt(self, plaintext: str, column: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.active_key_id]).encrypt(
            nonce, plaintext.encode("utf-8"), column.encode("ascii")
        )
        return f"{self.active_key_id}:{_b64e(nonce + sealed)}"

    def decrypt(self, token: str, column: str) -> str:
        key_id, _, body = token.partition(":")
        key = self.keys.get(key_id)
        if key is None:
            raise DecryptionError(f"unknown data key id {key_id!r}")
        raw = _b64d(body)
        try:
            plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], column.encode())
        except InvalidTag as exc:
            raise DecryptionError(f"ciphertext of {column} failed authentication") from exc
        return plain.decode("utf-8")

    def needs_rotation(self, token: str) -> bool:
        return not token.startswith(self.active_key_id + ":")

    def lookup_hash(self, normalised: str, column: str) -> str:
        """Keyed hash for exact-match lookup; the column name separates domains."""
        message = f"{column}\x00{normalised}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()


def mask_mobile(mobile: str) -> str:
    """138****5678."""
    return mobile[:3] + "*" * (len(mobile) - 7) + mobile[-4:] if len(mobile) >= 7 else "****"


def mask_id_number(id_number: str) -> str:
    """110***********1234."""
    if len(id_number) < 7:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]
