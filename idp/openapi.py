"""The OpenAPI 3.1 document of the contacts API, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import jsonify

bp = Blueprint("openapi", __name__)

_ID = {"type": "string", "format": "uuid"}
_CLASSES = ["Q1", "Q2", "Q3", "Q4"]
_PERMISSIONS = ["structure", "people", "accounts", "apps", "tags", "visibility", "audit-read"]
_TEXT = {"type": ["string", "null"]}
_APP_BODY = {"type": "object", "properties": {
    "name": {"type": "string"}, "contact_name": _TEXT, "contact_phone": _TEXT,
    "contact_email": _TEXT, "tech_lead_name": _TEXT, "tech_lead_phone": _TEXT,
    "url": _TEXT, "icon_url": _TEXT, "remarks": _TEXT,
    "backchannel_logout_uri": {**_TEXT, "description": "https, or http on loopback only"},
    "access_modes": {"type": "array", "items": {"enum": ["sso", "todo", "message"]}},
    "needs_user_sync": {"type": ["boolean", "null"]},
    "planned_date": {"type": ["string", "null"], "format": "date"},
    "tester_ids": {"type": "array", "items": _ID},
    # how the app authenticates as an OAuth client (RFC 7591 §2 names)
    "token_endpoint_auth_method": {
        "enum": ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "description": "between the confidential methods only (a public client stays "
                       "public); private_key_jwt needs jwks or jwks_uri and drops the "
                       "secret; leaving it for a secret method answers with a new "
                       "client_secret, once"},
    "jwks": {"type": ["object", "null"], "description":
             "private_key_jwt: the client's public keys (RFC 7517 JWKS: EC P-256 or RSA "
             ">= 2048 bits, use sig, a distinct kid each if several; never private "
             "members). Replaces the keys or jwks_uri registered; rotate by sending old "
             "and new, then the new alone"},
    "jwks_uri": {"type": ["string", "null"], "format": "uri", "description":
                 "private_key_jwt: instead of jwks, the https URL (http on loopback only) "
                 "the client serves its JWKS at; fetched and cached by the server"},
    "jwks_uri_fetch": {"type": ["object", "null"], "readOnly": True, "description":
                       "kids, fetched_at, attempted_at and failure of the key set last "
                       "fetched from jwks_uri; ignored in a PUT"},
    "id_token_signed_response_alg": {"enum": ["ES256", "RS256"]},
    "access": {"type": "object", "properties": {
        "node_ids": {"type": "array", "items": _ID},
        "tag_ids": {"type": "array", "items": _ID},
        "account_types": {"type": "array", "items": {"enum": [
            "system_admin", "graded_admin", "user", "temporary"]}}}}}}
_ERROR_PROPERTIES = {"error": {"type": "string"}, "message": {"type": "string"},
                     "request_id": {"type": "string"}}
_ERROR = {"type": "object", "required": ["error", "message"], "properties": _ERROR_PROPERTIES}
_FIELD_ERROR = {"type": "object", "required": ["error", "message", "field"],
                "properties": {**_ERROR_PROPERTIES, "field": {"type": "string"}}}
_PAGE = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                      "maximum": 500, "default": 50}},
         {"name": "cursor", "in": "query", "schema": {"type": "string"}}]


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


def _op(summary: str, params: list | None = None, body: dict | None = None,
        status: str = "200", refused: str | None = None) -> dict[str, Any]:
    """An operation; ``refused`` describes its 400, whose body names the refused field."""
    op: dict[str, Any] = {
        "summary": summary, "parameters": params or [],
        "responses": {status: {"description": "OK"},
                      "401": {"description": "missing or invalid bearer token",
                              "content": {"application/json": {"schema": _ERROR}}},
                      "404": {"description": "unknown — or not visible to you (same body)",
                              "content": {"application/json": {"schema": _ERROR}}},
                      "429": {"description": "read quota exceeded (anti-scraping)"}}}
    if refused:
        op["responses"]["400"] = {"description": refused, "content": {
            "application/json": {"schema": _FIELD_ERROR}}}
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": body}}}
    return op


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "统一用户体系 contacts API", "version": "1",
             "description": "Every read obeys Q1–Q4 visibility, hidden nodes, unit overrides "
                            "and not-searchable flags; what you may not see answers 404. "
                            "Apps read with their own token (client credentials, scope "
                            "`directory`) inside their authorised subtrees."},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                  "bearerFormat": "JWT (RFC 9068)"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/me": {"get": _op("The caller: person, account, posts")},
        "/api/v1/me/proxies": {  # 代理人员 (DOMAIN.md §3): the caller's own proxies
            "get": _op("Your proxies, newest first"),
            "post": _op("Name a proxy for a period (at most 90 days)", body={
                "type": "object", "required": ["proxy", "ends_at"],
                "properties": {"proxy": _ID, "starts_at": {"type": "string"},
                               "ends_at": {"type": "string"}}}, status="201")},
        "/api/v1/me/proxies/{record_id}": {
            "delete": _op("Revoke a proxy at once", [_path_id("record_id")], status="204")},
        "/api/v1/nodes/{node_id}": {"get": _op("A node", [_path_id("node_id")])},
        "/api/v1/nodes/{node_id}/children": {
            "get": _op("Visible children, in 排序 order", [_path_id("node_id")])},
        "/api/v1/nodes/{node_id}/people": {
            "get": _op("People listed under the node, in post order", [_path_id("node_id"),
                                                                       *_PAGE])},
        "/api/v1/people/search": {
            "get": _op("Search: prefix, pinyin, initials or exact mobile (direct targets); "
                       "exact name or mobile only (searchable-and-addable targets)", [
                           {"name": "q", "in": "query", "required": True,
                            "schema": {"type": "string", "maxLength": 100}},
                           {"name": "limit", "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 50}}])},
        "/api/v1/people/{person_id}": {
            "get": _op("A person with their mode; mobile masked unless direct",
                       [_path_id("person_id")])},
        "/api/v1/tags": {"get": _op("Tags shared with the caller")},
        "/api/v1/tags/{tag_id}/people": {
            "get": _op("A tag's people as the caller may list them", [_path_id("tag_id"),
                                                                      *_PAGE])},
        "/api/v1/contact-requests": {
            "post": _op("Ask a searchable-and-addable person (可搜可加)", body={
                "type": "object", "required": ["target_id"],
                "properties": {"target_id": _ID}}, status="201")},
        "/api/v1/contact-requests/{link_id}/accept": {
            "post": _op("Accept a request made to you", [_path_id("link_id")])},
        "/api/v1/admin/visibility/explain": {
            "get": _op("Can A (a person, or an app) see, search, contact B — and which rule "
                       "decided", [
                {"name": "viewer", "in": "query", "schema": _ID},
                {"name": "app", "in": "query", "schema": {"type": "string"},
                 "description": "an app's client id, instead of viewer"},
                {"name": "target", "in": "query", "required": True, "schema": _ID}])},
        "/api/v1/admin/visibility/rules": {
            "get": _op("The matrix cells and the unit overrides inside your scope"),
            "put": _op("Set or clear (mode null) one cell; node_id null = deployment matrix",
                       body={"type": "object", "required": ["viewer_class", "target_class"],
                             "properties": {"viewer_class": {"enum": _CLASSES},
                                            "target_class": {"enum": _CLASSES},
                                            "mode": {"enum": ["direct", "searchable", "none",
                                                              None]},
                                            "node_id": {**_ID, "nullable": True}}})},
        "/api/v1/admin/nodes/{node_id}/hidden": {
            "put": _op("Hide or show a node and its subtree", [_path_id("node_id")],
                       body={"type": "object", "required": ["hidden"],
                             "properties": {"hidden": {"type": "boolean"}}})},
        "/api/v1/admin/nodes/{node_id}/allow": {
            "post": _op("Add a person, node or tag to a hidden node's allow-list",
                        [_path_id("node_id")], status="201", body={
                            "type": "object", "properties": {
                                "person_id": _ID, "node_id": _ID, "tag_id": _ID}})},
        "/api/v1/admin/people/{person_id}/not-searchable": {
            "put": _op("Flag a person 不可搜不可加 (or clear it)", [_path_id("person_id")],
                       body={"type": "object", "required": ["not_searchable"],
                             "properties": {"not_searchable": {"type": "boolean"}}})},
        "/api/v1/admin/nodes/{node_id}/share-upward": {
            "put": _op("开放共享范围: share the subtree into the higher-level directory (true), "
                       "withhold it (false) or follow the node above (null)",
                       [_path_id("node_id")], body={
                           "type": "object", "required": ["share"],
                           "properties": {"share": {"type": ["boolean", "null"]}}})},
        "/api/v1/admin/apps/{client_id}/directory-access": {
            "get": _op("What an app reads with its own token",
                       [{"name": "client_id", "in": "path", "required": True,
                         "schema": {"type": "string"}}]),
            "put": _op("Set an app's directory scope, hidden nodes granted by name, and "
                       "whether it is the higher-level directory (system administrators)",
                       [{"name": "client_id", "in": "path", "required": True,
                         "schema": {"type": "string"}}], body={
                           "type": "object", "required": ["scope_node_ids"],
                           "properties": {"scope_node_ids": {"type": "array", "items": _ID},
                                          "hidden_node_ids": {"type": "array", "items": _ID},
                                          "upward": {"type": "boolean"}}})},
        "/api/v1/admin/apps/{client_id}": {
            "get": _op("An app's application form (001 附件 1.1), state, testers, access "
                       "policy (使用范围) and client authentication (public keys only)",
                       [{"name": "client_id", "in": "path",
                                          "required": True, "schema": {"type": "string"}}]),
            "put": _op("Change the form's fields given, the testers, the access policy and "
                       "the client's authentication: method, keys (jwks or jwks_uri), ID "
                       "token algorithm (graded administrators: apps of their unit, subtrees "
                       "in their scope). A refused field: 400 with its code and name, "
                       "nothing written; a field equal to its value changes nothing",
                       [{"name": "client_id", "in": "path", "required": True,
                         "schema": {"type": "string"}}], body=_APP_BODY,
                       refused="a refused field: error is its code (directory.app.…), "
                               "field its name; nothing of the request was written")},
        "/api/v1/admin/accounts/{account_id}/apps": {
            "get": _op("The apps listed on a temporary account", [_path_id("account_id")]),
            "put": _op("List the only apps a temporary account may use",
                       [_path_id("account_id")], body={
                           "type": "object", "required": ["client_ids"],
                           "properties": {"client_ids": {"type": "array",
                                                         "items": {"type": "string"}}}})},
        "/api/v1/admin/grants": {
            "post": _op("Delegate a grant downward (scope inside yours, permissions a subset)",
                        status="201", body={
                            "type": "object",
                            "required": ["account_id", "node_ids", "permissions"],
                            "properties": {"account_id": _ID,
                                           "node_ids": {"type": "array", "items": _ID},
                                           "permissions": {"type": "array", "items": {
                                               "enum": _PERMISSIONS}}}})},
        "/api/v1/admin/people/{person_id}/reveal-id-number": {
            "post": _op("Reveal a national ID number (people permission; audited)",
                        [_path_id("person_id")])},
        "/api/v1/admin/structure": {
            "post": _op("Change the tree (create / rename / move / abolish): applied, or "
                        "filed as a change request at level ≤ 3 (202)", body={
                            "type": "object", "required": ["action", "payload"],
                            "properties": {"action": {"enum": ["create", "rename", "move",
                                                               "abolish"]},
                                           "payload": {"type": "object"}}})},
        "/api/v1/admin/change-requests/{request_id}/{decision}": {
            "post": _op("Approve or reject a change request (system administrators)", [
                _path_id("request_id"),
                {"name": "decision", "in": "path", "required": True,
                 "schema": {"enum": ["approve", "reject"]}}])},
    },
}


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    return jsonify(DOCUMENT)
