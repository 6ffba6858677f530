"""After a merge each person holds at most one active post in the merged-into unit."""

from __future__ import annotations

from sqlalchemy import select

from directory import people
from directory import tree
from directory.models import Post
from tests import factories as f


def test_merge_keeps_one_post_per_person_in_target(session, dsettings, ctx) -> None:
    with session.begin():
        t = f.qingpu(session, ctx)
        src = f.node(session, ctx, t["edu"], "教研室")
        both = f.person(session, dsettings, ctx, src, "钱进")       # primary in source
        people.add_concurrent(session, ctx, both.id, people.PostSpec(t["office"].id, "兼职"))
        other = f.person(session, dsettings, ctx, t["office"], "顾兰")  # primary in target
        people.add_concurrent(session, ctx, other.id, people.PostSpec(src.id, "兼职"))
        ids = {"both": both.id, "other": other.id, "src": src.id, "office": t["office"].id}
    with session.begin():
        tree.merge(session, ctx, ids["src"], ids["office"])
    for key in ("both", "other"):
        posts = session.scalars(select(Post).where(
            Post.person_id == ids[key], Post.active)).all()
        assert [(p.node_id, p.kind.value) for p in posts] == [(ids["office"], "primary")]
