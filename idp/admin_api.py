"""Admin endpoints of the contacts API (#3): the visibility matrix and unit overrides,
hidden flags and allow-lists, not-searchable people, and graded grants. Every change is
checked against ``policies.delegation`` on the caller's grant and on the object's place in
the tree; what lies outside the caller's scope answers 404."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from sqlalchemy import select

from directory import app_access
from directory import apps
from directory import audit
from directory import client_auth
from directory import jwks_cache
from directory import people
from directory import queries
from directory import rules as rule_cmds
from directory import structure
from directory import tree
from directory import visibility as dv
from directory.models import Account
from directory.models import AccountType
from directory.models import App
from directory.models import Node
from directory.models import Person
from directory.models import Tag
from directory.models import VisibilityRule
from idp.api import NOT_FOUND
from idp.api import ApiError
from idp.api import _audit_ctx
from idp.api import _session
from idp.api import _uuid
from idp.runtime import runtime
from policies.delegation import Grant
from policies.delegation import Outcome
from policies.delegation import Permission
from policies.delegation import Verdict
from policies.delegation import may_act
from policies.delegation import may_change_structure
from policies.delegation import may_delegate
from policies.delegation import may_move

bp = Blueprint("admin", __name__, url_prefix="/admin")
ADMIN_TYPES = {AccountType.SYSTEM_ADMIN, AccountType.GRADED_ADMIN}


@bp.before_request
def _require_admin() -> None:
    if g.account is None or g.account.type not in ADMIN_TYPES:
        raise ApiError(403, "forbidden", "administrators only")
    g.grant = dv.load_grant(_session(), g.account)


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "a JSON object is required")
    return body


def _node_in_scope(node_id: uuid.UUID, permission: Permission) -> Node:
    node = _session().get(Node, node_id)
    if node is None or not may_act(g.grant, permission, dv.tokens(node.path)).allowed:
        raise NOT_FOUND
    return node


def _optional_uuid(body: dict[str, Any], field: str) -> uuid.UUID | None:
    value = body.get(field)
    return None if value is None else _uuid(str(value))


@bp.get("/visibility/rules")
def get_rules() -> Response:
    session = _session()
    rows = session.execute(select(VisibilityRule, Node.path).outerjoin(
        Node, Node.id == VisibilityRule.scope_node_id)).all()
    out = [{"node_id": str(r.scope_node_id) if r.scope_node_id else None,
            "viewer_class": r.viewer_class.value, "target_class": r.target_class.value,
            "mode": r.mode} for r, path in rows
           if path is None or may_act(g.grant, Permission.VISIBILITY, dv.tokens(path)).allowed]
    return jsonify(items=out)


@bp.put("/visibility/rules")
def put_rule() -> Response:
    """Set one cell: of the deployment matrix (system administrators) or of a unit override."""
    body, session = _body(), _session()
    node_id = _optional_uuid(body, "node_id")
    if node_id is None and not g.grant.system:
        raise ApiError(403, "forbidden", "only system administrators set the deployment matrix")
    if node_id is not None:
        _node_in_scope(node_id, Permission.VISIBILITY)
    rule_cmds.set_rule(session, _audit_ctx(), str(body.get("viewer_class")),
                       str(body.get("target_class")), body.get("mode"), node_id)
    session.commit()
    return jsonify(status="ok")


@bp.put("/nodes/<node_id>/hidden")
def put_hidden(node_id: str) -> Response:
    body, session = _body(), _session()
    if not isinstance(body.get("hidden"), bool):
        raise ApiError(400, "invalid_request", "hidden must be true or false")
    node = _node_in_scope(_uuid(node_id), Permission.VISIBILITY)
    tree.update_node(session, _audit_ctx(), node.id, hidden=body["hidden"])
    session.commit()
    return jsonify(id=str(node.id), hidden=body["hidden"])


@bp.post("/nodes/<node_id>/allow")
def post_allow(node_id: str) -> tuple[Response, int]:
    body, session = _body(), _session()
    node = _node_in_scope(_uuid(node_id), Permission.VISIBILITY)
    entry = rule_cmds.allow_hidden(
        session, _audit_ctx(), node.id, person_id=_optional_uuid(body, "person_id"),
        node_id=_optional_uuid(body, "node_id"), tag_id=_optional_uuid(body, "tag_id"))
    session.commit()
    return jsonify(id=str(entry.id)), 201


@bp.put("/people/<person_id>/not-searchable")
def put_not_searchable(person_id: str) -> Response:
    body, session = _body(), _session()
    if not isinstance(body.get("not_searchable"), bool):
        raise ApiError(400, "invalid_request", "not_searchable must be true or false")
    pid = _uuid(person_id)
    posts = queries.active_posts(session, pid)
    if not g.grant.system and not any(may_act(g.grant, Permission.VISIBILITY,
                                              dv.tokens(p.node_path)).allowed for p in posts):
        raise NOT_FOUND
    people.update(session, runtime(current_app).directory, _audit_ctx(), pid,
                  people.PersonData(not_searchable=body["not_searchable"]))
    session.commit()
    return jsonify(id=person_id, not_searchable=body["not_searchable"])


@bp.post("/grants")
def post_grant() -> tuple[Response, int]:
    """Delegate downward only: scope inside the caller's, permissions a subset (000 §6)."""
    body, session = _body(), _session()
    account = session.get(Account, _uuid(str(body.get("account_id"))))
    if account is None or account.type != AccountType.GRADED_ADMIN:
        raise ApiError(400, "invalid_request", "account_id must name a graded administrator")
    node_ids = [_uuid(str(n)) for n in body.get("node_ids") or []]
    nodes = [session.get(Node, n) for n in node_ids]
    if any(n is None for n in nodes):
        raise NOT_FOUND
    perms = [str(p) for p in body.get("permissions") or []]
    try:
        wanted = Grant(scopes=tuple(dv.tokens(n.path) for n in nodes if n),
                       permissions=frozenset(Permission(p) for p in perms))
    except ValueError as exc:
        raise ApiError(400, "invalid_request", "unknown permission") from exc
    verdict = may_delegate(g.grant, wanted)
    if not verdict.allowed:
        raise ApiError(403, "forbidden", verdict.rule)
    row = rule_cmds.grant(session, _audit_ctx(), account.id, node_ids, perms, g.account.id)
    session.commit()
    return jsonify(id=str(row.id)), 201


