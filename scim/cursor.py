"""Cursors of RFC 9865 (cursor-based pagination of SCIM resources).

A cursor is the last id of the page and a timestamp, sealed with the deployment's keyed
hash (the index key), so a client can neither forge a position nor keep one beyond
``CURSOR_TIMEOUT`` (``expiredCursor``); anything that does not verify is ``invalidCursor``. Pages are keyset pages in id order,
so walking 100,000 users costs one index range scan per page, never an OFFSET.
"""

from __future__ import annotations

import base64
import hmac
import time
import uuid

from directory.crypto import FieldCipher
from scim import errors
from scim import schemas as s


def _mac(cipher: FieldCipher, body: bytes) -> bytes:
    """The deployment's keyed lookup hash (HMAC-SHA256 under the index key)."""
    return bytes.fromhex(cipher.lookup_hash(body.hex(), "scim_cursor"))[:16]


def encode(cipher: FieldCipher, after: uuid.UUID, now: float | None = None) -> str:
    body = after.bytes + int(now if now is not None else time.time()).to_bytes(8, "big")
    return base64.urlsafe_b64encode(body + _mac(cipher, body)).decode().rstrip("=")


def decode(cipher: FieldCipher, text: object, now: float | None = None) -> uuid.UUID | None:
    """The id after which the page starts; None for the first page (an empty cursor)."""
    value = str(text or "").strip()
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise _invalid() from exc
    body, mac = raw[:24], raw[24:]
    if len(raw) != 40 or not hmac.compare_digest(mac, _mac(cipher, body)):
        raise _invalid()
    issued = int.from_bytes(body[16:], "big")
    if (now if now is not None else time.time()) - issued > s.CURSOR_TIMEOUT:
        raise errors.ScimError(400, "the cursor has expired", "expiredCursor")
    return uuid.UUID(bytes=body[:16])


def _invalid() -> errors.ScimError:
    return errors.ScimError(400, "the cursor is not valid", "invalidCursor")
