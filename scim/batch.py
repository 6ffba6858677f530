"""Users created in batches (SCIM Bulk, #5): a run of Bulk POSTs of plain Users goes
through the same checks as ``users.create`` with one query per check for the whole run
instead of one per User, and its rows are inserted together.

A User is batched when it names no manager, sets no password, is not created inactive and
has at most its one primary post (``batchable``); the others, and any run the database
refuses (a concurrent writer took a userName meanwhile: the run's SAVEPOINT rolls back),
go through ``users.create`` one by one. Each User of a run gets its own answer: its
person, or the error that refused it, having written nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from directory import people
from directory import scim_commands as commands
from directory import scim_queries as related
from directory import scim_store as store
from directory.errors import DomainError
from directory.models import AccountStatus
from directory.models import Node
from directory.models import Person
from directory.models import PostKind
from scim import errors
from scim import posts
from scim import schemas as s
from scim import users
from scim.call import Call
from scim.call import as_text


def create_one(call: Call, doc: dict[str, Any]) -> Person:
    """POST /Users: a plain User through the batch path (fewer statements, rendered from
    what was written), any other through ``users.create``."""
    if not batchable(doc):
        return users.create(call, doc)
    outcome = create(call, [doc])[0]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def batchable(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    gov, enterprise = doc.get(s.GOV_USER), doc.get(s.ENTERPRISE)
    return (doc.get("password") is None and doc.get("active") is not False
            and not (isinstance(enterprise, dict) and enterprise.get("manager"))
            and not (isinstance(gov, dict) and isinstance(gov.get("posts"), list)
                     and len(gov["posts"]) > 1))


@dataclass
class _User:
    user_name: str
    values: dict[str, Any]
    wish: posts.PostWish
    number: str | None
    account_names: list[str]


def _parse(call: Call, doc: dict[str, Any]) -> _User:
    """The checks of ``users.create`` that need no query (OrgUnits are looked up once)."""
    user_name = users.check_user_name(doc.get("userName"))
    users.check_active(doc)
    values = users.wanted(doc)
    wishes = users.wanted_posts(call, doc)
    number = as_text(doc.get(s.ENTERPRISE, {}).get("employeeNumber"), "employeeNumber")
    return _User(user_name, values, wishes[0], number or None, users.account_names(user_name))


def create(call: Call, docs: list[dict[str, Any]]) -> list[Person | Exception]:
    """``users.create`` of each (canonical) document; call inside a SAVEPOINT. Every
    uniqueness check of the run is one statement (``scim_store.taken``)."""
    out: list[_User | Exception] = []
    for doc in docs:
        try:
            out.append(_parse(call, doc))
        except (errors.ScimError, DomainError) as exc:
            out.append(exc)
    parsed = [(i, u) for i, u in enumerate(out) if isinstance(u, _User)]
    prepared = people.prepare_batch(call.session, call.settings, [
        (people.PersonData(**{k: v for k, v in u.values.items() if v is not None}),
         people.PostSpec(u.wish.node_id, u.wish.title, u.wish.order)) for _i, u in parsed])
    taken = store.taken(
        call.session, call.client, user_names={u.user_name.lower() for _i, u in parsed},
        account_names={u.account_names[0] for _i, u in parsed if u.account_names},
        external_ids={u.values["external_id"] for _i, u in parsed if u.values["external_id"]},
        mobiles=people.lookup_hashes(prepared, "mobile"),
        id_numbers=people.lookup_hashes(prepared, "id_number"))
    _refuse_taken(out, taken)
    kept = [(i, p) for (i, _u), p in zip(parsed, prepared, strict=True)
            if isinstance(out[i], _User)]
    added = people.add_prepared(call.session, call.ctx, [p for _i, p in kept], taken,
                                call.lineages)
    made: list[tuple[int, _User, Person]] = []
    for (i, _p), person in zip(kept, added, strict=True):
        u = out[i]
        assert isinstance(u, _User)
        if isinstance(person, Person):
            made.append((i, u, person))
        else:
            out[i] = person
    commands.add_identities(call.session, call.ctx,
                            [(p.id, u.user_name, u.number) for _i, u, p in made])
    accounts = commands.add_accounts(call.session, call.settings, call.ctx, [
        (p.id, u.account_names) for _i, u, p in made], taken["account"])
    for (_i, u, person), account in zip(made, accounts, strict=True):
        if isinstance(account, DomainError):
            raise errors.uniqueness("no free account name for a userName")  # one by one
        node = call.session.get(Node, u.wish.node_id)  # held by the call: no query
        lineage = call.lineages.get(u.wish.node_id)
        call.made[person.id] = (
            related.Identity(account[1], AccountStatus.ACTIVE, u.user_name, u.number, None),
            [(related.PostView(None, u.wish.node_id, PostKind.PRIMARY, u.wish.title,
                               u.wish.order, None, None), node)],
            {} if lineage is None else {u.wish.node_id: related.unit_in(lineage)})
    people_at = {i: person for i, _u, person in made}
    return [u if isinstance(u, Exception) else people_at[i] for i, u in enumerate(out)]


def _refuse_taken(out: list[_User | Exception], taken: dict[str, set[str]]) -> None:
    """userName (any case, among SCIM identities and account names) and externalId (among
    what this client sees) already taken (``taken``), or taken by an earlier User of the
    run: 409."""
    names, used = set(taken["user_name"]), set(taken["external_id"])
    for i, u in enumerate(out):
        if not isinstance(u, _User):
            continue
        if u.user_name.lower() in names:
            out[i] = errors.uniqueness("userName is taken")
        elif u.values["external_id"] and u.values["external_id"] in used:
            out[i] = errors.uniqueness("externalId is already used by this client")
        else:
            names.add(u.user_name.lower())
            if u.values["external_id"]:
                used.add(u.values["external_id"])
