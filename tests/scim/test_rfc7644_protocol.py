"""RFC 7644 §2 (authentication and authorisation), §3.12 (errors), §8.1 (media type), and
the scope of each provisioning client: outside it everything is 404."""

from __future__ import annotations

import uuid

import pytest

from directory.models import Node
from directory.models import Person
from tests.scim.conftest import Client
from tests.scim.conftest import mint
from tests.scim.conftest import new_user
from tests.scim.conftest import scim_error


def test_no_token_is_401_in_scim_format(world):
    app, _ = world
    response = Client(app, None).get("/Users")
    scim_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_that_is_not_ours_is_401(world):
    app, _ = world
    scim_error(Client(app, "not.a.token").get("/Users"), 401)


def test_an_app_that_is_not_online_is_401(world):
    app, ids = world
    scim_error(Client(app, mint(app, ids["offline_client"])).get("/Users"), 401)


def test_a_token_without_the_scim_scope_is_403(world):
    app, ids = world
    response = Client(app, mint(app, ids["edu_client"], scope="directory")).get("/Users")
    scim_error(response, 403)
    assert "insufficient_scope" in response.headers["WWW-Authenticate"]


def test_a_user_token_is_not_a_scim_client(world):
    app, ids = world
    from idp import tokens
    from idp.app import runtime
    rt = runtime(app)
    with rt.sessions() as s:
        token = tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                         subject=ids["clerk"], client_id=ids["edu_client"],
                                         scope="scim")
    scim_error(Client(app, token).get("/Users"), 401)


def test_unknown_endpoints_and_ids_are_404(edu):
    scim_error(edu.get("/Nothing"), 404)
    scim_error(edu.get("/Users/not-a-uuid"), 404)
    scim_error(edu.get("/Users/00000000-0000-0000-0000-000000000000"), 404)
    scim_error(edu.get("/a/b/c"), 404)


def test_malformed_json_is_invalid_syntax(edu):
    response = edu.http.post("/scim/v2/Users", data=b"{not json",
                             headers=edu._headers(None))
    scim_error(response, 400, "invalidSyntax")


def test_oversize_body_is_413_and_nothing_is_written(edu, sessions):
    with sessions() as s:
        before = s.query(Person).count()
    body = new_user(title="x" * (1024 * 1024 + 10))
    scim_error(edu.post("/Users", body), 413)
    with sessions() as s:
        assert s.query(Person).count() == before


def test_successful_answers_are_scim_json(edu):
    response = edu.get("/Users")
    assert response.status_code == 200
    assert response.mimetype == "application/scim+json"


@pytest.mark.parametrize("who, visible, hidden", [
    ("edu", "clerk", "villager"),
    ("town", "villager", "clerk"),
], ids=["edu-sees-its-clerk-not-the-village", "town-sees-its-village-not-the-bureau"])
def test_scope_isolation_between_units(request, ids, who, visible, hidden):
    client = request.getfixturevalue(who)
    assert client.get(f"/Users/{ids[visible]}").status_code == 200
    for call in (client.get(f"/Users/{ids[hidden]}"),
                 client.put(f"/Users/{ids[hidden]}", new_user("x.y.z")),
                 client.ops(f"/Users/{ids[hidden]}", {"op": "replace", "path": "title",
                                                      "value": "科长"}),
                 client.delete(f"/Users/{ids[hidden]}")):
        scim_error(call, 404)
    listed = {r["id"] for r in client.get("/Users").get_json(force=True)["Resources"]}
    assert ids[visible] in listed and ids[hidden] not in listed
    found = client.get("/Users", filter=f'id eq "{ids[hidden]}"').get_json(force=True)
    assert found["totalResults"] == 0


def test_hidden_nodes_are_provisioned_inside_the_scope_and_absent_outside(edu, town, ids):
    """The bureau's HR system provisions its hidden 督查室; the town's sees nothing of it:
    no resource, no count, no answer to a filter naming it."""
    assert edu.get(f"/Users/{ids['spy']}").status_code == 200
    assert edu.get(f"/OrgUnits/{ids['secret']}").get_json(force=True)["hidden"] is True
    assert edu.get("/OrgUnits", filter="hidden eq true").get_json(
        force=True)["totalResults"] == 1
    scim_error(town.get(f"/Users/{ids['spy']}"), 404)
    scim_error(town.get(f"/OrgUnits/{ids['secret']}"), 404)
    for expr in ('displayName eq "赵敏"', f'id eq "{ids["spy"]}"',
                 f'urn:govidp:params:scim:schemas:extension:gov:2.0:User:posts.node eq '
                 f'"{ids["secret"]}"'):
        assert town.get("/Users", filter=expr).get_json(force=True)["totalResults"] == 0
    assert town.get("/OrgUnits", filter="hidden eq true").get_json(
        force=True)["totalResults"] == 0