def _structure_verdict(action: str, payload: dict[str, Any]) -> Verdict:
    """The policy decision for a structure change, on the tree as it is now."""
    session = _session()
    structure.check_action(action)
    if action == "create":
        parent = structure.node_for(session, payload, "parent_id")
        return may_change_structure(g.grant, dv.tokens(parent.path) + ("new",))
    node = structure.node_for(session, payload)
    if action == "move":
        parent = structure.node_for(session, payload, "parent_id")
        return may_move(g.grant, dv.tokens(node.path), dv.tokens(parent.path))
    return may_change_structure(g.grant, dv.tokens(node.path))


@bp.post("/structure")
def post_structure() -> tuple[Response, int]:
    """Change the tree: applied at once where the caller may (level ≥ 4 in scope, or a
    system administrator), filed as a change request at level ≤ 3, refused elsewhere."""
    body, session = _body(), _session()
    action, payload = str(body.get("action")), body.get("payload")
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_request", "payload must be an object")
    verdict = _structure_verdict(action, payload)
    if verdict.outcome is Outcome.DENY:
        if verdict.rule.startswith("grant.lacks"):
            raise ApiError(403, "forbidden", verdict.rule)
        raise NOT_FOUND
    if verdict.outcome is Outcome.CHANGE_REQUEST:
        filed = structure.file_request(session, _audit_ctx(), g.account.id, action, payload)
        session.commit()
        return jsonify(status="pending", change_request_id=str(filed.id), rule=verdict.rule), 202
    node = structure.apply(session, _audit_ctx(), action, payload)
    session.commit()
    return jsonify(status="applied", node_id=str(node.id)), 200


@bp.post("/change-requests/<request_id>/<decision>")
def decide_change_request(request_id: str, decision: str) -> Response:
    """System administrators approve (the change applies now) or reject a request."""
    if decision not in ("approve", "reject"):
        raise NOT_FOUND
    if not g.grant.system:
        raise ApiError(403, "forbidden", "only system administrators decide change requests")
    body, session = request.get_json(silent=True) or {}, _session()
    reason = body.get("reason") if isinstance(body, dict) else None
    decided = structure.decide_request(session, _audit_ctx(), _uuid(request_id), g.account.id,
                                       decision == "approve", reason)
    session.commit()
    return jsonify(id=str(decided.id), status=decided.status)


@bp.post("/people/<person_id>/reveal-id-number")
def reveal_id_number(person_id: str) -> Response:
    """The explicit, audited reveal of a national ID number (people permission over the
    person); everywhere else admins see it masked and users never see it."""
    session, pid = _session(), _uuid(person_id)
    posts = queries.active_posts(session, pid)
    if not g.grant.system and not any(may_act(g.grant, Permission.PEOPLE,
                                              dv.tokens(p.node_path)).allowed for p in posts):
        raise NOT_FOUND
    person = session.get(Person, pid)
    if person is None:
        raise NOT_FOUND
    value = people.reveal(session, runtime(current_app).directory, person, "id_number")
    audit.record(session, "person.id_number_revealed", _audit_ctx(), target_type="person",
                 target_id=pid)
    session.commit()
    return jsonify(id=person_id, id_number=value)


