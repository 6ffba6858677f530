"""Each node's and post's outermost hidden ancestor (``hidden_top``), kept with the tree.

A post is hidden from a viewer when any active hidden node on its path is. With 1% of
200,000 nodes hidden, testing every hidden subtree on every row made PostgreSQL misjudge
the filter by orders of magnitude (each of ~2,000 ``<>`` terms multiplies its estimate)
and cost Python ~100 ms to send. With the outermost hidden node stored on the row, the
common viewer (no exception) asks ``hidden_top IS NULL``, which an index and the planner's
statistics both understand; ``directory.visibility.hidden_filter`` builds the general case.

Every write that can change the answer calls ``refresh`` for the subtree it touched, in
its own transaction: hiding or unhiding a node, moving a subtree, merging or abolishing a
node. A new node or post copies its parent's or node's value.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from directory import queries
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Post


def outermost(paths: list[str]) -> list[str]:
    """The paths no other path of the list is a prefix of, in path order."""
    kept: list[str] = []
    for path in sorted(paths):
        if not (kept and path.startswith(kept[-1])):
            kept.append(path)
    return kept


def top_above(session: Session, path: str) -> str | None:
    """The outermost active hidden node strictly above ``path``."""
    above = queries.ancestor_paths(path)[:-1]
    if not above:
        return None
    return session.scalar(select(Node.path).where(
        Node.path.in_(above), Node.hidden, Node.status == NodeStatus.ACTIVE)
        .order_by(Node.level).limit(1))


def top_for_new(parent: Node | None, path: str, hidden: bool) -> str | None:
    """``hidden_top`` of a node created under ``parent``."""
    if parent is not None and parent.hidden_top is not None:
        return parent.hidden_top
    return path if hidden else None


def _set(session: Session, prefix: str, top: str | None) -> None:
    """hidden_top := ``top`` on every node and active post of the subtree at ``prefix``,
    writing only rows whose value differs. An ended post keeps the value it ended with."""
    session.execute(
        update(Node).where(queries.path_in_subtree(Node.path, prefix),
                           Node.hidden_top.is_distinct_from(top))
        .values(hidden_top=top).execution_options(synchronize_session=False))
    session.execute(  # active posts only (they never reactivate): the subtree index's range
        update(Post).where(queries.path_in_subtree(Post.node_path, prefix), Post.active,
                           Post.hidden_top.is_distinct_from(top))
        .values(hidden_top=top).execution_options(synchronize_session=False))


def refresh(session: Session, prefix: str) -> None:
    """Recompute ``hidden_top`` for the subtree at ``prefix`` from the nodes' flags."""
    session.flush()
    above = top_above(session, prefix)
    if above is not None:
        _set(session, prefix, above)
    else:
        _set(session, prefix, None)
        inner = session.scalars(select(Node.path).where(
            queries.path_in_subtree(Node.path, prefix), Node.hidden,
            Node.status == NodeStatus.ACTIVE)).all()
        for path in outermost(list(inner)):
            _set(session, path, path)
    session.expire_all()
