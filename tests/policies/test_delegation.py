"""Graded administration: scope, permissions, central levels, delegation downward only,
both ends of a move, and no credential resets on equal-or-higher admins."""

from __future__ import annotations

import pytest

from policies.delegation import SYSTEM_ADMIN
from policies.delegation import Grant
from policies.delegation import Outcome
from policies.delegation import Permission
from policies.delegation import may_act
from policies.delegation import may_change_structure
from policies.delegation import may_delegate
from policies.delegation import may_move
from policies.delegation import may_reset_credentials

P = Permission
EDU = ("root", "gov", "edu")            # level 2
OFFICE = EDU + ("office",)              # level 3
TEAM = OFFICE + ("team",)               # level 4
TEAM2 = OFFICE + ("team2",)
HEALTH = ("root", "gov", "health")
HEALTH_OFFICE = HEALTH + ("office",)
EDU_ADMIN = Grant(scopes=(EDU,), permissions=frozenset({P.STRUCTURE, P.PEOPLE, P.ACCOUNTS}))


@pytest.mark.parametrize("grant,perm,path,outcome,rule", [
    (EDU_ADMIN, P.PEOPLE, TEAM, Outcome.ALLOW, "grant.scope"),
    (EDU_ADMIN, P.PEOPLE, HEALTH_OFFICE, Outcome.DENY, "grant.out_of_scope"),
    (EDU_ADMIN, P.TAGS, TEAM, Outcome.DENY, "grant.lacks:tags"),
    (SYSTEM_ADMIN, P.AUDIT_READ, HEALTH, Outcome.ALLOW, "grant.system"),
], ids=["in-scope", "out-of-scope", "missing-permission", "system-admin"])
def test_may_act(grant, perm, path, outcome, rule) -> None:
    v = may_act(grant, perm, path)
    assert (v.outcome, v.rule) == (outcome, rule)


@pytest.mark.parametrize("path,outcome", [
    (TEAM, Outcome.ALLOW), (OFFICE, Outcome.CHANGE_REQUEST), (EDU, Outcome.CHANGE_REQUEST),
    (HEALTH_OFFICE + ("x",), Outcome.DENY)], ids=["level-4", "level-3", "level-2", "elsewhere"])
def test_graded_admin_changes_structure_only_at_level_4_and_below(path, outcome) -> None:
    assert may_change_structure(EDU_ADMIN, path).outcome is outcome


def test_system_admin_changes_central_levels_directly() -> None:
    assert may_change_structure(SYSTEM_ADMIN, EDU).outcome is Outcome.ALLOW


@pytest.mark.parametrize("node,new_parent,outcome,rule", [
    (TEAM, TEAM2, Outcome.ALLOW, "grant.scope"),
    (TEAM, HEALTH_OFFICE, Outcome.DENY, "move.destination_grant.out_of_scope"),
    (HEALTH_OFFICE + ("t",), OFFICE, Outcome.DENY, "grant.out_of_scope"),
    (TEAM, EDU, Outcome.CHANGE_REQUEST, "structure.central_levels"),
], ids=["inside-scope", "out-to-other-unit", "in-from-other-unit", "up-to-level-3"])
def test_move_needs_rights_at_both_ends(node, new_parent, outcome, rule) -> None:
    v = may_move(EDU_ADMIN, node, new_parent)
    assert (v.outcome, v.rule) == (outcome, rule)


@pytest.mark.parametrize("new,rule", [
    (Grant(scopes=(OFFICE,), permissions=frozenset({P.PEOPLE})), "delegate.within_grantor"),
    (Grant(scopes=(OFFICE,), permissions=frozenset({P.PEOPLE, P.APPS})),
     "delegate.permissions_exceed"),
    (Grant(scopes=(HEALTH,), permissions=frozenset({P.PEOPLE})), "delegate.scope_exceeds"),
    (Grant(scopes=(("root", "gov"),), permissions=frozenset({P.PEOPLE})),
     "delegate.scope_exceeds"),
    (Grant(system=True), "delegate.system_only_by_system"),
    (Grant(scopes=(), permissions=frozenset({P.PEOPLE})), "delegate.empty_scope"),
], ids=["subset", "more-permissions", "other-unit", "wider-scope", "system", "empty"])
def test_delegation_only_downward(new, rule) -> None:
    assert may_delegate(EDU_ADMIN, new).rule == rule


def test_an_admin_cannot_raise_their_own_grant() -> None:
    raised = Grant(scopes=EDU_ADMIN.scopes, permissions=EDU_ADMIN.permissions | {P.APPS})
    assert may_delegate(EDU_ADMIN, raised).outcome is Outcome.DENY


@pytest.mark.parametrize("target_grants,outcome", [
    ((), Outcome.ALLOW),
    ((Grant(scopes=(TEAM,), permissions=frozenset({P.PEOPLE})),), Outcome.ALLOW),
    ((EDU_ADMIN,), Outcome.DENY),
    ((SYSTEM_ADMIN,), Outcome.DENY),
    ((Grant(scopes=(("root",),), permissions=frozenset(P)),), Outcome.DENY),
], ids=["plain-user", "lower-admin", "equal-admin", "system-admin", "higher-admin"])
def test_no_credential_reset_on_equal_or_higher_admin(target_grants, outcome) -> None:
    assert may_reset_credentials(EDU_ADMIN, TEAM, target_grants).outcome is outcome
