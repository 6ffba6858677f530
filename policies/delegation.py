"""Graded administration (分级授权, 000 §6, 001 §5, DOMAIN.md §3): who may do what where.

A grant is a set of subtrees (scopes) and a set of permissions. System administrators
hold everything. Each check returns a Decision naming the rule that decided; every check
looks at the result of the action as well as the caller (a move needs rights at both
ends; a delegation never exceeds the grantor).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from policies.visibility import Path
from policies.visibility import within

CENTRAL_LEVELS = 3  # root to level 3 are maintained centrally (001 组织人员规范 §4–§5)


class Permission(enum.StrEnum):
    STRUCTURE = "structure"
    PEOPLE = "people"
    ACCOUNTS = "accounts"
    APPS = "apps"
    TAGS = "tags"
    VISIBILITY = "visibility"
    AUDIT_READ = "audit-read"


ALL = frozenset(Permission)


class Outcome(enum.StrEnum):
    ALLOW = "allow"
    CHANGE_REQUEST = "change_request"  # filed for a system administrator's approval
    DENY = "deny"


@dataclass(frozen=True)
class Grant:
    scopes: tuple[Path, ...] = ()
    permissions: frozenset[Permission] = frozenset()
    system: bool = False

    def holds(self, permission: Permission) -> bool:
        return self.system or permission in self.permissions

    def covers(self, path: Path) -> bool:
        return self.system or any(within(path, s) for s in self.scopes)


SYSTEM_ADMIN = Grant(system=True, permissions=ALL)


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    rule: str

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOW


def _level(path: Path) -> int:
    return len(path) - 1


def may_act(grant: Grant, permission: Permission, path: Path) -> Verdict:
    """Act with ``permission`` on something at ``path`` (people, accounts, tags, …)."""
    if not grant.holds(permission):
        return Verdict(Outcome.DENY, f"grant.lacks:{permission.value}")
    if not grant.covers(path):
        return Verdict(Outcome.DENY, "grant.out_of_scope")
    return Verdict(Outcome.ALLOW, "grant.system" if grant.system else "grant.scope")


def may_change_structure(grant: Grant, path: Path) -> Verdict:
    """Create, rename, reorder or abolish at ``path`` (the node changed or created).

    Graded admins change the tree only at level ≥ 4 inside their scope; at level ≤ 3 they
    file a change request (000 §7 "调整组织架构须提前报备").
    """
    base = may_act(grant, Permission.STRUCTURE, path)
    if not base.allowed or grant.system:
        return base
    if _level(path) <= CENTRAL_LEVELS:
        return Verdict(Outcome.CHANGE_REQUEST, "structure.central_levels")
    return base


def may_move(grant: Grant, node: Path, new_parent: Path) -> Verdict:
    """Move a subtree: rights where it leaves and where it lands (at its new level)."""
    leaving = may_change_structure(grant, node)
    if leaving.outcome is Outcome.DENY:
        return leaving
    landing = may_change_structure(grant, new_parent + (node[-1],))
    if landing.outcome is Outcome.DENY:
        return Verdict(Outcome.DENY, "move.destination_" + landing.rule)
    if Outcome.CHANGE_REQUEST in (leaving.outcome, landing.outcome):
        return Verdict(Outcome.CHANGE_REQUEST, "structure.central_levels")
    return landing


def _scopes_inside(inner: Iterable[Path], outer: Grant) -> bool:
    return all(outer.covers(s) for s in inner)


def may_delegate(grantor: Grant, new: Grant) -> Verdict:
    """A grant is delegated only downward: scope inside, permissions a subset."""
    if new.system and not grantor.system:
        return Verdict(Outcome.DENY, "delegate.system_only_by_system")
    if not new.permissions <= grantor.permissions and not grantor.system:
        return Verdict(Outcome.DENY, "delegate.permissions_exceed")
    if not _scopes_inside(new.scopes, grantor):
        return Verdict(Outcome.DENY, "delegate.scope_exceeds")
    if not new.scopes and not new.system:
        return Verdict(Outcome.DENY, "delegate.empty_scope")
    return Verdict(Outcome.ALLOW, "delegate.within_grantor")


def at_least(a: Grant, b: Grant) -> bool:
    """``a`` is equal to or above ``b``: covers all of b's scopes and holds b's permissions."""
    if a.system:
        return True
    if b.system:
        return False
    return b.permissions <= a.permissions and _scopes_inside(b.scopes, a)


def may_reset_credentials(actor: Grant, target_path: Path,
                          target_grants: Iterable[Grant]) -> Verdict:
    """Reset a person's password or MFA: needs accounts rights over them, and never on
    someone who holds a grant equal to or above the actor's."""
    base = may_act(actor, Permission.ACCOUNTS, target_path)
    if not base.allowed:
        return base
    if any(at_least(g, actor) for g in target_grants):
        return Verdict(Outcome.DENY, "credentials.target_outranks")
    return base
