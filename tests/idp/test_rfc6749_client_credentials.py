"""The client credentials grant (RFC 6749 §4.4) end to end: an app obtains its own token
with client_secret_basic or client_secret_post and reads the directory with it; every
refusal is an RFC 6749 §5.2 error and changes nothing."""

from __future__ import annotations

import base64

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from directory import apps
from directory.errors import DomainError


@pytest.fixture
def client(world, sessions, ctx):
    """An online confidential client of the education bureau, allowed `directory`."""
    _, w = world
    with sessions.begin() as s:
        app, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="教育督导系统", scope=("directory",), unit_node_id=w["edu"], status="applied"))
        for status in ("approved", "testing", "online"):
            apps.set_status(s, ctx, app, status, reason="test")
        apps.set_directory_access(s, ctx, app, scope_node_ids=[w["edu"]], hidden_node_ids=[],
                                  upward=False)
        return app.client_id, secret


def basic(client_id: str, secret: str) -> dict:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def test_token_with_basic_auth_reads_the_directory(world, client) -> None:
    app, w = world
    client_id, secret = client
    http = app.test_client()
    r = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                        "scope": "directory"}, headers=basic(*client))
    assert r.status_code == 200, r.get_json()
    assert r.headers["Cache-Control"] == "no-store"
    body = r.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 600
    assert body["scope"] == "directory" and "refresh_token" not in body
    keys = KeySet.import_key_set(http.get("/jwks.json").get_json())
    claims = jwt.decode(body["access_token"], keys).claims
    assert claims["sub"] == claims["client_id"] == client_id
    me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200 and me.get_json()["app"]["client_id"] == client_id
    people = http.get(f"/api/v1/nodes/{w['edu']}/people",
                      headers={"Authorization": f"Bearer {body['access_token']}"})
    assert len(people.get_json()["items"]) == 8


def test_client_secret_post_is_refused_for_a_basic_client(world, client) -> None:
    app, _ = world
    client_id, secret = client
    r = app.test_client().post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"


def test_post_auth_client(world, sessions, ctx) -> None:
    app, _ = world
    with sessions.begin() as s:
        row, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="邮件", scope=("directory",), auth_method="client_secret_post",
            status="applied"))
        row.status = apps.AppStatus.ONLINE
        client_id = row.client_id
    r = app.test_client().post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret})
    assert r.status_code == 200 and r.get_json()["scope"] == "directory"


@pytest.mark.parametrize("case", ["wrong-secret", "unknown-client", "no-auth"])
def test_bad_client_authentication(world, client, case) -> None:
    app, _ = world
    client_id, secret = client
    headers = {"wrong-secret": basic(client_id, secret + "x"),
               "unknown-client": basic("nobody", secret), "no-auth": {}}[case]
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=headers)
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"


def test_scope_beyond_the_registered_is_refused_not_narrowed(world, client) -> None:
    app, _ = world
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials",
                                                     "scope": "directory scim"},
                               headers=basic(*client))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_scope"


@pytest.mark.parametrize("grant,error", [
    ("password", "unsupported_grant_type"), ("implicit", "unsupported_grant_type"),
    # implemented (#4), but not registered for this client: RFC 6749 §5.2
    ("authorization_code", "unauthorized_client"), ("refresh_token", "unauthorized_client")])
def test_other_grants_are_refused(world, client, grant, error) -> None:
    app, _ = world
    r = app.test_client().post("/oauth/token", data={"grant_type": grant, "username": "x",
                                                     "password": "y"},
                               headers=basic(*client))
    assert r.status_code == 400 and r.get_json()["error"] == error


def test_only_online_apps_obtain_tokens(world, client, sessions, ctx) -> None:
    app, _ = world
    client_id, _secret = client
    with sessions.begin() as s:
        row = apps.get_app(s, client_id)
        apps.set_status(s, ctx, row, "offline", reason="维护")
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=basic(*client))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"


def test_lifecycle_transitions_are_checked(world, client, sessions, ctx) -> None:
    client_id, _ = client
    with sessions.begin() as s, pytest.raises(DomainError) as exc:
        apps.set_status(s, ctx, apps.get_app(s, client_id), "applied")
    assert exc.value.code == "directory.app.transition"


