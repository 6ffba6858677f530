"""Tag visibility (001 组织人员规范 §11, #3): a tag is visible to people inside its owner
node's subtree or a shared-with node's subtree, and to admins whose scope covers its
owner; to an app when its owner node or a shared-with node lies where the app may read.
Resolving a tag's members applies the viewer's own listing rules to each person."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import ColumnElement
from sqlalchemy import exists
from sqlalchemy import false
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import aliased

from directory import queries
from directory import visibility as dv
from directory.models import Node
from directory.models import Person
from directory.models import PersonStatus
from directory.models import Post
from directory.models import Tag
from directory.models import TagMember
from directory.models import TagShare
from policies import visibility as pv


def _ancestor_paths(viewer: pv.Viewer) -> list[str]:
    """Paths of every node on the way from the root to each of V's posts."""
    return sorted({"".join(p[:i]) for p in viewer.posts for i in range(1, len(p) + 1)})


def _visible_clause(viewer: pv.Viewer, hidden: Mapping[str, pv.HiddenNode]
                    ) -> ColumnElement[bool]:
    owner, shared = aliased(Node), aliased(Node)
    if viewer.app is not None:
        # an app: the owner node or a shared-with node lies where the app may read
        return or_(
            exists().where(owner.id == Tag.owner_node_id,
                           dv.app_path_clause(viewer.app, hidden, owner.path,
                                              owner.hidden_top)),
            exists().where(TagShare.tag_id == Tag.id, shared.id == TagShare.node_id,
                           dv.app_path_clause(viewer.app, hidden, shared.path,
                                              shared.hidden_top)))
    mine = _ancestor_paths(viewer)
    by_owner = exists().where(owner.id == Tag.owner_node_id, owner.path.in_(mine))
    by_share = exists().where(TagShare.tag_id == Tag.id, shared.id == TagShare.node_id,
                              shared.path.in_(mine))
    admin = exists().where(owner.id == Tag.owner_node_id, or_(*(
        queries.path_in_subtree(owner.path, "".join(s)) for s in viewer.admin_scopes))) \
        if viewer.admin_scopes else false()
    return or_(by_owner, by_share, admin) if mine else admin


def visible_tags(session: Session, viewer: pv.Viewer,
                 hidden: Mapping[str, pv.HiddenNode]) -> list[Tag]:
    return list(session.scalars(select(Tag).where(_visible_clause(viewer, hidden))
                                .order_by(Tag.name)))


def visible_tag(session: Session, viewer: pv.Viewer, hidden: Mapping[str, pv.HiddenNode],
                tag_id: uuid.UUID) -> Tag | None:
    return session.scalar(select(Tag).where(Tag.id == tag_id, _visible_clause(viewer, hidden)))


def tag_people(session: Session, viewer: pv.Viewer, rules: pv.Rules,
               hidden: Mapping[str, pv.HiddenNode], tag: Tag, *, limit: int = 50,
               after: uuid.UUID | None = None) -> list[tuple[uuid.UUID, str]]:
    """People tagged directly or through a tagged node's subtree, as V may list them,
    ordered by person id for keyset paging."""
    member_node = aliased(Node)
    via_node = exists().where(
        TagMember.tag_id == tag.id, member_node.id == TagMember.node_id,
        Post.node_path >= member_node.path, Post.node_path < member_node.path + "~")
    direct = exists().where(TagMember.tag_id == tag.id, TagMember.person_id == Person.id)
    stmt = (select(Person.id, Person.name).distinct()
            .join(Post, Post.person_id == Person.id)
            .where(Post.active, Person.status == PersonStatus.ACTIVE, or_(direct, via_node),
                   dv.listed_clause(viewer, rules, hidden, ()))
            .order_by(Person.id).limit(limit))
    if after is not None:
        stmt = stmt.where(Person.id > after)
    return [(r[0], r[1]) for r in session.execute(stmt)]
