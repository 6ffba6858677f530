"""The reads and version claims of the SCIM adapter (#5); its writes go through the domain
commands (``people``, ``accounts``, ``tree``, ``tags``), each audited with the client.

A SCIM client is an online app. Its scope is its directory access
(``apps.directory_access``): it sees the nodes inside its subtrees, hidden ones included
(it provisions them: a unit's HR system is the source of truth for its hidden bodies too),
and nothing outside them, hidden or not; a person is visible when one of their active
posts is; a tag when its owner node is. Everything else is "not found", exactly as an id
that does not exist.

ETags come from the ``version`` columns. ``claim`` is the atomic If-Match of RFC 7644
§3.14: ``UPDATE … SET version = version + 1 WHERE id = ? AND version = ?`` before any other
write of the request, so of two requests carrying the same ETag one wins and the other
matches no row (412), whatever the database's isolation level.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import NamedTuple
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import true
from sqlalchemy import union_all
from sqlalchemy import update
from sqlalchemy.exc import DataError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from directory import accounts
from directory import apps
from directory import scim_query as q
from directory import visibility as dv
from directory.db import COPY_FROM
from directory.db import Fast
from directory.db import among_param
from directory.db import rowcount
from directory.db import utcnow
from directory.errors import precondition
from directory.models import Account
from directory.models import App
from directory.models import AppDirectoryScope
from directory.models import AppStatus
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import ScimIdentity
from directory.models import ScimToken
from directory.models import Tag
from directory.queries import PATH_CEILING
from directory.queries import path_in_subtree
from policies import visibility as pv
from policies.delegation import ALL
from policies.delegation import SYSTEM_ADMIN
from policies.delegation import Grant

__all__ = ["Session", "IntegrityError", "DataError"]


class ClientApp(NamedTuple):
    """What a SCIM client's requests need of its app, as a plain row (not ``apps.AppRow``:
    the OAuth columns)."""

    id: uuid.UUID
    client_id: str
    unit_node_id: uuid.UUID | None
    status: AppStatus


class ScopeNode(NamedTuple):
    """What a SCIM client's requests need of a node of its scope, as a plain row."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    path: str


@dataclass(frozen=True)
class Client:
    """A SCIM client: the app, what it sees, and its grant over the tree (its scopes with
    every permission; a client whose scope holds the root maintains the central levels)."""

    app: App | ClientApp
    access: pv.AppAccess
    scope_nodes: tuple[Node | ScopeNode, ...]

    @property
    def actor(self) -> str:
        return f"app:{self.app.client_id}"

    @property
    def covers_root(self) -> bool:
        """Its scope holds the root (there is one): the whole tree."""
        return any(n.parent_id is None for n in self.scope_nodes)

    @property
    def grant(self) -> Grant:
        if self.covers_root:
            return SYSTEM_ADMIN
        return Grant(scopes=self.access.scopes, permissions=ALL)

    @property
    def home(self) -> Node | ScopeNode | None:
        """Where a User created without posts is placed: the app's unit when it is in
        scope, else the first scope node."""
        for node in self.scope_nodes:
            if node.id == self.app.unit_node_id:
                return node
        return self.scope_nodes[0] if self.scope_nodes else None


_CLIENT = Fast(select(App.id, App.client_id, App.unit_node_id, App.status, Node.id,
                      Node.parent_id, Node.path)
               .outerjoin(AppDirectoryScope, AppDirectoryScope.app_id == App.id)
               .outerjoin(Node, and_(Node.id == AppDirectoryScope.node_id,
                                     Node.status == NodeStatus.ACTIVE))
               .where(App.client_id == bindparam("client_id")).order_by(Node.path))


def load_client(session: Session, client_id: str) -> Client | None:
    """The app and its active scope nodes in one statement of plain columns on the
    driver's cursor (every request authenticates: no ORM entities, no execution context)."""
    rows = _CLIENT.all(session, {"client_id": client_id})
    if not rows or rows[0][3] != AppStatus.ONLINE:
        return None
    app = ClientApp(*rows[0][:4])
    scopes = [ScopeNode(*r[4:]) for r in rows if r[4] is not None]
    access = pv.AppAccess(app_id=str(app.id), scopes=tuple(dv.tokens(n.path) for n in scopes))
    return Client(app=app, access=access, scope_nodes=tuple(scopes))


