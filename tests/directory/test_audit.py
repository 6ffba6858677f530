"""The hash-chained audit log: who/where on every write, no secrets, tamper detection."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select
from sqlalchemy import text

from directory import accounts
from directory import audit
from directory import people
from directory import tags
from directory import tree
from directory.models import AuditEvent
from tests import factories as f
from tests.directory.helpers import audit_events

CTX = audit.Context(actor="console:admin1", on_behalf_of="user:zhangwei",
                    source_ip="192.0.2.7", request_id="req-42")


def test_every_write_records_its_context(session, dsettings):
    seen = 0

    def expect(*actions):
        nonlocal seen
        new = list(session.scalars(select(AuditEvent).where(AuditEvent.seq > seen)
                                   .order_by(AuditEvent.seq)))
        assert [e.action for e in new] == list(actions)
        for e in new:
            assert (e.actor, e.on_behalf_of, e.source_ip, e.request_id) == (
                "console:admin1", "user:zhangwei", "192.0.2.7", "req-42"), e.action
            assert e.at.tzinfo is not None
        seen = new[-1].seq

    with session.begin():
        t = f.qingpu(session, CTX)
        expect(*["node.created"] * 7)
        extra = f.node(session, CTX, t["gov"], "临时办")
        tree.update_node(session, CTX, extra.id, name="临时办公室")
        tree.update_node(session, CTX, extra.id, hidden=True)
        tree.reorder(session, CTX, t["gov"].id, [extra.id, t["edu"].id])
        tree.move(session, CTX, extra.id, t["edu"].id)
        expect("node.created", "node.renamed", "node.updated", "node.reordered", "node.moved")
        p = f.person(session, dsettings, CTX, t["office"], id_number=f.id_number())
        people.update(session, dsettings, CTX, p.id, people.PersonData(mobile=f.mobile()))
        people.transfer(session, CTX, p.id, people.PostSpec(node_id=t["edu"].id))
        post = people.second(session, CTX, p.id, people.PostSpec(node_id=t["town"].id),
                             dt.date(2025, 1, 1), dt.date(2025, 2, 1))
        people.add_concurrent(session, CTX, p.id, people.PostSpec(node_id=t["village"].id))
        people.end_post(session, CTX, post.id)
        people.remove_from_node(session, CTX, p.id, t["village"].id)
        expect("person.added", "person.updated", "person.transferred", "person.seconded",
               "post.added", "post.ended", "person.removed")
        a = accounts.create(session, dsettings, CTX, username="zhangwei", account_type="user",
                            person_id=p.id, password="a long password")
        accounts.set_password(session, dsettings, CTX, a.id, "another long one")
        accounts.set_totp_secret(session, dsettings, CTX, a.id, "JBSWY3DPEHPK3PXP")
        accounts.set_totp_secret(session, dsettings, CTX, a.id, None)
        accounts.freeze(session, CTX, a.id)
        accounts.unfreeze(session, CTX, a.id)
        expect("account.created", "account.password_changed", "account.totp_set",
               "account.totp_cleared", "account.frozen", "account.unfrozen")
        tag = tags.create(session, CTX, name="值班", owner_node_id=t["edu"].id)
        tags.add_member(session, CTX, tag.id, person_id=p.id)
        tags.remove_member(session, CTX, tag.id, person_id=p.id)
        tags.set_shares(session, CTX, tag.id, [t["town"].id])
        tags.delete_tag(session, CTX, tag.id)
        expect("tag.created", "tag.member_added", "tag.member_removed", "tag.shared",
               "tag.deleted")
        tree.merge(session, CTX, t["office"].id, t["gov"].id)
        tree.abolish(session, CTX, t["village"].id)
        people.deactivate(session, CTX, p.id, "other")
        expect("node.merged", "node.abolished", "person.deactivated")
        assert list(audit.verify(session)) == []


def test_summaries_hold_no_secrets(session, sessions, ctx, dsettings):
    mobiles, ids = ["13912345678", "13787654321"], [f.id_number(seq=11), f.id_number(seq=12)]
    passwords, totp = ["first password 1", "second password 2"], "JBSWY3DPEHPK3PXP"
    with session.begin():
        t = f.qingpu(session, ctx)
        p = f.person(session, dsettings, ctx, t["office"], mobile="+86 139 1234 5678",
                     id_number=ids[0])
        people.update(session, dsettings, ctx, p.id,
                      people.PersonData(mobile=mobiles[1], id_number=ids[1]))
        a = accounts.create(session, dsettings, ctx, username="zhangwei", account_type="user",
                            person_id=p.id, password=passwords[0])
        accounts.set_password(session, dsettings, ctx, a.id, passwords[1])
        accounts.set_totp_secret(session, dsettings, ctx, a.id, totp)
        hashes = [a.password_hash]
    events = audit_events(sessions)
    assert summary_of(events, "person.updated") == (
        '{"changed": {"id_number": "[set]", "mobile": "[set]"}}')
    for event in events:
        row = " ".join(str(getattr(event, c.key)) for c in AuditEvent.__table__.columns)
        for secret in [*mobiles, *ids, *passwords, totp, *hashes, "1234 5678"]:
            assert secret not in row, (event.action, secret)


def summary_of(events, action):
    return next(e.summary for e in events if e.action == action)


def test_scrub_marks_sensitive_keys_at_any_depth():
    assert audit.scrub({"mobile": "138", "a": {"password": "", "secret": "x", "b": 1},
                        "name": "张伟"}) == {
        "mobile": "[set]", "a": {"password": "[cleared]", "secret": "[set]", "b": 1},
        "name": "张伟"}


def test_empty_chain(session):
    with session.begin():
        assert list(audit.verify(session)) == []
        assert audit.head(session) == (0, audit.GENESIS_HASH)


def test_chain_links(session, sessions, ctx):
    with session.begin():
        f.qingpu(session, ctx)
    events = audit_events(sessions)
    assert [e.seq for e in events] == list(range(1, 8))
    assert events[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    assert all(audit.compute_hash(e) == e.hash for e in events)
    with sessions() as s:
        assert list(audit.verify(s)) == []
        assert audit.head(s) == (7, events[-1].hash)


def _recompute(sessions):
    """An attacker who edits record 3 and recomputes its hash: record 4's link breaks."""
    with sessions() as s:
        event = s.get_one(AuditEvent, 3)
        event.summary = '{"code": "forged"}'
        forged = audit.compute_hash(event)
    return ("UPDATE audit_events SET summary = '{\"code\": \"forged\"}', hash = :h "
            "WHERE seq = 3", {"h": forged})


