from directory import people
from directory import queries
from tests import factories as f


def test_tree_and_person(session, dsettings, ctx):
    with session.begin():
        t = f.qingpu(session, ctx)
        p = f.person(session, dsettings, ctx, t["village"], "李娜")
        q = f.person(session, dsettings, ctx, t["office"], "王芳")
    assert p.visibility_class.value == "Q4"
    assert q.visibility_class.value == "Q3"
    rows = queries.subtree_members(session, t["root"])
    assert {r.name for r in rows} == {"李娜", "王芳"}
    assert people.find_by_mobile(session, dsettings, people.reveal(session, dsettings, p, "mobile")).id == p.id
