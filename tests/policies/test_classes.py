"""policies.classes.default_class: the default Q class of a primary post's path."""

from __future__ import annotations

import pytest

from policies.classes import GRASSROOTS_NODE_TYPES
from policies.classes import STREETS_AND_TOWNS_CATEGORY
from policies.classes import NodeFacts
from policies.classes import default_class

ROOT = NodeFacts(0, "青浦区", "jurisdiction")
GOV = NodeFacts(1, "区政府", "category")
STREETS = NodeFacts(1, STREETS_AND_TOWNS_CATEGORY, "category")
EDU = NodeFacts(2, "区教育局", "department")
TOWN = NodeFacts(2, "朱家角镇", "town")
OFFICE = NodeFacts(3, "办公室", "internal")


def at(level: int, short_name: str = "科室", type_: str = "internal") -> NodeFacts:
    return NodeFacts(level, short_name, type_)


CASES = [
    ("no-post", [], "Q3", "class.default.no_post"),
    ("root", [ROOT], "Q3", "class.default.district"),
    ("department", [ROOT, GOV, EDU], "Q3", "class.default.district"),
    ("department-office", [ROOT, GOV, EDU, OFFICE], "Q3", "class.default.district"),
    ("streets-category", [ROOT, STREETS], "Q4", "class.default.streets_and_towns"),
    ("town", [ROOT, STREETS, TOWN], "Q4", "class.default.streets_and_towns"),
    ("town-office", [ROOT, STREETS, TOWN, at(3, "党政办")], "Q4",
     "class.default.streets_and_towns"),
    ("village-in-town", [ROOT, STREETS, TOWN, at(3, "张马村", "village")], "Q4",
     "class.default.streets_and_towns"),
    ("village-elsewhere", [ROOT, GOV, at(2, "某村", "village")], "Q4", "class.default.village"),
    ("residential-elsewhere", [ROOT, GOV, at(2, "某居委会", "residential")], "Q4",
     "class.default.village"),
    ("below-village", [ROOT, GOV, at(2, "某村", "village"), at(3, "村民小组")], "Q4",
     "class.default.village"),
    ("streets-name-at-level-2", [ROOT, GOV, at(2, STREETS_AND_TOWNS_CATEGORY)], "Q3",
     "class.default.district"),
    ("streets-name-at-root", [at(0, STREETS_AND_TOWNS_CATEGORY, "category")], "Q3",
     "class.default.district"),
    ("full-name-not-short-name", [ROOT, at(1, "镇街道办事处", "category")], "Q3",
     "class.default.district"),
    ("town-type-outside-streets", [ROOT, GOV, at(2, "某镇", "town")], "Q3",
     "class.default.district"),
]


@pytest.mark.parametrize(("path", "value", "rule"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_default_class(path, value, rule):
    decision = default_class(path)
    assert (decision.value, decision.rule) == (value, rule)


def test_accepts_any_sequence():
    assert default_class((ROOT, STREETS)).value == "Q4"


def test_grassroots_types():
    assert GRASSROOTS_NODE_TYPES == {"village", "residential"}
