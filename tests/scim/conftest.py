"""Fixtures of the SCIM tests: a small tree, people, and three provisioning clients (the
education bureau's, the town's, and a central one scoped to the root)."""

from __future__ import annotations

import pytest

from directory import apps
from directory import audit
from directory import tags
from idp import create_app
from idp import store
from idp import tokens
from idp.app import runtime
from tests import factories as f

SCIM = "application/scim+json"


class Client:
    """A Flask test client speaking SCIM with one app's bearer token."""

    def __init__(self, app, token: str | None) -> None:
        self.http = app.test_client()
        self.token = token

    def _headers(self, extra: dict | None) -> dict:
        headers = {"Content-Type": SCIM}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers | (extra or {})

    def get(self, path: str, headers: dict | None = None, **params):
        return self.http.get("/scim/v2" + path, query_string=params,
                             headers=self._headers(headers))

    def post(self, path: str, body, headers: dict | None = None):
        return self.http.post("/scim/v2" + path, json=body, headers=self._headers(headers))

    def put(self, path: str, body, headers: dict | None = None):
        return self.http.put("/scim/v2" + path, json=body, headers=self._headers(headers))

    def patch(self, path: str, body, headers: dict | None = None, **params):
        return self.http.patch("/scim/v2" + path, json=body, query_string=params,
                               headers=self._headers(headers))

    def delete(self, path: str, headers: dict | None = None):
        return self.http.delete("/scim/v2" + path, headers=self._headers(headers))

    def ops(self, path: str, *operations: dict, headers: dict | None = None, **params):
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": list(operations)}
        return self.patch(path, body, headers=headers, **params)


def mint(app, client_id: str, scope: str = "scim") -> str:
    rt = runtime(app)
    with rt.sessions() as s:
        return tokens.mint_access_token(s, rt.directory.cipher, rt.settings.issuer,
                                        subject=client_id, client_id=client_id, scope=scope)


def make_client(s, ctx, name: str, scope_nodes: list, status: str = "online",
                unit=None) -> str:
    app, _secret = apps.create_client(s, ctx, apps.ClientSpec(
        name=name, scope=("scim",), status=status, unit_node_id=unit))
    apps.set_directory_access(s, ctx, app, scope_node_ids=[n.id for n in scope_nodes],
                              hidden_node_ids=[], upward=False)
    return app.client_id


@pytest.fixture
def world(sessions, dsettings, ctx, settings, engine):
    app = create_app(settings)
    with sessions.begin() as s:
        store.ensure_signing_keys(s, dsettings.cipher, audit.Context(actor="test"))
        t = f.qingpu(s, ctx)
        t["section"] = f.node(s, ctx, t["office"], "文书科", type="internal")  # level 5
        t["secret"] = f.node(s, ctx, t["edu"], "督查室", hidden=True)
        people = {
            "clerk": f.person(s, dsettings, ctx, t["office"], "李娜"),
            "villager": f.person(s, dsettings, ctx, t["village"], "张伟"),
            "spy": f.person(s, dsettings, ctx, t["secret"], "赵敏"),
        }
        tag = tags.create(s, ctx, name="防汛", owner_node_id=t["edu"].id)
        tags.add_member(s, ctx, tag.id, person_id=people["clerk"].id)
        ids = {k: v.id for k, v in (t | people).items()} | {"tag": tag.id}
        ids["edu_client"] = make_client(s, ctx, "教育局人事", [t["edu"]], unit=t["edu"].id)
        ids["town_client"] = make_client(s, ctx, "朱家角镇人事", [t["town"]])
        ids["central_client"] = make_client(s, ctx, "区人事", [t["root"]])
        ids["offline_client"] = make_client(s, ctx, "下线", [t["edu"]], status="testing")
    yield app, {k: (str(v) if not isinstance(v, str) else v) for k, v in ids.items()}
    runtime(app).engine.dispose()


@pytest.fixture
def edu(world):
    app, ids = world
    return Client(app, mint(app, ids["edu_client"]))


@pytest.fixture
def town(world):
    app, ids = world
    return Client(app, mint(app, ids["town_client"]))


@pytest.fixture
def central(world):
    app, ids = world
    return Client(app, mint(app, ids["central_client"]))


@pytest.fixture
def ids(world):
    return world[1]


def new_user(user_name: str = "wang.fang", **extra) -> dict:
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name, "displayName": "王芳", **extra}


ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_error(response, status: int, scim_type: str | None = None) -> dict:
    """The body of an RFC 7644 §3.12 error answer, checked: status, media type, schema,
    scimType, and no traceback."""
    assert response.status_code == status, response.data
    assert response.mimetype == "application/scim+json"
    body = response.get_json(force=True)
    assert body["schemas"] == [ERROR] and body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert "Traceback" not in response.get_data(as_text=True)
    return body
