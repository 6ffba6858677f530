"""RFC 7644 §3.4.2: filtering, sorting, pagination, attribute selection and POST .search.

Filters go through the attribute allowlist: an unknown attribute, an attribute that is
never returned and an unknown operator are all 400 invalidFilter; values are bound and
LIKE metacharacters escaped, so injection payloads are a 400 or a correct (empty) result
and never a database error."""

from __future__ import annotations

import pytest

from scim import schemas as s
from tests.scim.conftest import new_user

PEOPLE = [
    ("zhang.san", "张三", "Zhang@Qp.Gov.cn", "Q1", "office", "科长"),
    ("zhang.si", "张四", "zs4@qp.gov.cn", "Q2", "section", "科员"),
    ("li.wu", "李五", "li_5%@qp.gov.cn", "Q3", "office", None),
    ("wang.liu", "王六", None, "Q4", "section", "副科长"),
]


@pytest.fixture
def people(edu, ids):
    made = {}
    for user_name, name, email, cls, node, title in PEOPLE:
        body = new_user(user_name, displayName=name, **{
            s.GOV_USER: {"visibilityClass": cls,
                         "posts": [{"node": ids[node], "kind": "primary", "title": title}]}})
        if email:
            body["emails"] = [{"value": email, "type": "work"}]
        if title:
            body["title"] = title
        response = edu.post("/Users", body)
        assert response.status_code == 201, response.data
        made[user_name] = response.get_json(force=True)["id"]
    return made


def _names(edu, expr: str, **params) -> list[str]:
    response = edu.get("/Users", filter=expr, **params)
    assert response.status_code == 200, response.data
    return sorted(r.get("userName", r["displayName"])
                  for r in response.get_json(force=True)["Resources"])


def _refused(edu, expr: str) -> dict:
    response = edu.get("/Users", filter=expr)
    assert response.status_code == 400, (expr, response.data)
    body = response.get_json(force=True)
    assert body["scimType"] == "invalidFilter"
    text = response.get_data(as_text=True).lower()
    assert "sqlite" not in text and "syntax error" not in text and "psycopg" not in text
    return body


@pytest.mark.parametrize("expr, expected", [
    ('userName eq "zhang.san"', ["zhang.san"]),
    ('userName eq "ZHANG.SAN"', ["zhang.san"]),  # userName is caseExact false
    ('userName ne "zhang.san"', ["li.wu", "wang.liu", "zhang.si"]),
    ('userName co "ng.s"', ["zhang.san", "zhang.si"]),
    ('userName sw "zhang"', ["zhang.san", "zhang.si"]),
    ('userName ew ".wu"', ["li.wu"]),
    ('displayName sw "张"', ["zhang.san", "zhang.si"]),
    ('emails pr', ["li.wu", "zhang.san", "zhang.si"]),
    ('not (emails pr)', ["wang.liu"]),
    ('emails.value co "qp.gov"', ["li.wu", "zhang.san", "zhang.si"]),
    ('emails[type eq "work" and value co "zs4"]', ["zhang.si"]),
    ('title eq "科长" or title eq "副科长"', ["wang.liu", "zhang.san"]),
    ('userName gt "wang.liu"', ["zhang.san", "zhang.si"]),
    ('userName ge "wang.liu"', ["wang.liu", "zhang.san", "zhang.si"]),
    ('userName lt "wang.liu"', ["li.wu"]),
    ('userName le "wang.liu"', ["li.wu", "wang.liu"]),
    (f'{s.GOV_USER}:visibilityClass eq "Q2"', ["zhang.si"]),
    ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "li.wu"', ["li.wu"]),
    ('active eq true and userName sw "zhang"', ["zhang.san", "zhang.si"]),
    ('active eq false and userName sw "zhang"', []),
    # "and" binds tighter than "or" (RFC 7644 §3.4.2.2)
    ('userName eq "li.wu" or userName sw "zhang" and title eq "科员"', ["li.wu", "zhang.si"]),
    ('(userName eq "li.wu" or userName sw "zhang") and title eq "科员"', ["zhang.si"]),
    ('not (userName sw "zhang") and not (userName eq "li.wu")', ["wang.liu"]),
    ('posts[kind eq "primary" and title eq "副科长"]', ["wang.liu"]),
    ('meta.created gt "2000-01-01T00:00:00Z"', ["li.wu", "wang.liu", "zhang.san", "zhang.si"]),
    ('meta.created gt "2000-01-01T00:00:00"', ["li.wu", "wang.liu", "zhang.san", "zhang.si"]),
    ('meta.lastModified lt "2000-01-01"', []),
])
def test_operators(edu, people, expr, expected):
    assert _names(edu, expr + ' and userName pr') == expected


