"""Query objects of the SCIM adapter (#5) and their compilation to SQL.

``scim.filter`` turns a parsed SCIM filter into these objects through its attribute
allowlist; this module compiles them through a second allowlist (``FIELDS``: a field key
to a column) so nothing the client wrote ever reaches SQL as text. Every value is a bound
parameter; ``co``/``sw``/``ew`` escape LIKE metacharacters (``%``, ``_`` and the escape
character) and, for case-exact attributes, also compare exactly (SQLite's LIKE folds ASCII
case). A comparison is never NULL (``col IS NOT NULL AND …``), so ``not`` keeps its
two-valued meaning.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import func
from sqlalchemy import literal_column
from sqlalchemy import not_
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import true

from directory.models import Account
from directory.models import AccountStatus
from directory.models import Node
from directory.models import Person
from directory.models import Post
from directory.models import ScimIdentity
from directory.models import Tag
from directory.models import TagMember

OPERATORS = ("eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le")
Value = str | int | bool | dt.datetime | dt.date | uuid.UUID | None


@dataclass(frozen=True)
class Compare:
    field: str
    op: str
    value: Value
    case_exact: bool = True


@dataclass(frozen=True)
class Present:
    field: str


@dataclass(frozen=True)
class All:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Not:
    item: Expr


@dataclass(frozen=True)
class Within:
    """A complex attribute filter (``posts[kind eq "primary" and title co "科"]``): every
    condition of ``item`` holds for the same value of the multi-valued ``field``."""

    field: str
    item: Expr


@dataclass(frozen=True)
class IdsFrom:
    """Resources whose id ``query`` selects: an indexed look-up run inside the list's own
    statement (``userName eq``: the SCIM identity's unique key, else the account name)."""

    query: Any


Expr = Compare | Present | All | AnyOf | Not | Within | IdsFrom


def equalities_only(expr: Expr | None) -> bool:
    """Whether every condition is an equality (or an indexed id look-up), joined by ``and``
    or ``or``: a filter whose plan does not depend on its values (one index probe per
    value), unlike a prefix, a range or a negation, whose best plan does."""
    if isinstance(expr, IdsFrom):
        return True
    if isinstance(expr, Compare):
        return expr.op == "eq"
    if isinstance(expr, All | AnyOf):
        return all(equalities_only(i) for i in expr.items)
    return False


class UnknownField(Exception):
    """A field key outside the allowlist: the adapter answers invalidFilter."""


def _active_column() -> Any:
    """Never NULL: a person without an account is ``active: false``, as rendered, so that
    ``not (active eq true)`` finds them too."""
    return and_(Account.status.is_not(None), Account.status == AccountStatus.ACTIVE)


# Field key -> column (or boolean expression) over the resource's base query.
PERSON_FIELDS: dict[str, Callable[[], Any]] = {
    "id": lambda: Person.id,
    "external_id": lambda: Person.external_id,
    "user_name": lambda: func.coalesce(ScimIdentity.user_name_key, Account.username),
    "name": lambda: Person.name,
    "email": lambda: Person.email,
    "email_type": lambda: literal_column("'work'", String),
    "position": lambda: Person.position,
    "office_phone": lambda: Person.office_phone,
    "gender": lambda: Person.gender,
    "staffing_type": lambda: Person.staffing_type,
    "rank": lambda: Person.rank,
    "position_level": lambda: Person.position_level,
    "political_status": lambda: Person.political_status,
    "leadership_division": lambda: Person.leadership_division,
    "role": lambda: Person.role,
    "visibility_class": lambda: Person.visibility_class,
    "not_searchable": lambda: Person.not_searchable,
    "active": _active_column,
    "created": lambda: Person.created_at,
    "last_modified": lambda: Person.updated_at,
    "employee_number": lambda: ScimIdentity.employee_number,
    "manager": lambda: ScimIdentity.manager_id,
}
POST_FIELDS: dict[str, Callable[[], Any]] = {
    "post.node": lambda: Post.node_id,
    "post.title": lambda: Post.title,
    "post.kind": lambda: Post.kind,
    "post.start": lambda: Post.start_date,
    "post.end": lambda: Post.end_date,
    "post.order": lambda: Post.sort_order,
}
NODE_FIELDS: dict[str, Callable[[], Any]] = {
    "id": lambda: Node.id,
    "external_id": lambda: Node.external_id,
    "name": lambda: Node.name,
    "short_name": lambda: Node.short_name,
    "code": lambda: Node.code,
    "parent": lambda: Node.parent_id,
    "order": lambda: Node.sort_order,
    "level": lambda: Node.level,
    "is_unit": lambda: Node.is_unit,
    "hidden": lambda: Node.hidden,
    "type": lambda: Node.type,
    "status": lambda: Node.status,
    "created": lambda: Node.created_at,
    "last_modified": lambda: Node.updated_at,
}
TAG_FIELDS: dict[str, Callable[[], Any]] = {
    "id": lambda: Tag.id,
    "external_id": lambda: Tag.external_id,
    "name": lambda: Tag.name,
    "owner": lambda: Tag.owner_node_id,
    "created": lambda: Tag.created_at,
}
MEMBER_FIELDS: dict[str, Callable[[], Any]] = {
    "member.value": lambda: func.coalesce(TagMember.person_id, TagMember.node_id),
    "member.type": lambda: case((TagMember.person_id.is_(None), literal_column("'OrgUnit'")),
                                else_=literal_column("'User'")),
}
GROUP_OF_PERSON: dict[str, Callable[[], Any]] = {"group.value": lambda: TagMember.tag_id}


@dataclass(frozen=True)
class Resource:
    fields: dict[str, Callable[[], Any]]
    # multi-valued field -> (its fields, EXISTS correlation builder)
    within: dict[str, tuple[dict[str, Callable[[], Any]], Callable[[ColumnElement[bool]],
                                                                   ColumnElement[bool]]]]


def _posts_exist(cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(Post.id).where(Post.person_id == Person.id, Post.active, cond))


def _members_exist(cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(TagMember.id).where(TagMember.tag_id == Tag.id, cond))


def _groups_exist(cond: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(select(TagMember.id).where(TagMember.person_id == Person.id, cond))


PEOPLE = Resource(PERSON_FIELDS, {"posts": (POST_FIELDS, _posts_exist),
                                  "groups": (GROUP_OF_PERSON, _groups_exist)})
NODES = Resource(NODE_FIELDS, {})
TAGS = Resource(TAG_FIELDS, {"members": (MEMBER_FIELDS, _members_exist)})


def _escape(text: str) -> str:
    return text.replace("/", "//").replace("%", "/%").replace("_", "/_")


def _uncased(text: str) -> bool:
    """No character of ``text`` has case (张三, 0215): then ``lower(col) = text`` and
    ``col = text`` select the same rows (likewise LIKE), and only the second can use an
    index — ``name sw "张"`` is an index range scan, not a scan of every person."""
    return text.lower() == text.upper()


def _like(column: Any, value: str, op: str, case_exact: bool,
          dialect: str) -> ColumnElement[bool]:
    folded = not case_exact and not _uncased(value)
    target = func.lower(column) if folded else column
    text = value.lower() if folded else value
    pattern = {"co": f"%{_escape(text)}%", "sw": f"{_escape(text)}%",
               "ew": f"%{_escape(text)}"}[op]
    clause = target.like(pattern, escape="/")
    if case_exact and dialect == "sqlite":  # SQLite's LIKE ignores ASCII case
        n = len(text)
        exact = {"co": func.instr(column, text) > 0,
                 "sw": func.substr(column, 1, n) == text,
                 "ew": func.substr(column, -n, n) == text}[op]
        clause = and_(clause, exact)
    return clause


def _compare(column: Any, expr: Compare, dialect: str) -> ColumnElement[bool]:
    op, value = expr.op, expr.value
    if isinstance(value, bool) and op == "eq":
        return column if value else not_(column)
    if isinstance(value, bool) and op == "ne":
        return not_(column) if value else column
    if value is None:
        return column.is_(None) if op == "eq" else column.is_not(None)
    if op in ("co", "sw", "ew"):
        if not isinstance(value, str):
            raise UnknownField(op)
        return and_(column.is_not(None), _like(column, value, op, expr.case_exact, dialect))
    left, right = column, value
    if isinstance(value, str) and not expr.case_exact and not (
            op in ("eq", "ne") and _uncased(value)):
        left, right = func.lower(column), value.lower()
    if op == "ne":
        return or_(column.is_(None), left != right)
    if isinstance(value, str) and op in ("gt", "ge", "lt", "le") and dialect == "postgresql":
        left = left.collate("C")  # code point order on both databases, whatever the locale
    comparisons = {"eq": left == right, "gt": left > right, "ge": left >= right,
                   "lt": left < right, "le": left <= right}
    if op not in comparisons:
        raise UnknownField(op)
    return and_(column.is_not(None), comparisons[op])


def compile_filter(expr: Expr, resource: Resource, dialect: str,
                   fields: dict[str, Callable[[], Any]] | None = None) -> ColumnElement[bool]:
    """SQL for ``expr`` over ``resource``; an unknown key raises ``UnknownField``."""
    table = resource.fields if fields is None else fields
    if isinstance(expr, All):
        return and_(true(), *(compile_filter(i, resource, dialect, fields) for i in expr.items))
    if isinstance(expr, AnyOf):
        return or_(false(), *(compile_filter(i, resource, dialect, fields) for i in expr.items))
    if isinstance(expr, Not):
        return not_(compile_filter(expr.item, resource, dialect, fields))
    if isinstance(expr, IdsFrom):
        return resource.fields["id"]().in_(expr.query)
    if isinstance(expr, Within):
        if fields is not None or expr.field not in resource.within:
            raise UnknownField(expr.field)
        sub, correlate = resource.within[expr.field]
        return correlate(compile_filter(expr.item, resource, dialect, sub))
    if expr.field not in table:
        raise UnknownField(expr.field)
    column = table[expr.field]()
    if isinstance(expr, Present):
        return column.is_not(None)
    return _compare(column, expr, dialect)


def sort_column(resource: Resource, field: str) -> Any:
    if field not in resource.fields:
        raise UnknownField(field)
    return resource.fields[field]()
