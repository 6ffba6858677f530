"""The contacts API from the outside: bearer tokens, 404-not-403 with identical bodies,
hidden nodes, the Q matrix, masked mobiles, keyset pagination, frozen accounts."""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from directory import accounts
from directory import rules
from idp import create_app
from idp.app import runtime
from tests import factories as f
from tests.idp.support import bearer
from tests.idp.support import without_request_id


def test_requires_a_bearer_token(world) -> None:
    app, _ = world
    r = app.test_client().get("/api/v1/me")
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_request"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = app.test_client().get("/api/v1/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_token"


def test_rejects_foreign_and_expired_tokens(world) -> None:
    app, w = world
    foreign = jwt.encode({"alg": "ES256", "kid": "nope", "typ": "at+jwt"},
                         {"sub": str(w["clerk_account"]), "exp": int(time.time()) + 60},
                         ECKey.generate_key("P-256"))
    client = app.test_client()
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {foreign}"}
                      ).status_code == 401
    expired = bearer(app, w["clerk_account"], ttl=-120)
    assert client.get("/api/v1/me", headers=expired).get_json()["error"] == "invalid_token"


def test_me(world) -> None:
    app, w = world
    body = app.test_client().get("/api/v1/me", headers=bearer(app, w["clerk_account"])).get_json()
    assert body["name"] == "李娜" and body["visibility_class"] == "Q3"
    assert body["account"] == {"username": "clerk", "type": "user"}


def test_frozen_account_is_dead_at_once(world, sessions, ctx) -> None:
    app, w = world
    headers = bearer(app, w["clerk_account"])
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with sessions.begin() as s:
        accounts.freeze(s, ctx, w["clerk_account"])
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_hidden_node_answers_exactly_like_an_unknown_id(world) -> None:
    app, w = world
    client, headers = app.test_client(), bearer(app, w["villager_account"])
    hidden = client.get(f"/api/v1/nodes/{w['secret']}", headers=headers)
    unknown = client.get(f"/api/v1/nodes/{f.uid()}", headers=headers)
    assert hidden.status_code == unknown.status_code == 404
    assert without_request_id(hidden.get_json()) == without_request_id(unknown.get_json())
    children = client.get(f"/api/v1/nodes/{w['edu']}/children", headers=headers).get_json()
    assert [c["id"] for c in children["items"]] == [str(w["office"])]
    spy = client.get(f"/api/v1/people/{w['spy']}", headers=headers)
    assert spy.status_code == 404
    assert without_request_id(spy.get_json()) == without_request_id(unknown.get_json())


def test_rules_shape_listing_and_person_reads(world) -> None:
    app, w = world
    client = app.test_client()
    q4, q3 = bearer(app, w["villager_account"]), bearer(app, w["clerk_account"])
    listed = lambda h: {i["name"] for i in client.get(  # noqa: E731
        f"/api/v1/nodes/{w['root']}/people?limit=200", headers=h).get_json()["items"]}
    assert "王建国" in listed(q3) and "王建国" not in listed(q4)
    assert "赵敏" not in listed(q3)
    leader_for_q4 = client.get(f"/api/v1/people/{w['leader']}", headers=q4).get_json()
    assert leader_for_q4["mode"] == "searchable" and leader_for_q4["contact"] == "after_consent"
    clerk_for_q4 = client.get(f"/api/v1/people/{w['clerk']}", headers=q4).get_json()
    assert clerk_for_q4["mobile"] == "13812345678" and clerk_for_q4["mode"] == "direct"