def test_filter_by_post_node_and_group(edu, people, ids):
    assert _names(edu, f'{s.GOV_USER}:posts.node eq "{ids["section"]}"') == [
        "wang.liu", "zhang.si"]
    assert _names(edu, f'groups.value eq "{ids["tag"]}"') == ["李娜"]


def test_case_exact_attributes_compare_exactly(edu, people):
    edu.ops(f"/Users/{people['li.wu']}", {"op": "add", "path": "externalId", "value": "AbC"})
    assert _names(edu, 'externalId eq "AbC"') == ["li.wu"]
    assert _names(edu, 'externalId eq "abc"') == []
    assert _names(edu, 'externalId co "bC"') == ["li.wu"]
    assert _names(edu, 'externalId co "bc"') == []


@pytest.mark.parametrize("expr", [
    'nickName eq "x"',
    'password eq "secret"',
    f'{s.GOV_USER}:nationalIdNumber eq "310118198503121234"',
    'phoneNumbers.value eq "13912345678"',
    'userName regex "z.*"',
    'userName eq',
    'userName eq "unterminated',
    '1 eq 1',
    'userName eq "x" or 1 eq 1',
    "userName eq 'single'",
    'userName eq "x"; DROP TABLE persons',
    'active co "t"',
    'active gt true',
    'urn:unknown:schema:userName eq "x"',
    'meta.created gt "yesterday"',
    "(" * 10_000 + 'userName pr' + ")" * 10_000,
    "(" * 40 + 'userName pr' + ")" * 40,
])
def test_refused_filters_are_invalid_filter(edu, people, expr):
    _refused(edu, expr)


def test_never_returned_attributes_are_refused_exactly_as_unknown_ones(edu, people):
    unknown = _refused(edu, 'nickName eq "x"')["detail"]
    never = _refused(edu, 'password eq "x"')["detail"]
    assert unknown.replace("nickName", "X") == never.replace("password", "X")


@pytest.mark.parametrize("value", ['%', '_', '\\\\', '%_%', "' or '1'='1", '\\"', '/', '//%'])
def test_like_metacharacters_are_literals(edu, people, value):
    expected = ["li.wu"] if value in ("%", "_") else []
    assert _names(edu, f'emails.value co "{value}"') == expected


def test_quotes_inside_values(edu, people):
    assert _names(edu, 'userName eq "zhang.san\\" or \\"1\\" eq \\"1"') == []


def test_sort_and_pagination(edu, people):
    first = edu.get("/Users", filter="userName pr", sortBy="userName", count=2)
    body = first.get_json(force=True)
    assert body["totalResults"] == 4 and body["itemsPerPage"] == 2 and body["startIndex"] == 1
    assert [r["userName"] for r in body["Resources"]] == ["li.wu", "wang.liu"]
    second = edu.get("/Users", filter="userName pr", sortBy="userName", count=2,
                     startIndex=3).get_json(force=True)
    assert [r["userName"] for r in second["Resources"]] == ["zhang.san", "zhang.si"]
    down = edu.get("/Users", filter="userName pr", sortBy="userName",
                   sortOrder="descending").get_json(force=True)
    assert [r["userName"] for r in down["Resources"]][0] == "zhang.si"
    only_count = edu.get("/Users", filter="userName pr", count=0).get_json(force=True)
    assert only_count["totalResults"] == 4 and only_count["Resources"] == []


