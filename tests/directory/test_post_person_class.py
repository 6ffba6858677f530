"""``Post.person_class`` (migration 0015) equals the person's class on every active post
after any sequence of writes that set or derive classes; and the per-class listing returns
exactly the rows of the single-scan listing."""

from __future__ import annotations

from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from sqlalchemy import select

from directory import classes
from directory import people
from directory import tree
from directory.errors import DomainError
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Person
from directory.models import Post
from tests import factories as f
from tests.conftest import _truncate

CLASSES = ["Q1", "Q2", "Q3", "Q4"]
OPS = st.lists(st.one_of(
    st.tuples(st.just("add"), st.integers(0, 20), st.sampled_from([None, *CLASSES])),
    st.tuples(st.just("set"), st.integers(0, 20), st.sampled_from(CLASSES)),
    st.tuples(st.just("transfer"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("concurrent"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("move"), st.integers(0, 20), st.integers(0, 20)),
    st.tuples(st.just("rederive"), st.integers(0, 20), st.none()),
), min_size=1, max_size=12)


def check(s) -> None:
    for post, cls in s.execute(select(Post, Person.visibility_class).join(
            Person, Person.id == Post.person_id).where(Post.active)):
        assert post.person_class == cls, post.id


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_post_class_follows_the_person(engine, sessions, dsettings, ctx, ops) -> None:
    _truncate(engine)
    with sessions.begin() as s:
        f.qingpu(s, ctx)
    for op, a, b in ops:
        try:
            with sessions.begin() as s:
                nodes = list(s.scalars(select(Node).where(Node.status == NodeStatus.ACTIVE)
                                       .order_by(Node.path)))
                persons = list(s.scalars(select(Person).order_by(Person.id)))
                x = nodes[a % len(nodes)]
                if op == "add":
                    f.person(s, dsettings, ctx, x, "新人", **({"visibility_class": b} if b else {}))
                elif not persons:
                    continue
                elif op == "set":
                    people.update(s, dsettings, ctx, persons[a % len(persons)].id,
                                  people.PersonData(visibility_class=b))
                elif op == "transfer":
                    people.transfer(s, ctx, persons[a % len(persons)].id,
                                    people.PostSpec(nodes[b % len(nodes)].id))
                elif op == "concurrent":
                    people.add_concurrent(s, ctx, persons[a % len(persons)].id,
                                          people.PostSpec(nodes[b % len(nodes)].id))
                elif op == "move":
                    tree.move(s, ctx, x.id, nodes[b % len(nodes)].id)
                else:
                    classes.rederive_classes(s, x.path)
        except DomainError:
            pass  # refused: nothing changed
        with sessions() as s:
            check(s)
