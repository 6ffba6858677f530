"""Property: a SCIM filter compiled to SQL selects exactly the Users that the filter,
evaluated in Python over the same values, selects (ARCHITECTURE.md convention 7 for the
filter compiler). Filters are generated as trees and written out with as few parentheses
as the precedence rules allow (not > and > or), so the parser's grouping is tested too."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from directory import scim_store as store
from scim import filter as scim_filter
from scim import schemas as s
from tests.scim.conftest import new_user

GOV = s.GOV_USER
STRINGS = {"userName": "user_name", "displayName": "name", "title": "position",
           "emails.value": "email"}
WORDS = ["a", "an", "zhang", "ZHANG.S", "li", "wang.liu", "x%", "_", "科", "q", "n@q.cn", ""]
PEOPLE = [
    ("zhang.san", "zhang san", "科长", "zs@q.cn", "Q1", False, True),
    ("zhang.si", "zhang si", None, None, "Q2", True, True),
    ("li.na", "li na", "科员", "ln@q.cn", "Q3", False, False),
    ("wang.liu", "Wang Liu", "x%_", "w_%@q.cn", "Q4", False, True),
    ("an.an", "an", "an", "AN@Q.CN", "Q3", True, False),
]


@dataclass(frozen=True)
class Cmp:
    attr: str
    op: str
    value: object


@dataclass(frozen=True)
class Log:
    op: str  # "and" / "or"
    left: object
    right: object


@dataclass(frozen=True)
class Neg:
    item: object


def _quote(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(node: object, parent: str = "or") -> str:
    if isinstance(node, Cmp):
        return f"{node.attr} pr" if node.op == "pr" else \
            f"{node.attr} {node.op} {_quote(node.value)}"
    if isinstance(node, Neg):
        return f"not ({render(node.item)})"
    assert isinstance(node, Log)
    text = f"{render(node.left, node.op)} {node.op} {render(node.right, node.op)}"
    # "and" inside "or" needs no parentheses; "or" inside "and" does
    return f"({text})" if node.op == "or" and parent == "and" else text


def _string_cmp(attr: str) -> st.SearchStrategy:
    ops = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr"])
    return st.builds(Cmp, st.just(attr), ops, st.sampled_from(WORDS))


leaves = st.one_of(
    *(_string_cmp(a) for a in STRINGS),
    st.builds(Cmp, st.just(f"{GOV}:visibilityClass"), st.sampled_from(["eq", "ne", "pr"]),
              st.sampled_from(["Q1", "Q2", "Q3", "Q4", "Q9"])),
    st.builds(Cmp, st.sampled_from([f"{GOV}:notSearchable", "active"]),
              st.sampled_from(["eq", "ne", "pr"]), st.booleans()),
)
filters = st.recursive(leaves, lambda inner: st.one_of(
    st.builds(Log, st.sampled_from(["and", "or"]), inner, inner), st.builds(Neg, inner)),
    max_leaves=6)


def evaluate(node: object, row: dict) -> bool:
    if isinstance(node, Neg):
        return not evaluate(node.item, row)
    if isinstance(node, Log):
        left, right = evaluate(node.left, row), evaluate(node.right, row)
        return (left and right) if node.op == "and" else (left or right)
    assert isinstance(node, Cmp)
    key = node.attr.rsplit(":", 1)[-1]
    have = row[key]
    if node.op == "pr":
        return have is not None
    if isinstance(node.value, bool):
        return (have == node.value) == (node.op == "eq")
    if key == "visibilityClass":
        return (have == node.value) == (node.op == "eq")
    if have is None:
        return node.op == "ne"
    a, b = str(have).lower(), str(node.value).lower()
    return {"eq": a == b, "ne": a != b, "co": b in a, "sw": a.startswith(b),
            "ew": a.endswith(b), "gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[node.op]


@pytest.fixture
def rows(edu, ids):
    nobody = {"userName": None, "title": None, "emails.value": None,
              "visibilityClass": "Q3", "notSearchable": False, "active": False}
    out = {ids["clerk"]: nobody | {"displayName": "李娜"},
           ids["spy"]: nobody | {"displayName": "赵敏"}}  # in the hidden 督查室, in scope
    for user_name, name, title, email, cls, hidden, active in PEOPLE:
        body = new_user(user_name, displayName=name, active=active, **{
            GOV: {"visibilityClass": cls, "notSearchable": hidden}})
        if title:
            body["title"] = title
        if email:
            body["emails"] = [{"value": email}]
        created = edu.post("/Users", body)
        assert created.status_code == 201, created.data
        out[created.get_json(force=True)["id"]] = {
            "userName": user_name, "displayName": name, "title": title,
            "emails.value": email, "visibilityClass": cls, "notSearchable": hidden,
            "active": active}
    return out


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(tree=filters)
def test_sql_filter_equals_python_filter(sessions, ids, rows, tree) -> None:
    text = render(tree)
    expr = scim_filter.parse(text, s.USERS)
    with sessions() as session:
        client = store.load_client(session, ids["edu_client"])
        page = store.list_people(session, client, expr, None, False,
                                 store.Paging(count=1000))
        got = {str(p.id) for p in page.rows}
    assert got == {pid for pid, row in rows.items() if evaluate(tree, row)}, text
