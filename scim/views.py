"""The SCIM 2.0 endpoints (RFC 7644) under ``/scim/v2``.

Order of checks on every request: body size (413), bearer token of an online app whose
token carries the ``scim`` scope, or at ``/Me`` a person's token with it (401/403), then
the endpoint. Every answer, errors included, is ``application/scim+json`` in the RFC 7644
§3.12 format; an unexpected exception is a bare 500 whose traceback goes to the log only.
Each request is one unit of work that ends before the response leaves.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import HTTPException

from directory import accounts
from directory import audit
from directory import scim_store as store
from directory.errors import DomainError
from directory.settings import DirectorySettings
from scim import bulk
from scim import document as d
from scim import errors
from scim import me as me_writes
from scim import resources
from scim import schemas as s
from scim import search
from scim.call import Call
from scim.mapping import etag
from scim.resources import KINDS
from scim.resources import Kind

log = logging.getLogger("scim")
bp = Blueprint("scim", __name__, url_prefix="/scim/v2")
MEDIA_TYPE = "application/scim+json"
SCOPE = "scim"
_ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')


@dataclass(frozen=True)
class Wiring:
    """What the composition root hands in: ``authenticate(session, token)`` returns an
    object with ``subject``, ``client_id``, ``scope`` and ``claims`` (a proxy's token has
    ``act``, RFC 8693 §4.1) or raises."""

    sessions: Callable[[], Any]
    settings: DirectorySettings
    authenticate: Callable[[Any, str], Any]
    # after a commit that froze or deactivated accounts: (account id, [(client, session)])
    on_revoked: Callable[[Any], object] | None = None


def init_app(app: Flask, sessions: Callable[[], Any], settings: DirectorySettings,
             authenticate: Callable[[Any, str], Any],
             on_revoked: Callable[[Any], object] | None = None) -> None:
    app.extensions["scim"] = Wiring(sessions, settings, authenticate, on_revoked)
    app.register_blueprint(bp)


def _wiring() -> Wiring:
    return current_app.extensions["scim"]


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = "" if body is None else json.dumps(body, ensure_ascii=False)
    response = Response(text, status=status, mimetype=MEDIA_TYPE)
    response.headers.update(headers or {})
    return response


@bp.errorhandler(errors.ScimError)
def _scim_error(exc: errors.ScimError) -> Response:
    return respond(exc.body(), exc.status, exc.headers)


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> Response:
    return _scim_error(errors.from_domain(exc))


@bp.errorhandler(store.IntegrityError)
def _integrity(exc: Exception) -> Response:
    return _scim_error(errors.uniqueness("the resource conflicts with an existing one"))


@bp.errorhandler(store.DataError)
def _data_error(exc: Exception) -> Response:
    return _scim_error(errors.invalid_value("a value does not fit its attribute"))


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return _scim_error(errors.ScimError(exc.code or 500, exc.name or "error"))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled SCIM error", extra={"request_id": g.get("request_id")})
    return _scim_error(errors.ScimError(500, "internal error"))


@bp.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    session = g.pop("scim_session", None)
    if session is not None:
        session.close()


@bp.before_request
def _authenticate() -> None:
    if (request.content_length or 0) > s.MAX_PAYLOAD:
        raise errors.ScimError(413, f"the body is larger than {s.MAX_PAYLOAD} bytes")
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise errors.ScimError(401, "bearer token required",
                               headers={"WWW-Authenticate": 'Bearer realm="scim"'})
    wiring = _wiring()
    session = g.scim_session = wiring.sessions()
    if wiring.on_revoked is not None:  # active:false and DELETE tell the apps (#4)
        accounts.after_commit_revocations(session, wiring.on_revoked)
    presented = header[7:].strip()
    if presented.startswith(store.TOKEN_PREFIX):  # an administrator's SCIM token
        client_id, scope = store.token_client_id(session, presented), {SCOPE}
    else:  # an app's own access token (client credentials, RFC 9068 §2.2) or a person's
        try:
            token = wiring.authenticate(session, presented)
        except Exception as exc:  # noqa: BLE001 - any refusal of the token is a 401
            raise _invalid_token() from exc
        scope = token.scope
        client_id = token.client_id if token.subject == token.client_id else None
        if client_id is None and request.endpoint == "scim.me":
            found = store.load_self(session, token.client_id, token.subject)
            if found is None:
                raise _invalid_token()
            g.scim_client, person_id = found
            g.scim_me = me_writes.Me(person_id, uuid.UUID(token.subject),
                                     "act" in (getattr(token, "claims", None) or {}))
    client = store.load_client(session, client_id) if client_id else g.get("scim_client")
    if client is None:
        raise _invalid_token()
    if SCOPE not in scope:
        raise errors.ScimError(403, f"the {SCOPE} scope is required", headers={
            "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{SCOPE}"'})
    # the endpoint goes on in the transaction these reads opened (Call.unit): one BEGIN
    # and one COMMIT a request
    g.scim_client = client


def _invalid_token() -> errors.ScimError:
    return errors.ScimError(401, "invalid token", headers={
        "WWW-Authenticate": 'Bearer error="invalid_token"'})


def _base() -> str:
    return request.host_url.rstrip("/") + "/scim/v2"


def _call(actor: str | None = None) -> Call:
    """The unit of work; its writes are audited with the client as the actor, or with
    ``actor`` (the person, for /Me)."""
    ctx = audit.Context(actor=actor or g.scim_client.actor, source_ip=request.remote_addr,
                        request_id=g.get("request_id"))
    return Call(g.scim_session, g.scim_client, _wiring().settings, ctx)


def _body() -> Any:
    raw = request.get_data(cache=True)
    if len(raw) > s.MAX_PAYLOAD:
        raise errors.ScimError(413, f"the body is larger than {s.MAX_PAYLOAD} bytes")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.invalid_syntax("the body is not valid JSON") from exc


def _kind(endpoint: str) -> Kind:
    kind = KINDS.get(endpoint)
    if kind is None and endpoint in s.DISCOVERY_ENDPOINTS:
        raise errors.ScimError(405, f"{request.method} is not allowed here",
                               headers={"Allow": "GET"})
    if kind is None:
        raise errors.not_found("no such endpoint")
    return kind


# -- discovery (RFC 7644 §4) ---------------------------------------------------------------

@bp.get("/ServiceProviderConfig")
def service_provider_config() -> Response:
    return respond(s.service_provider_config(_base()))


def _list(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [s.LIST_RESPONSE], "totalResults": len(resources), "startIndex": 1,
            "itemsPerPage": len(resources), "Resources": resources}


@bp.get("/Schemas")
def list_schemas() -> Response:
    return respond(_list([x.as_json(_base()) for x in s.SCHEMAS.values()]))


@bp.get("/Schemas/<schema_id>")
def get_schema(schema_id: str) -> Response:
    if schema_id not in s.SCHEMAS:
        raise errors.not_found("no such schema")
    return respond(s.SCHEMAS[schema_id].as_json(_base()))


@bp.get("/ResourceTypes")
def list_resource_types() -> Response:
    return respond(_list([r.as_json(_base()) for r in s.RESOURCE_TYPES.values()]))


@bp.get("/ResourceTypes/<name>")
def get_resource_type(name: str) -> Response:
    if name not in s.RESOURCE_TYPES:
        raise errors.not_found("no such resource type")
    return respond(s.RESOURCE_TYPES[name].as_json(_base()))


@bp.route("/Me", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def me() -> Response:
    """RFC 7644 §3.11: the User behind a person's token (with the ``scim`` scope): read,
    and the person's own email and password changed by PUT and PATCH (scim/me.py);
    nobody creates or deletes themselves. An app's token has no User behind it."""
    if g.get("scim_me") is None:
        raise errors.ScimError(501, "/Me answers for a person's token; SCIM clients are apps")
    if request.method in ("POST", "DELETE"):
        raise errors.ScimError(403, me_writes.REFUSED[request.method])
    me_: me_writes.Me = g.scim_me
    kind, call = KINDS["Users"], _call(f"account:{me_.account_id}")
    body = None if request.method == "GET" else _body()
    with call.unit():
        if request.method == "GET":
            row = resources.found(kind, call, str(me_.person_id))
            if _unchanged(row):
                return respond(None, 304, {"ETag": etag(row.version)})
        else:
            row = me_writes.write(call, me_, request.method, body,
                                  parse_etag(request.headers.get("If-Match")), _base())
        response = _one(kind, call, row)
    response.headers["Location"] = f"{_base()}/Users/{me_.person_id}"
    return response


