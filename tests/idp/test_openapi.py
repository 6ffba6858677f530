"""The OpenAPI document is public and lists exactly the routes the API serves."""

from __future__ import annotations

import re

from idp import create_app
from idp.app import runtime


def test_openapi_matches_the_routes(settings, engine) -> None:
    app = create_app(settings)
    try:
        doc = app.test_client().get("/api/v1/openapi.json").get_json()
        served = {(re.sub(r"<([^>]+)>", r"{\1}", rule.rule), method.lower())
                  for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"
                  for method in rule.methods - {"HEAD", "OPTIONS"}}
        documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
        assert doc["openapi"] == "3.1.0"
        assert documented == served
    finally:
        runtime(app).engine.dispose()
