"""RFC 7644 §3.11 ``/Me`` writes: a signed-in person changes their own User through an
app's token issued to them with the ``scim`` scope.

* What may change is ``policies.self_service``, decided by ``people.change_own_record``:
  ``emails`` and ``password``. Any other attribute that would change is 403 naming it,
  and nothing is written; a readOnly one is
  ignored by PUT (RFC 7644 §3.5.1) and is ``mutability`` for PATCH (§3.5.2), and
  ``userName`` is immutable (``mutability``), exactly as on ``/Users``.
* PUT: an attribute left out is not asserted (§3.5.1 allows it), so it stays as it is:
  PUT never wipes what HR maintains, and a PUT of a new password alone changes nothing
  else. Attributes the person sends unchanged (a GET document sent back) are fine.
* ``nationalIdNumber`` is refused whenever it is given: it is never compared with the
  stored one, which would make ``/Me`` an oracle for it.
* ``password`` goes through ``accounts.change_own_password``: the sign-in page's rules
  (docs/login.md), then every browser session and OAuth grant of the account ends, as
  after a change at sign-in. A refused password is 400 ``invalidValue`` naming the rule.
* One email is stored: ``emails`` with more than one address is ``invalidValue``.
* A proxy's token (RFC 8693 ``act``) writes nothing (403).

Each write is audited by its command with the person's account as the actor.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from directory import accounts
from directory import people
from directory import scim_store as store
from directory.models import Person
from scim import document as d
from scim import errors
from scim import patch as patch_op
from scim import schemas as s
from scim.call import Call
from scim.call import as_text
from scim.resources import KINDS

# The domain field of each attribute whose name differs (policies.self_service).
FIELDS = {(s.USER, "emails"): "email"}
# POST and DELETE at /Me (RFC 7644 §3.11 leaves them to the server): 403.
REFUSED = {
    "POST": "self_service.administered: people do not create Users; HR and the "
            "administrators add them (实名制, 000 §8)",
    "DELETE": "self_service.administered: people do not delete their own User; an "
              "administrator deactivates it (注销) with a reason (004 §二.6)",
}


@dataclass(frozen=True)
class Me:
    """Who writes: the account behind the token, and whether a proxy holds the token."""

    person_id: uuid.UUID
    account_id: uuid.UUID
    by_proxy: bool


def write(call: Call, me: Me, method: str, body: Any, version: int | None,
          base: str) -> Person:
    """PUT or PATCH of the person's own User, in the caller's transaction: the attributes
    the request would change, as domain fields, go to ``people.change_own_record``, which
    decides (``policies.self_service``) and writes."""
    person = store.person(call.session, call.client, str(me.person_id))
    if person is None:
        raise errors.not_found()
    account = _live_account(call, me)
    store.claim(call.session, Person, person.id, version)
    current = KINDS["Users"].render(call, base, [person])[0]
    if method == "PATCH":
        wanted = patch_op.apply(current, body, s.USERS)
    else:
        wanted = _put(current, d.canonical(body, s.USERS))
    fields = {FIELDS.get((schema.id, attr.name), attr.name): _name(schema, attr)
              for schema, attr in _changed(current, wanted)}
    people.change_own_record(
        call.session, call.settings, call.ctx, person.id, account.id, fields,
        by_proxy=me.by_proxy, emails=_emails(wanted.get("emails")) if "email" in fields else (),
        password=_password(wanted["password"]) if "password" in fields else None)
    return person


def _live_account(call: Call, me: Me) -> Any:
    """The token's account, still usable in this transaction (a freeze may have committed
    since the token was checked)."""
    account = store.account_of(call.session, me.person_id)
    if account is None or account.id != me.account_id or not accounts.usable(account):
        raise errors.ScimError(401, "invalid token", headers={
            "WWW-Authenticate": 'Bearer error="invalid_token"'})
    return account


def _password(value: Any) -> str:
    if not isinstance(value, str):
        raise errors.invalid_value("'password' is a string")
    return value


def _attributes() -> Iterator[tuple[s.Schema, s.Attr]]:
    for schema in s.USERS.schemas():
        core = schema.id == s.USERS.schema
        for attr in (*schema.attributes, *(s.COMMON if core else ())):
            yield schema, attr


def _holder(doc: dict[str, Any], schema: s.Schema) -> dict[str, Any]:
    return doc if schema.id == s.USERS.schema else doc.get(schema.id) or {}


def _ignored(schema: s.Schema, attr: s.Attr) -> bool:
    """Never written through a document: readOnly, or computed from other data."""
    return attr.mutability == "readOnly" or (schema.id, attr.name) in s.DERIVED


def _put(current: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The document a PUT asks for: what it gives, and the current value of what it
    leaves out or may not write."""
    out: dict[str, Any] = {}
    for schema, attr in _attributes():
        have, sent = _holder(current, schema), _holder(given, schema)
        value = have.get(attr.name)
        if attr.mutability == "immutable":  # userName: caseExact false
            if value is not None and sent.get(attr.name) is not None \
                    and str(sent[attr.name]).lower() != str(value).lower():
                raise errors.mutability(f"'{attr.name}' cannot change once set")
        elif attr.name in sent and not _ignored(schema, attr):
            value = sent[attr.name]
        target = out if schema.id == s.USERS.schema else out.setdefault(schema.id, {})
        if value is not None:
            target[attr.name] = value
    return out


def _changed(current: dict[str, Any], wanted: dict[str, Any]) -> list[tuple[s.Schema, s.Attr]]:
    """The writable attributes whose value would change; a writeOnly one given is a change
    (it is never shown, so never the same as what was shown)."""
    out = []
    for schema, attr in _attributes():
        if _ignored(schema, attr):
            continue
        now = _holder(wanted, schema).get(attr.name)
        if attr.mutability == "writeOnly":
            if now is not None:
                out.append((schema, attr))
        elif _normal(_holder(current, schema).get(attr.name)) != _normal(now):
            out.append((schema, attr))
    return out


def _normal(value: Any) -> Any:
    """A value as compared: unassigned is None (RFC 7643 §2.5), a multi-valued attribute
    is unordered, and ``$ref`` follows from ``value``."""
    if isinstance(value, dict):
        items = {k: _normal(v) for k, v in value.items() if k != "$ref"}
        value = {k: v for k, v in items.items() if v is not None}
    elif isinstance(value, list):
        value = sorted(json.dumps(_normal(v), sort_keys=True, ensure_ascii=False)
                       for v in value if _normal(v) is not None)
    return None if value in (None, "", [], {}) else value


def _name(schema: s.Schema, attr: s.Attr) -> str:
    return attr.name if schema.id == s.USERS.schema else f"{schema.id}:{attr.name}"


def _emails(items: Any) -> list[str]:
    """The addresses ``emails`` asks for (the record keeps one: ``people.change_own_record``)."""
    return [as_text(e.get("value"), "value") or "" for e in items or []
            if isinstance(e, dict) and e.get("value")]