# -- query (RFC 7644 §3.4) ------------------------------------------------------------------

@bp.get("/<endpoint>")
def list_resources(endpoint: str) -> Response:
    return respond(search.one_type(_kind(endpoint), dict(request.args), _call(), _base()))


@bp.post("/.search")
def search_everything() -> Response:
    """RFC 7644 §3.4.3 at the root (scim/search.py)."""
    body = _body()
    if not isinstance(body, dict):
        raise errors.invalid_syntax("a SearchRequest is a JSON object")
    return respond(search.everything(body, _call(), _base()))


@bp.post("/<endpoint>/.search")
def search_resources(endpoint: str) -> Response:
    body = _body()
    if not isinstance(body, dict):
        raise errors.invalid_syntax("a SearchRequest is a JSON object")
    return respond(search.one_type(_kind(endpoint), body, _call(), _base()))


# -- resources (RFC 7644 §3.3, §3.4.1, §3.5, §3.6) ------------------------------------------

def _one(kind: Kind, call: Call, row: Any, status: int = 200) -> Response:
    doc = resources.render_one(kind, call, _base(), row, created=status == 201)
    doc = d.project(doc, kind.rtype, search.names(request.args.get("attributes")),
                    search.names(request.args.get("excludedAttributes")))
    headers = {"ETag": etag(row.version)}
    if status == 201:
        headers["Location"] = doc["meta"]["location"] if "meta" in doc else ""
    return respond(doc, status, headers)


