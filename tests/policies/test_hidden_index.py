"""``HiddenNodes``' reverse indexes answer ``visible_hidden`` and ``outermost_hidden``
exactly as testing every hidden node with ``hidden_node_visible`` does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from policies import visibility as pv

# a small tree: node i's parent is parents[i - 1] (< i); ids are "n0", "n1", ...
trees = st.lists(st.integers(0, 30), min_size=1, max_size=25)


def paths_of(parents: list[int]) -> list[pv.Path]:
    paths: list[pv.Path] = [("n0",)]
    for i, p in enumerate(parents, start=1):
        paths.append(paths[p % i] + (f"n{i}",))
    return paths


@given(parents=trees, data=st.data())
def test_index_equals_testing_every_hidden_node(parents, data) -> None:
    paths = paths_of(parents)
    pick = st.integers(0, len(paths) - 1)
    hidden = {}
    for i in data.draw(st.sets(pick, max_size=8)):
        hidden[paths[i][-1]] = pv.HiddenNode(
            paths[i],
            allow_people=frozenset(data.draw(st.sets(st.sampled_from(["p1", "p2"])))),
            allow_nodes=frozenset(paths[j][-1] for j in data.draw(st.sets(pick, max_size=2))),
            allow_tags=frozenset(data.draw(st.sets(st.sampled_from(["t1", "t2"])))))
    viewer = pv.Viewer(
        person_id=data.draw(st.sampled_from(["p1", "p2", "p3"])), cls="Q3",
        posts=tuple(paths[i] for i in data.draw(st.lists(pick, max_size=3))),
        admin_scopes=tuple(paths[i] for i in data.draw(st.lists(pick, max_size=2))),
        tags=frozenset(data.draw(st.sets(st.sampled_from(["t1", "t2", "t3"])))))
    indexed = pv.HiddenNodes(hidden)
    assert pv.visible_hidden(viewer, indexed) == pv.visible_hidden(viewer, dict(hidden)) == \
        frozenset(k for k, h in hidden.items() if pv.hidden_node_visible(viewer, h))
    for key, h in hidden.items():
        expected = next(n for n in h.path if n in hidden)
        assert pv.outermost_map(indexed)[key] == pv.outermost_map(dict(hidden))[key] == expected
    for under in [()] + paths:
        expected_keys = sorted(k for k, h in hidden.items()
                               if pv.within(h.path, under) or pv.within(under, h.path))
        assert sorted(pv.hidden_on_or_under(indexed, under)) == expected_keys
        assert sorted(pv.hidden_on_or_under(dict(hidden), under)) == expected_keys
    app = pv.app_viewer(pv.AppAccess(app_id="a", scopes=(paths[0],),
                                     hidden_grants=frozenset({"n1", "n2", "n99"})))
    assert pv.visible_hidden(app, indexed) == frozenset({"n1", "n2"}) & hidden.keys()
