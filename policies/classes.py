"""Q1–Q4 visibility classes (001 组织人员规范 §10): the default class of a person.

Q1 (district leaders) and Q2 (department, street and town leaders) are named explicitly
by an administrator. Otherwise the class follows the primary post: a post under the
镇街道 category (streets and towns) or in a village/residential committee gives Q4,
anywhere else Q3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

STREETS_AND_TOWNS_CATEGORY = "镇街道"
GRASSROOTS_NODE_TYPES = frozenset({"village", "residential"})


@dataclass(frozen=True)
class NodeFacts:
    """What the rule needs to know of one node on the path from the root."""

    level: int
    short_name: str
    type: str


@dataclass(frozen=True)
class Decision:
    value: str
    rule: str


def default_class(path: Sequence[NodeFacts]) -> Decision:
    """Class for a person whose primary post is at the last node of ``path`` (root first)."""
    for node in path:
        if node.level == 1 and node.short_name == STREETS_AND_TOWNS_CATEGORY:
            return Decision("Q4", "class.default.streets_and_towns")
        if node.type in GRASSROOTS_NODE_TYPES:
            return Decision("Q4", "class.default.village")
    if not path:
        return Decision("Q3", "class.default.no_post")
    return Decision("Q3", "class.default.district")
