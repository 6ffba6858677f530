"""The app skeleton: health, readiness, JSON errors with request ids, refusal to start."""

from __future__ import annotations

import dataclasses
import json
import logging

import pytest

from idp import config
from idp import create_app
from idp.app import runtime


@pytest.fixture
def make_app(settings):
    apps = []

    def build(s=settings):
        app = create_app(s)
        apps.append(app)
        return app

    yield build
    for app in apps:
        runtime(app).engine.dispose()


@pytest.fixture
def client(make_app, engine):
    return make_app().test_client()


def test_healthz(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert len(response.headers["X-Request-ID"]) == 32


def test_readyz_when_database_answers(client) -> None:
    assert client.get("/readyz").get_json() == {"status": "ready"}


def test_readyz_503_when_database_unreachable(settings, make_app) -> None:
    broken = dataclasses.replace(
        settings, database_url="postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")
    response = make_app(broken).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"] == "not_ready"


def test_not_found_is_json_with_request_id(client) -> None:
    response = client.get("/nope", headers={"X-Request-ID": "abcdef12-trace"})
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "not_found"
    assert body["request_id"] == "abcdef12-trace" == response.headers["X-Request-ID"]


def test_unsafe_request_id_is_replaced(client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert response.headers["X-Request-ID"] != "bad id with spaces"


def test_unexpected_error_is_bare_500_and_logged(make_app, engine, caplog) -> None:
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json()["error"] == "server_error"
    assert "secret detail" not in response.get_data(as_text=True)
    assert any("unhandled error" in r.getMessage() for r in caplog.records)


def test_refuses_to_start_with_default_secret(settings) -> None:
    with pytest.raises(config.ConfigError):
        create_app(dataclasses.replace(settings, secret_key="changeme"))


def test_refuses_plain_http_public_issuer(settings) -> None:
    with pytest.raises(config.ConfigError):
        create_app(dataclasses.replace(settings, issuer="http://idp.example.gov.cn"))


def test_logs_are_json() -> None:
    from idp.logs import JsonFormatter

    record = logging.LogRecord("idp", logging.INFO, __file__, 1, "hello %s", ("世界",), None)
    record.request_id = "r1"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "hello 世界" and line["request_id"] == "r1"