def _app_in_scope(client_id: str) -> App:
    """An app a graded admin may manage: one of a unit inside their apps scope (应用授权 is
    done inside one's own unit); every app for system administrators."""
    session = _session()
    app = apps.by_client_id(session, client_id)
    if app is None:
        raise NOT_FOUND
    if g.grant.system:
        return app
    unit = session.get(Node, app.unit_node_id) if app.unit_node_id else None
    if unit is None or not may_act(g.grant, Permission.APPS, dv.tokens(unit.path)).allowed:
        raise NOT_FOUND
    return app


def _access_json(app: App) -> dict[str, Any]:
    scopes, grants = apps.directory_access(_session(), app)
    return {"client_id": app.client_id, "scope_node_ids": [str(n.id) for n in scopes],
            "hidden_node_ids": [str(n.id) for n in grants], "upward": app.directory_upward}


def _id_list(body: dict[str, Any], field: str) -> list[uuid.UUID]:
    value = body.get(field, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "invalid_request", f"{field} must be a list of ids")
    try:
        return [uuid.UUID(v) for v in value]
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"{field} must be a list of ids") from exc


@bp.get("/apps/<client_id>/directory-access")
def get_directory_access(client_id: str) -> Response:
    return jsonify(_access_json(_app_in_scope(client_id)))


@bp.put("/apps/<client_id>/directory-access")
def put_directory_access(client_id: str) -> Response:
    """Which subtrees an app reads with its own token, which hidden nodes it is granted by
    name, and whether it is the higher-level directory (system administrators only). The
    caller needs the apps permission over every subtree before and after the change, and
    the visibility permission over every hidden node granted before and after."""
    body, session = _body(), _session()
    app = _app_in_scope(client_id)
    scope_ids, hidden_ids = _id_list(body, "scope_node_ids"), _id_list(body, "hidden_node_ids")
    upward = body.get("upward", app.directory_upward)
    if not isinstance(upward, bool):
        raise ApiError(400, "invalid_request", "upward must be true or false")
    if upward != app.directory_upward and not g.grant.system:
        raise ApiError(403, "forbidden",
                       "only system administrators choose the higher-level directory")
    old_scopes, old_grants = apps.directory_access(session, app)
    for nodes, permission in (
            ([session.get(Node, n) for n in scope_ids], Permission.APPS),
            ([session.get(Node, n) for n in hidden_ids], Permission.VISIBILITY)):
        for node in nodes:
            if node is None or not may_act(g.grant, permission, dv.tokens(node.path)).allowed:
                raise NOT_FOUND
    for node, permission in [*((n, Permission.APPS) for n in old_scopes),
                             *((n, Permission.VISIBILITY) for n in old_grants)]:
        verdict = may_act(g.grant, permission, dv.tokens(node.path))
        if not verdict.allowed:
            raise ApiError(403, "forbidden", "the app's access reaches outside your scope")
    apps.set_directory_access(session, _audit_ctx(), app, scope_node_ids=scope_ids,
                              hidden_node_ids=hidden_ids, upward=upward)
    session.commit()
    return jsonify(_access_json(app))


def _account_in_scope(account_id: str) -> Account:
    session = _session()
    account = session.get(Account, _uuid(account_id))
    if account is None or account.person_id is None:
        raise NOT_FOUND
    posts = queries.active_posts(session, account.person_id)
    if not g.grant.system and not any(may_act(g.grant, Permission.ACCOUNTS,
                                              dv.tokens(p.node_path)).allowed for p in posts):
        raise NOT_FOUND
    return account


@bp.get("/accounts/<account_id>/apps")
def get_account_apps(account_id: str) -> Response:
    account = _account_in_scope(account_id)
    return jsonify(client_ids=[a.client_id for a in apps.listed_apps(_session(), account.id)])


@bp.put("/accounts/<account_id>/apps")
def put_account_apps(account_id: str) -> Response:
    """The only apps a temporary account may use (DOMAIN.md §3)."""
    body, session = _body(), _session()
    account = _account_in_scope(account_id)
    client_ids = body.get("client_ids")
    if not isinstance(client_ids, list) or not all(isinstance(c, str) for c in client_ids):
        raise ApiError(400, "invalid_request", "client_ids must be a list of client ids")
    listed = apps.set_account_apps(session, _audit_ctx(), account, client_ids)
    session.commit()
    return jsonify(client_ids=[a.client_id for a in listed])


@bp.put("/nodes/<node_id>/share-upward")
def put_share_upward(node_id: str) -> Response:
    """开放共享范围 (001 组织人员规范 §14): a unit shares its subtree into the higher-level
    directory (true), withholds it (false) or follows the node above (null)."""
    body, session = _body(), _session()
    if "share" not in body or not (body["share"] is None or isinstance(body["share"], bool)):
        raise ApiError(400, "invalid_request", "share must be true, false or null")
    node = _node_in_scope(_uuid(node_id), Permission.VISIBILITY)
    apps.set_share_upward(session, _audit_ctx(), node.id, body["share"])
    session.commit()
    return jsonify(id=str(node.id), share=body["share"])


