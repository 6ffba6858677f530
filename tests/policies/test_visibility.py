"""Visibility and contactability: the Q1–Q4 matrix, hidden nodes and their exceptions,
unit overrides, not-searchable people, accepted contacts — each naming its rule."""

from __future__ import annotations

import itertools

import pytest

from policies.visibility import Contact
from policies.visibility import HiddenNode
from policies.visibility import Mode
from policies.visibility import Rules
from policies.visibility import Search
from policies.visibility import Target
from policies.visibility import Viewer
from policies.visibility import decide

# root > gov > edu > office ; root > streets > town > village ; town > secret (hidden)
ROOT = ("root",)
EDU = ("root", "gov", "edu")
OFFICE = EDU + ("office",)
TOWN = ("root", "streets", "town")
VILLAGE = TOWN + ("village",)
SECRET = TOWN + ("secret",)
SECRET_TEAM = SECRET + ("team",)
CLASSES = ("Q1", "Q2", "Q3", "Q4")
NO_HIDDEN: dict = {}


def viewer(cls: str = "Q3", at: tuple = OFFICE, **kw) -> Viewer:
    return Viewer(person_id=kw.pop("person_id", "v"), cls=cls, posts=(at,), primary=at, **kw)


def target(cls: str = "Q3", at: tuple = OFFICE, **kw) -> Target:
    return Target(person_id=kw.pop("person_id", "t"), cls=cls, posts=kw.pop("posts", (at,)),
                  **kw)


@pytest.mark.parametrize("v,t", list(itertools.product(CLASSES, CLASSES)),
                         ids=[f"{v}->{t}" for v, t in itertools.product(CLASSES, CLASSES)])
def test_default_matrix_is_direct_everywhere(v: str, t: str) -> None:
    d = decide(viewer(v), target(t), Rules(), NO_HIDDEN)
    assert (d.mode, d.rule) == (Mode.DIRECT, "default")
    assert d.listed and d.search is Search.PREFIX and d.contact is Contact.DIRECT


QINGPU_RULES = Rules(matrix={
    ("Q4", "Q1"): Mode.SEARCHABLE, ("Q3", "Q1"): Mode.SEARCHABLE, ("Q4", "Q2"): Mode.SEARCHABLE,
})
EXPECTED = {("Q4", "Q1"): Mode.SEARCHABLE, ("Q3", "Q1"): Mode.SEARCHABLE,
            ("Q4", "Q2"): Mode.SEARCHABLE}


@pytest.mark.parametrize("v,t", list(itertools.product(CLASSES, CLASSES)),
                         ids=[f"{v}->{t}" for v, t in itertools.product(CLASSES, CLASSES)])
def test_configured_matrix(v: str, t: str) -> None:
    d = decide(viewer(v), target(t), QINGPU_RULES, NO_HIDDEN)
    expected = EXPECTED.get((v, t), Mode.DIRECT)
    assert d.mode is expected
    assert d.rule == ("matrix" if (v, t) in EXPECTED else "default")


def test_searchable_preset_means_exact_search_and_consent() -> None:
    d = decide(viewer("Q4"), target("Q1"), QINGPU_RULES, NO_HIDDEN)
    assert not d.listed and d.search is Search.EXACT and d.contact is Contact.AFTER_CONSENT
    assert d.exists


def test_closest_unit_override_above_viewer_wins() -> None:
    rules = Rules(matrix={("Q4", "Q1"): Mode.SEARCHABLE}, overrides={
        "streets": {("Q4", "Q1"): Mode.NONE},
        "town": {("Q4", "Q1"): Mode.DIRECT},
    })
    assert decide(viewer("Q4", VILLAGE), target("Q1"), rules, NO_HIDDEN).rule == \
        "unit.override:town"
    other_town = ("root", "streets", "other")
    d = decide(viewer("Q4", other_town), target("Q1"), rules, NO_HIDDEN)
    assert (d.mode, d.rule) == (Mode.NONE, "unit.override:streets")
    assert decide(viewer("Q4", OFFICE), target("Q1"), rules, NO_HIDDEN).rule == "matrix"


