"""Builders of test data through the real domain commands (never raw inserts)."""

from __future__ import annotations

import itertools
import uuid

from sqlalchemy.orm import Session

from directory import audit
from directory import people
from directory import tree
from directory.identifiers import id_check_char
from directory.models import Node
from directory.models import Person
from directory.settings import DirectorySettings

TEST_SECRETS = {
    "secret_key": "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "data_keys": {"t1": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY",
                  "t0": "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA"},
    "data_key_id": "t1",
    "index_key": "aW5kZXgta2V5LWluZGV4LWtleS1pbmRleC1rZXktMTI",
}

_codes = itertools.count(1)
_mobiles = itertools.count(13800000000)


def code() -> str:
    return f"T{next(_codes):06d}"


def mobile() -> str:
    return str(next(_mobiles))


def id_number(birth: str = "19850312", area: str = "310118", seq: int = 123) -> str:
    body = f"{area}{birth}{seq:03d}"
    return body + id_check_char(body)


def node(session: Session, ctx: audit.Context, parent: Node | None, name: str = "节点",
         **kw: object) -> Node:
    spec = tree.NewNode(name=name, code=str(kw.pop("code", code())),
                        parent_id=parent.id if parent else None, **kw)  # type: ignore[arg-type]
    return tree.create(session, ctx, spec)


def qingpu(session: Session, ctx: audit.Context) -> dict[str, Node]:
    """A small tree: root, two categories, a department and a town with bodies."""
    root = node(session, ctx, None, "上海市青浦区", short_name="青浦区", type="jurisdiction")
    gov = node(session, ctx, root, "上海市青浦区人民政府", short_name="区政府", type="category")
    st = node(session, ctx, root, "镇街道", short_name="镇街道", type="category")
    edu = node(session, ctx, gov, "上海市青浦区教育局", short_name="区教育局",
               type="department", is_unit=True)
    office = node(session, ctx, edu, "办公室", type="internal")
    town = node(session, ctx, st, "朱家角镇人民政府", short_name="朱家角镇", type="town",
                is_unit=True)
    village = node(session, ctx, town, "张马村村民委员会", short_name="张马村", type="village")
    return {"root": root, "gov": gov, "streets": st, "edu": edu, "office": office,
            "town": town, "village": village}


def person(session: Session, settings: DirectorySettings, ctx: audit.Context,
           at: Node | None, name: str = "张伟", **fields: object) -> Person:
    fields.setdefault("mobile", mobile())
    data = people.PersonData(name=name, **fields)  # type: ignore[arg-type]
    post = people.PostSpec(node_id=at.id, title="科员") if at is not None else None
    return people.add(session, settings, ctx, data, post)


def uid() -> uuid.UUID:
    return uuid.uuid4()
