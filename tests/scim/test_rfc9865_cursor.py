"""RFC 9865: cursor-based pagination, advertised in ServiceProviderConfig; keyset pages in
id order, sealed cursors (invalidCursor, expiredCursor), invalidCount."""

from __future__ import annotations

import uuid

import pytest

from idp.app import runtime
from scim import cursor
from scim import schemas as s
from tests.scim.conftest import new_user


@pytest.fixture
def many(edu, ids):
    for n in range(7):
        assert edu.post("/Users", new_user(f"cursor{n}@qp.gov.cn")).status_code == 201


def test_advertised(edu):
    pagination = edu.get("/ServiceProviderConfig").get_json(force=True)["pagination"]
    assert pagination == {"cursor": True, "index": True, "defaultPaginationMethod": "index",
                          "defaultPageSize": s.DEFAULT_PAGE, "maxPageSize": s.MAX_RESULTS,
                          "cursorTimeout": s.CURSOR_TIMEOUT}


def test_walk_every_user_with_cursors(edu, many):
    everyone = [r["id"] for r in edu.get("/Users").get_json(force=True)["Resources"]]
    walked, token, pages = [], "", 0
    while True:
        body = edu.get("/Users", cursor=token, count=3).get_json(force=True)
        assert "startIndex" not in body and body["totalResults"] == len(everyone)
        walked += [r["id"] for r in body["Resources"]]
        pages += 1
        if "nextCursor" not in body:
            break
        token = body["nextCursor"]
    assert walked == sorted(everyone, key=uuid.UUID) and pages == 3


def test_cursor_with_a_filter_and_post_search(edu, many):
    first = edu.post("/Users/.search", {"filter": 'userName sw "cursor"', "cursor": "",
                                        "count": 5}).get_json(force=True)
    assert len(first["Resources"]) == 5 and first["totalResults"] == 7
    rest = edu.post("/Users/.search", {"filter": 'userName sw "cursor"',
                                       "cursor": first["nextCursor"], "count": 5})
    body = rest.get_json(force=True)
    assert len(body["Resources"]) == 2 and "nextCursor" not in body


@pytest.mark.parametrize("value", ["garbage", "AAAA", "x" * 60])
def test_forged_cursors_are_invalid(edu, value):
    response = edu.get("/Users", cursor=value)
    assert response.status_code == 400
    assert response.get_json(force=True)["scimType"] == "invalidCursor"


def test_tampered_cursor_is_invalid(world, edu):
    app, _ = world
    token = cursor.encode(runtime(app).directory.cipher, uuid.uuid4())
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert edu.get("/Users", cursor=flipped).get_json(force=True)["scimType"] == \
        "invalidCursor"


def test_expired_cursor(world, edu):
    app, _ = world
    old = cursor.encode(runtime(app).directory.cipher, uuid.uuid4(), now=1.0)
    response = edu.get("/Users", cursor=old)
    assert response.get_json(force=True)["scimType"] == "expiredCursor"


def test_cursor_refusals(edu):
    assert edu.get("/Users", cursor="", count=10**6).get_json(force=True)["scimType"] == \
        "invalidCount"
    assert edu.get("/Users", cursor="", startIndex=2).status_code == 400
    assert edu.get("/Users", cursor="", sortBy="userName").status_code == 400