def test_default_order_is_stable_across_pages(edu, people):
    all_ids = [r["id"] for r in edu.get("/Users").get_json(force=True)["Resources"]]
    paged = []
    for start in range(1, len(all_ids) + 1, 2):
        page = edu.get("/Users", startIndex=start, count=2).get_json(force=True)
        paged += [r["id"] for r in page["Resources"]]
    assert paged == all_ids


def test_count_is_capped_at_max_results(edu, people):
    body = edu.get("/Users", count=10**6).get_json(force=True)
    assert body["itemsPerPage"] <= s.MAX_RESULTS


@pytest.mark.parametrize("sort_by", ["password", "nickName", "emails", "phoneNumbers.value"])
def test_sorting_on_unknown_or_never_returned_attributes_is_refused(edu, people, sort_by):
    response = edu.get("/Users", sortBy=sort_by)
    assert response.status_code == 400


@pytest.mark.parametrize("params", [{"startIndex": "x"}, {"count": "many"},
                                    {"sortOrder": "sideways"}])
def test_bad_paging_parameters(edu, params):
    assert edu.get("/Users", **params).status_code == 400


def test_attributes_and_excluded_attributes(edu, people):
    body = edu.get("/Users", filter='userName eq "zhang.san"',
                   attributes="userName,emails.value").get_json(force=True)
    user = body["Resources"][0]
    assert set(user) == {"schemas", "id", "userName", "emails"}
    assert user["emails"] == [{"value": "Zhang@Qp.Gov.cn"}]
    body = edu.get("/Users", filter='userName eq "zhang.san"',
                   excludedAttributes=f"emails,{s.GOV_USER}:posts").get_json(force=True)
    user = body["Resources"][0]
    assert "emails" not in user and "posts" not in user[s.GOV_USER] and "userName" in user
    one = edu.get(f"/Users/{people['zhang.san']}", attributes="displayName").get_json(force=True)
    assert set(one) == {"schemas", "id", "displayName"}


def test_post_search(edu, people):
    response = edu.post("/Users/.search", {
        "schemas": [s.SEARCH_REQUEST], "filter": 'userName sw "zhang"', "sortBy": "userName",
        "sortOrder": "descending", "startIndex": 1, "count": 1,
        "attributes": ["userName"]})
    assert response.status_code == 200, response.data
    body = response.get_json(force=True)
    assert body["totalResults"] == 2
    assert [r["userName"] for r in body["Resources"]] == ["zhang.si"]
    bad = edu.post("/Users/.search", {"filter": 'password eq "x"'})
    assert bad.status_code == 400 and bad.get_json(force=True)["scimType"] == "invalidFilter"


def test_org_unit_and_group_filters(edu, ids):
    units = edu.get("/OrgUnits", filter='displayName eq "办公室" and level ge 3').get_json(
        force=True)
    assert [u["id"] for u in units["Resources"]] == [ids["office"]]
    assert edu.get("/OrgUnits", filter="level gt 2", sortBy="level").get_json(
        force=True)["totalResults"] == 3  # office, its section, the hidden 督查室
    groups = edu.get("/Groups", filter=f'members.value eq "{ids["clerk"]}"').get_json(
        force=True)
    assert [g["id"] for g in groups["Resources"]] == [ids["tag"]]
    assert edu.get("/Groups", filter='members[type eq "User"]').get_json(
        force=True)["totalResults"] == 1
    assert edu.get("/OrgUnits", filter='code co "%"').get_json(force=True)["totalResults"] == 0


