"""The per-process copy of the hidden nodes lives only while the database's token is
unchanged: every write that changes hidden nodes, their paths or allow-lists changes the
token in the same transaction, so the next read — in any worker — reloads."""

from __future__ import annotations

from directory import rules
from directory import tree
from directory import versions
from directory import visibility as dv
from tests import factories as f


def _hidden(s):
    """The hidden nodes as every request reads them (with the rules, one token read)."""
    return dv.load_policy_cached(s)[1]


def test_cached_until_a_hidden_change(sessions, ctx, dsettings) -> None:
    with sessions.begin() as s:
        t = f.qingpu(s, ctx)
        secret = f.node(s, ctx, t["edu"], "督查室", hidden=True)
        clerk = f.person(s, dsettings, ctx, t["office"], "李娜")
    with sessions() as s:
        first = _hidden(s)
        assert _hidden(s) is first  # no change: the same copy
        assert set(first) == {dv.tokens(secret.path)[-1]}
    steps = [
        lambda s: tree.update_node(s, ctx, t["village"].id, hidden=True),
        lambda s: rules.allow_hidden(s, ctx, secret.id, person_id=clerk.id),
        lambda s: tree.move(s, ctx, secret.id, t["town"].id),
        lambda s: tree.update_node(s, ctx, t["village"].id, hidden=False),
    ]
    for step in steps:
        with sessions() as s:
            before = _hidden(s)
        with sessions.begin() as s:
            step(s)
        with sessions() as s:
            after = _hidden(s)
            assert after is not before and after == dv.load_hidden(s)
    with sessions() as s:
        moved = _hidden(s)[dv.tokens(secret.path)[-1]]
        assert moved.path[:3] == dv.tokens(s.get_one(type(t["town"]), t["town"].id).path)
        assert str(clerk.id) in moved.allow_people


def test_unchanged_writes_keep_the_copy(sessions, ctx) -> None:
    with sessions.begin() as s:
        t = f.qingpu(s, ctx)
        versions.bump(s, versions.HIDDEN)  # the suite's truncation removed the token row
    with sessions() as s:
        first = _hidden(s)
        token = versions.token(s, versions.HIDDEN)
    with sessions.begin() as s:
        tree.update_node(s, ctx, t["office"].id, name="综合办公室")
    with sessions() as s:
        assert versions.token(s, versions.HIDDEN) == token
        assert _hidden(s) is first



def test_no_token_no_copy(sessions, ctx) -> None:
    """Without a token row nothing is cached: every read loads afresh."""
    from sqlalchemy import delete

    from directory.models import CacheVersion

    with sessions.begin() as s:
        f.qingpu(s, ctx)
        s.execute(delete(CacheVersion))
    with sessions() as s:
        assert _hidden(s) is not _hidden(s)


def test_rules_cached_until_a_rule_changes(sessions, ctx) -> None:
    """``load_policy_cached``: the rules, like the hidden nodes, are kept while the rules
    token is unchanged; setting or clearing any cell changes it in the same transaction."""
    with sessions.begin() as s:
        t = f.qingpu(s, ctx)
        rules.set_rule(s, ctx, "Q4", "Q1", "searchable")
        versions.bump(s, versions.HIDDEN)  # the suite's truncation removed the token row
    with sessions() as s:
        first, hidden = dv.load_policy_cached(s)
        again, hidden_again = dv.load_policy_cached(s)
        assert again is first and hidden_again is hidden
        assert first == dv.load_rules(s)
    for step in (lambda s: rules.set_rule(s, ctx, "Q3", "Q2", "none", t["town"].id),
                 lambda s: rules.set_rule(s, ctx, "Q4", "Q1", None)):
        with sessions() as s:
            before, _ = dv.load_policy_cached(s)
        with sessions.begin() as s:
            step(s)
        with sessions() as s:
            after, _ = dv.load_policy_cached(s)
            assert after is not before and after == dv.load_rules(s)
    with sessions() as s:
        final, _ = dv.load_policy_cached(s)
        assert ("Q4", "Q1") not in final.matrix
        assert final.overrides[dv.tokens(t["town"].path)[-1]][("Q3", "Q2")] == "none"


def test_ensure_creates_missing_tokens_once(sessions, ctx) -> None:
    """``idp init`` runs ``versions.ensure``: a database without token rows gets them, so
    workers can keep their copies; existing tokens are left alone."""
    from sqlalchemy import delete

    from directory.models import CacheVersion

    with sessions.begin() as s:
        f.qingpu(s, ctx)
        s.execute(delete(CacheVersion))
        versions.ensure(s, versions.HIDDEN, versions.RULES)
        first = versions.tokens(s, versions.HIDDEN, versions.RULES)
        versions.ensure(s, versions.HIDDEN, versions.RULES)
        assert versions.tokens(s, versions.HIDDEN, versions.RULES) == first
        assert set(first) == {versions.HIDDEN, versions.RULES}
    with sessions() as s:
        rules_a, hidden_a = dv.load_policy_cached(s)
        rules_b, hidden_b = dv.load_policy_cached(s)
        assert rules_a is rules_b and hidden_a is hidden_b
