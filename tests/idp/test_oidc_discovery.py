"""OIDC Discovery 1.0 §3 and RFC 8414: one document at both well-known paths, listing
what is implemented and enforced and nothing more."""

from __future__ import annotations

from tests.idp.test_oidc_flow import ISSUER


def test_openid_configuration(world) -> None:
    app, _ = world
    r = app.test_client().get("/.well-known/openid-configuration")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["issuer"] == ISSUER
    for name, path in [("authorization_endpoint", "/authorize"),
                       ("token_endpoint", "/oauth/token"), ("userinfo_endpoint", "/userinfo"),
                       ("jwks_uri", "/jwks.json"),
                       ("end_session_endpoint", "/logout/end-session"),
                       ("introspection_endpoint", "/oauth/introspect"),
                       ("revocation_endpoint", "/oauth/revoke")]:
        assert doc[name] == ISSUER + path
    assert doc["response_types_supported"] == ["code"]
    assert doc["response_modes_supported"] == ["query"]
    assert doc["grant_types_supported"] == ["authorization_code", "client_credentials",
                                            "refresh_token",
                                            "urn:ietf:params:oauth:grant-type:token-exchange"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == [
        "ES256", "RS256", "PS256"]
    assert doc["introspection_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert {"openid", "profile", "phone", "email", "org", "offline_access"} <= set(
        doc["scopes_supported"])
    assert {"sub", "name", "phone_number", "org", "sid", "at_hash"} <= set(
        doc["claims_supported"])
    assert "id_number" not in doc["claims_supported"]
    assert "implicit" not in doc["grant_types_supported"]
    assert "password" not in doc["grant_types_supported"]


def test_rfc8414_metadata_is_the_same_document(world) -> None:
    app, _ = world
    http = app.test_client()
    assert (http.get("/.well-known/oauth-authorization-server").get_json()
            == http.get("/.well-known/openid-configuration").get_json())


def test_every_advertised_endpoint_exists(world) -> None:
    app, _ = world
    http = app.test_client()
    doc = http.get("/.well-known/openid-configuration").get_json()
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "end_session_endpoint", "introspection_endpoint", "revocation_endpoint"):
        path = doc[name][len(ISSUER):]
        assert http.options(path).status_code in (200, 204), name


def test_jwks_has_the_id_token_key(world) -> None:
    app, _ = world
    keys = app.test_client().get("/jwks.json").get_json()["keys"]
    assert "ES256" in {k["alg"] for k in keys} and all("d" not in k for k in keys)
