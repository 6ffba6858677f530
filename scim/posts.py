"""Posts of a User (our extension's ``posts``): the primary post, concurrent posts (兼任)
and secondments (借调), written through ``directory.people``. Only the posts in the
client's scope are shown and changed; the others stay as they are."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from directory import people
from directory import scim_queries as related
from directory import scim_store as store
from directory.models import Person
from directory.models import PostKind
from scim import errors
from scim import schemas as s
from scim.call import Call
from scim.call import as_text


@dataclass(frozen=True)
class PostWish:
    kind: str
    node_id: uuid.UUID
    title: str | None
    order: int
    start: dt.date | None
    end: dt.date | None


def _date(value: Any, name: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise errors.invalid_value(f"'{name}' is a date (YYYY-MM-DD)") from exc


def visible_node(call: Call, node_id: str) -> Any:
    """The OrgUnit a post names, if the client sees it, read with its lineage (once per
    request, see Call.lineages)."""
    try:
        key = uuid.UUID(node_id)
    except ValueError:
        return None
    lineage = call.lineages.get(key)
    if lineage is None:
        lineage = store.lineage(call.session, call.client, node_id)
        if lineage is None:
            return None
        call.lineages[key] = lineage
    return lineage[-1]


def wanted(call: Call, doc: dict[str, Any]) -> list[PostWish] | None:
    items = doc.get(s.GOV_USER, {}).get("posts")
    if items is None:
        return None
    if not isinstance(items, list):
        raise errors.invalid_value("'posts' is a list")
    wishes = []
    for item in items:
        if not isinstance(item, dict):
            raise errors.invalid_value("a post is an object")
        node = visible_node(call, str(item.get("node") or ""))
        if node is None:
            raise errors.invalid_value("a post names an OrgUnit that does not exist")
        kind = item.get("kind") or ("primary" if len(items) == 1 else "concurrent")
        if kind not in {k.value for k in PostKind}:
            raise errors.invalid_value("a post's kind is primary, concurrent or secondment")
        order = item.get("order", 0)
        if not isinstance(order, int) or isinstance(order, bool):
            raise errors.invalid_value("a post's order is an integer")
        wishes.append(PostWish(kind, node.id, as_text(item.get("title"), "title"), order,
                               _date(item.get("start"), "start"), _date(item.get("end"), "end")))
    if sum(w.kind == "primary" for w in wishes) != 1:
        raise errors.invalid_value("a User has exactly one primary post")
    return wishes


def add(call: Call, person_id: uuid.UUID, wishes: list[PostWish]) -> None:
    for w in wishes:
        spec = people.PostSpec(w.node_id, w.title, w.order)
        if w.kind == "concurrent":
            people.add_concurrent(call.session, call.ctx, person_id, spec)
        else:
            if w.start is None or w.end is None:
                raise errors.invalid_value("a secondment has a start and an end")
            people.second(call.session, call.ctx, person_id, spec, w.start, w.end)


def visible(call: Call, person: Person) -> list[Any]:
    return [post for post, _node in related.visible_posts_of(
        call.session, call.client, [person.id])[person.id]]


def update(call: Call, person: Person, wishes: list[PostWish]) -> None:
    current = visible(call, person)

    def same(post: Any, w: PostWish) -> bool:
        return (post.kind.value, post.node_id, post.title, post.sort_order, post.start_date,
                post.end_date) == (w.kind, w.node_id, w.title, w.order, w.start, w.end)

    primary = next(w for w in wishes if w.kind == "primary")
    old_primary = next((p for p in current if p.kind == PostKind.PRIMARY), None)
    for post in current:
        if post.kind != PostKind.PRIMARY and not any(same(post, w) for w in wishes):
            people.end_post(call.session, call.ctx, post.id)
    if old_primary is None or not same(old_primary, primary):
        people.transfer(call.session, call.ctx, person.id,
                        people.PostSpec(primary.node_id, primary.title, primary.order))
    add(call, person.id, [w for w in wishes if w.kind != "primary"
                                 and not any(same(p, w) for p in current)])
