"""Visibility and contactability (001 组织人员规范 §9–§10, DOMAIN.md §4): for a viewer V and a
target person T, three decisions — *listed*, *searchable* (and how), *contactable* — each
naming the rule that decided.

Precedence, first match wins (documented so an admin can predict the result):

1. ``self``                 V looks at V: direct.
2. ``person.deactivated``   T is deactivated: exists only for admins whose scope covers T.
3. ``admin.scope``          V's admin scope covers one of T's posts: direct.
4. ``hidden``               every post of T lies in nodes hidden from V: T does not exist.
5. ``person.not_searchable`` T is flagged 不可搜不可加: none, unless V is an accepted contact.
6. ``contact.accepted``     T accepted V's contact request: direct.
7. ``unit.override``        the closest override above V's primary post sets the mode.
8. ``matrix``               the deployment matrix (viewer class × target class).
9. ``default``              direct (§10: "本区通讯录内部人员相互可见可聊").

An *app* reading the directory with its own token (client credentials) has no class, posts
or contacts; its own precedence, first match wins:

1. ``person.deactivated``   T is deactivated: does not exist for apps.
2. ``app.scope``            no post of T lies in the subtrees the app is authorised for.
3. ``hidden``               every such post lies in a hidden node the app was not granted
                            by name (admin scope and allow-lists do not apply to apps).
4. ``share.upward``         for the higher-level directory (开放共享范围, 001 组织人员规范 §14):
                            no such post lies in a part its unit shares upward.
5. ``person.not_searchable`` T is flagged 不可搜不可加: not handed to apps either.
6. ``app.scope``            direct.

Paths are tuples of node ids from the root down, the node itself last.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

Path = tuple[str, ...]


class Mode(enum.StrEnum):
    DIRECT = "direct"  # 直接沟通
    SEARCHABLE = "searchable"  # 可搜可加
    NONE = "none"  # 不可搜不可加 / invisible


class Search(enum.StrEnum):
    PREFIX = "prefix"  # name prefix, pinyin, initials, mobile
    EXACT = "exact"  # exact full name or exact mobile only
    NEVER = "never"


class Contact(enum.StrEnum):
    DIRECT = "direct"
    AFTER_CONSENT = "after_consent"
    NEVER = "never"


@dataclass(frozen=True)
class Decision:
    listed: bool
    search: Search
    contact: Contact
    rule: str

    @property
    def mode(self) -> Mode:
        if self.listed:
            return Mode.DIRECT
        return Mode.SEARCHABLE if self.search is Search.EXACT else Mode.NONE

    @property
    def exists(self) -> bool:
        """False: a read by id answers exactly as for an id that does not exist."""
        return self.listed or self.search is not Search.NEVER


PRESETS = {
    Mode.DIRECT: (True, Search.PREFIX, Contact.DIRECT),
    Mode.SEARCHABLE: (False, Search.EXACT, Contact.AFTER_CONSENT),
    Mode.NONE: (False, Search.NEVER, Contact.NEVER),
}


def decision(mode: Mode, rule: str) -> Decision:
    return Decision(*PRESETS[mode], rule=rule)


@dataclass(frozen=True)
class HiddenNode:
    """A node flagged hidden, with its allow-list (people, nodes, tags)."""

    path: Path
    allow_people: frozenset[str] = frozenset()
    allow_nodes: frozenset[str] = frozenset()
    allow_tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AppAccess:
    """What an app reading with its own token may see.

    scopes: the subtrees it is authorised for. hidden_grants: ids of hidden nodes granted
    to it by name (each hidden node on a path needs its own grant). upward: the app is the
    higher-level (municipal) directory and sees only what units share upward. sharing: the
    explicit 开放共享范围 settings as (node path, shared); the deepest one above a node
    decides, ``share_default`` where there is none.
    """

    app_id: str
    scopes: tuple[Path, ...]
    hidden_grants: frozenset[str] = frozenset()
    upward: bool = False
    sharing: tuple[tuple[Path, bool], ...] = ()
    share_default: bool = False


@dataclass(frozen=True)
class Viewer:
    person_id: str
    cls: str
    posts: tuple[Path, ...] = ()
    primary: Path | None = None
    admin_scopes: tuple[Path, ...] = ()
    tags: frozenset[str] = frozenset()
    accepted_by: frozenset[str] = frozenset()  # people who accepted V as a contact
    app: AppAccess | None = None  # set when the viewer is an app, not a person


NO_PERSON = "00000000-0000-0000-0000-000000000000"


def app_viewer(access: AppAccess) -> Viewer:
    """The viewer of an app token: no person, no class, no posts."""
    return Viewer(person_id=NO_PERSON, cls="", app=access)


@dataclass(frozen=True)
class Target:
    person_id: str
    cls: str
    posts: tuple[Path, ...] = ()
    not_searchable: bool = False
    active: bool = True


@dataclass(frozen=True)
class Rules:
    """matrix: (viewer class, target class) -> mode; missing cells are direct.
    overrides: node id -> partial matrix for viewers whose primary post lies under it."""

    matrix: Mapping[tuple[str, str], Mode] = field(default_factory=dict)
    overrides: Mapping[str, Mapping[tuple[str, str], Mode]] = field(default_factory=dict)


def within(path: Path, scope: Path) -> bool:
    """``path`` lies in the subtree rooted at ``scope`` (itself included)."""
    return path[: len(scope)] == scope


def covers(scopes: Iterable[Path], path: Path) -> bool:
    return any(within(path, s) for s in scopes)


def shared_upward(access: AppAccess, path: Path) -> bool:
    """The deepest explicit 开放共享范围 setting on the node or above it decides."""
    best: tuple[int, bool] | None = None
    for node, shared in access.sharing:
        if within(path, node) and (best is None or len(node) > best[0]):
            best = (len(node), shared)
    return access.share_default if best is None else best[1]


def hidden_node_visible(viewer: Viewer, hidden: HiddenNode) -> bool:
    """Exceptions to a hidden node: a post inside, admin scope, or the allow-list; for an
    app only a grant of that node by name."""
    if viewer.app is not None:
        return hidden.path[-1] in viewer.app.hidden_grants
    if any(within(p, hidden.path) for p in viewer.posts):
        return True
    if covers(viewer.admin_scopes, hidden.path):
        return True
    if viewer.person_id in hidden.allow_people or viewer.tags & hidden.allow_tags:
        return True
    return any(node in hidden.allow_nodes for post in viewer.posts for node in post)


class HiddenNodes(dict[str, HiddenNode]):
    """The hidden nodes keyed by their own id, with reverse indexes (built once, on first
    use) that answer ``visible_hidden`` without testing every hidden node: a cached set of
    2,000 hidden nodes is shared by every request of a worker."""

    _index: tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]],
                  list[Path], dict[str, str]] | None = None

    def index(self) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]],
                             list[Path], dict[str, str]]:
        """(person -> ids, tag -> ids, allowed node -> ids, paths sorted, id -> outermost
        hidden id on its path)."""
        if self._index is None:
            people: dict[str, set[str]] = {}
            tags: dict[str, set[str]] = {}
            nodes: dict[str, set[str]] = {}
            for key, h in self.items():
                for ids, index in ((h.allow_people, people), (h.allow_tags, tags),
                                   (h.allow_nodes, nodes)):
                    for i in ids:
                        index.setdefault(i, set()).add(key)
            tops = {key: next(n for n in h.path if n in self) for key, h in self.items()}
            self._index = (people, tags, nodes, sorted(h.path for h in self.values()), tops)
        return self._index


def hidden_on_or_under(hidden: Mapping[str, HiddenNode], under: Path) -> list[str]:
    """Ids of the hidden nodes on the path of ``under`` or inside its subtree (all of them
    for the empty path): the only ones that can hide anything at or below ``under``."""
    if not under:
        return list(hidden)
    above = [n for n in under[:-1] if n in hidden]
    if not isinstance(hidden, HiddenNodes):
        return above + [k for k, h in hidden.items() if within(h.path, under)]
    paths = hidden.index()[3]
    inside = []
    for path in paths[bisect.bisect_left(paths, under):]:
        if not within(path, under):
            break
        inside.append(path[-1])
    return above + inside


def outermost_map(hidden: Mapping[str, HiddenNode]) -> Mapping[str, str]:
    """Each hidden node's outermost hidden ancestor (itself when none is above it)."""
    if isinstance(hidden, HiddenNodes):
        return hidden.index()[4]
    return {k: next(n for n in h.path if n in hidden) for k, h in hidden.items()}


