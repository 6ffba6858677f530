"""Data-key rotation: re-encrypt every sensitive column under the active key.

Rotation is: add a new key to ``IDP_DATA_KEYS``, point ``IDP_DATA_KEY_ID`` at it, run
``idp data-keys rotate``; once it reports nothing left, the old key can be removed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import audit
from directory.crypto import FieldCipher
from directory.models import Account
from directory.models import Person
from directory.models import SigningKey

# (model, attribute, associated-data column name)
ENCRYPTED_COLUMNS = (
    (Person, "mobile_enc", "persons.mobile"),
    (Person, "id_number_enc", "persons.id_number"),
    (Account, "totp_secret_enc", "accounts.totp_secret"),
    (SigningKey, "private_enc", "signing_keys.private"),
)


def rotate(session: Session, cipher: FieldCipher, ctx: audit.Context,
           batch: int = 1000) -> dict[str, int]:
    """Re-encrypt values not under the active key; returns counts per column."""
    counts: dict[str, int] = {}
    prefix = cipher.active_key_id + ":"
    for model, attr, column in ENCRYPTED_COLUMNS:
        col = getattr(model, attr)
        stmt = select(model).where(col.is_not(None), ~col.startswith(prefix, autoescape=True))
        done = 0
        for row in session.scalars(stmt.execution_options(yield_per=batch)).all():
            setattr(row, attr, cipher.encrypt(cipher.decrypt(getattr(row, attr), column), column))
            done += 1
        session.flush()
        counts[column] = done
    audit.record(session, "data_keys.rotated", ctx, summary={
        "active_key_id": cipher.active_key_id, **counts})
    return counts