def test_secret_is_stored_only_as_a_digest(world, client, sessions) -> None:
    client_id, secret = client
    with sessions() as s:
        row = apps.get_app(s, client_id)
        assert secret not in (row.client_secret_hash or "")
        assert row.client_secret_hash == apps.secret_digest(secret)


def test_metadata_advertises_what_is_enforced(world) -> None:
    app, _ = world
    body = app.test_client().get("/.well-known/oauth-authorization-server").get_json()
    assert body["grant_types_supported"] == [
        "authorization_code", "client_credentials", "refresh_token",
        "urn:ietf:params:oauth:grant-type:token-exchange"]
    assert body["token_endpoint"].endswith("/oauth/token")
    assert body["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt"]
    keys = app.test_client().get("/jwks.json").get_json()["keys"]
    assert {k["alg"] for k in keys} == {"ES256", "RS256"}
    assert all("d" not in k for k in keys)  # public parts only


# -- the token lane (idp.oauth.TokenLane): client credentials served outside Flask's request
# context must answer exactly as Flask would, and hand everything else on intact.


def test_lane_answers_with_the_headers_flask_would_add(world, client) -> None:
    from idp.oauth import TokenLane

    app, _ = world
    assert isinstance(app.wsgi_app, TokenLane)
    http = app.test_client()
    given = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                      headers={**basic(*client), "X-Request-ID": "caller-req-0001"})
    assert given.status_code == 200
    assert given.headers["X-Request-ID"] == "caller-req-0001"
    assert given.headers["X-Content-Type-Options"] == "nosniff"
    assert given.headers["Cache-Control"] == "no-store" and given.headers["Pragma"] == "no-cache"
    made = http.post("/oauth/token", data={"grant_type": "client_credentials"},
                     headers={**basic(*client), "X-Request-ID": "bad id with spaces"})
    assert len(made.headers["X-Request-ID"]) == 32 and made.headers["X-Request-ID"] != "bad"


def test_lane_refusals_are_rfc6749_errors(world, client) -> None:
    app, _ = world
    client_id, _secret = client
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=basic(client_id, "wrong"))
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    assert r.headers["Cache-Control"] == "no-store" and "X-Request-ID" in r.headers
    r = app.test_client().post("/oauth/token", data={
        "grant_type": "client_credentials", "scope": "directory openid"}, headers=basic(*client))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_scope"


def test_what_the_lane_passes_on_reaches_flask_with_its_body(world, client) -> None:
    """Another grant, a JSON body, a form over the lane's size: authlib behind Flask answers,
    having read the same body the lane peeked at."""
    app, _ = world
    http = app.test_client()
    r = http.post("/oauth/token", data={"grant_type": "password", "username": "u",
                                        "password": "p"}, headers=basic(*client))
    assert r.status_code == 400 and r.get_json()["error"] == "unsupported_grant_type"
    r = http.post("/oauth/token", json={"grant_type": "client_credentials"},
                  headers=basic(*client))
    assert r.status_code == 400 and r.get_json()["error"] in (
        "unsupported_grant_type", "invalid_request")
    big = {"grant_type": "client_credentials", "scope": "directory", "pad": "x" * 20_000}
    r = http.post("/oauth/token", data=big, headers=basic(*client))
    assert r.status_code == 200 and r.get_json()["scope"] == "directory"


def test_an_unexpected_failure_in_the_lane_is_a_json_500(world, client, monkeypatch) -> None:
    """As Flask's handler: logged with the request id, a JSON 500, no traceback, and the
    request's session closed."""
    from idp import oauth

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    app, _ = world
    monkeypatch.setattr(oauth.tokens, "mint_access_token", broken)
    r = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                               headers=basic(*client))
    assert r.status_code == 500
    assert r.get_json()["error"] == "server_error" and "boom" not in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"