def visible_hidden(viewer: Viewer, hidden: Mapping[str, HiddenNode]) -> frozenset[str]:
    """Ids of the hidden nodes an exception opens to V (``hidden_node_visible``)."""
    if not isinstance(hidden, HiddenNodes):
        return frozenset(k for k, h in hidden.items() if hidden_node_visible(viewer, h))
    if viewer.app is not None:
        return frozenset(viewer.app.hidden_grants & hidden.keys())
    people, tags, nodes, paths, _ = hidden.index()
    found: set[str] = set(people.get(viewer.person_id, ()))
    for tag in viewer.tags:
        found |= tags.get(tag, set())
    for post in viewer.posts:
        for node in post:
            if node in hidden:
                found.add(node)
            found |= nodes.get(node, set())
    for scope in viewer.admin_scopes:
        start = bisect.bisect_left(paths, scope)
        for path in paths[start:]:
            if not within(path, scope):
                break
            found.add(path[-1])
    return frozenset(found)


def node_visible(viewer: Viewer, path: Path, hidden: Mapping[str, HiddenNode]) -> bool:
    """A node is hidden from V when it or an ancestor is hidden and no exception applies.
    An app sees only nodes inside its scope (and, upward, shared ones)."""
    app = viewer.app
    if app is not None and (not covers(app.scopes, path)
                            or (app.upward and not shared_upward(app, path))):
        return False
    return all(hidden_node_visible(viewer, hidden[n]) for n in path if n in hidden)