def load_self(session: Session, client_id: str,
              account_id: str) -> tuple[Client, uuid.UUID] | None:
    """RFC 7644 §3.11 ``/Me`` for a person's token: a client whose scope is the nodes of the
    person's own active posts (hidden or not), for the app the token was issued to."""
    app = apps.by_client_id(session, client_id)
    account = session.get(Account, _uuid(account_id)) if _uuid(account_id) else None
    if (app is None or app.status != AppStatus.ONLINE or account is None
            or account.person_id is None or not accounts.usable(account)
            or not apps.account_may_use(session, account, client_id)):
        return None
    paths = [dv.tokens(p) for p in session.scalars(select(Post.node_path).where(
        Post.person_id == account.person_id, Post.active))]
    access = pv.AppAccess(app_id=str(app.id), scopes=tuple(paths))
    return Client(app=app, access=access, scope_nodes=()), account.person_id


def in_scope(client: Client, path: Any, bound: bool = False) -> ColumnElement[bool]:
    """Inside one of the client's subtrees: one index range per subtree (none when the
    scope holds the root: everything is inside). Hidden nodes there are the client's to
    provision (its HR system is their source of truth); outside them nothing exists for
    it, hidden or not — no row, no count, no filter oracle. ``bound``: the subtrees'
    bounds as named parameters (``scope_bounds``), for a statement built once per
    ``scope_shape`` (``built_once``) and run for every client of that shape."""
    if client.covers_root:
        return true()
    if bound:
        return or_(false(), *(and_(path >= bindparam(f"scope_lo_{i}"), path < bindparam(
            f"scope_hi_{i}")) for i in range(len(client.access.scopes))))
    return or_(false(), *(path_in_subtree(path, "".join(s)) for s in client.access.scopes))


def scope_shape(client: Client) -> int:
    """What ``in_scope(…, bound=True)`` builds depends on: the number of subtrees (-1: the
    root)."""
    return -1 if client.covers_root else len(client.access.scopes)


def scope_bounds(client: Client) -> dict[str, str]:
    if client.covers_root:
        return {}
    out: dict[str, str] = {}
    for i, tokens in enumerate(client.access.scopes):
        prefix = "".join(tokens)
        out[f"scope_lo_{i}"], out[f"scope_hi_{i}"] = prefix, prefix + PATH_CEILING
    return out


# Statements built once per key (dialect, scope shape…) and run with parameters: building
# one costs more than running it (~0.3 ms of SQLAlchemy a statement).
_BUILT: dict[tuple[Any, ...], Any] = {}


def built_once(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    stmt = _BUILT.get(key)
    if stmt is None:
        stmt = _BUILT[key] = build()
    return stmt


def node_visible(client: Client, bound: bool = False) -> ColumnElement[bool]:
    return and_(Node.status == NodeStatus.ACTIVE, in_scope(client, Node.path, bound))


# The status as the text of ``ix_persons_active_name``'s predicate: a bound parameter
# would hide from the planner (SQLite's always, PostgreSQL's generic plans) that the
# query implies the index's WHERE.
_ACTIVE_PERSON = Person.status == literal_column(f"'{PersonStatus.ACTIVE.value}'")


def person_visible(client: Client, bound: bool = False) -> ColumnElement[bool]:
    """Active, and placed in the client's scope (an active post there). A client whose
    scope holds the root maintains the whole directory (``Client.grant``: the system's
    grant) and sees every active person, placed or not: no per-person look-up of posts,
    so counting a name prefix reads one index."""
    if client.covers_root:
        return _ACTIVE_PERSON
    return and_(_ACTIVE_PERSON, exists(
        select(Post.id).where(Post.person_id == Person.id, Post.active,
                              in_scope(client, Post.node_path, bound))))


def tag_visible(client: Client, bound: bool = False) -> ColumnElement[bool]:
    return exists(select(Node.id).where(Node.id == Tag.owner_node_id,
                                        node_visible(client, bound)))


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text))
    except ValueError:
        return None


def person(session: Session, client: Client, person_id: str) -> Person | None:
    pid = _uuid(person_id)
    if pid is None:
        return None
    return session.scalar(select(Person).where(Person.id == pid, person_visible(client)))