HIDDEN = {"secret": HiddenNode(SECRET, allow_people=frozenset({"listed-person"}),
                               allow_nodes=frozenset({"edu"}), allow_tags=frozenset({"tag-x"}))}


@pytest.mark.parametrize("who,expected_rule", [
    (viewer(at=VILLAGE), "hidden"),
    (viewer(at=SECRET_TEAM), "default"),                        # holds a post inside
    (viewer(at=VILLAGE, admin_scopes=(TOWN,)), "admin.scope"),  # admin scope covers it
    (viewer(at=VILLAGE, person_id="listed-person"), "default"),  # allow-list: person
    (viewer(at=OFFICE), "default"),                              # allow-list: node (edu)
    (viewer(at=VILLAGE, tags=frozenset({"tag-x"})), "default"),  # allow-list: tag
], ids=["stranger", "member-inside", "admin-scope", "allow-person", "allow-node", "allow-tag"])
def test_hidden_nodes_and_their_exceptions(who: Viewer, expected_rule: str) -> None:
    d = decide(who, target(at=SECRET_TEAM), Rules(), HIDDEN)
    assert d.rule == expected_rule
    assert d.exists is (expected_rule != "hidden")


def test_hidden_wins_over_rules() -> None:
    rules = Rules(matrix={("Q3", "Q3"): Mode.DIRECT})
    assert decide(viewer(at=VILLAGE), target(at=SECRET), rules, HIDDEN).mode is Mode.NONE


def test_post_in_hidden_node_does_not_exist_but_visible_post_keeps_target() -> None:
    t = target(posts=(SECRET, VILLAGE))
    d = decide(viewer(at=VILLAGE), t, Rules(), HIDDEN)
    assert d.rule == "default" and d.exists


@pytest.mark.parametrize("who,expected", [
    (viewer(), ("person.not_searchable", Mode.NONE)),
    (viewer(person_id="t"), ("self", Mode.DIRECT)),
    (viewer(admin_scopes=(EDU,)), ("admin.scope", Mode.DIRECT)),
    (viewer(accepted_by=frozenset({"t"})), ("contact.accepted", Mode.DIRECT)),
], ids=["anyone", "themselves", "admin", "accepted-contact"])
def test_not_searchable_people(who: Viewer, expected: tuple) -> None:
    d = decide(who, target(not_searchable=True), Rules(), NO_HIDDEN)
    assert (d.rule, d.mode) == expected


def test_not_searchable_flag_beats_unit_override() -> None:
    rules = Rules(overrides={"edu": {("Q3", "Q3"): Mode.DIRECT}})
    assert decide(viewer(), target(not_searchable=True), rules, NO_HIDDEN).mode is Mode.NONE


def test_accepted_contact_turns_searchable_into_direct() -> None:
    v = viewer("Q4", accepted_by=frozenset({"t"}))
    d = decide(v, target("Q1"), QINGPU_RULES, NO_HIDDEN)
    assert (d.mode, d.rule) == (Mode.DIRECT, "contact.accepted")


@pytest.mark.parametrize("who,mode", [
    (viewer(), Mode.NONE), (viewer(admin_scopes=(ROOT,)), Mode.DIRECT),
    (viewer(admin_scopes=(TOWN,)), Mode.NONE)], ids=["user", "admin-with-scope", "admin-elsewhere"])
def test_deactivated_people_exist_only_for_admins_with_scope(who: Viewer, mode: Mode) -> None:
    d = decide(who, target(active=False), Rules(), NO_HIDDEN)
    assert (d.mode, d.rule) == (mode, "person.deactivated")


def test_person_without_any_post_is_not_visible() -> None:
    assert decide(viewer(), target(posts=()), Rules(), NO_HIDDEN).mode is Mode.NONE
