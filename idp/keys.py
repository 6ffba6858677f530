"""Token-signing keys: generated here (joserfc, authlib's JOSE library), stored by
``idp.store`` with the private part encrypted by the data cipher. ES256 by default.

Lifecycle (``idp keys rotate``, #4): a key is *published* (in the JWKS, accepted for
verification) from its creation until ``retired_at``; it *signs* from ``signs_from``
(creation when NULL) while it is the newest published key of its algorithm that may sign.
Rotation adds a key that signs only after a grace period longer than the JWKS cache
(relying parties see it before any token needs it) and sets the older keys' ``retired_at``
to when every token they may still sign has expired.

The per-process cache (``Ring``): imported keys are kept by ``kid`` forever (a ``kid`` is
the key's RFC 7638 thumbprint, so it never names other key material); the list of
published keys is re-read from the database after ``RING_SECONDS`` or when this process
changes keys. Signing and retirement times are compared with the clock at each use, so
only a key created or deleted by *another* process is seen up to ``RING_SECONDS`` late —
which the grace period covers.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass

from joserfc.jwk import ECKey
from joserfc.jwk import RSAKey
from joserfc.jwk import import_key

RING_SECONDS = 10.0
JWKS_MAX_AGE = 300  # Cache-Control of /jwks.json
MIN_GRACE_SECONDS = JWKS_MAX_AGE + int(RING_SECONDS)

Key = ECKey | RSAKey


@dataclass(frozen=True)
class GeneratedKey:
    kid: str
    alg: str
    public_jwk: str
    private_pem: str


def generate(alg: str = "ES256") -> GeneratedKey:
    key: ECKey | RSAKey
    if alg == "ES256":
        key = ECKey.generate_key("P-256")
    elif alg == "RS256":
        key = RSAKey.generate_key(2048)
    else:
        raise ValueError(f"unsupported signing algorithm {alg}")
    kid = key.thumbprint()
    public = dict(key.as_dict(private=False))
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    pem = key.as_pem(private=True).decode("ascii")
    return GeneratedKey(kid=kid, alg=alg, public_jwk=json.dumps(public), private_pem=pem)


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as the ring keeps it (the private part still encrypted)."""

    kid: str
    alg: str
    public_jwk: str
    private_enc: str
    created_at: dt.datetime
    signs_from: dt.datetime
    retired_at: dt.datetime | None

    def published(self, now: dt.datetime) -> bool:
        return self.retired_at is None or self.retired_at > now

    def signs(self, now: dt.datetime) -> bool:
        return self.signs_from <= now and self.published(now)


def choose(keys: Sequence[KeyInfo], alg: str, now: dt.datetime) -> KeyInfo | None:
    """The key that signs now: the newest published key of ``alg`` whose grace period is
    over."""
    ready = [k for k in keys if k.alg == alg and k.signs(now)]
    return max(ready, key=lambda k: (k.created_at, k.kid), default=None)


def retire_time(signs_from: dt.datetime, token_seconds: int,
                leeway_seconds: int) -> dt.datetime:
    """When an older key may leave the JWKS once a key signing from ``signs_from`` was
    added: after the last token it may still sign (a process may keep choosing it for
    ``RING_SECONDS`` more) has expired, verification leeway included."""
    return signs_from + dt.timedelta(seconds=token_seconds + RING_SECONDS + leeway_seconds)


class Ring:
    """The published keys of one database, cached per process (see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, tuple[float, tuple[KeyInfo, ...]]] = {}
        self._private: dict[str, Key] = {}
        self._public: dict[str, Key] = {}
        # the key that signs, by database and algorithm: (the snapshot it was chosen from,
        # the key, until when (POSIX seconds) that choice holds)
        self._signers: dict[tuple[str, str], tuple[tuple[KeyInfo, ...], KeyInfo | None,
                                                   float]] = {}

    def keys(self, db: str, load: Callable[[], Sequence[KeyInfo]],
             *, refresh: bool = False) -> tuple[KeyInfo, ...]:
        cached = self._snapshots.get(db)
        if cached is not None and not refresh and time.monotonic() - cached[0] < RING_SECONDS:
            return cached[1]
        loaded = tuple(load())
        with self._lock:
            self._snapshots[db] = (time.monotonic(), loaded)
        return loaded

    def signer(self, db: str, load: Callable[[], Sequence[KeyInfo]], alg: str,
               ) -> KeyInfo | None:
        """``choose`` over this snapshot, chosen again only when the snapshot is re-read or
        a key of ``alg`` starts signing or is retired (the next such time is kept with the
        choice): a token's signing key is then two look-ups, not a walk of the keys with
        their times."""
        snapshot = self.keys(db, load)
        now = time.time()
        kept = self._signers.get((db, alg))
        if kept is not None and kept[0] is snapshot and now < kept[2]:
            return kept[1]
        at = dt.datetime.fromtimestamp(now, dt.UTC)
        chosen = choose(snapshot, alg, at)
        changes = [t for k in snapshot if k.alg == alg
                   for t in (k.signs_from, k.retired_at) if t is not None and t > at]
        until = min(changes).timestamp() if changes else float("inf")
        with self._lock:
            self._signers[(db, alg)] = (snapshot, chosen, until)
        return chosen

    def find(self, db: str, load: Callable[[], Sequence[KeyInfo]], kid: str) -> KeyInfo | None:
        """A published key by id; an id not in the snapshot re-reads it once (a key made
        by another process a moment ago)."""
        for refresh in (False, True):
            found = next((k for k in self.keys(db, load, refresh=refresh) if k.kid == kid),
                         None)
            if found is not None:
                return found
        return None

    def forget(self) -> None:
        """This process changed keys: the next use re-reads them."""
        with self._lock:
            self._snapshots.clear()
            self._signers.clear()

    def private_key(self, info: KeyInfo, decrypt: Callable[[str], str]) -> Key:
        key = self._private.get(info.kid)
        if key is None:
            imported = import_key(decrypt(info.private_enc),
                                  "EC" if info.alg.startswith("ES") else "RSA")
            assert isinstance(imported, ECKey | RSAKey)
            key = self._private[info.kid] = imported
        return key

    def public_key(self, info: KeyInfo) -> Key | None:
        key = self._public.get(info.kid)
        if key is None:
            imported = import_key(json.loads(info.public_jwk))
            if not isinstance(imported, ECKey | RSAKey):
                return None
            key = self._public[info.kid] = imported
        return key


RING = Ring()