def node(session: Session, client: Client, node_id: str) -> Node | None:
    nid = _uuid(node_id)
    if nid is None:
        return None
    return session.scalar(select(Node).where(Node.id == nid, node_visible(client)))


def tag(session: Session, client: Client, tag_id: str) -> Tag | None:
    tid = _uuid(tag_id)
    if tid is None:
        return None
    return session.scalar(select(Tag).where(Tag.id == tid, tag_visible(client)))


def _lineage(client: Client) -> Any:
    """The node (``node_id``, if the client sees it) and its ancestors: a recursive walk up
    ``parent_id`` (primary-key look-ups, on both databases)."""
    up = select(Node.id, Node.parent_id).where(
        Node.id == bindparam("node_id"), node_visible(client, bound=True)).cte(
        "lineage", recursive=True)
    up = up.union_all(select(Node.id, Node.parent_id).join(up, Node.id == up.c.parent_id))
    return select(Node).join(up, Node.id == up.c.id).order_by(Node.level)


def lineage(session: Session, client: Client, node_id: str) -> tuple[Node, ...] | None:
    """``node`` with its ancestors, root first, the node last, in one statement (what a
    post there needs: the class its people get, the unit a User shows); None when the
    client does not see it. The ancestors are read whatever the client's scope: a default
    class and a unit depend on them, not on who asks."""
    nid = _uuid(node_id)
    if nid is None:
        return None
    dialect = session.get_bind().dialect.name
    stmt = built_once(("lineage", dialect, scope_shape(client)), lambda: _lineage(client))
    found = tuple(session.scalars(stmt, {"node_id": nid, **scope_bounds(client)}))
    return found if found and found[-1].id == nid else None


@dataclass(frozen=True)
class Paging:
    """Index pages (RFC 7644 §3.4.2.4: ``start`` is 1-based) or, with ``keyset``, cursor
    pages (RFC 9865) in id order: the rows after ``after``, one index range scan each."""

    start: int = 1
    count: int = 100
    keyset: bool = False
    after: uuid.UUID | None = None


@dataclass(frozen=True)
class Page:
    """``extras``: the columns a list read beside each row, by the row's id (a User's
    account and SCIM identity: ``IDENTITY``), so rendering does not read them again."""

    total: int
    rows: Sequence[Any]
    next_after: uuid.UUID | None = None
    extras: dict[uuid.UUID, tuple[Any, ...]] = field(default_factory=dict)


# What a User document shows of the person's account and SCIM identity, in the order of
# ``scim_queries.Identity``'s fields
IDENTITY = (Account.username, Account.status, ScimIdentity.user_name,
            ScimIdentity.employee_number, ScimIdentity.manager_id)


def _page(session: Session, base: Any, key: Any, where: ColumnElement[bool],
          order: list[Any], paging: Paging, expr: q.Expr | None) -> Page:
    """One page and totalResults. The count is a second statement only when the page does
    not tell it: a first page that is not full holds every match (the common ``eq``
    lookup costs one statement, not two)."""
    if session.get_bind().dialect.name == "postgresql" and not q.equalities_only(expr):
        # A client's filter values decide the plan (``name sw "张"`` is an index range
        # only once the pattern is known): after psycopg prepares a statement, PostgreSQL
        # would switch to a generic plan after five executions, and a generic plan of a
        # LIKE prefix scans every person (25 s at 2 M, bench/README.md). Equalities plan
        # the same whatever their values: they keep the prepared plan, and this round trip.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))

    def total() -> int:
        return session.scalar(select(func.count()).select_from(
            base.where(where).with_only_columns(key).subquery())) or 0

    extras: dict[uuid.UUID, tuple[Any, ...]] = {}

    def fetch(stmt: Any) -> list[Any]:
        found = session.execute(stmt).all()
        if len(base.selected_columns) == 1:
            return [r[0] for r in found]
        extras.update((r[0].id, tuple(r[1:])) for r in found)
        return [r[0] for r in found]

    if paging.count <= 0:
        return Page(total(), [])
    if paging.keyset:
        stmt = base.where(where).order_by(key).limit(paging.count + 1)
        if paging.after is not None:
            stmt = stmt.where(key > paging.after)
        rows = fetch(stmt)
        more = len(rows) > paging.count
        rows = rows[:paging.count]
        everything = paging.after is None and not more
        return Page(len(rows) if everything else total(), rows,
                    rows[-1].id if more and rows else None, extras)
    rows = fetch(base.where(where).order_by(*order).offset(paging.start - 1)
                 .limit(paging.count))
    everything = paging.start == 1 and len(rows) < paging.count
    return Page(len(rows) if everything else total(), rows, extras=extras)