def test_out_of_scope_nodes_are_404(edu, ids):
    scim_error(edu.get(f"/OrgUnits/{ids['town']}"), 404)
    scim_error(edu.get(f"/OrgUnits/{ids['root']}"), 404)
    assert edu.get(f"/OrgUnits/{ids['office']}").status_code == 200


def test_me_is_not_for_apps(edu):
    scim_error(edu.get("/Me"), 501)


def test_a_method_an_endpoint_does_not_take_is_405(edu, ids):
    for response in (edu.post("/ServiceProviderConfig", {}), edu.delete("/Schemas"),
                     edu.put("/Users", {}), edu.post(f"/Users/{ids['clerk']}", {})):
        scim_error(response, 405)
        assert response.headers["Allow"]


def test_a_person_seconded_into_the_scope_is_read_not_written(world, edu, town, ids,
                                                              sessions, ctx):
    import datetime as dt
    import uuid

    from directory import people
    with sessions.begin() as s:
        people.second(s, ctx, uuid.UUID(ids["villager"]),
                      people.PostSpec(uuid.UUID(ids["section"]), "借调"),
                      dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    body = edu.get(f"/Users/{ids['villager']}").get_json(force=True)
    posts = body["urn:govidp:params:scim:schemas:extension:gov:2.0:User"]["posts"]
    assert [(p["node"], p["kind"]) for p in posts] == [(ids["section"], "secondment")]
    assert "department" not in body.get(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", {})
    scim_error(edu.ops(f"/Users/{ids['villager']}", {"op": "replace", "path": "title",
                                                 "value": "x"}), 403)
    scim_error(edu.delete(f"/Users/{ids['villager']}"), 403)
    town_view = town.get(f"/Users/{ids['villager']}").get_json(force=True)
    town_posts = town_view["urn:govidp:params:scim:schemas:extension:gov:2.0:User"]["posts"]
    assert [p["kind"] for p in town_posts] == ["primary"]
    ok = town.ops(f"/Users/{ids['villager']}", {"op": "replace", "path": "title",
                                                "value": "村主任"})
    assert ok.status_code == 200, ok.data
    after = edu.get(f"/Users/{ids['villager']}").get_json(force=True)
    assert len(after["urn:govidp:params:scim:schemas:extension:gov:2.0:User"]["posts"]) == 1


def test_end_to_end_with_a_client_credentials_token(world, sessions, ctx, ids):
    """An HR system registered with scope scim gets its token at /oauth/token and
    provisions with it (RFC 6749 §4.4, RFC 9068)."""
    import base64
    import uuid

    from directory import apps
    app, _ = world
    with sessions.begin() as s:
        hr, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="人事系统", scope=("scim",), status="online",
            unit_node_id=uuid.UUID(ids["edu"])))
        apps.set_directory_access(s, ctx, hr, scope_node_ids=[uuid.UUID(ids["edu"])],
                                  hidden_node_ids=[], upward=False)
        client_id = hr.client_id
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    http = app.test_client()
    issued = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                             "scope": "scim"},
                       headers={"Authorization": f"Basic {basic}"})
    assert issued.status_code == 200, issued.data
    token = issued.get_json()["access_token"]
    client = Client(app, token)
    created = client.post("/Users", new_user("hr.first@qp.gov.cn"))
    assert created.status_code == 201, created.data
    assert client.get(f"/Users/{ids['villager']}").status_code == 404


def _person_token(app, account_id, client_id: str, scope: str = "openid scim") -> str:
    from idp import tokens
    from idp.app import runtime
    rt = runtime(app)
    with rt.sessions() as s:
        return tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                        subject=str(account_id), client_id=client_id,
                                        scope=scope)


def test_me_answers_for_a_persons_token(world, ids, sessions, dsettings, ctx):
    import uuid

    from directory import accounts
    app, _ = world
    with sessions.begin() as s:
        account = accounts.create(s, dsettings, ctx, username="li.na", account_type="user",
                                  person_id=uuid.UUID(ids["spy"]))
    me = Client(app, _person_token(app, account.id, ids["edu_client"]))
    response = me.get("/Me")
    assert response.status_code == 200, response.data
    body = response.get_json(force=True)
    assert body["id"] == ids["spy"] and body["userName"] == "li.na"
    assert response.headers["Location"].endswith(f"/Users/{ids['spy']}")
    posts = body["urn:govidp:params:scim:schemas:extension:gov:2.0:User"]["posts"]
    assert [p["node"] for p in posts] == [ids["secret"]]  # their own hidden node
    scim_error(me.ops("/Me", {"op": "replace", "path": "title", "value": "x"}), 403)  # HR's
    scim_error(me.get("/Users"), 401)  # a person's token is no SCIM client
    no_scope = Client(app, _person_token(app, account.id, ids["edu_client"], "openid"))
    scim_error(no_scope.get("/Me"), 403)


