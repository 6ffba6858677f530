"""Commands on people and their posts: the lifecycle of DOMAIN.md §2 (001 §8, 004 §二).

add, update, transfer (调动), second (借调), add/end a concurrent post (兼任), remove from a
node, deactivate (注销). Each checks first, writes, records its audit event; none commits.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import uuid
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields

from pypinyin import Style
from pypinyin import lazy_pinyin
from sqlalchemy import delete
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import accounts
from directory import audit
from directory import classes
from directory import queries
from directory import tree
from directory.db import insert_rows
from directory.db import utcnow
from directory.errors import DomainError
from directory.errors import conflict
from directory.errors import forbidden
from directory.errors import invalid
from directory.errors import not_found
from directory.errors import precondition
from directory.identifiers import normalise_id_number
from directory.identifiers import normalise_mobile
from directory.models import Account
from directory.models import AccountStatus
from directory.models import DeactivationReason
from directory.models import Gender
from directory.models import Node
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import PostKind
from directory.models import TagMember
from directory.models import VisibilityClass
from directory.settings import DirectorySettings
from policies import self_service

STAFFING_TYPES = ("在编", "聘用", "外部临时")
PLAIN_FIELDS = ("office_phone", "email", "rank", "position", "position_level",
                "political_status", "leadership_division", "role", "external_id")


@dataclass(frozen=True)
class PersonData:
    """Fields of a person (DOMAIN.md §2). ``None`` leaves a field unset."""

    name: str | None = None
    gender: str | None = None
    id_number: str | None = None
    mobile: str | None = None
    office_phone: str | None = None
    email: str | None = None
    staffing_type: str | None = None
    rank: str | None = None
    position: str | None = None
    position_level: str | None = None
    political_status: str | None = None
    leadership_division: str | None = None
    role: str | None = None
    visibility_class: str | None = None
    not_searchable: bool | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class PostSpec:
    node_id: uuid.UUID
    title: str | None = None
    sort_order: int = 0


def get_person(session: Session, person_id: uuid.UUID, *, active: bool = True) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise not_found("directory.person.not_found", "no such person", "person_id")
    if active and person.status != PersonStatus.ACTIVE:
        raise precondition("directory.person.deactivated", "the person is deactivated",
                           "person_id")
    return person


def _set_name(person: Person, name: str | None) -> None:
    text = (name or "").strip()
    if not text or len(text) > 100:
        raise invalid("directory.person.name", "name is required (at most 100 chars)", "name")
    person.name = text
    person.name_pinyin, person.name_initials = _pinyin(text)


@functools.lru_cache(maxsize=16384)
def _pinyin(text: str) -> tuple[str, str]:
    """A name's pinyin and initials, lower-cased: a function of the name alone, kept for
    the names seen last (names repeat; pypinyin takes ~30 µs a name, ~7% of a SCIM
    Bulk's CPU a User, #5)."""
    syllables = lazy_pinyin(text)
    if len(syllables) == len(text):  # an item a character: its first letter, as FIRST_LETTER
        initials = "".join(s[:1] for s in syllables)
    else:  # a run of letters or digits is one item, kept whole by FIRST_LETTER
        initials = "".join(lazy_pinyin(text, style=Style.FIRST_LETTER))
    return "".join(syllables).lower(), initials.lower()


def _set_sensitive(session: Session | None, settings: DirectorySettings, person: Person,
                   column: str, value: str) -> None:
    """Encrypt and index a mobile or ID number; ``session`` None: the caller checks that no
    one else has it (``prepare_batch``: one query for a whole batch)."""
    normal = normalise_mobile(value) if column == "mobile" else normalise_id_number(value)
    digest = settings.cipher.lookup_hash(normal, column)
    owner = (queries.person_by_lookup_hash(session, column, digest) if session is not None
             else None)
    if owner is not None and owner.id != person.id:
        raise conflict(f"directory.person.{column}_taken", f"{column} belongs to another person",
                       column)
    setattr(person, f"{column}_enc", settings.cipher.encrypt(normal, f"persons.{column}"))
    setattr(person, f"{column}_hash", digest)


def _apply(session: Session | None, settings: DirectorySettings, person: Person,
           data: PersonData) -> dict[str, object]:
    """Validate and apply the non-None fields of ``data``; returns the changes (scrubbed)."""
    changed: dict[str, object] = {}
    for f in fields(data):
        value = getattr(data, f.name)
        if value is None:
            continue
        if f.name == "name":
            _set_name(person, value)
        elif f.name in ("mobile", "id_number"):
            _set_sensitive(session, settings, person, f.name, value)
        elif f.name == "gender":
            if value not in {g.value for g in Gender}:
                raise invalid("directory.person.gender", "gender is male, female or unspecified",
                              "gender")
            person.gender = Gender(value)
        elif f.name == "staffing_type":
            if value not in STAFFING_TYPES:
                raise invalid("directory.person.staffing_type",
                              f"staffing type is one of {', '.join(STAFFING_TYPES)}",
                              "staffing_type")
            person.staffing_type = value
        elif f.name == "visibility_class":
            if value not in {c.value for c in VisibilityClass}:
                raise invalid("directory.person.visibility_class", "class is Q1, Q2, Q3 or Q4",
                              "visibility_class")
            person.visibility_class = VisibilityClass(value)
            person.visibility_class_explicit = True
        elif f.name == "not_searchable":
            person.not_searchable = bool(value)
        else:
            setattr(person, f.name, value.strip() if isinstance(value, str) else value)
        changed[f.name] = value
    return changed


def _post_row(person_id: uuid.UUID, node: Node, kind: PostKind, spec: PostSpec,
              start: dt.date | None = None, end: dt.date | None = None) -> dict[str, object]:
    """A new post's columns: at ``node``, under its hidden ancestry (``hidden_top``)."""
    return {"person_id": person_id, "node_id": node.id, "node_path": node.path,
            "hidden_top": node.hidden_top, "kind": kind, "title": spec.title,
            "sort_order": spec.sort_order, "start_date": start, "end_date": end}


def _new_post(session: Session, person: Person, kind: PostKind, spec: PostSpec,
              start: dt.date | None = None, end: dt.date | None = None) -> Post:
    post = Post(**_post_row(person.id, tree.get_active(session, spec.node_id), kind, spec,
                            start, end))
    session.add(post)
    session.flush()
    return post


def add(session: Session, settings: DirectorySettings, ctx: audit.Context, data: PersonData,
        primary: PostSpec | None = None) -> Person:
    """Add a person (新增), with their primary post when given."""
    person = Person(id=uuid.uuid4(), visibility_class=VisibilityClass.Q3)
    changed = _apply(session, settings, person, data)
    if data.name is None:
        raise invalid("directory.person.name", "name is required", "name")
    node = tree.get_active(session, primary.node_id) if primary is not None else None
    if node is not None and not person.visibility_class_explicit:
        # the class is known before the INSERT: no UPDATE of the person and its post after
        person.visibility_class = classes.class_for_node(session, node)
    session.add(person)
    session.flush()
    if primary is not None and node is not None:
        _new_post(session, person, PostKind.PRIMARY, primary)
    audit.record(session, "person.added", ctx, target_type="person", target_id=person.id,
                 summary={"fields": sorted(changed), "primary_node": primary and primary.node_id,
                          "visibility_class": person.visibility_class.value})
    return person


@dataclass
class Batched:
    """A person of a batch, checked and encrypted, not yet written (``prepare_batch``)."""

    person: Person
    changed: dict[str, object]
    spec: PostSpec
    node: Node


def prepare_batch(session: Session, settings: DirectorySettings,
                  items: list[tuple[PersonData, PostSpec]]) -> list[Batched | DomainError]:
    """The checks of ``add`` that need no query, for many people with a primary post each
    (SCIM Bulk, #5): each item gets its person, fields applied and encrypted, or the
    DomainError that refused it. ``lookup_hashes`` are what ``add_prepared`` needs to know
    taken: the caller looks them up with its own checks, in one query
    (``scim_store.taken``)."""
    out: list[Batched | DomainError] = []
    for data, spec in items:
        person = Person(id=uuid.uuid4(), visibility_class=VisibilityClass.Q3)
        try:
            if data.name is None:
                raise invalid("directory.person.name", "name is required", "name")
            changed = _apply(None, settings, person, data)
            out.append(Batched(person, changed, spec, tree.get_active(session, spec.node_id)))
        except DomainError as exc:
            out.append(exc)
    return out


UNIQUE_LOOKUPS = ("mobile", "id_number")


def lookup_hashes(batch: Sequence[Batched | DomainError], column: str) -> set[str]:
    """The batch's keyed hashes of ``column`` (mobile or id_number), to look up."""
    return {h for b in batch if isinstance(b, Batched)
            and (h := getattr(b.person, f"{column}_hash")) is not None}


def add_prepared(session: Session, ctx: audit.Context, batch: list[Batched | DomainError],
                 taken: Mapping[str, set[str]],
                 lineages: Mapping[uuid.UUID, Sequence[Node]] | None = None
                 ) -> list[Person | DomainError]:
    """``add`` of a prepared batch (SCIM Bulk, #5): the same checks and audit records, the
    class once per node, the rows inserted together. ``taken``: of the batch's
    ``lookup_hashes``, by column, those another person has (found by the caller in this
    transaction); a value taken, or twice in the batch, refuses its item as
    ``_set_sensitive`` does (nothing of a refused item is written). ``lineages``: the
    ancestors of nodes (root first, the node last) the caller read in this transaction;
    the class at any other node is read. The caller runs it in a SAVEPOINT: a database
    refusal (a concurrent writer took a value meanwhile) fails the whole batch."""
    out = list(batch)
    _refuse_taken(out, taken)
    added = [b for b in out if isinstance(b, Batched)]
    classes_at: dict[uuid.UUID, VisibilityClass] = {}
    for b in added:
        if not b.person.visibility_class_explicit:
            if b.node.id not in classes_at:
                classes_at[b.node.id] = _class_at(session, b.node, (lineages or {}).get(
                    b.node.id))
            b.person.visibility_class = classes_at[b.node.id]
    _insert_people(session, [b.person for b in added])
    if added:  # one statement (db.insert_rows); the post carries its person's class (Post.person_class)
        insert_rows(session, Post.__table__, [
            {"id": uuid.uuid4(), "person_class": b.person.visibility_class,
             **_post_row(b.person.id, b.node, PostKind.PRIMARY, b.spec)} for b in added])
    for b in added:
        audit.record(session, "person.added", ctx, target_type="person", target_id=b.person.id,
                     summary={"fields": sorted(b.changed), "primary_node": b.spec.node_id,
                              "visibility_class": b.person.visibility_class.value})
    return [b.person if isinstance(b, Batched) else b for b in out]


def _class_at(session: Session, node: Node, lineage: Sequence[Node] | None
              ) -> VisibilityClass:
    """The default class at ``node`` (``classes.class_for_node``), of its ``lineage``
    when the caller has it."""
    if not lineage or lineage[-1].id != node.id:
        return classes.class_for_node(session, node)
    return classes.class_of_lineage(lineage)


def _insert_people(session: Session, people: list[Person]) -> None:
    """The new people's rows, by ``db.insert_rows`` (COPY on PostgreSQL for many); each
    entity gets every column as written (defaults too) and stays out of the session
    (nothing to flush; a later read in the transaction loads the row)."""
    session.flush()  # what the transaction holds before them (their posts' nodes…)
    columns = [c.key for c in Person.__table__.columns]
    rows = insert_rows(session, Person.__table__, [
        {k: p.__dict__[k] for k in columns if k in p.__dict__} for p in people])
    for person, row in zip(people, rows, strict=True):
        state = person.__dict__  # the defaults it lacks, as plain values (no history)
        for key in columns:
            if key not in state:
                state[key] = row.get(key)


def _refuse_taken(out: list[Batched | DomainError], taken: Mapping[str, set[str]]) -> None:
    """Items whose mobile or ID number another person has (``taken``), or an earlier item
    of the batch, become the DomainError ``_set_sensitive`` raises."""
    for column in UNIQUE_LOOKUPS:
        seen = set(taken.get(column, ()))
        for i, b in enumerate(out):
            digest = getattr(b.person, f"{column}_hash") if isinstance(b, Batched) else None
            if digest is None:
                continue
            if digest in seen:
                out[i] = conflict(f"directory.person.{column}_taken",
                                  f"{column} belongs to another person", column)
            seen.add(digest)


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def change_own_record(session: Session, settings: DirectorySettings, ctx: audit.Context,
                      person_id: uuid.UUID, account_id: uuid.UUID, fields: Mapping[str, str],
                      *, by_proxy: bool, emails: Sequence[str] = (),
                      password: str | None = None) -> None:
    """A person's change of their own record (self-service, SCIM ``/Me``), in the caller's
    transaction. ``fields`` maps each field the change would write (domain names) to the
    name the caller knows it by. ``policies.self_service`` decides first: a proxy's token
    writes nothing, and a field the person does not own is refused naming it (FORBIDDEN,
    the rule's code). Then the record's one email (``emails``: the addresses asked for,
    none to clear it) and the password (``accounts.change_own_password``). A refusal
    writes nothing."""
    writer = self_service.check_writer(by_proxy)
    if not writer.allowed:
        raise forbidden(writer.rule, "a proxy's token changes nothing of the principal's "
                                     "own record")
    for field, name in fields.items():
        decision = self_service.check_field(field)
        if not decision.allowed:
            raise forbidden(decision.rule, f"'{name}' is maintained by HR and the "
                            f"administrators; a person changes only their "
                            f"{' and '.join(sorted(self_service.SELF_SERVICE))}", name)
    if "email" in fields:
        email = _own_email(emails)
        if email != (get_person(session, person_id).email or ""):
            update(session, settings, ctx, person_id, PersonData(email=email))
    if "password" in fields:
        if password is None:
            raise invalid("directory.person.password", "a new password is a string",
                          fields["password"])
        accounts.change_own_password(session, settings, ctx, account_id, password)


def _own_email(emails: Sequence[str]) -> str:
    """The one address a record holds ("" when none is asked for)."""
    values = {e.strip() for e in emails if e.strip()}
    if len(values) > 1:
        raise invalid("directory.person.email_count", "a record holds one address", "email")
    email = values.pop() if values else ""
    if email and not _EMAIL.match(email):
        raise invalid("directory.person.email_invalid", "the address is not an email address",
                      "email")
    return email


def update(session: Session, settings: DirectorySettings, ctx: audit.Context,
           person_id: uuid.UUID, data: PersonData) -> Person:
    """Modify a person's fields (修改)."""
    person = get_person(session, person_id)
    with session.no_autoflush:  # a refusal half-way must leave nothing to flush
        try:
            changed = _apply(session, settings, person, data)
        except DomainError:
            session.expire(person)  # drops the fields set before the refused one
            raise
    session.flush()
    audit.record(session, "person.updated", ctx, target_type="person", target_id=person.id,
                 summary={"changed": changed})
    return person


def transfer(session: Session, ctx: audit.Context, person_id: uuid.UUID,
             to: PostSpec) -> Post:
    """Transfer (调动): the primary post moves to another node; the old one is ended."""
    person = get_person(session, person_id)
    node = tree.get_active(session, to.node_id)
    old = queries.primary_post(session, person.id)
    if old is not None:
        old.active, old.ended_at = False, utcnow()
        session.flush()
    post = _new_post(session, person, PostKind.PRIMARY, to)
    if not person.visibility_class_explicit:
        person.visibility_class = classes.class_for_node(session, node)
    session.flush()
    audit.record(session, "person.transferred", ctx, target_type="person", target_id=person.id,
                 summary={"from_node": old and old.node_id, "to_node": node.id,
                          "title": to.title})
    return post


def second(session: Session, ctx: audit.Context, person_id: uuid.UUID, to: PostSpec,
           start: dt.date, end: dt.date) -> Post:
    """Second (借调) a person to a node from ``start`` to ``end``."""
    person = get_person(session, person_id)
    if end < start:
        raise invalid("directory.post.dates", "a secondment ends after it starts", "end_date")
    post = _new_post(session, person, PostKind.SECONDMENT, to, start, end)
    audit.record(session, "person.seconded", ctx, target_type="person", target_id=person.id,
                 summary={"node": to.node_id, "start": start, "end": end, "title": to.title})
    return post


def add_concurrent(session: Session, ctx: audit.Context, person_id: uuid.UUID,
                   at: PostSpec) -> Post:
    """Add a concurrent post (兼任)."""
    person = get_person(session, person_id)
    for existing in queries.active_posts(session, person.id):
        if existing.node_id == at.node_id:
            raise conflict("directory.post.duplicate", "the person already has a post there",
                           "node_id")
    post = _new_post(session, person, PostKind.CONCURRENT, at)
    audit.record(session, "post.added", ctx, target_type="person", target_id=person.id,
                 summary={"node": at.node_id, "kind": "concurrent", "title": at.title})
    return post


def end_post(session: Session, ctx: audit.Context, post_id: uuid.UUID) -> Post:
    """End a concurrent post or a secondment; a primary post ends by transfer or removal."""
    post = session.get(Post, post_id)
    if post is None or not post.active:
        raise not_found("directory.post.not_found", "no such active post", "post_id")
    if post.kind == PostKind.PRIMARY:
        raise precondition("directory.post.primary", "end a primary post by transfer or removal",
                           "post_id")
    post.active, post.ended_at = False, utcnow()
    session.flush()
    audit.record(session, "post.ended", ctx, target_type="person", target_id=post.person_id,
                 summary={"node": post.node_id, "kind": post.kind.value})
    return post


def remove_from_node(session: Session, ctx: audit.Context, person_id: uuid.UUID,
                     node_id: uuid.UUID) -> int:
    """Remove a person from a node (移除): every active post of theirs there ends."""
    person = get_person(session, person_id)
    posts = [p for p in queries.active_posts(session, person.id) if p.node_id == node_id]
    if not posts:
        raise not_found("directory.post.not_found", "the person has no post in that node",
                        "node_id")
    for post in posts:
        post.active, post.ended_at = False, utcnow()
    session.flush()
    audit.record(session, "person.removed", ctx, target_type="person", target_id=person.id,
                 summary={"node": node_id, "posts": len(posts)})
    return len(posts)


def deactivate(session: Session, ctx: audit.Context, person_id: uuid.UUID,
               reason: str, note: str | None = None) -> Person:
    """Deactivate (注销): login ends, posts end, tags drop the person; the record stays."""
    person = get_person(session, person_id)
    if reason not in {r.value for r in DeactivationReason}:
        raise invalid("directory.person.deactivation_reason",
                      "reason is one of " + ", ".join(r.value for r in DeactivationReason),
                      "reason")
    now = utcnow()
    person.status, person.deactivation_reason, person.deactivated_at = (
        PersonStatus.DEACTIVATED, DeactivationReason(reason), now)
    for post in queries.active_posts(session, person.id):
        post.active, post.ended_at = False, now
    account = session.scalar(select(Account).where(Account.person_id == person.id))
    if account is not None:
        account.status = AccountStatus.DEACTIVATED
        accounts.revoke_everything(session, account.id, "deactivated")
    session.execute(delete(TagMember).where(TagMember.person_id == person.id))
    session.flush()
    audit.record(session, "person.deactivated", ctx, target_type="person", target_id=person.id,
                 summary={"reason": reason, "note": note})
    return person


def reveal(session: Session, settings: DirectorySettings, person: Person, column: str) -> str | None:
    """Decrypt a sensitive field for a caller that has already been authorised."""
    token = getattr(person, f"{column}_enc")
    return None if token is None else settings.cipher.decrypt(token, f"persons.{column}")


def find_by_mobile(session: Session, settings: DirectorySettings, mobile: str) -> Person | None:
    """Exact lookup through the keyed hash: the mobile itself is never compared in SQL."""
    normal = normalise_mobile(mobile)
    return queries.person_by_lookup_hash(
        session, "mobile", settings.cipher.lookup_hash(normal, "mobile"))