def test_root_search_spans_every_resource_type(edu, people, ids):
    body = edu.post("/.search", {"schemas": [s.SEARCH_REQUEST],
                                 "filter": 'displayName sw "张" or displayName eq "办公室"'})
    assert body.status_code == 200, body.data
    found = body.get_json(force=True)
    kinds = sorted(r["meta"]["resourceType"] for r in found["Resources"])
    assert kinds == ["OrgUnit", "User", "User"] and found["totalResults"] == 3
    page = edu.post("/.search", {"filter": 'displayName pr', "startIndex": 2, "count": 2})
    everything = edu.post("/.search", {"filter": "displayName pr"}).get_json(force=True)
    assert [r["id"] for r in page.get_json(force=True)["Resources"]] == [
        r["id"] for r in everything["Resources"]][1:3]
    only_users = edu.post("/.search", {"filter": 'userName sw "zhang"'}).get_json(force=True)
    assert only_users["totalResults"] == 2
    assert edu.post("/.search", {"filter": 'password eq "x"'}).get_json(
        force=True)["scimType"] == "invalidFilter"


@pytest.mark.parametrize(("params", "items"), [
    ({"count": 10}, 4),                   # a first page that is not full: no count query
    ({"count": 4}, 4),                    # exactly full: counted
    ({"count": 3}, 3),                    # more remain: counted
    ({"count": 10, "startIndex": 3}, 2),  # a later page: counted
    ({"count": 10, "startIndex": 9}, 0),  # past the end: counted
])
def test_total_results_whatever_the_page(edu, people, params, items):
    """totalResults is every match (RFC 7644 §3.4.2), whether it came from the page itself
    or from a count, in the index and the cursor modes."""
    body = edu.get("/Users", filter="userName pr", **params).get_json(force=True)
    assert body["totalResults"] == 4 and len(body["Resources"]) == items
    if "startIndex" not in params:
        cursor = edu.get("/Users", filter="userName pr", cursor="",
                         count=params["count"]).get_json(force=True)
        assert cursor["totalResults"] == 4 and len(cursor["Resources"]) == items


def test_list_queries_are_planned_for_their_values(sessions, engine):
    """PostgreSQL: the list statements run with custom plans, so a LIKE prefix keeps its
    index range after psycopg prepares the statement (a generic plan scanned every person:
    bench/README.md). SQLite plans every statement afresh anyway."""
    from sqlalchemy import and_
    from sqlalchemy import select
    from sqlalchemy import text

    from directory import scim_query as q
    from directory import scim_store
    from directory.models import Person

    prefix = q.Compare("name", "sw", "张", case_exact=False)
    with sessions() as session:
        page = scim_store._page(session, select(Person), Person.id, and_(True), [Person.id],
                                scim_store.Paging(count=1), prefix)
        assert page.total == 0
        if engine.dialect.name == "postgresql":
            assert session.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
    # equalities plan alike whatever their values: they keep the prepared (generic) plan
    # and save the SET's round trip
    equal = q.All((q.Compare("external_id", "eq", "HR-1"),
                   q.IdsFrom(scim_store._people_named("wang.fang"))))
    with sessions() as session:
        scim_store._page(session, select(Person), Person.id, and_(True), [Person.id],
                         scim_store.Paging(count=1), equal)
        if engine.dialect.name == "postgresql":
            assert session.scalar(text("SHOW plan_cache_mode")) == "auto"


def test_equalities_only():
    from directory import scim_query as q
    from directory import scim_store

    eq = q.Compare("external_id", "eq", "HR-1")
    named = q.IdsFrom(scim_store._people_named("wang.fang"))
    assert q.equalities_only(eq) and q.equalities_only(named)
    assert q.equalities_only(q.AnyOf((eq, q.All((eq, named)))))
    for other in ("ne", "co", "sw", "ew", "gt", "ge", "lt", "le"):
        assert not q.equalities_only(q.Compare("external_id", other, "HR-1"))
    assert not q.equalities_only(None)
    assert not q.equalities_only(q.Not(eq))
    assert not q.equalities_only(q.Present("external_id"))
    assert not q.equalities_only(q.All((eq, q.Compare("name", "sw", "张"))))