def test_a_root_client_sees_every_active_person_placed_or_not(world, central, edu, ids,
                                                              sessions, dsettings, ctx):
    """A client whose scope holds the root maintains the whole directory (the system's
    grant): it sees an active person with no post anywhere; a unit's client does not, and
    nobody sees a deactivated person."""
    from directory import people
    from tests import factories as f

    with sessions.begin() as s:
        unplaced = f.person(s, dsettings, ctx, None, "周游").id
        gone = f.person(s, dsettings, ctx, s.get(Node, uuid.UUID(ids["office"])), "钱多")
        people.deactivate(s, ctx, gone.id, "retired")
        gone_id = gone.id
    assert central.get(f"/Users/{unplaced}").status_code == 200
    listed = central.get("/Users", filter='displayName sw "周"').get_json(force=True)
    assert [r["id"] for r in listed["Resources"]] == [str(unplaced)]
    assert listed["totalResults"] == 1
    scim_error(edu.get(f"/Users/{unplaced}"), 404)
    assert edu.get("/Users", filter='displayName sw "周"').get_json(
        force=True)["totalResults"] == 0
    for client in (central, edu):
        scim_error(client.get(f"/Users/{gone_id}"), 404)
        assert client.get("/Users", filter='displayName eq "钱多"').get_json(
            force=True)["totalResults"] == 0


def test_users_are_listed_by_name_then_id_without_sort_by(central, sessions, dsettings, ctx,
                                                         ids):
    from tests import factories as f

    with sessions.begin() as s:
        at = s.get(Node, uuid.UUID(ids["office"]))
        for name in ("王五", "阿三", "王五", "赵六"):
            f.person(s, dsettings, ctx, at, name)
    pages = [central.get("/Users", startIndex=str(i), count="2").get_json(force=True)
             for i in range(1, 10, 2)]
    listed = [(r["displayName"], r["id"]) for p in pages for r in p["Resources"]]
    assert listed == sorted(listed)
    assert len(listed) == pages[0]["totalResults"] == len({i for _n, i in listed})


def test_a_client_of_two_subtrees_sees_the_posts_and_groups_in_either(world, sessions, ctx,
                                                                    central, ids):
    """The User page's related rows are read by statements built once per number of
    subtrees, with the bounds as parameters: a two-subtree client sees both units' people
    and posts, a one-subtree client of the same shape as another sees only its own."""
    import datetime as dt

    from directory import people
    from tests.scim.conftest import make_client

    app, _ = world
    with sessions.begin() as s:
        both = make_client(s, ctx, "两地人事", [s.get(Node, uuid.UUID(ids["edu"])),
                                              s.get(Node, uuid.UUID(ids["town"]))])
        people.second(s, ctx, uuid.UUID(ids["villager"]),
                      people.PostSpec(uuid.UUID(ids["section"]), "借调"),
                      dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    client = Client(app, mint(app, both))
    gov = "urn:govidp:params:scim:schemas:extension:gov:2.0:User"
    for who in ("edu", "town"):  # one-subtree clients, alternately, then the two-subtree one
        other = Client(app, mint(app, ids[f"{who}_client"]))
        kinds = sorted(p["kind"] for p in other.get(f"/Users/{ids['villager']}").get_json(
            force=True)[gov]["posts"])
        assert kinds == (["secondment"] if who == "edu" else ["primary"])
    listed = client.get("/Users", count="100").get_json(force=True)["Resources"]
    by_id = {r["id"]: r for r in listed}
    assert {ids["clerk"], ids["villager"], ids["spy"]} <= set(by_id)
    assert sorted(p["kind"] for p in by_id[ids["villager"]][gov]["posts"]) == [
        "primary", "secondment"]
    assert [g["display"] for g in by_id[ids["clerk"]]["groups"]] == ["防汛"]
    whole = {p["kind"] for p in central.get(f"/Users/{ids['villager']}").get_json(
        force=True)[gov]["posts"]}
    assert whole == {"primary", "secondment"}