def _filter(session: Session, expr: q.Expr | None, resource: q.Resource) -> ColumnElement[bool]:
    if expr is None:
        return and_(True)
    return q.compile_filter(expr, resource, session.get_bind().dialect.name)


def _order(resource: q.Resource, sort: str | None, descending: bool, key: Any,
           default: tuple[Any, ...] = ()) -> list[Any]:
    """sortBy's column then the key, or without sortBy ``default`` then the key."""
    if sort is None:
        return [*default, key]
    column = q.sort_column(resource, sort)
    return [column.desc() if descending else column.asc(), key]


def _people_named(key: Any) -> Any:
    """Who has this userName (caseExact false; ``key``: lower-cased, or a parameter): the
    SCIM identity's key, else the account name of a person without one — two unique-index
    probes, run inside the list's own statement, so ``userName eq`` (every provisioning
    client's first request) never scans the people and costs no statement of its own."""
    return select(ScimIdentity.person_id).where(
        ScimIdentity.user_name_key == key).union_all(select(Account.person_id).where(
            Account.username == key, Account.person_id.is_not(None), ~exists(
                select(ScimIdentity.person_id).where(
                    ScimIdentity.person_id == Account.person_id,
                    ScimIdentity.user_name_key.is_not(None)))))


def _lookups(expr: q.Expr | None) -> q.Expr | None:
    """``userName eq`` terms replaced by the index look-ups that find their ids."""
    if isinstance(expr, q.Compare) and expr.field == "user_name" and expr.op == "eq" \
            and isinstance(expr.value, str):
        return q.IdsFrom(_people_named(expr.value.lower()))
    if isinstance(expr, q.All | q.AnyOf):
        return type(expr)(tuple(_lookups(i) for i in expr.items))  # type: ignore[misc]
    if isinstance(expr, q.Not):
        return q.Not(_lookups(expr.item))  # type: ignore[arg-type]
    return expr


def _people(visible: ColumnElement[bool]) -> Any:
    """Users as a list reads them: the person with its account and SCIM identity
    (``IDENTITY``)."""
    return select(Person, *IDENTITY).outerjoin(Account, Account.person_id == Person.id) \
        .outerjoin(ScimIdentity, ScimIdentity.person_id == Person.id).where(visible)


def _lookup_page(session: Session, client: Client, expr: q.Expr | None, sort: str | None,
                 paging: Paging) -> Page | None:
    """The look-ups provisioning clients make before every write (Entra ID and Okta:
    ``userName eq``; HR systems: ``externalId eq``): the SQL ``list_people`` builds for
    them, built once per dialect and scope shape with the value, the scope's bounds and the
    page as parameters (~1 ms of SQLAlchemy a request less); None for any other request."""
    if (sort is not None or paging.keyset or paging.start != 1 or paging.count <= 0
            or not isinstance(expr, q.Compare) or expr.op != "eq"
            or not isinstance(expr.value, str)):
        return None
    if expr.field == "user_name":
        params: dict[str, Any] = {"key": expr.value.lower()}
        lookup: q.Expr = q.IdsFrom(_people_named(bindparam("key")))
    elif expr.field == "external_id" and expr.case_exact:
        params = {"value": expr.value}
        lookup = q.Compare("external_id", "eq", cast(Any, bindparam("value")))
    else:
        return None
    dialect = session.get_bind().dialect.name
    stmt = built_once(("lookup", expr.field, dialect, scope_shape(client)), lambda: (
        _people(person_visible(client, bound=True))
        .where(q.compile_filter(lookup, q.PEOPLE, dialect))
        .order_by(Person.name, Person.id).limit(bindparam("limit"))))
    found = session.execute(stmt, {**params, **scope_bounds(client),
                                   "limit": paging.count + 1}).all()
    if len(found) > paging.count:  # more than a page: the general path counts them
        return None
    return Page(len(found), [r[0] for r in found], extras={r[0].id: tuple(r[1:]) for r in found})