# -- apps: the application form, testers and 使用范围 (#4) --------------------------------


def _jwks_uri_fetch(app: App) -> dict[str, Any] | None:
    """Read-only: what the server last fetched from the client's jwks_uri (kids only)."""
    cached = jwks_cache.get(_session(), app.id, app.jwks_uri) if app.jwks_uri else None
    if cached is None:
        return None
    return {"kids": cached.kids, "failure": cached.failure,
            "fetched_at": cached.fetched_at.isoformat() if cached.fetched_at else None,
            "attempted_at": cached.attempted_at.isoformat()}


def _client_auth_json(app: App) -> dict[str, Any]:
    """How the client authenticates (RFC 7591 names); public keys only, ever."""
    return {"token_endpoint_auth_method": app.token_endpoint_auth_method,
            "jwks": client_auth.public_jwks(app), "jwks_uri": app.jwks_uri,
            "jwks_uri_fetch": _jwks_uri_fetch(app),
            "id_token_signed_response_alg": app.id_token_signed_response_alg}


def _app_json(app: App) -> dict[str, Any]:
    session = _session()
    nodes, tags, types = app_access.access_lists(session, app)
    return {"client_id": app.client_id, "name": app.name, "status": app.status.value,
            "unit_node_id": str(app.unit_node_id) if app.unit_node_id else None,
            **app_access.profile(app), **_client_auth_json(app),
            "tester_ids": [str(a.id) for a in app_access.testers(session, app)],
            "access": {"node_ids": [str(n.id) for n in nodes],
                       "tag_ids": [str(t.id) for t in tags], "account_types": types}}


@bp.get("/apps/<client_id>")
def get_app(client_id: str) -> Response:
    return jsonify(_app_json(_app_in_scope(client_id)))


def _check_access_scope(node_ids: list[uuid.UUID], tag_ids: list[uuid.UUID]) -> None:
    """A graded admin opens an app only to subtrees (and tags owned) inside their apps
    scope (应用授权 inside one's own unit)."""
    session = _session()
    for node_id in node_ids:
        _node_in_scope(node_id, Permission.APPS)
    for tag_id in tag_ids:
        tag = session.get(Tag, tag_id)
        if tag is None:
            raise NOT_FOUND
        _node_in_scope(tag.owner_node_id, Permission.APPS)


@bp.put("/apps/<client_id>")
def put_app(client_id: str) -> Response:
    """Change the application form's fields (those given), the testers (``tester_ids``),
    the access policy (``access``: ``node_ids``, ``tag_ids``, ``account_types``) and how
    the client authenticates (``directory.client_auth.CLIENT_AUTH_FIELDS``; a new secret,
    when one is made, is in the answer once)."""
    body, session = _body(), _session()
    app = _app_in_scope(client_id)
    current = _app_json(app)
    for key in ("client_id", "status", "unit_node_id"):  # read-only: a GET body round-trips
        if key in body and body.pop(key) != current[key]:
            raise ApiError(400, "invalid_request", f"{key} cannot be changed here")
    body.pop("jwks_uri_fetch", None)  # read-only, changes by itself: ignored
    given = {k: body.pop(k) for k in client_auth.CLIENT_AUTH_FIELDS if k in body}
    auth = {k: v for k, v in given.items() if v != current[k]}  # a GET body round-trips
    secret = client_auth.set_client_auth(session, _audit_ctx(), app, auth) if auth else None
    changes = {k: v for k, v in body.items() if k not in ("tester_ids", "access")}
    if changes:
        app_access.set_profile(session, _audit_ctx(), app, changes)
    if "tester_ids" in body:
        app_access.set_testers(session, _audit_ctx(), app, _id_list(body, "tester_ids"))
    if "access" in body:
        access = body["access"]
        if not isinstance(access, dict):
            raise ApiError(400, "invalid_request", "access must be an object")
        node_ids, tag_ids = _id_list(access, "node_ids"), _id_list(access, "tag_ids")
        types = access.get("account_types", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise ApiError(400, "invalid_request", "account_types must be a list")
        _check_access_scope(node_ids, tag_ids)
        app_access.set_policy(session, _audit_ctx(), app, node_ids=node_ids,
                              tag_ids=tag_ids, account_types=types)
    session.commit()
    if secret is None:
        return jsonify(_app_json(app))
    response = jsonify({**_app_json(app), "client_secret": secret})
    response.headers["Cache-Control"] = "no-store"  # RFC 6749 §5.1, as for a token
    return response
