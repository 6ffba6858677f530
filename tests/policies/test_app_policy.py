"""Apps reading the directory with their own token (client credentials): scope, hidden
nodes granted by name only, 开放共享范围 for the higher-level directory — and temporary
accounts limited to the apps listed on them. Each decision names its rule."""

from __future__ import annotations

import pytest

from policies.accounts import may_use_app
from policies.visibility import AppAccess
from policies.visibility import HiddenNode
from policies.visibility import Mode
from policies.visibility import Rules
from policies.visibility import Target
from policies.visibility import app_viewer
from policies.visibility import decide
from policies.visibility import node_visible
from policies.visibility import shared_upward
from tests.policies.test_visibility import EDU
from tests.policies.test_visibility import OFFICE
from tests.policies.test_visibility import ROOT
from tests.policies.test_visibility import SECRET
from tests.policies.test_visibility import SECRET_TEAM
from tests.policies.test_visibility import TOWN
from tests.policies.test_visibility import VILLAGE

INNER = SECRET_TEAM + ("inner",)
HIDDEN = {"secret": HiddenNode(SECRET, allow_people=frozenset({"app-person"}),
                               allow_nodes=frozenset({"town"})),
          "inner": HiddenNode(INNER)}


def app(scopes=(TOWN,), **kw) -> AppAccess:
    return AppAccess(app_id="a", scopes=scopes, **kw)


def target(*posts, **kw) -> Target:
    return Target(person_id="t", cls=kw.pop("cls", "Q1"), posts=posts, **kw)


CASES = [
    # (id, access, target, mode, rule)
    ("in-scope", app(), target(VILLAGE), Mode.DIRECT, "app.scope"),
    ("out-of-scope", app(), target(OFFICE), Mode.NONE, "app.scope"),
    ("one-post-in-scope-is-enough", app(), target(OFFICE, VILLAGE), Mode.DIRECT, "app.scope"),
    ("scope-at-root-sees-all-unhidden", app((ROOT,)), target(OFFICE), Mode.DIRECT, "app.scope"),
    ("class-matrix-does-not-apply", app(), target(VILLAGE, cls="Q1"), Mode.DIRECT,
     "app.scope"),
    ("hidden-without-grant", app(), target(SECRET_TEAM), Mode.NONE, "hidden"),
    ("hidden-with-grant-by-name", app(hidden_grants=frozenset({"secret"})),
     target(SECRET_TEAM), Mode.DIRECT, "app.scope"),
    ("nested-hidden-needs-its-own-grant", app(hidden_grants=frozenset({"secret"})),
     target(INNER), Mode.NONE, "hidden"),
    ("nested-hidden-both-granted", app(hidden_grants=frozenset({"secret", "inner"})),
     target(INNER), Mode.DIRECT, "app.scope"),
    ("scope-covering-hidden-is-not-a-grant", app((SECRET,)), target(SECRET_TEAM), Mode.NONE,
     "hidden"),
    ("hidden-post-and-visible-post", app(), target(SECRET, VILLAGE), Mode.DIRECT, "app.scope"),
    ("not-searchable-person", app(), target(VILLAGE, not_searchable=True), Mode.NONE,
     "person.not_searchable"),
    ("deactivated-person", app(), target(VILLAGE, active=False), Mode.NONE,
     "person.deactivated"),
    ("upward-nothing-shared-by-default", app(upward=True), target(VILLAGE), Mode.NONE,
     "share.upward"),
    ("upward-shared-unit", app(upward=True, sharing=((TOWN, True),)), target(VILLAGE),
     Mode.DIRECT, "app.scope"),
    ("upward-withheld-below-shared", app(upward=True, sharing=((TOWN, True), (VILLAGE, False))),
     target(VILLAGE), Mode.NONE, "share.upward"),
    ("upward-shared-below-withheld", app(upward=True, sharing=((TOWN, False), (VILLAGE, True))),
     target(VILLAGE), Mode.DIRECT, "app.scope"),
    ("upward-default-shared", app(upward=True, share_default=True), target(VILLAGE),
     Mode.DIRECT, "app.scope"),
    ("sharing-ignored-for-ordinary-apps", app(sharing=((TOWN, False),)), target(VILLAGE),
     Mode.DIRECT, "app.scope"),
    ("upward-shared-but-hidden", app(upward=True, sharing=((TOWN, True),)),
     target(SECRET_TEAM), Mode.NONE, "hidden"),
]


@pytest.mark.parametrize("access,t,mode,rule", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_app_decisions(access, t, mode, rule) -> None:
    d = decide(app_viewer(access), t, Rules(matrix={("", "Q1"): Mode.NONE}), HIDDEN)
    assert (d.mode, d.rule) == (mode, rule)
    assert d.exists == (mode is Mode.DIRECT)


def test_person_allow_lists_do_not_apply_to_apps() -> None:
    """The hidden node's allow-list names people and nodes; an app is neither."""
    d = decide(app_viewer(app()), target(SECRET_TEAM), Rules(), HIDDEN)
    assert (d.mode, d.rule) == (Mode.NONE, "hidden")


@pytest.mark.parametrize("path,visible", [
    (TOWN, True), (VILLAGE, True), (SECRET, False), (OFFICE, False), (ROOT, False),
    (("root", "streets"), False)])
def test_app_node_visibility(path, visible) -> None:
    assert node_visible(app_viewer(app()), path, HIDDEN) is visible


def test_deepest_sharing_setting_wins() -> None:
    a = app(upward=True, sharing=((ROOT, True), (TOWN, False), (VILLAGE, True)))
    assert [shared_upward(a, p) for p in (EDU, TOWN, SECRET, VILLAGE, VILLAGE + ("x",))] == [
        True, False, False, True, True]


@pytest.mark.parametrize("account_type,listed,client,allowed", [
    ("temporary", frozenset({"oa"}), "oa", True),
    ("temporary", frozenset({"oa"}), "mail", False),
    ("temporary", frozenset(), "oa", False),
    ("user", frozenset(), "oa", True),
    ("graded_admin", frozenset(), "oa", True),
])
def test_temporary_accounts_use_listed_apps_only(account_type, listed, client, allowed) -> None:
    assert may_use_app(account_type, listed, client) is allowed