def test_searchable_target_shows_masked_mobile(world, sessions, ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        rules.set_rule(s, ctx, "Q4", "Q3", "searchable")
    body = app.test_client().get(f"/api/v1/people/{w['clerk']}",
                                 headers=bearer(app, w["villager_account"])).get_json()
    assert body["mobile"] == "138****5678" and body["email"] is None


def test_national_id_never_in_any_response(world) -> None:
    app, w = world
    client, headers = app.test_client(), bearer(app, w["villager_account"])
    text = client.get(f"/api/v1/people/{w['clerk']}", headers=headers).get_data(as_text=True)
    assert f.id_number() not in text and f.id_number()[-4:] not in text


def test_keyset_pagination_visits_everyone_once(world) -> None:
    app, w = world
    client, headers = app.test_client(), bearer(app, w["clerk_account"])
    seen, url = [], f"/api/v1/nodes/{w['office']}/people?limit=3"
    while url:
        body = client.get(url, headers=headers).get_json()
        seen += [i["person_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        url = f"/api/v1/nodes/{w['office']}/people?limit=3&cursor={cursor}" if cursor else None
    assert len(seen) == len(set(seen)) == 8


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=999", "cursor=!!!"])
def test_bad_paging_parameters_are_400(world, query) -> None:
    app, w = world
    r = app.test_client().get(f"/api/v1/nodes/{w['office']}/people?{query}",
                              headers=bearer(app, w["clerk_account"]))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_request"


def test_contact_request_then_accept_makes_direct(world) -> None:
    app, w = world
    client = app.test_client()
    q4 = bearer(app, w["villager_account"])
    r = client.post("/api/v1/contact-requests", json={"target_id": str(w["leader"])}, headers=q4)
    assert r.status_code == 201 and r.get_json()["status"] == "pending"
    link_id = r.get_json()["id"]
    again = client.post("/api/v1/contact-requests", json={"target_id": str(w["leader"])},
                        headers=q4)
    assert again.status_code == 409
    # only the target accepts: the clerk cannot accept a request made to the leader
    wrong = client.post(f"/api/v1/contact-requests/{link_id}/accept",
                        headers=bearer(app, w["clerk_account"]))
    assert wrong.status_code == 404
    direct = client.post("/api/v1/contact-requests", json={"target_id": str(w["clerk"])},
                         headers=q4)
    assert direct.status_code == 409 and direct.get_json()["error"] == "already_contactable"
    hidden = client.post("/api/v1/contact-requests", json={"target_id": str(w["spy"])},
                         headers=q4)
    assert hidden.status_code == 404


def test_contact_acceptance_by_target(world, sessions, dsettings, ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        leader_account = accounts.create(s, dsettings, ctx, username="leader",
                                         account_type="user", person_id=w["leader"])
        leader_id = leader_account.id
    client = app.test_client()
    q4 = bearer(app, w["villager_account"])
    link_id = client.post("/api/v1/contact-requests", json={"target_id": str(w["leader"])},
                          headers=q4).get_json()["id"]
    ok = client.post(f"/api/v1/contact-requests/{link_id}/accept",
                     headers=bearer(app, leader_id))
    assert ok.status_code == 200 and ok.get_json()["status"] == "accepted"
    body = client.get(f"/api/v1/people/{w['leader']}", headers=q4).get_json()
    assert body["mode"] == "direct"


def test_tags_visible_by_owner_and_share_and_members_filtered(world, sessions, ctx) -> None:
    app, w = world
    from directory import tags

    with sessions.begin() as s:
        tag = tags.create(s, ctx, name="防汛联络员", owner_node_id=w["town"],
                          shared_with=[w["office"]])
        tags.add_member(s, ctx, tag.id, person_id=w["villager"])
        tags.add_member(s, ctx, tag.id, person_id=w["spy"])
        tags.add_member(s, ctx, tag.id, node_id=w["gov"])
        private = tags.create(s, ctx, name="内部", owner_node_id=w["secret"])
        tag_id, private_id = tag.id, private.id
    client = app.test_client()
    q3 = bearer(app, w["clerk_account"])
    names = [t["name"] for t in client.get("/api/v1/tags", headers=q3).get_json()["items"]]
    assert names == ["防汛联络员"]
    people = client.get(f"/api/v1/tags/{tag_id}/people?limit=200",
                        headers=q3).get_json()["items"]
    # 张伟 directly; everyone under 区政府 through the node member; 赵敏 sits in a hidden node
    expected = {"张伟", "王建国", "李娜"} | {f"科员{i}" for i in range(7)}
    assert {p["name"] for p in people} == expected
    assert client.get(f"/api/v1/tags/{private_id}/people", headers=q3).status_code == 404


def test_quota_429_and_bulk_read_audit(world, settings, sessions) -> None:
    import dataclasses

    from sqlalchemy import select

    from directory.models import AuditEvent

    _, w = world
    app = create_app(dataclasses.replace(settings, contacts_reads_per_minute=12,
                                         bulk_read_threshold=5))
    try:
        client, headers = app.test_client(), bearer(app, w["clerk_account"])
        first = client.get(f"/api/v1/nodes/{w['office']}/people?limit=8", headers=headers)
        assert first.status_code == 200 and len(first.get_json()["items"]) == 8
        with sessions() as s:
            bulk = s.scalars(select(AuditEvent).where(
                AuditEvent.action == "directory.bulk_read")).all()
        assert len(bulk) == 1 and '"people": 8' in bulk[0].summary
        second = client.get(f"/api/v1/nodes/{w['office']}/people?limit=8", headers=headers)
        assert second.status_code == 429 and second.get_json()["error"] == "rate_limited"
        assert int(second.headers["Retry-After"]) <= 60
        other = client.get(f"/api/v1/people/{w['clerk']}",
                           headers=bearer(app, w["villager_account"]))
        assert other.status_code == 200  # quotas are per viewer
    finally:
        runtime(app).engine.dispose()


def test_explain_names_the_deciding_rule_for_admins_only(world, sessions, dsettings,
                                                         ctx) -> None:
    app, w = world
    with sessions.begin() as s:
        boss = accounts.create(s, dsettings, ctx, username="sysadmin",
                               account_type="system_admin")
        boss_id = boss.id
        rules.grant(s, ctx, w["clerk_account"], [w["town"]], ["visibility"])
    client = app.test_client()
    url = f"/api/v1/admin/visibility/explain?viewer={w['villager']}&target={w['leader']}"
    body = client.get(url, headers=bearer(app, boss_id)).get_json()
    assert (body["mode"], body["rule"], body["contact"]) == (
        "searchable", "matrix", "after_consent")
    spy = client.get(f"/api/v1/admin/visibility/explain?viewer={w['villager']}"
                     f"&target={w['spy']}", headers=bearer(app, boss_id)).get_json()
    assert (spy["mode"], spy["rule"]) == ("none", "hidden")
    # a graded admin over the town may ask about people there, not about the leader
    graded = bearer(app, w["clerk_account"])
    assert client.get(url, headers=graded).status_code == 404
    own = client.get(f"/api/v1/admin/visibility/explain?viewer={w['clerk']}"
                     f"&target={w['villager']}", headers=graded).get_json()
    assert own["rule"] == "admin.scope"
    # a plain user is refused exactly like a missing person
    assert client.get(url, headers=bearer(app, w["villager_account"])).status_code == 404


@pytest.mark.parametrize("q,viewer,expected", [
    ("李", "villager_account", {("李娜", "direct")}),
    ("lina", "villager_account", {("李娜", "direct")}),
    ("ln", "villager_account", {("李娜", "direct")}),
    ("+86 138 1234 5678", "villager_account", {("李娜", "direct")}),
    ("王建", "villager_account", set()),                       # Q4→Q1 searchable: no prefix
    ("王建国", "villager_account", {("王建国", "searchable")}),  # exact full name
    ("王建", "clerk_account", {("王建国", "direct")}),
    ("赵敏", "clerk_account", set()),                          # hidden node
    ("%", "clerk_account", set()),
], ids=["name-prefix", "pinyin", "initials", "mobile", "searchable-no-prefix",
        "searchable-exact", "q3-prefix", "hidden", "like-metachar"])
def test_search(world, q, viewer, expected) -> None:
    app, w = world
    r = app.test_client().get("/api/v1/people/search", query_string={"q": q},
                              headers=bearer(app, w[viewer]))
    assert r.status_code == 200
    assert {(h["name"], h["mode"]) for h in r.get_json()["items"]} == expected


def test_search_needs_a_query(world) -> None:
    app, w = world
    r = app.test_client().get("/api/v1/people/search", headers=bearer(app, w["clerk_account"]))
    assert r.status_code == 400
