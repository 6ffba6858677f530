"""policies.app_access: who may sign in to an app, first matching rule named."""

from __future__ import annotations

import pytest

from policies.app_access import AccessPolicy
from policies.app_access import AppView
from policies.app_access import Subject
from policies.app_access import access_modes_problem
from policies.app_access import may_use

EDU = "000000000001000000000002"
OFFICE = EDU + "000000000003"
TOWN = "000000000001000000000009"
USER_IN_OFFICE = Subject("user", post_paths=(OFFICE,))
CASES = [
    ("offline app", USER_IN_OFFICE, AppView("offline"), False, "app.unavailable"),
    ("applied app", USER_IN_OFFICE, AppView("applied"), False, "app.unavailable"),
    ("temporary listed", Subject("temporary", listed_on_app=True), AppView("online"),
     True, "temporary.listed"),
    ("temporary listed, testing", Subject("temporary", listed_on_app=True),
     AppView("testing"), True, "temporary.listed"),
    ("temporary unlisted", Subject("temporary", tester=True), AppView("online"), False,
     "temporary.unlisted"),
    ("testing tester", Subject("user", tester=True), AppView("testing"), True,
     "testing.tester"),
    ("testing not tester", USER_IN_OFFICE, AppView("testing"), False, "testing.not_tester"),
    ("online open", USER_IN_OFFICE, AppView("online"), True, "policy.open"),
    ("type listed", USER_IN_OFFICE,
     AppView("online", AccessPolicy(account_types=frozenset({"user"}))), True,
     "policy.account_type"),
    ("type not listed", USER_IN_OFFICE,
     AppView("online", AccessPolicy(account_types=frozenset({"graded_admin"}))), False,
     "policy.account_type"),
    ("subtree above post", USER_IN_OFFICE, AppView("online", AccessPolicy(subtrees=(EDU,))),
     True, "policy.subtree"),
    ("subtree elsewhere", USER_IN_OFFICE, AppView("online", AccessPolicy(subtrees=(TOWN,))),
     False, "policy.outside"),
    ("tag held", Subject("user", post_paths=(TOWN,), tags=frozenset({"t1"})),
     AppView("online", AccessPolicy(subtrees=(EDU,), tags=frozenset({"t1"}))), True,
     "policy.tag"),
    ("type and subtree both needed", Subject("graded_admin", post_paths=(OFFICE,)),
     AppView("online", AccessPolicy(subtrees=(EDU,), account_types=frozenset({"user"}))),
     False, "policy.account_type"),
    ("no posts, subtree policy", Subject("system_admin"),
     AppView("online", AccessPolicy(subtrees=(EDU,))), False, "policy.outside"),
]


@pytest.mark.parametrize(("subject", "app", "allowed", "rule"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_may_use(subject, app, allowed, rule):
    decision = may_use(subject, app)
    assert (decision.allowed, decision.rule) == (allowed, rule)


def test_prefix_is_a_subtree_not_a_string_prefix_of_a_sibling():
    # fixed-width tokens: a sibling never starts with another's path
    sibling = "000000000001000000000022"
    decision = may_use(Subject("user", post_paths=(sibling,)),
                       AppView("online", AccessPolicy(subtrees=(EDU,))))
    assert not decision.allowed


def test_access_modes():
    assert access_modes_problem(("sso", "todo", "message")) is None
    assert access_modes_problem(("sso", "fax")) is not None