def visible_posts(viewer: Viewer, target: Target,
                  hidden: Mapping[str, HiddenNode]) -> tuple[Path, ...]:
    return tuple(p for p in target.posts if node_visible(viewer, p, hidden))


def rule_mode(viewer: Viewer, target: Target, rules: Rules) -> tuple[Mode, str]:
    cell = (viewer.cls, target.cls)
    for node in reversed(viewer.primary or ()):
        override = rules.overrides.get(node)
        if override is not None and cell in override:
            return override[cell], f"unit.override:{node}"
    if cell in rules.matrix:
        return rules.matrix[cell], "matrix"
    return Mode.DIRECT, "default"


def _decide_app(app: AppAccess, viewer: Viewer, target: Target,
                hidden: Mapping[str, HiddenNode]) -> Decision:
    if not target.active:
        return decision(Mode.NONE, "person.deactivated")
    in_scope = [p for p in target.posts if covers(app.scopes, p)]
    if not in_scope:
        return decision(Mode.NONE, "app.scope")
    unhidden = [p for p in in_scope
                if all(hidden_node_visible(viewer, hidden[n]) for n in p if n in hidden)]
    if not unhidden:
        return decision(Mode.NONE, "hidden")
    if app.upward and not any(shared_upward(app, p) for p in unhidden):
        return decision(Mode.NONE, "share.upward")
    if target.not_searchable:
        return decision(Mode.NONE, "person.not_searchable")
    return decision(Mode.DIRECT, "app.scope")


def decide(viewer: Viewer, target: Target, rules: Rules,
           hidden: Mapping[str, HiddenNode]) -> Decision:
    """The three decisions for V looking at T, naming the rule that decided."""
    if viewer.app is not None:
        return _decide_app(viewer.app, viewer, target, hidden)
    if viewer.person_id == target.person_id:
        return decision(Mode.DIRECT, "self")
    admin = any(covers(viewer.admin_scopes, p) for p in target.posts)
    if not target.active:
        return decision(Mode.DIRECT if admin else Mode.NONE, "person.deactivated")
    if admin:
        return decision(Mode.DIRECT, "admin.scope")
    if not visible_posts(viewer, target, hidden):
        return decision(Mode.NONE, "hidden")
    accepted = target.person_id in viewer.accepted_by
    if target.not_searchable:
        return decision(Mode.DIRECT if accepted else Mode.NONE,
                        "contact.accepted" if accepted else "person.not_searchable")
    if accepted:
        return decision(Mode.DIRECT, "contact.accepted")
    mode, rule = rule_mode(viewer, target, rules)
    return decision(mode, rule)
