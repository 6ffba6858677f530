"""The directory side of visibility (#3): load a viewer, the rules and the hidden nodes
into ``policies.visibility`` values, and compile "who is listed under node X for viewer V"
into one SQL query — filtering happens in the database, never by loading rows into Python.

Policy paths are tuples of the 12-character path tokens of ``Node.path``: the same ids the
tree already stores, so no extra lookups are needed to build them.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Literal
from typing import TypeVar
from typing import cast

from sqlalchemy import ColumnElement
from sqlalchemy import Uuid
from sqlalchemy import and_
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import null
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true
from sqlalchemy import union_all
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from directory import apps
from directory import queries
from directory import versions
from directory.models import PATH_TOKEN_WIDTH
from directory.models import Account
from directory.models import AccountType
from directory.models import AdminGrant
from directory.models import AdminGrantScope
from directory.models import App
from directory.models import CacheVersion
from directory.models import ContactLink
from directory.models import HiddenAllow
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import PostKind
from directory.models import TagMember
from directory.models import VisibilityRule
from policies import visibility as pv
from policies.delegation import SYSTEM_ADMIN
from policies.delegation import Grant
from policies.delegation import Permission

CLASSES = ("Q1", "Q2", "Q3", "Q4")


def tokens(path: str) -> pv.Path:
    return tuple(path[i:i + PATH_TOKEN_WIDTH] for i in range(0, len(path), PATH_TOKEN_WIDTH))


def load_rules(session: Session) -> pv.Rules:
    matrix: dict[tuple[str, str], pv.Mode] = {}
    overrides: dict[str, dict[tuple[str, str], pv.Mode]] = {}
    rows = session.execute(select(VisibilityRule, Node.path).outerjoin(
        Node, Node.id == VisibilityRule.scope_node_id)).all()
    for rule, path in rows:
        cell = (rule.viewer_class.value, rule.target_class.value)
        if path is None:
            matrix[cell] = pv.Mode(rule.mode)
        else:
            overrides.setdefault(tokens(path)[-1], {})[cell] = pv.Mode(rule.mode)
    return pv.Rules(matrix=matrix, overrides=overrides)


def load_hidden(session: Session) -> pv.HiddenNodes:
    """Every active hidden node with its allow-list, keyed by its own token."""
    hidden = {n.id: n.path for n in session.scalars(
        select(Node).where(Node.hidden, Node.status == NodeStatus.ACTIVE))}
    allows: dict[uuid.UUID, dict[str, set[str]]] = {k: {"p": set(), "n": set(), "t": set()}
                                                    for k in hidden}
    allowed = aliased(Node)
    for allow, node_path in session.execute(select(HiddenAllow, allowed.path).outerjoin(
            allowed, allowed.id == HiddenAllow.node_id).where(
            HiddenAllow.hidden_node_id.in_(list(hidden)))):
        bucket = allows[allow.hidden_node_id]
        if allow.person_id:
            bucket["p"].add(str(allow.person_id))
        elif node_path:
            bucket["n"].add(tokens(node_path)[-1])
        elif allow.tag_id:
            bucket["t"].add(str(allow.tag_id))
    return pv.HiddenNodes({tokens(path)[-1]: pv.HiddenNode(
        tokens(path), frozenset(allows[nid]["p"]), frozenset(allows[nid]["n"]),
        frozenset(allows[nid]["t"])) for nid, path in hidden.items()})


_HIDDEN_CACHE: dict[str, tuple[str, pv.HiddenNodes]] = {}
_RULES_CACHE: dict[str, tuple[str, pv.Rules]] = {}
T = TypeVar("T")


def _kept(cache: dict[str, tuple[str, T]], session: Session, token: str | None,
          load: Callable[[Session], T]) -> T:
    """A per-process copy of ``load(session)`` kept while the database's ``token`` for it
    is unchanged (no token row: load afresh every time). Callers read the token first, so
    a copy is never older than the token it is kept under."""
    if token is None:
        return load(session)
    key = str(session.get_bind().engine.url)
    cached = cache.get(key)
    if cached is not None and cached[0] == token:
        return cached[1]
    value = load(session)
    cache[key] = (token, value)
    return value


def load_policy_cached(session: Session) -> tuple[pv.Rules, pv.HiddenNodes]:
    """The rules and the hidden nodes, each kept per process while its database token is
    unchanged: one read of both tokens per request."""
    return _policy(session, versions.tokens(session, versions.RULES, versions.HIDDEN))


def _policy(session: Session, current: Mapping[str, str]) -> tuple[pv.Rules, pv.HiddenNodes]:
    return (_kept(_RULES_CACHE, session, current.get(versions.RULES), load_rules),
            _kept(_HIDDEN_CACHE, session, current.get(versions.HIDDEN), load_hidden))


NOBODY = str(uuid.UUID(int=0))


def _scope_rows(system_admin: bool) -> Any:
    """("scope", NULL, path) rows: the subtrees account ``:account_id`` administers (the
    whole tree for system administrators)."""
    if system_admin:
        return select(literal("scope"), null(), Node.path).where(Node.parent_id.is_(None))
    return (select(literal("scope"), null(), Node.path)
            .join(AdminGrantScope, AdminGrantScope.node_id == Node.id)
            .join(AdminGrant, AdminGrant.id == AdminGrantScope.grant_id)
            .where(AdminGrant.account_id == bindparam("account_id", type_=Uuid)))


@functools.cache
def _posts_statement() -> Any:
    return (select(Person.visibility_class, Post.node_path, Post.kind)
            .outerjoin(Post, and_(Post.person_id == Person.id, Post.active))
            .where(Person.id == bindparam("person_id", type_=Uuid)).order_by(Post.kind))


@functools.cache
def _extras_statement(person: bool, above: bool, scopes: bool | None, policy: bool) -> Any:
    """One statement of (kind, ref, text) rows, built once per shape: V's tags (directly,
    or through a tagged node at or above one of V's posts: ``:above``), accepted contacts,
    admin scopes (``scopes``: None for none, True for a system administrator's) and the
    cache tokens of the rules and the hidden nodes."""
    parts: list[Any] = []
    person_id = bindparam("person_id", type_=Uuid)
    if person:
        parts.append(select(literal("tag"), TagMember.tag_id, null())
                     .where(TagMember.person_id == person_id))
        if above:
            parts.append(select(literal("tag"), TagMember.tag_id, null())
                         .join(Node, Node.id == TagMember.node_id)
                         .where(Node.path.in_(bindparam("above", expanding=True))))
        parts.append(select(literal("contact"), ContactLink.target_id, null()).where(
            ContactLink.requester_id == person_id, ContactLink.status == "accepted"))
    if scopes is not None:
        parts.append(_scope_rows(scopes))
    if policy:
        parts.append(select(CacheVersion.name, null(), CacheVersion.token).where(
            CacheVersion.name.in_((versions.RULES, versions.HIDDEN))))
    return parts[0] if len(parts) == 1 else union_all(*parts) if parts else None


@dataclass(frozen=True)
class Context:
    """What a directory request needs after its token: the viewer, the rules and the
    hidden nodes."""

    viewer: pv.Viewer
    rules: pv.Rules
    hidden: pv.HiddenNodes


def load_account_context(session: Session, account: Account) -> Context:
    """The viewer behind an account (one without a person, a system administrator made by
    ``idp admin create``, sees through its admin scope only) and ``load_policy_cached``,
    in two round trips (one for an account without a person)."""
    viewer, current = _load(session, account.person_id, account, policy=True)
    return Context(viewer, *_policy(session, current))


def load_context(session: Session, person_id: uuid.UUID) -> Context:
    """``load_viewer`` and ``load_policy_cached`` in two round trips."""
    viewer, current = _load(session, person_id, None, policy=True)
    return Context(viewer, *_policy(session, current))


def load_app_viewer(session: Session, app: App) -> pv.Viewer:
    """The viewer behind an app's own token (client credentials): its directory scope, the
    hidden nodes granted to it by name and, for the higher-level directory, what units
    share upward (nothing unless a unit says so: 严格控制开放共享的范围)."""
    scopes, grants = apps.directory_access(session, app)
    sharing: tuple[tuple[pv.Path, bool], ...] = ()
    if app.directory_upward:
        sharing = tuple((tokens(n.path), bool(n.share_upward))
                        for n in apps.shared_nodes(session))
    return pv.app_viewer(pv.AppAccess(
        app_id=str(app.id), scopes=tuple(tokens(n.path) for n in scopes),
        hidden_grants=frozenset(tokens(n.path)[-1] for n in grants),
        upward=app.directory_upward, sharing=sharing, share_default=False))


def load_viewer(session: Session, person_id: uuid.UUID,
                account_id: uuid.UUID | None = None) -> pv.Viewer:
    """V's class, active posts, admin scopes, tags and accepted contacts: two round trips
    (person with posts; tags, contacts and admin scopes)."""
    account = session.get_one(Account, account_id) if account_id is not None else None
    return _load(session, person_id, account, policy=False)[0]


def _load(session: Session, person_id: uuid.UUID | None, account: Account | None,
          policy: bool) -> tuple[pv.Viewer, dict[str, str]]:
    """The viewer (and, with ``policy``, the cache tokens of the rules and the hidden
    nodes, read in the same statement as the viewer's tags, contacts and scopes)."""
    posts: list[tuple[str, PostKind]] = []
    cls = "Q3"
    if person_id is not None:
        rows = session.execute(_posts_statement(), {"person_id": person_id}).all()
        if not rows:
            raise NoResultFound(f"no person {person_id}")
        cls = rows[0][0].value
        posts = [(path, kind) for _, path, kind in rows if path is not None]
    above = sorted({path[:i] for path, _ in posts
                    for i in range(PATH_TOKEN_WIDTH, len(path) + 1, PATH_TOKEN_WIDTH)})
    statement = _extras_statement(
        person_id is not None, bool(above),
        None if account is None else account.type == AccountType.SYSTEM_ADMIN, policy)
    params: dict[str, Any] = {"person_id": person_id, "above": above,
                              "account_id": account.id if account is not None else None}
    extras = list(session.execute(statement, params)) if statement is not None else []
    primary = next((path for path, kind in posts if kind == PostKind.PRIMARY), None)
    viewer = pv.Viewer(
        person_id=str(person_id) if person_id is not None else NOBODY, cls=cls,
        posts=tuple(tokens(path) for path, _ in posts),
        primary=tokens(primary) if primary else None,
        admin_scopes=tuple(tokens(text) for kind, _, text in extras if kind == "scope"),
        tags=frozenset(str(ref) for kind, ref, _ in extras if kind == "tag"),
        accepted_by=frozenset(str(ref) for kind, ref, _ in extras if kind == "contact"))
    current = {kind: text for kind, _, text in extras
               if kind in (versions.RULES, versions.HIDDEN)}
    return viewer, current


def _path_of(tok: pv.Path) -> str:
    return "".join(tok)


def _in_any(column: object, scopes: tuple[pv.Path, ...]) -> ColumnElement[bool]:
    if not scopes:
        return false()
    return or_(*(queries.path_in_subtree(column, _path_of(s)) for s in scopes))


def _shared_clause(access: pv.AppAccess, column: object) -> ColumnElement[bool]:
    """``pv.shared_upward`` over a path column: under an explicit "shared" node with no
    deeper explicit setting in between (or under none at all, when that is the default)."""
    terms = []
    for path, shared in access.sharing:
        if shared:
            deeper = [p for p, _ in access.sharing if len(p) > len(path) and pv.within(p, path)]
            terms.append(and_(queries.path_in_subtree(column, _path_of(path)),
                              *(~queries.path_in_subtree(column, _path_of(d)) for d in deeper)))
    if access.share_default:
        terms.append(and_(true(), *(~queries.path_in_subtree(column, _path_of(p))
                                    for p, _ in access.sharing)))
    return or_(*terms) if terms else false()


# A clause builder takes ``value(name, expanding=False)``: the named value itself (a literal
# clause) or ``bindparam(name)`` (a statement that can be cached per shape and reused).
Value = Callable[..., Any]


def bind(name: str, expanding: bool = False) -> Any:
    return bindparam(name, expanding=expanding)


def literal_values(params: Mapping[str, Any]) -> Value:
    return lambda name, expanding=False: params[name]


@dataclass(frozen=True)
class HiddenShape:
    """The structure of a hidden-node filter (``hidden_plan``): which form, whether it has
    opened outermost nodes, and the path lengths of its NOT IN lists."""

    kind: Literal["all", "null", "open", "closed"]
    tops: bool = False
    depths: tuple[int, ...] = ()


def _by_depth(paths: list[str], prefix: str) -> tuple[tuple[int, ...], dict[str, list[str]]]:
    lists: dict[int, list[str]] = {}
    for p in paths:
        lists.setdefault(len(p), []).append(p)
    return tuple(sorted(lists)), {f"{prefix}_{n}": sorted(v) for n, v in lists.items()}


def hidden_plan(hidden: Mapping[str, pv.HiddenNode], opened: frozenset[str],
                under: pv.Path = (), *, form: Literal["auto", "closed", "open"] = "auto",
                prefix: str = "hidden") -> tuple[HiddenShape, dict[str, Any]]:
    """No hidden node on a row's path is closed to the viewer, ``opened`` being the hidden
    nodes an exception opens (``pv.visible_hidden``); only hidden nodes on or under
    ``under`` count (the caller reads inside it). Returns the filter's shape and values.

    Two equivalent forms; the shorter is compiled:
    * *closed list*: the path lies in none of the closed subtrees (one NOT IN per depth);
      short for an admin whose scope opens most hidden nodes;
    * *open list*: ``hidden_top`` is NULL, or it is an opened outermost hidden node and
      the path lies in none of the closed hidden nodes nested under an opened one. For the
      common viewer, who is given no exception, that is ``hidden_top IS NULL``.

    ``form`` forces one (the property test checks both against the policy).
    """
    keys = pv.hidden_on_or_under(hidden, under)
    closed = [k for k in keys if k not in opened]
    if not closed:
        return HiddenShape("all"), {}
    outer = pv.outermost_map(hidden)
    opened_tops = [_path_of(hidden[k].path) for k in keys if k in opened and outer[k] == k]
    closed_inside = [_path_of(hidden[k].path) for k in closed
                     if outer[k] != k and outer[k] in opened]
    if form == "closed" or (form == "auto"
                            and len(opened_tops) + len(closed_inside) >= len(closed)):
        depths, params = _by_depth([_path_of(hidden[k].path) for k in closed], prefix)
        return HiddenShape("closed", False, depths), params
    if not opened_tops:
        return HiddenShape("null"), {}
    depths, params = _by_depth(closed_inside, prefix)
    return HiddenShape("open", True, depths), params | {f"{prefix}_tops": sorted(opened_tops)}


def hidden_build(shape: HiddenShape, path: Any, top: Any, value: Value,
                 prefix: str = "hidden") -> ColumnElement[bool]:
    """The clause of ``hidden_plan`` over a path column and its ``hidden_top`` column."""
    if shape.kind == "all":
        return true()
    outside = and_(true(), *(func.substr(path, 1, n).not_in(
        value(f"{prefix}_{n}", expanding=True)) for n in shape.depths))
    if shape.kind == "closed":
        return outside
    if shape.kind == "null" or not shape.tops:
        return cast(ColumnElement[bool], top.is_(None))
    return or_(top.is_(None), and_(top.in_(value(f"{prefix}_tops", expanding=True)), outside))


def hidden_filter(path: Any, top: Any, hidden: Mapping[str, pv.HiddenNode],
                  opened: frozenset[str], under: pv.Path = (), *,
                  form: Literal["auto", "closed", "open"] = "auto") -> ColumnElement[bool]:
    """``hidden_plan`` compiled with its values in place (see there)."""
    shape, params = hidden_plan(hidden, opened, under, form=form)
    return hidden_build(shape, path, top, literal_values(params))


def app_path_clause(access: pv.AppAccess, hidden: Mapping[str, pv.HiddenNode],
                    column: Any, top: Any) -> ColumnElement[bool]:
    """``pv.node_visible`` for an app over a path column and its ``hidden_top``: inside its
    scope, in no hidden node it was not granted by name and, for the higher-level
    directory, shared upward."""
    clause = and_(_in_any(column, access.scopes),
                  hidden_filter(column, top, hidden, access.hidden_grants & hidden.keys()))
    return and_(clause, _shared_clause(access, column)) if access.upward else clause


def listed_plan(viewer: pv.Viewer, rules: pv.Rules, hidden: Mapping[str, pv.HiddenNode],
                under: pv.Path) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Shape and values of ``listed_clause`` for a person viewer (not an app)."""
    hshape, params = hidden_plan(hidden, pv.visible_hidden(viewer, hidden), under)
    listed = [c for c in CLASSES if pv.rule_mode(
        viewer, pv.Target(person_id="", cls=c), rules)[0] is pv.Mode.DIRECT]
    accepted = sorted(uuid.UUID(a) for a in viewer.accepted_by)
    for i, scope in enumerate(viewer.admin_scopes):
        params[f"scope_{i}_lo"] = _path_of(scope)
        params[f"scope_{i}_hi"] = _path_of(scope) + "~"
    params |= {"viewer_id": uuid.UUID(viewer.person_id), "accepted": accepted,
               "listed_classes": listed}
    params |= {f"class_{i}": c for i, c in enumerate(listed)}
    return (hshape, len(viewer.admin_scopes), bool(accepted), len(listed)), params


def scopes_build(column: Any, count: int, value: Value) -> ColumnElement[bool]:
    """``column`` lies in one of ``count`` admin scopes (values scope_i_lo / scope_i_hi)."""
    return or_(false(), *(and_(column >= value(f"scope_{i}_lo"), column < value(f"scope_{i}_hi"))
                          for i in range(count)))


_OTHER_POST = Post.__table__.alias("other_post")


def listed_build(shape: tuple[Any, ...], value: Value) -> ColumnElement[bool]:
    hshape, scopes, accepted, listed = shape
    post_visible = hidden_build(hshape, Post.node_path, Post.hidden_top, value)
    other = _OTHER_POST.c
    admin = exists().where(other.person_id == Person.id, other.active,
                           scopes_build(other.node_path, scopes, value)) if scopes else false()
    is_accepted = Person.id.in_(value("accepted", expanding=True)) if accepted else false()
    by_rules = and_(~Person.not_searchable, Person.visibility_class.in_(
        value("listed_classes", expanding=True))) if listed else false()
    return and_(post_visible, or_(Person.id == value("viewer_id"), admin, is_accepted,
                                  by_rules))


def listed_clause(viewer: pv.Viewer, rules: pv.Rules, hidden: Mapping[str, pv.HiddenNode],
                  under: pv.Path) -> ColumnElement[bool]:
    """WHERE clause over (Post, Person) equal to: the post's node is visible to V and
    ``policies.visibility.decide(V, T).listed``. Only hidden nodes that can intersect
    ``under`` are compiled in."""
    if viewer.app is not None:
        return and_(app_path_clause(viewer.app, hidden, Post.node_path, Post.hidden_top),
                    ~Person.not_searchable)
    shape, params = listed_plan(viewer, rules, hidden, under)
    return listed_build(shape, literal_values(params))


def _per_class(shape: tuple[Any, ...]) -> bool:
    """Whether V's listing reads each listed class's posts from the class index: when the
    matrix lists only some classes to V and nothing else (admin scope, contacts) can list
    more. A Q4 viewer who may list only Q4 people, at a category with few of them, would
    otherwise filter every post under it (seconds at the top of 2,000,000 people)."""
    _, scopes, accepted, listed = shape
    return not scopes and not accepted and listed < len(CLASSES)


def _per_class_statement(shape: tuple[Any, ...], limit: int, paged: bool
                         ) -> queries.MemberSelect:
    """One branch per listed class (``ix_posts_active_class_subtree``: class, then tree
    order, read in index order and stopped after a page) and one for V's own posts, merged
    in tree order: the same rows as ``listed_build`` for such a viewer."""
    hshape, _, _, listed = shape
    visible = hidden_build(hshape, Post.node_path, Post.hidden_top, bind)
    wheres = [and_(Post.person_class == bind(f"class_{i}"),
                   Person.visibility_class == bind(f"class_{i}"), ~Person.not_searchable,
                   Post.person_id != bind("viewer_id")) for i in range(listed)]
    wheres.append(Post.person_id == bind("viewer_id"))
    parts = [queries.members_statement(
        bind("node_lo"), bind("node_hi"), limit=limit,
        after=queries.cursor_params() if paged else None,
        where=and_(visible, where)).subquery() for where in wheres]
    rows = union_all(*(select(p) for p in parts)).subquery("members")
    return (select(rows.c.person_id, rows.c.name, rows.c.node_id, rows.c.node_path,
                   rows.c.kind, rows.c.title, rows.c.sort_order)
            .order_by(rows.c.node_path, rows.c.sort_order, rows.c.person_id).limit(limit))


@functools.lru_cache(maxsize=512)
def _listing_statement(shape: tuple[Any, ...], limit: int, paged: bool
                       ) -> queries.MemberSelect:
    """The member listing of one shape, with bind parameters: built and compiled once per
    process and shape, where building it per request cost milliseconds."""
    if _per_class(shape):
        return _per_class_statement(shape, limit, paged)
    return queries.members_statement(bind("node_lo"), bind("node_hi"), limit=limit,
                                     after=queries.cursor_params() if paged else None,
                                     where=listed_build(shape, bind))


def listed_members(session: Session, viewer: pv.Viewer, rules: pv.Rules,
                   hidden: Mapping[str, pv.HiddenNode], node: Node | queries.NodeRef, *,
                   limit: int = 50, after: queries.Cursor | None = None
                   ) -> list[queries.MemberRow]:
    """Members under ``node`` that V may see listed, in display order; [] when the node
    itself is hidden from V (the API answers 404 exactly as for an unknown node)."""
    under = tokens(node.path)
    admin_here = pv.covers(viewer.admin_scopes, under)
    if not admin_here and not pv.node_visible(viewer, under, hidden):
        return []
    if viewer.app is not None:
        return queries.subtree_members(session, node, limit=limit, after=after,
                                       where=listed_clause(viewer, rules, hidden, under))
    shape, params = listed_plan(viewer, rules, hidden, under)
    params |= {"node_lo": node.path, "node_hi": node.path + "~"}
    if after is not None:
        params |= queries.cursor_values(after)
    return queries.member_rows(session.execute(
        _listing_statement(shape, limit, after is not None), params))


def visible_children(session: Session, viewer: pv.Viewer, hidden: Mapping[str, pv.HiddenNode],
                     node: Node) -> list[Node]:
    """Active children of ``node`` that are not inside a node hidden from V, in 排序 order."""
    stmt = select(Node).where(Node.parent_id == node.id, Node.status == NodeStatus.ACTIVE)
    if viewer.app is not None:
        stmt = stmt.where(app_path_clause(viewer.app, hidden, Node.path, Node.hidden_top))
    else:
        stmt = stmt.where(hidden_filter(Node.path, Node.hidden_top, hidden,
                                        pv.visible_hidden(viewer, hidden), tokens(node.path)))
    return list(session.scalars(stmt.order_by(Node.sort_order, Node.name)))


def target_posts(session: Session, person: Person) -> list[Post]:
    """A person's active posts; for a deactivated person the posts that ended with the
    deactivation, which is where admins with scope still find them."""
    if person.status == PersonStatus.ACTIVE:
        return list(queries.active_posts(session, person.id))
    return list(session.scalars(select(Post).where(
        Post.person_id == person.id, Post.ended_at == person.deactivated_at)
        .order_by(Post.kind, Post.sort_order)))


def load_target(session: Session, person_id: uuid.UUID) -> tuple[Person, pv.Target] | None:
    person = session.get(Person, person_id)
    if person is None:
        return None
    posts = target_posts(session, person)
    return person, pv.Target(
        person_id=str(person.id), cls=person.visibility_class.value,
        posts=tuple(tokens(p.node_path) for p in posts), not_searchable=person.not_searchable,
        active=person.status == PersonStatus.ACTIVE)


def load_grant(session: Session, account: Account) -> Grant:
    """The admin's effective grant: every grant row of theirs merged (system admins: all)."""
    if account.type == AccountType.SYSTEM_ADMIN:
        return SYSTEM_ADMIN
    scopes: list[pv.Path] = []
    permissions: set[Permission] = set()
    for grant in session.scalars(select(AdminGrant).where(AdminGrant.account_id == account.id)):
        permissions |= {Permission(p) for p in grant.permissions.split()}
        scopes += [tokens(path) for path in session.scalars(
            select(Node.path).join(AdminGrantScope, AdminGrantScope.node_id == Node.id)
            .where(AdminGrantScope.grant_id == grant.id))]
    return Grant(scopes=tuple(scopes), permissions=frozenset(permissions))
