"""Bulk (RFC 7644 §3.7): up to ``MAX_OPERATIONS`` operations in one request of at most
``MAX_PAYLOAD`` bytes (413 beyond either), in one transaction: each operation runs in its
own SAVEPOINT, so a refused operation changes nothing and the others stand, and what
succeeded is committed together at the end (one COMMIT and one append to the audit chain
a request instead of one each an operation; the client, its scope and the OrgUnits posts
name are looked up once a request).

* ``bulkId:<id>`` anywhere in an operation's path or data stands for the id of the resource
  created by the POST with that bulkId (RFC 7644 §3.7.2): a node and its people in one
  request. Operations run in request order, except that one waiting for a bulkId created
  later runs after it; references that form a cycle are 409, a reference to a bulkId no
  operation created is 400 invalidValue;
* ``failOnErrors``: processing stops after that many errors; what succeeded stays.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from directory import scim_store as store
from directory.errors import DomainError
from directory.models import Node
from scim import batch
from scim import document as d
from scim import errors
from scim import resources
from scim import schemas as s
from scim.call import Call
from scim.mapping import etag

REFERENCE = re.compile(r"bulkId:([A-Za-z0-9._~-]+)")
PATH = re.compile(r"^/?(Users|Groups|OrgUnits)(?:/([^/]+))?$")
USERS_PATH = re.compile(r"^/?Users$")
RUN = s.MAX_OPERATIONS  # Users created together at most: a whole Bulk request


def _refs(value: Any) -> set[str]:
    """The bulkIds the string values anywhere in ``value`` reference (keys are names)."""
    if "bulkId:" not in json.dumps(value, ensure_ascii=False):  # none: no walk (C speed)
        return set()
    found: set[str] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "bulkId:" in item:
                found.update(REFERENCE.findall(item))
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _resolve(value: Any, created: dict[str, str]) -> Any:
    if isinstance(value, str):
        return REFERENCE.sub(lambda m: created[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _resolve(v, created) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, created) for v in value]
    return value


def _check(body: Any) -> tuple[list[dict[str, Any]], int | None]:
    if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
        raise errors.invalid_syntax("a BulkRequest has an Operations list")
    ops = body["Operations"]
    if len(ops) > s.MAX_OPERATIONS:
        raise errors.ScimError(413, f"more than {s.MAX_OPERATIONS} operations")
    fail_on = body.get("failOnErrors")
    if fail_on is not None and (not isinstance(fail_on, int) or fail_on < 1):
        raise errors.invalid_value("failOnErrors is a positive integer")
    seen: set[str] = set()
    for op in ops:
        if not isinstance(op, dict) or str(op.get("method", "")).upper() not in (
                "POST", "PUT", "PATCH", "DELETE") or not isinstance(op.get("path"), str):
            raise errors.invalid_syntax("each operation has a method and a path")
        bulk_id = op.get("bulkId")
        if str(op["method"]).upper() == "POST" and not isinstance(bulk_id, str):
            raise errors.invalid_syntax("a POST operation has a bulkId")
        if bulk_id is not None and (bulk_id in seen or not REFERENCE.fullmatch(
                f"bulkId:{bulk_id}")):
            raise errors.invalid_syntax(f"bulkId {bulk_id!r} is repeated or malformed")
        if bulk_id is not None:
            seen.add(bulk_id)
    return ops, fail_on


def _order(ops: list[dict[str, Any]], refs: list[set[str]]) -> tuple[list[int], set[int]]:
    """Request order, a waiting operation after the POSTs it references (``refs``: the
    bulkIds each operation's path and data name); the indexes of operations caught in a
    reference cycle."""
    producer = {op["bulkId"]: i for i, op in enumerate(ops) if op.get("bulkId")}
    needs = {i: {producer[r] for r in refs[i] if r in producer} for i in range(len(ops))}
    done: list[int] = []
    finished: set[int] = set()
    pending = list(range(len(ops)))
    while pending:
        ready = next((i for i in pending if i not in needs[i] and needs[i] <= finished), None)
        if ready is None:
            return done, set(pending)
        done.append(ready)
        finished.add(ready)
        pending.remove(ready)
    return done, set()


def run(body: Any, call: Call, base: str,
        parse_etag: Callable[[str | None], int | None]) -> dict[str, Any]:
    ops, fail_on = _check(body)
    refs = [_refs([op.get("path"), op.get("data")]) for op in ops]
    order, cyclic = _order(ops, refs)
    created: dict[str, str] = {}
    results: dict[int, dict[str, Any]] = {}
    failures = 0
    run_: dict[int, dict[str, Any]] = {}  # plain User POSTs to create together (scim/batch.py)
    with call.unit():
        for i in [*order, *sorted(cyclic)]:
            if fail_on is not None and failures >= fail_on:
                break
            doc = _batched(ops[i], refs[i]) if fail_on is None and i not in cyclic else None
            if doc is not None:
                run_[i] = doc
                if len(run_) >= RUN:
                    failures += _create_users(call, ops, run_, created, results, base)
                    run_ = {}
                continue
            failures += _create_users(call, ops, run_, created, results, base)
            run_ = {}
            ok, results[i] = _operation(call, ops[i], i in cyclic, created, base, parse_etag)
            failures += not ok
        failures += _create_users(call, ops, run_, created, results, base)
    return {"schemas": [s.BULK_RESPONSE], "Operations": [results[i] for i in sorted(results)]}


def _batched(op: dict[str, Any], refs: set[str]) -> dict[str, Any] | None:
    """The canonical document of a POST of a plain User that references no bulkId
    (``refs``): created in a run with others. Runs are used only without failOnErrors
    (which counts errors in request order)."""
    if str(op["method"]).upper() != "POST" or USERS_PATH.match(op["path"]) is None \
            or refs or op.get("version") is not None:
        return None
    try:
        doc = d.canonical(op.get("data"), s.USERS)
    except errors.ScimError:
        return None  # refused as any operation is
    return doc if batch.batchable(doc) else None


def _create_users(call: Call, ops: list[dict[str, Any]], docs: dict[int, dict[str, Any]],
                  created: dict[str, str], results: dict[int, dict[str, Any]],
                  base: str) -> int:
    """Create a run of Users in one SAVEPOINT; if the database refuses it (a concurrent
    writer), one by one as any operation. Returns the number of errors."""
    if not docs:
        return 0
    try:
        with call.session.begin_nested():
            outcomes = batch.create(call, list(docs.values()))
            call.session.flush()
    except (errors.ScimError, DomainError, store.IntegrityError, store.DataError):
        call.made.clear()
        for i in docs:
            _ok, results[i] = _operation(call, ops[i], False, created, base, lambda _v: None)
        return sum(results[i]["status"] != "201" for i in docs)
    for i, outcome in zip(docs, outcomes, strict=True):
        if isinstance(outcome, Exception):
            results[i] = _failed(ops[i], outcome)
            continue
        created[ops[i]["bulkId"]] = str(outcome.id)
        results[i] = {"method": "POST", "bulkId": ops[i]["bulkId"], "status": "201",
                      "version": etag(outcome.version),
                      "location": f"{base}{s.USERS.endpoint}/{outcome.id}"}
    return sum(results[i]["status"] != "201" for i in docs)


def _failed(op: dict[str, Any], exc: Exception) -> dict[str, Any]:
    error = _as_scim(exc)
    result = {"method": str(op["method"]).upper(), "status": str(error.status),
              "response": error.body()}
    return result | ({"bulkId": op["bulkId"]} if op.get("bulkId") else {})


def _operation(call: Call, op: dict[str, Any], cyclic: bool, created: dict[str, str],
               base: str, parse_etag: Callable[[str | None], int | None],
               ) -> tuple[bool, dict[str, Any]]:
    """One operation's result (RFC 7644 §3.7.3): its status, location and version, or its
    error; whether it succeeded."""
    result: dict[str, Any] = {"method": str(op["method"]).upper()}
    if op.get("bulkId"):
        result["bulkId"] = op["bulkId"]
    try:
        if cyclic:
            raise errors.ScimError(409, "circular bulkId reference", "invalidValue")
        missing = _refs([op.get("path"), op.get("data")]) - set(created)
        if missing:
            raise errors.invalid_value(f"bulkId {sorted(missing)[0]} was not created")
        result |= _one(call, result["method"], _resolve(op["path"], created),
                       _resolve(op.get("data"), created), parse_etag(op.get("version")), base)
        if result["method"] == "POST" and op.get("bulkId"):
            created[op["bulkId"]] = result["location"].rsplit("/", 1)[-1]
        return True, result
    except (errors.ScimError, DomainError, store.IntegrityError, store.DataError) as exc:
        return False, _failed(op, exc)


def _as_scim(exc: Exception) -> errors.ScimError:
    if isinstance(exc, DomainError):
        return errors.from_domain(exc)
    if isinstance(exc, errors.ScimError):
        return exc
    if isinstance(exc, store.DataError):
        return errors.invalid_value("a value does not fit its attribute")
    return errors.uniqueness("the resource conflicts with an existing one")


def _one(call: Call, method: str, path: str, data: Any, version: int | None,
         base: str) -> dict[str, Any]:
    match = PATH.match(path)
    if match is None or (method == "POST") != (match.group(2) is None):
        raise errors.invalid_path(f"'{path}' is not a resource path for {method}")
    kind = resources.KINDS[match.group(1)]
    if kind.model is Node:  # a node written may change what the next operation sees
        call.lineages.clear()
    with call.session.begin_nested():
        if method == "POST":
            row = resources.create(kind, call, data)
        elif method == "PUT":
            row = resources.replace(kind, call, match.group(2), data, version)
        elif method == "PATCH":
            row = resources.patch(kind, call, match.group(2), data, version, base)
        else:
            resources.delete(kind, call, match.group(2), version)
            return {"status": "204", "location": f"{base}{kind.rtype.endpoint}/{match.group(2)}"}
        call.session.flush()  # a refusal by the database is this operation's, in its savepoint
        if method != "POST":  # a new row holds its version already; a changed one re-reads
            call.session.refresh(row)
        return {"status": "201" if method == "POST" else "200", "version": etag(row.version),
                "location": f"{base}{kind.rtype.endpoint}/{row.id}"}
