"""One request's unit of work as the SCIM writers see it, and the checks of plain values
that every resource type shares."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from directory import audit
from directory import scim_store as store
from directory.settings import DirectorySettings
from scim import errors


@dataclass(frozen=True)
class Call:
    """One request's unit of work: the session, the client and the audit context."""

    session: Any
    client: store.Client
    settings: DirectorySettings
    ctx: audit.Context
    # OrgUnits this request already found visible, with their lineages (root first, the
    # node last), by node id: each is looked up once per request (a Bulk of 1,000 Users at
    # 20 nodes: 20 lookups), the class and the unit of a User created there need no query
    # of their own, and the session's identity map keeps the nodes while this holds them.
    # Bulk clears it after any OrgUnits operation.
    lineages: dict[Any, tuple[Any, ...]] = field(default_factory=dict)
    # Users this request created through scim/batch.py, by person id: what their document
    # shows of the rows just written (account, identity, posts, the unit of each post's
    # node), so rendering them reads none of it back.
    made: dict[Any, Any] = field(default_factory=dict)
    # The account and SCIM identity columns a list read beside its Users (Page.extras),
    # by person id: rendering that page does not read them again.
    identities: dict[Any, tuple[Any, ...]] = field(default_factory=dict)

    @contextmanager
    def unit(self) -> Iterator[None]:
        """The request's transaction, the one its authentication opened (one BEGIN and one
        COMMIT a request, not two): committed at the end, rolled back on an error."""
        try:
            yield
        except BaseException:
            self.session.rollback()
            raise
        self.session.commit()


# Column widths (directory.models) of the attributes written as given: a longer value is
# invalidValue here, never a truncation error from the database.
LIMITS = {"officePhone": 40, "value": 254, "title": 100, "rank": 64, "positionLevel": 64,
          "politicalStatus": 64, "role": 100, "staffingType": 32, "externalId": 255,
          "employeeNumber": 64, "type": 32, "shortName": 100, "code": 64, "gender": 32,
          "visibilityClass": 32, "kind": 32}


def as_text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.invalid_value(f"'{name}' is a string")
    if len(value) > LIMITS.get(name, 4000):
        raise errors.invalid_value(f"'{name}' is longer than {LIMITS.get(name, 4000)}")
    return value