def list_people(session: Session, client: Client, expr: q.Expr | None, sort: str | None,
               descending: bool, paging: Paging) -> Page:
    page = _lookup_page(session, client, expr, sort, paging)
    if page is not None:
        return page
    expr = _lookups(expr)
    return _page(session, _people(person_visible(client)), Person.id,
                 _filter(session, expr, q.PEOPLE),
                 _order(q.PEOPLE, sort, descending, Person.id, (Person.name,)), paging, expr)


def list_nodes(session: Session, client: Client, expr: q.Expr | None, sort: str | None,
               descending: bool, paging: Paging) -> Page:
    base = select(Node).where(node_visible(client))
    return _page(session, base, Node.id, _filter(session, expr, q.NODES),
                 _order(q.NODES, sort, descending, Node.id), paging, expr)


def list_tags(session: Session, client: Client, expr: q.Expr | None, sort: str | None,
               descending: bool, paging: Paging) -> Page:
    base = select(Tag).where(tag_visible(client))
    return _page(session, base, Tag.id, _filter(session, expr, q.TAGS),
                 _order(q.TAGS, sort, descending, Tag.id), paging, expr)


def claim(session: Session, model: type[Person] | type[Node] | type[Tag], row_id: uuid.UUID,
          expected: int | None) -> None:
    """RFC 7644 §3.14: bump the version, only if it is still ``expected`` (If-Match)."""
    stmt = update(model).where(model.id == row_id)
    if expected is not None:
        stmt = stmt.where(model.version == expected)
    done = rowcount(session.execute(stmt.values(version=model.version + 1)
                                    .execution_options(synchronize_session="fetch")))
    if not done:
        raise precondition("scim.version_mismatch", "the resource changed (ETag mismatch)",
                           "version")


def account_of(session: Session, person_id: uuid.UUID) -> Account | None:
    return session.scalar(select(Account).where(Account.person_id == person_id))