def parse_etag(header: str | None) -> int | None:
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header)
    if match is None:
        raise errors.ScimError(412, "the resource changed (ETag mismatch)")
    return int(match.group(1))


@bp.get("/<endpoint>/<resource_id>")
def get_resource(endpoint: str, resource_id: str) -> Response:
    kind, call = _kind(endpoint), _call()
    with call.unit():
        row = resources.found(kind, call, resource_id)
        if _unchanged(row):
            return respond(None, 304, {"ETag": etag(row.version)})
        return _one(kind, call, row)


def _unchanged(row: Any) -> bool:
    """The client holds this version already (If-None-Match, RFC 7644 §3.14): 304."""
    wanted = request.headers.get("If-None-Match")
    return wanted is not None and wanted.strip() == etag(row.version)


@bp.post("/<endpoint>")
def create_resource(endpoint: str) -> Response:
    kind, call = _kind(endpoint), _call()
    body = _body()
    with call.unit():
        return _one(kind, call, resources.create(kind, call, body), 201)


@bp.put("/<endpoint>/<resource_id>")
def replace_resource(endpoint: str, resource_id: str) -> Response:
    kind, call = _kind(endpoint), _call()
    body = _body()
    with call.unit():
        row = resources.replace(kind, call, resource_id, body,
                                parse_etag(request.headers.get("If-Match")))
        return _one(kind, call, row)


@bp.patch("/<endpoint>/<resource_id>")
def patch_resource(endpoint: str, resource_id: str) -> Response:
    kind, call = _kind(endpoint), _call()
    body = _body()
    with call.unit():
        row = resources.patch(kind, call, resource_id, body,
                              parse_etag(request.headers.get("If-Match")), _base())
        if kind.rtype is s.GROUPS and not request.args.get("attributes"):
            call.session.flush()
            call.session.refresh(row)
            return respond(None, 204, {"ETag": etag(row.version)})
        return _one(kind, call, row)


@bp.delete("/<endpoint>/<resource_id>")
def delete_resource(endpoint: str, resource_id: str) -> Response:
    kind, call = _kind(endpoint), _call()
    with call.unit():
        resources.delete(kind, call, resource_id, parse_etag(request.headers.get("If-Match")))
    return respond(None, 204)


@bp.post("/Bulk")
def bulk_request() -> Response:
    """RFC 7644 §3.7 (scim/bulk.py)."""
    return respond(bulk.run(_body(), _call(), _base(), parse_etag))


DISCOVERY = re.compile(r"^(ServiceProviderConfig|Schemas|ResourceTypes)(/[^/]+)?$")
COLLECTION = re.compile(r"^(Users|Groups|OrgUnits)$")
RESOURCE = re.compile(r"^(Users|Groups|OrgUnits)/[^/]+$")


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> Response:
    """404 for what does not exist; 405 for a method an existing endpoint does not take."""
    allowed = (["GET"] if DISCOVERY.match(rest) else ["GET", "POST"] if COLLECTION.match(rest)
               else ["GET", "PUT", "PATCH", "DELETE"] if RESOURCE.match(rest)
               else ["POST"] if rest in ("Bulk", ".search") or rest.endswith("/.search")
               else None)
    if allowed is None:
        raise errors.not_found("no such endpoint")
    raise errors.ScimError(405, f"{request.method} is not allowed here",
                           headers={"Allow": ", ".join(allowed)})
