"""`idp generate`: a synthetic jurisdiction of the asked size, consistent with the domain's
own invariants (levels, paths, one primary post each), refused on a non-empty database."""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select

from directory import people
from directory import queries
from directory.models import AuditEvent
from directory.models import Node
from directory.models import Person
from directory.models import Post
from tests.idp.support import run


def test_generate_small_jurisdiction(cli_env, sessions, dsettings) -> None:
    result = run(cli_env, "generate", "--people", "400", "--nodes", "60")
    assert result.exit_code == 0, result.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Node)) == 60
        assert s.scalar(select(func.count()).select_from(Person)) == 400
        primaries = s.scalar(select(func.count()).select_from(Post).where(
            Post.kind == "primary", Post.active))
        assert primaries == 400
        for node in s.scalars(select(Node)):
            assert node.level == len(queries.ancestor_paths(node.path)) - 1
        for post in s.scalars(select(Post).limit(50)):
            assert post.node_path == s.get(Node, post.node_id).path
        root = queries.root(s)
        assert len(queries.subtree_members(s, root, limit=1000)) == s.scalar(
            select(func.count()).select_from(Post).where(Post.active))
        someone = s.scalars(select(Person).limit(1)).one()
        mobile = people.reveal(s, dsettings, someone, "mobile")
        assert people.find_by_mobile(s, dsettings, mobile).id == someone.id
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "directory.generated")) == 1
    again = run(cli_env, "generate", "--people", "10", "--nodes", "12")
    assert again.exit_code == 1