FORGE_AT_END = (
    "INSERT INTO audit_events (seq, at, actor, on_behalf_of, action, target_type, target_id,"
    " summary, source_ip, request_id, prev_hash, hash)"
    " SELECT seq + 1, at, 'intruder', on_behalf_of, action, target_type, target_id, summary,"
    " source_ip, request_id, hash, :h FROM audit_events WHERE seq = 8")

TAMPERING = {
    "edit-summary": (lambda s: ("UPDATE audit_events SET summary = '{}' WHERE seq = 3", {}),
                     [3]),
    "edit-actor": (lambda s: ("UPDATE audit_events SET actor = 'x' WHERE seq = 6", {}), [6]),
    "edit-prev-hash": (lambda s: ("UPDATE audit_events SET prev_hash = :h WHERE seq = 5",
                                  {"h": "a" * 64}), [5]),
    "edit-and-rehash": (_recompute, [4]),
    "delete-middle": (lambda s: ("DELETE FROM audit_events WHERE seq = 3", {}), [4]),
    "delete-range": (lambda s: ("DELETE FROM audit_events WHERE seq IN (3, 4, 5)", {}), [6]),
    "delete-first": (lambda s: ("DELETE FROM audit_events WHERE seq = 1", {}), [2]),
    "forge-at-end": (lambda s: (FORGE_AT_END, {"h": "f" * 64}), [9]),
}


@pytest.mark.parametrize("case", list(TAMPERING))
def test_tampering_is_named(session, sessions, ctx, dsettings, case):
    with session.begin():
        t = f.qingpu(session, ctx)
        f.person(session, dsettings, ctx, t["office"])  # 8 records
    make_sql, expected = TAMPERING[case]
    sql, params = make_sql(sessions)
    with sessions.begin() as s:
        assert s.execute(text(sql), params).rowcount >= 1
    with sessions() as s:
        findings = list(audit.verify(s))
    assert sorted({finding.seq for finding in findings}) == expected, [str(x) for x in findings]


def _run_writers(writer, count: int) -> None:
    """``writer("w0")`` … in ``count`` threads at once; any exception fails the test."""
    errors: list[BaseException] = []

    def guarded(name: str) -> None:
        try:
            writer(name)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(f"w{n}",)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []


def test_concurrent_writers_never_fork_the_chain(sessions):
    def writer(name: str) -> None:
        for i in range(10):
            with sessions.begin() as s:
                audit.record(s, "test.write", audit.Context(actor=name), summary={"i": i})

    _run_writers(writer, 2)
    with sessions() as s:
        assert list(audit.verify(s)) == []
        assert audit.head(s)[0] == 20


def test_overlapping_transactions_chain_at_commit(sessions):
    """Both writers hold queued records at once (a barrier): neither waits for the other
    until COMMIT, and the chain comes out whole, each transaction's records consecutive."""
    barrier = threading.Barrier(4, timeout=30)

    def writer(name: str) -> None:
        for i in range(5):
            with sessions.begin() as s:
                for j in range(3):
                    audit.record(s, "test.write", audit.Context(actor=name),
                                 summary={"i": i, "j": j})
                barrier.wait()  # every writer's transaction is open with 3 records

    _run_writers(writer, 4)
    events = audit_events(sessions)
    assert [e.seq for e in events] == list(range(1, 61))
    for k in range(0, 60, 3):  # one transaction's three records are never interleaved
        batch = events[k:k + 3]
        assert len({e.actor for e in batch}) == 1
        assert [json_j(e) for e in batch] == [0, 1, 2]
    with sessions() as s:
        assert list(audit.verify(s)) == []


def json_j(event):
    return int(event.summary.split('"j": ')[1].split(",")[0].rstrip("}"))


def test_a_transaction_reads_its_own_records(session):
    with session.begin():
        audit.record(session, "test.one", audit.SYSTEM)
        audit.record(session, "test.two", audit.SYSTEM)
        assert audit.head(session)[0] == 2
        audit.record(session, "test.three", audit.SYSTEM)
        actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
        assert actions == ["test.one", "test.two", "test.three"]
    with session.begin():
        assert list(audit.verify(session)) == []


def test_records_of_a_rolled_back_savepoint_or_transaction_are_dropped(session, sessions):
    with session.begin():
        audit.record(session, "test.kept", audit.SYSTEM)
        with pytest.raises(RuntimeError), session.begin_nested():
            audit.record(session, "test.dropped", audit.SYSTEM)
            raise RuntimeError
        with session.begin_nested():
            audit.record(session, "test.released", audit.SYSTEM)
    with pytest.raises(RuntimeError), session.begin():
        audit.record(session, "test.rolled_back", audit.SYSTEM)
        raise RuntimeError
    with session.begin():
        audit.record(session, "test.after", audit.SYSTEM)
    assert [e.action for e in audit_events(sessions)] == [
        "test.kept", "test.released", "test.after"]
    with sessions() as s:
        assert list(audit.verify(s)) == []
