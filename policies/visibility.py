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

Paths are tuples of node ids from the root down, the node itself last.
"""

from __future__ import annotations

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
class Viewer:
    person_id: str
    cls: str
    posts: tuple[Path, ...] = ()
    primary: Path | None = None
    admin_scopes: tuple[Path, ...] = ()
    tags: frozenset[str] = frozenset()
    accepted_by: frozenset[str] = frozenset()  # people who accepted V as a contact


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


def hidden_node_visible(viewer: Viewer, hidden: HiddenNode) -> bool:
    """Exceptions to a hidden node: a post inside, admin scope, or the allow-list."""
    if any(within(p, hidden.path) for p in viewer.posts):
        return True
    if covers(viewer.admin_scopes, hidden.path):
        return True
    if viewer.person_id in hidden.allow_people or viewer.tags & hidden.allow_tags:
        return True
    return any(node in hidden.allow_nodes for post in viewer.posts for node in post)


def node_visible(viewer: Viewer, path: Path, hidden: Mapping[str, HiddenNode]) -> bool:
    """A node is hidden from V when it or an ancestor is hidden and no exception applies."""
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


def decide(viewer: Viewer, target: Target, rules: Rules,
           hidden: Mapping[str, HiddenNode]) -> Decision:
    """The three decisions for V looking at T, naming the rule that decided."""
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
