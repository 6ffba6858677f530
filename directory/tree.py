"""Commands on the organisation tree: create, rename, reorder, move, merge, abolish.

Every command runs inside the caller's transaction, checks before it writes, records
its audit event, and never commits. Subtree rewrites are set-based UPDATEs over the
materialised path, never recursion in Python.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory import audit
from directory import classes
from directory import hidden_paths
from directory import queries
from directory import versions
from directory.db import rowcount
from directory.db import utcnow
from directory.errors import conflict
from directory.errors import invalid
from directory.errors import not_found
from directory.errors import precondition
from directory.models import PATH_TOKEN_WIDTH
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Post
from directory.models import PostKind
from directory.models import TagMember

MAX_DEPTH = 30
NODE_FIELDS = ("name", "short_name", "type", "is_unit", "hidden", "external_id")


@dataclass(frozen=True)
class NewNode:
    name: str
    code: str
    parent_id: uuid.UUID | None
    short_name: str | None = None
    type: str = "internal"
    is_unit: bool = False
    hidden: bool = False
    sort_order: int | None = None
    external_id: str | None = None


def path_token(node_id: uuid.UUID) -> str:
    return node_id.hex[:PATH_TOKEN_WIDTH]


def _require_text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise invalid("directory.node.required", f"{field} is required", field)
    if len(text) > limit:
        raise invalid("directory.node.too_long", f"{field} is longer than {limit}", field)
    return text


def get_active(session: Session, node_id: uuid.UUID, field: str = "node_id") -> Node:
    node = session.get(Node, node_id)
    if node is None:
        raise not_found("directory.node.not_found", "no such node", field)
    if node.status != NodeStatus.ACTIVE:
        raise precondition("directory.node.abolished", "the node is abolished", field)
    return node


def create(session: Session, ctx: audit.Context, spec: NewNode) -> Node:
    name = _require_text(spec.name, "name", 200)
    code = _require_text(spec.code, "code", 64)
    if session.scalar(select(Node.id).where(Node.code == code)) is not None:
        raise conflict("directory.node.code_taken", f"code {code!r} is already used", "code")
    node_id = uuid.uuid4()
    if spec.parent_id is None:
        if session.scalar(select(Node.id).where(Node.parent_id.is_(None)).limit(1)):
            raise conflict("directory.node.root_exists", "the tree already has a root", "parent_id")
        path, level, parent = path_token(node_id), 0, None
    else:
        parent = get_active(session, spec.parent_id, "parent_id")
        if parent.level + 1 > MAX_DEPTH:
            raise invalid("directory.node.too_deep", "the tree is too deep there", "parent_id")
        path, level = parent.path + path_token(node_id), parent.level + 1
    sort_order = spec.sort_order
    if sort_order is None:
        sort_order = queries.next_sibling_order(session, spec.parent_id)
    node = Node(
        id=node_id, parent_id=spec.parent_id, path=path, level=level, sort_order=sort_order,
        name=name, short_name=(spec.short_name or name).strip(), code=code, type=spec.type,
        is_unit=spec.is_unit, hidden=spec.hidden, external_id=spec.external_id,
        hidden_top=hidden_paths.top_for_new(parent, path, spec.hidden),
    )
    session.add(node)
    session.flush()
    if spec.hidden:
        versions.bump(session, versions.HIDDEN)
    audit.record(session, "node.created", ctx, target_type="node", target_id=node.id,
                 summary={"code": code, "name": name, "parent_id": spec.parent_id, "level": level})
    return node


def update_node(session: Session, ctx: audit.Context, node_id: uuid.UUID, **changes: object) -> Node:
    """Rename, retype, flag as unit or hidden: the fields in ``NODE_FIELDS``."""
    node = get_active(session, node_id)
    unknown = set(changes) - set(NODE_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise invalid("directory.node.field_readonly", f"{field} cannot be changed here", field)
    for field in ("name", "short_name"):  # every value checked before any is set
        if field in changes:
            changes[field] = _require_text(changes[field], field, 200 if field == "name" else 100)  # type: ignore[arg-type]
    before, after = {}, {}
    for field, value in changes.items():
        if getattr(node, field) != value:
            before[field], after[field] = getattr(node, field), value
            setattr(node, field, value)
    if after:
        session.flush()
        if "hidden" in after:
            versions.bump(session, versions.HIDDEN)
            hidden_paths.refresh(session, node.path)
        action = "node.renamed" if set(after) <= {"name", "short_name"} else "node.updated"
        audit.record(session, action, ctx, target_type="node", target_id=node.id,
                     summary={"before": before, "after": after})
    return node


def reorder(session: Session, ctx: audit.Context, parent_id: uuid.UUID,
            child_ids: list[uuid.UUID]) -> None:
    """Give the listed children sort orders 10, 20, 30… in the order given (排序)."""
    get_active(session, parent_id, "parent_id")
    children = {n.id: n for n in session.scalars(select(Node).where(Node.parent_id == parent_id))}
    for child_id in child_ids:
        if child_id not in children:
            raise invalid("directory.node.not_a_child", f"{child_id} is not a child", "child_ids")
    for position, child_id in enumerate(child_ids, start=1):
        children[child_id].sort_order = position * 10
    session.flush()
    audit.record(session, "node.reordered", ctx, target_type="node", target_id=parent_id,
                 summary={"order": [str(c) for c in child_ids]})


def _rewrite_subtree(session: Session, old_prefix: str, new_prefix: str, level_delta: int) -> None:
    versions.bump(session, versions.HIDDEN)  # hidden nodes in the subtree change paths
    tail = func.substr(Node.path, len(old_prefix) + 1)
    session.execute(
        update(Node)
        .where(queries.path_in_subtree(Node.path, old_prefix))
        .values(path=literal(new_prefix) + tail, level=Node.level + level_delta,
                version=Node.version + 1)
        .execution_options(synchronize_session=False)
    )
    post_tail = func.substr(Post.node_path, len(old_prefix) + 1)
    session.execute(
        update(Post)
        .where(queries.path_in_subtree(Post.node_path, old_prefix))
        .values(node_path=literal(new_prefix) + post_tail)
        .execution_options(synchronize_session=False)
    )
    hidden_paths.refresh(session, new_prefix)


def move(session: Session, ctx: audit.Context, node_id: uuid.UUID,
         new_parent_id: uuid.UUID, sort_order: int | None = None) -> Node:
    """Move a node and its whole subtree under another parent."""
    node = get_active(session, node_id)
    if node.parent_id is None:
        raise invalid("directory.node.root_immovable", "the root cannot move", "node_id")
    parent = get_active(session, new_parent_id, "parent_id")
    if parent.path.startswith(node.path):
        raise invalid("directory.node.cycle", "a node cannot move under itself", "parent_id")
    depth = queries.subtree_depth(session, node.path) - node.level
    if parent.level + 1 + depth > MAX_DEPTH:
        raise invalid("directory.node.too_deep", "the tree would be too deep", "parent_id")
    old_parent, old_prefix = node.parent_id, node.path
    new_prefix = parent.path + path_token(node.id)
    level_delta = parent.level + 1 - node.level
    order = queries.next_sibling_order(session, parent.id) if sort_order is None else sort_order
    node.parent_id, node.sort_order = parent.id, order
    session.flush()
    _rewrite_subtree(session, old_prefix, new_prefix, level_delta)
    classes.rederive_classes(session, new_prefix)
    audit.record(session, "node.moved", ctx, target_type="node", target_id=node_id,
                 summary={"from_parent": old_parent, "to_parent": parent.id})
    return session.get_one(Node, node_id)


def _end_duplicate_posts(session: Session, source_id: uuid.UUID, target_id: uuid.UUID) -> None:
    """One post per person per node after a merge: a primary post arriving from the source
    supersedes the person's concurrent post or secondment in the target; any other source
    post of someone already in the target ends."""
    now = utcnow()
    primaries_arriving = select(Post.person_id).where(
        Post.node_id == source_id, Post.active, Post.kind == PostKind.PRIMARY)
    session.execute(
        update(Post).where(Post.node_id == target_id, Post.active,
                           Post.kind != PostKind.PRIMARY,
                           Post.person_id.in_(primaries_arriving))
        .values(active=False, ended_at=now).execution_options(synchronize_session=False))
    already_there = select(Post.person_id).where(Post.node_id == target_id, Post.active)
    session.execute(
        update(Post).where(Post.node_id == source_id, Post.active,
                           Post.kind != PostKind.PRIMARY,
                           Post.person_id.in_(already_there))
        .values(active=False, ended_at=now).execution_options(synchronize_session=False))


def _move_content(session: Session, ctx: audit.Context, source: Node, target: Node) -> dict:
    """Children and active posts of ``source`` go to ``target``; returns counts."""
    child_ids = list(session.scalars(
        select(Node.id).where(Node.parent_id == source.id, Node.status == NodeStatus.ACTIVE)
        .order_by(Node.sort_order)))
    for child_id in child_ids:
        move(session, ctx, child_id, target.id)
    _end_duplicate_posts(session, source.id, target.id)
    moved_posts = rowcount(session.execute(
        update(Post).where(Post.node_id == source.id, Post.active.is_(True))
        .values(node_id=target.id, node_path=target.path, hidden_top=target.hidden_top)
        .execution_options(synchronize_session=False)
    ))
    session.execute(  # a tag that already has the target keeps one membership, not two
        delete(TagMember).where(
            TagMember.node_id == source.id,
            TagMember.tag_id.in_(select(TagMember.tag_id).where(TagMember.node_id == target.id)))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(TagMember).where(TagMember.node_id == source.id).values(node_id=target.id)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    classes.rederive_classes(session, target.path)
    return {"children": len(child_ids), "posts": moved_posts}


def merge(session: Session, ctx: audit.Context, source_id: uuid.UUID,
          target_id: uuid.UUID) -> Node:
    """Merge unit ``source`` into ``target``: its people and children move, it is abolished."""
    source = get_active(session, source_id, "source_id")
    target = get_active(session, target_id, "target_id")
    if source.id == target.id or target.path.startswith(source.path):
        raise invalid("directory.node.cycle", "cannot merge a node into its own subtree",
                      "target_id")
    if source.parent_id is None:
        raise invalid("directory.node.root_immovable", "the root cannot be merged", "source_id")
    counts = _move_content(session, ctx, source, target)
    source = session.get_one(Node, source_id)
    source.status, source.abolished_at, source.merged_into_id = (
        NodeStatus.ABOLISHED, utcnow(), target.id)
    session.flush()
    if source.hidden:  # an abolished hidden node stops counting
        versions.bump(session, versions.HIDDEN)
        hidden_paths.refresh(session, source.path)
    audit.record(session, "node.merged", ctx, target_type="node", target_id=source_id,
                 summary={"into": target_id, **counts})
    return source


def abolish(session: Session, ctx: audit.Context, node_id: uuid.UUID,
            move_content_to: uuid.UUID | None = None) -> Node:
    """Abolish (撤销) a node: only when empty, unless its content moves elsewhere first."""
    versions.bump(session, versions.HIDDEN)  # an abolished hidden node stops counting
    node = get_active(session, node_id)
    if node.parent_id is None:
        raise invalid("directory.node.root_immovable", "the root cannot be abolished", "node_id")
    counts: dict = {}
    if move_content_to is not None:
        target = get_active(session, move_content_to, "move_content_to")
        if target.path.startswith(node.path):
            raise invalid("directory.node.cycle", "content cannot move into the node itself",
                          "move_content_to")
        counts = _move_content(session, ctx, node, target)
        node = session.get_one(Node, node_id)
    elif queries.has_content(session, node):
        raise precondition("directory.node.not_empty",
                           "the node still has children or people", "node_id")
    node.status, node.abolished_at = NodeStatus.ABOLISHED, utcnow()
    session.flush()
    if node.hidden:  # an abolished hidden node stops counting
        hidden_paths.refresh(session, node.path)
    audit.record(session, "node.abolished", ctx, target_type="node", target_id=node_id,
                 summary={"moved_to": move_content_to, **counts})
    return node