def test_the_lane_reads_the_form_as_flask_would(world, client, sessions, ctx) -> None:
    """The lane parses the form itself (``urllib.parse.parse_qsl``): percent-encoding and
    ``+``, an empty value, client_secret_post's credentials in the body, a repeated
    parameter (its first value, as Flask's form gives it), and a body that is not UTF-8
    (handed on to Flask, which answers it) all come out as through Flask."""
    app, _ = world
    http = app.test_client()
    form = "application/x-www-form-urlencoded"
    r = http.post("/oauth/token", data="grant_type=client%5Fcredentials&scope=dir%65ctory&x=",
                  content_type=form, headers=basic(*client))
    assert r.status_code == 200 and r.get_json()["scope"] == "directory"
    r = http.post("/oauth/token", data="grant_type=client_credentials&scope=directory+openid",
                  content_type=form, headers=basic(*client))
    assert r.status_code == 400 and r.get_json()["error"] == "invalid_scope"  # "+" is a space
    with sessions.begin() as s:
        posted, secret = apps.create_client(s, ctx, apps.ClientSpec(
            name="人事系统", scope=("directory",), status="online",
            auth_method="client_secret_post"))
        client_id = posted.client_id
    assert secret is not None
    r = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                        "client_id": client_id, "client_secret": secret})
    assert r.status_code == 200, r.get_json()
    r = http.post("/oauth/token", data={"grant_type": "client_credentials",
                                        "client_id": client_id, "client_secret": secret + "x"})
    assert r.status_code == 401 and r.get_json()["error"] == "invalid_client"
    repeated = "grant_type=client_credentials&scope=directory&scope=directory+openid"
    lane = http.post("/oauth/token", data=repeated, content_type=form, headers=basic(*client))
    flask = http.post("/oauth/token", data=repeated + "&pad=" + "x" * 20_000,  # past the lane
                      content_type=form, headers=basic(*client))
    assert lane.status_code == flask.status_code == 200  # the first value, on both paths
    assert lane.get_json()["scope"] == flask.get_json()["scope"] == "directory"
    r = http.post("/oauth/token", data=b"grant_type=client_credentials&scope=\xff\xfe",
                  content_type=form, headers=basic(*client))
    assert r.status_code in (200, 400) and r.headers["Cache-Control"] == "no-store"
    assert "error" in r.get_json() or "access_token" in r.get_json()


def test_the_lane_checks_the_transport_as_authlib_does(world, client) -> None:
    """authlib refuses a token request over plain http to anything but a loopback address
    (``InsecureTransportError``); the lane keeps its answer per URL and answers as the
    Flask path does, every time."""
    app, _ = world
    for _ in range(2):  # the second answer from what the lane kept
        for base in ("http://idp.example.gov.cn", "http://10.1.2.3"):
            http = app.test_client()
            lane = http.post("/oauth/token", base_url=base, headers=basic(*client),
                             data={"grant_type": "client_credentials"})
            flask = http.post("/oauth/token", base_url=base, headers=basic(*client),
                              data={"grant_type": "client_credentials", "pad": "x" * 20_000})
            assert lane.status_code == flask.status_code == 400, lane.get_data(as_text=True)
            assert lane.get_json()["error"] == flask.get_json()["error"] == "insecure_transport"
            assert lane.headers["Cache-Control"] == "no-store"
        for base in ("https://idp.example.gov.cn", "http://127.0.0.1:8000", "http://[::1]"):
            r = app.test_client().post("/oauth/token", base_url=base, headers=basic(*client),
                                       data={"grant_type": "client_credentials"})
            assert r.status_code == 200, (base, r.get_json())


def test_the_lane_request_has_every_field_of_authlibs() -> None:
    """``LaneRequest`` sets OAuth2Request's fields itself (to keep the transport check's
    answer): a field a newer authlib adds must not be missing."""
    from authlib.oauth2.rfc6749 import OAuth2Request

    from idp.oauth import LanePayload
    from idp.oauth import LaneRequest

    theirs = OAuth2Request("POST", "https://idp.example/oauth/token", headers={"a": "b"})
    ours = LaneRequest({"wsgi.url_scheme": "https", "HTTP_HOST": "idp.example",
                        "PATH_INFO": "/oauth/token"}, LanePayload([("grant_type", "x")]))
    assert set(vars(theirs)) <= set(vars(ours))
    assert ours.uri == theirs.uri and ours.method == theirs.method
    assert {k: v for k, v in vars(ours).items() if k not in ("headers", "payload", "uri",
                                                             "remote_addr")} == \
        {k: v for k, v in vars(theirs).items() if k not in ("headers", "payload", "uri")}