def visible_node_ids(session: Session, client: Client, node_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not node_ids:
        return set()
    return set(session.scalars(select(Node.id).where(Node.id.in_(node_ids),
                                                     node_visible(client))))


def visible_person_ids(session: Session, client: Client,
                       person_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    if not person_ids:
        return set()
    return set(session.scalars(select(Person.id).where(Person.id.in_(person_ids),
                                                       person_visible(client))))


def external_id_taken(session: Session, client: Client, model: type[Person] | type[Node] |
                      type[Tag], external_id: str, except_id: uuid.UUID | None) -> bool:
    """externalId is unique per provisioning client: among what this client sees."""
    visible = {Person: person_visible, Node: node_visible, Tag: tag_visible}[model](client)
    stmt = select(model.id).where(model.external_id == external_id, visible)
    if except_id is not None:
        stmt = stmt.where(model.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def user_name_taken(session: Session, user_name: str) -> bool:
    """userName is unique, whatever the case, among SCIM identities and account names
    (one statement: two unique-index probes)."""
    key = user_name.strip().lower()
    return bool(session.scalar(select(or_(
        exists(select(ScimIdentity.person_id).where(ScimIdentity.user_name_key == key)),
        exists(select(Account.id).where(Account.username == key))))))


TOKEN_PREFIX = "scim_"  # tells these tokens from JWTs at a glance (and to secret scanners)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_of(session: Session, client_id: str) -> list[ScimToken]:
    app = apps.get_app(session, client_id)
    return list(session.scalars(select(ScimToken).where(ScimToken.app_id == app.id)
                                .order_by(ScimToken.created_at)))


def token_client_id(session: Session, presented: str) -> str | None:
    """The client id a live token acts for, or None (unknown, revoked or expired)."""
    row = session.execute(select(ScimToken, App.client_id).join(App, App.id == ScimToken.app_id)
                          .where(ScimToken.token_hash == token_digest(presented))).first()
    if row is None:
        return None
    token, client_id = row
    if token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    return str(client_id)


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
# Up to this many values a kind, ``taken`` has one placeholder a value and runs on the
# driver's cursor (a single POST's: one userName, one or two account names…); the shapes
# are bounded: kinds × FEW_TAKEN counts.
FEW_TAKEN = 3


def _taken_branches(client: Client, kinds: frozenset[str], dialect: str | None,
                    few: dict[str, int] | None = None) -> Any:
    """``taken``'s statement: one unique-index probe a kind asked, each row (kind, value);
    the values an IN list, with ``dialect`` ``db.among_param``'s array, or with ``few``
    (values by kind) one placeholder a value (``name_0``, ``name_1``…: a statement
    ``db.Fast`` runs)."""
    def kind(name: str, column: Any, *where: Any) -> Any:
        among = (column.in_([bindparam(f"{name}_{i}") for i in range(few[name])])
                 if few is not None
                 else among_param(dialect, column, name) if dialect
                 else column.in_(bindparam(name, expanding=True)))
        return select(literal_column(f"'{name}'").label("kind"), column.label("value")).where(
            among, *where)

    branches = {
        "user_name": lambda: kind("user_name", ScimIdentity.user_name_key),
        "account": lambda: kind("account", Account.username),
        "external_id": lambda: kind("external_id", Person.external_id,
                                    person_visible(client, bound=True)),
        "mobile": lambda: kind("mobile", Person.mobile_hash),
        "id_number": lambda: kind("id_number", Person.id_number_hash)}
    parts = [build() for name, build in branches.items() if name in kinds]
    return parts[0] if len(parts) == 1 else union_all(*parts)


def taken(session: Session, client: Client, *, user_names: Collection[str] = (),
          account_names: Collection[str] = (), external_ids: Collection[str] = (),
          mobiles: Collection[str] = (), id_numbers: Collection[str] = ()
          ) -> dict[str, set[str]]:
    """What new Users may not have, in one statement for a whole batch: of the lower-cased
    ``user_names``, those a SCIM identity or an account name has (``user_name_taken``); of
    ``account_names``, those an account has; of ``external_ids``, those a person this
    client sees has (``external_id_taken``); of the keyed hashes of ``mobiles`` and
    ``id_numbers``, those a person has. By kind (``user_name``, ``account``,
    ``external_id``, ``mobile``, ``id_number``). Up to ``FEW_TAKEN`` values a kind, one
    placeholder each, on the driver's cursor; more, IN lists; on PostgreSQL from
    ``COPY_FROM`` values of a kind on, arrays (``db.among_param``: psycopg parses an
    IN of 1,000 placeholders in Python, ~3 ms, and dumps an array in C) under
    ``plan_cache_mode = force_custom_plan``: a statement whose text is the same for every
    batch gets prepared, and a generic plan made while single POSTs filled small tables
    scanned them for each of a Bulk's 1,000 values (bench/README.md); planned with the
    values, each is an index probe."""
    names = set(user_names)
    values = {"user_name": names, "account": names | set(account_names),
              "external_id": set(external_ids), "mobile": set(mobiles),
              "id_number": set(id_numbers)}
    out: dict[str, set[str]] = {k: set() for k in values}
    asked = frozenset(k for k, v in values.items() if v)
    if not asked:
        return out
    dialect = session.get_bind().dialect.name
    bounds = scope_bounds(client) if "external_id" in asked else {}
    if all(len(values[k]) <= FEW_TAKEN for k in asked):  # a single POST: on the cursor
        few = {k: len(values[k]) for k in sorted(asked)}
        fast = built_once(("taken_few", dialect, scope_shape(client), *few.items()),
                          lambda: Fast(_taken_branches(client, asked, None, few)))
        rows = fast.all(session, {**bounds, **{f"{k}_{i}": v for k in asked
                                               for i, v in enumerate(sorted(values[k]))}})
    else:
        rows = _taken_many(session, client, values, asked, dialect, bounds)
    for kind, value in rows:
        if value is not None:
            out[kind].add(value)
    out["user_name"] |= out["account"] & names
    return out


def _taken_many(session: Session, client: Client, values: dict[str, set[str]],
                asked: frozenset[str], dialect: str, bounds: dict[str, str]) -> Any:
    arrays = dialect == "postgresql" and max(len(v) for v in values.values()) >= COPY_FROM
    stmt = built_once(("taken", dialect, arrays, scope_shape(client), asked),
                      lambda: _taken_branches(client, asked, dialect if arrays else None))
    params = {**bounds, **{k: list(v) for k, v in values.items() if k in asked}}
    connection = session.connection()
    if arrays:
        connection.execute(_CUSTOM_PLANS)
    return connection.execute(stmt, params)
