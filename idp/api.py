"""The contacts API (/api/v1, #3): every read goes through the visibility policy.

Whatever a viewer may not see answers 404 with exactly the body of an id that does not
exist. Bearer tokens are RFC 9068 JWT access tokens of this server (RFC 6750 errors).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import g
from flask import jsonify
from flask import request
from sqlalchemy.orm import Session

from directory import accounts
from directory import apps
from directory import audit
from directory import queries
from directory import rules as visibility_rules
from directory import tag_visibility
from directory import visibility as dv
from directory.crypto import mask_id_number
from directory.crypto import mask_mobile
from directory.models import Account
from directory.models import App
from directory.models import AppStatus
from directory.models import Node
from directory.models import NodeStatus
from directory.models import Person
from directory.people import reveal
from directory.search import search_people
from idp import grants
from idp import store
from idp import token_exchange
from idp import tokens
from idp.runtime import runtime
from policies import visibility as pv
from policies.delegation import Permission
from policies.delegation import may_act

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_PAGE = 500


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


NOT_FOUND = ApiError(404, "not_found", "no such resource")
DIRECTORY_SCOPE = "directory"  # what an app's own token needs to read the directory


def _session() -> Session:
    if "api_session" not in g:
        g.api_session = runtime(current_app).sessions()
    return g.api_session


@bp.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    session = g.pop("api_session", None)
    if session is not None:
        session.close()


@bp.errorhandler(ApiError)
def api_error(exc: ApiError) -> Response:
    response = jsonify(error=exc.code, message=exc.message, request_id=g.get("request_id"))
    response.status_code = exc.status
    response.headers.update(exc.headers or {})
    return response


def _unauthorized(description: str) -> ApiError:
    return ApiError(401, "invalid_token", description,
                    {"WWW-Authenticate": f'Bearer error="invalid_token", '
                                         f'error_description="{description}"'})


def bearer_token(session: Session) -> tokens.AccessToken:
    """The request's bearer access token, verified (RFC 6750 errors otherwise)."""
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        raise ApiError(401, "invalid_request", "bearer token required",
                       {"WWW-Authenticate": 'Bearer realm="api"'})
    try:
        return tokens.verify_access_token(session, runtime(current_app).settings.issuer,
                                          header[7:].strip())
    except tokens.InvalidToken as exc:
        raise _unauthorized(str(exc)) from exc


def user_account(session: Session, token: tokens.AccessToken) -> Account:
    """The account behind a user's token: usable, its grant alive (logout, freeze, replay
    and revocation kill it, #4) and still allowed the app the token was issued to."""
    account = session.get(Account, _uuid(token.subject, unauthorized=True))
    if account is None or not accounts.usable(account):
        raise _unauthorized("account not usable")
    if "grant" in token.claims and grants.token_grant(session, token) is None:
        raise _unauthorized("grant revoked")
    if not apps.account_may_use(session, account, token.client_id):
        raise _unauthorized("account not permitted for this app")
    return account


@bp.before_request
def _authenticate() -> None:
    session = _session()
    token = bearer_token(session)
    if token.client_id and token.subject == token.client_id:
        # an app's own token (client credentials, RFC 9068 §2.2: sub is the client)
        app = apps.by_client_id(session, token.client_id)
        if app is None or app.status != AppStatus.ONLINE:
            raise _unauthorized("app not online")
        if DIRECTORY_SCOPE not in token.scope:
            raise ApiError(403, "insufficient_scope", f"the {DIRECTORY_SCOPE} scope is required",
                           {"WWW-Authenticate": f'Bearer error="insufficient_scope", '
                                                f'scope="{DIRECTORY_SCOPE}"'})
        g.viewer, g.account, g.app = dv.load_app_viewer(session, app), None, app
        g.rules, (_, g.hidden) = pv.Rules(), dv.load_policy_cached(session)
        return
    account = user_account(session, token)
    if "act" in token.claims and not token_exchange.record_use(session, token, request.path):
        raise _unauthorized("proxy not acting")  # RFC 8693 §4.1: audited on behalf of (#4)
    context = dv.load_account_context(session, account)
    g.viewer, g.rules, g.hidden = context.viewer, context.rules, context.hidden
    g.account, g.app = account, None


def _uuid(text: str, unauthorized: bool = False) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError as exc:
        raise (_unauthorized("bad subject") if unauthorized else NOT_FOUND) from exc


def _visible_node(node_id: uuid.UUID) -> Node:
    node = _session().get(Node, node_id)
    if node is None or node.status != NodeStatus.ACTIVE or not _sees_node(node.path):
        raise NOT_FOUND
    return node


def _sees_node(node_path: str) -> bool:
    path = dv.tokens(node_path)
    return pv.covers(g.viewer.admin_scopes, path) or pv.node_visible(g.viewer, path, g.hidden)


def _charge(people: int) -> None:
    """Anti-scraping (000 §15 严禁扩散): every person returned counts against the viewer's
    per-minute quota, shared by all workers; a bulk read is audited."""
    if people == 0:
        return
    rt, session = runtime(current_app), _session()
    if g.app is not None:
        key, quota = f"contacts:app:{g.app.id}", rt.settings.app_reads_per_minute
    else:
        key, quota = f"contacts:{g.account.id}", rt.settings.contacts_reads_per_minute
    total = store.consume(session, key, people)
    if people > rt.settings.bulk_read_threshold:
        audit.record(session, "directory.bulk_read", _audit_ctx(),
                     summary={"path": request.path, "people": people})
    session.commit()
    if total > quota:
        raise ApiError(429, "rate_limited", "too many person reads; slow down",
                       {"Retry-After": str(60 - int(time.time()) % 60)})


def node_json(node: Node) -> dict[str, Any]:
    return {"id": str(node.id), "name": node.name, "short_name": node.short_name,
            "code": node.code, "type": node.type, "level": node.level, "is_unit": node.is_unit,
            "parent_id": str(node.parent_id) if node.parent_id else None,
            "order": node.sort_order}


@bp.get("/nodes/<node_id>")
def get_node(node_id: str) -> Response:
    return jsonify(node_json(_visible_node(_uuid(node_id))))


@bp.get("/nodes/<node_id>/children")
def get_children(node_id: str) -> Response:
    node = _visible_node(_uuid(node_id))
    kids = dv.visible_children(_session(), g.viewer, g.hidden, node)
    return jsonify(items=[node_json(k) for k in kids])


def _encode_cursor(row: queries.MemberRow) -> str:
    raw = json.dumps([row.node_path, row.sort_order, str(row.person_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(text: str) -> queries.Cursor:
    try:
        path, order, pid = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        return queries.Cursor(str(path), int(order), uuid.UUID(pid))
    except (ValueError, TypeError) as exc:
        raise ApiError(400, "invalid_request", "cursor is not valid") from exc


def _limit() -> int:
    try:
        limit = int(request.args.get("limit", 50))
    except ValueError as exc:
        raise ApiError(400, "invalid_request", "limit must be an integer") from exc
    if not 1 <= limit <= MAX_PAGE:
        raise ApiError(400, "invalid_request", f"limit is 1 to {MAX_PAGE}")
    return limit


@bp.get("/nodes/<node_id>/people")
def get_node_people(node_id: str) -> Response:
    """Everyone listed under the node for this viewer, in post order, keyset-paginated."""
    node = queries.active_node_ref(_session(), _uuid(node_id))
    if node is None or not _sees_node(node.path):
        raise NOT_FOUND
    limit = _limit()
    after = _decode_cursor(request.args["cursor"]) if "cursor" in request.args else None
    rows = dv.listed_members(_session(), g.viewer, g.rules, g.hidden, node, limit=limit,
                             after=after)
    _charge(len(rows))
    items = [{"person_id": str(r.person_id), "name": r.name, "node_id": str(r.node_id),
              "title": r.title, "kind": r.kind} for r in rows]
    next_cursor = _encode_cursor(rows[-1]) if len(rows) == limit else None
    return jsonify(items=items, next_cursor=next_cursor)


def _visible_person(person_id: uuid.UUID) -> tuple[Person, pv.Decision]:
    """The person and the viewer's decision about them; 404 when they do not exist for V."""
    loaded = dv.load_target(_session(), person_id)
    if loaded is None:
        raise NOT_FOUND
    person, target = loaded
    decision = pv.decide(g.viewer, target, g.rules, g.hidden)
    if not decision.exists:
        raise NOT_FOUND
    return person, decision


@bp.get("/people/search")
def search() -> Response:
    """Name prefix, full pinyin, initials or exact mobile for direct targets; exact full
    name or exact mobile only for searchable-and-addable ones; each hit carries its mode."""
    q = request.args.get("q", "")
    if not q.strip() or len(q) > 100:
        raise ApiError(400, "invalid_request", "q is 1 to 100 characters")
    limit = min(_limit() if "limit" in request.args else 20, 50)
    hits = search_people(_session(), runtime(current_app).directory, g.viewer, g.rules,
                         g.hidden, q, limit=limit)
    _charge(len(hits))
    return jsonify(items=[{"person_id": str(h.person_id), "name": h.name, "mode": h.mode.value,
                           "matched": h.matched} for h in hits])


@bp.get("/people/<person_id>")
def get_person(person_id: str) -> Response:
    session = _session()
    person, decision = _visible_person(_uuid(person_id))
    _charge(1)
    mobile = reveal(session, runtime(current_app).directory, person, "mobile")
    if mobile and decision.mode is not pv.Mode.DIRECT:
        mobile = mask_mobile(mobile)
    posts = [p for p in dv.target_posts(session, person)
             if pv.node_visible(g.viewer, dv.tokens(p.node_path), g.hidden)]
    id_number = None
    if decision.rule in ("admin.scope", "person.deactivated") and person.id_number_enc:
        # admins with scope see it masked; the clear value needs the audited reveal
        id_number = mask_id_number(reveal(session, runtime(current_app).directory, person,
                                          "id_number") or "")
    return jsonify(id=str(person.id), name=person.name, gender=person.gender.value,
                   status=person.status.value, mode=decision.mode.value,
                   contact=decision.contact.value, mobile=mobile,
                   id_number_masked=id_number,
                   office_phone=person.office_phone if decision.listed else None,
                   email=person.email if decision.listed else None,
                   posts=[{"node_id": str(p.node_id), "title": p.title, "kind": p.kind.value}
                          for p in posts])


def _person_only() -> Account:
    """The signed-in account; an app's own token has none (403, not a 404: the caller
    knows what it is)."""
    if g.account is None:
        raise ApiError(403, "forbidden", "an app token acts for no person")
    account: Account = g.account
    return account


@bp.get("/me")
def me() -> Response:
    session = _session()
    if g.app is not None:
        return jsonify(_app_me(session, g.app))
    if g.account.person_id is None:
        return jsonify(id=None, name=None, visibility_class=None, posts=[],
                       account={"username": g.account.username, "type": g.account.type.value})
    person = session.get_one(Person, g.account.person_id)
    posts = queries.active_posts(session, person.id)
    return jsonify(id=str(person.id), name=person.name,
                   visibility_class=person.visibility_class.value,
                   account={"username": g.account.username, "type": g.account.type.value},
                   posts=[{"node_id": str(p.node_id), "title": p.title, "kind": p.kind.value}
                          for p in posts])


def _app_me(session: Session, app: App) -> dict[str, Any]:
    """What an app may read: its scope nodes (where to start walking the tree) and, for the
    higher-level directory, the nodes units share upward inside that scope."""
    candidates, _ = apps.directory_access(session, app)
    if app.directory_upward:
        candidates += [n for s in list(candidates) for n in apps.shared_nodes(session, s.path)
                       if n.share_upward]
    entry = {n.id: n for n in candidates
             if pv.node_visible(g.viewer, dv.tokens(n.path), g.hidden)}.values()
    return {"app": {"client_id": app.client_id, "name": app.name,
                    "upward": app.directory_upward},
            "nodes": [node_json(n) for n in entry]}


def _audit_ctx() -> audit.Context:
    actor = f"app:{g.app.client_id}" if g.get("app") is not None else f"account:{g.account.id}"
    return audit.Context(actor=actor, source_ip=request.remote_addr,
                         request_id=g.get("request_id"))


@bp.get("/tags")
def list_tags() -> Response:
    tags = tag_visibility.visible_tags(_session(), g.viewer, g.hidden)
    return jsonify(items=[{"id": str(t.id), "name": t.name, "description": t.description,
                           "owner_node_id": str(t.owner_node_id)} for t in tags])


@bp.get("/tags/<tag_id>/people")
def tag_people(tag_id: str) -> Response:
    """A tag's people as this viewer may list them (apps resolve tags to send reminders)."""
    session = _session()
    tag = tag_visibility.visible_tag(session, g.viewer, g.hidden, _uuid(tag_id))
    if tag is None:
        raise NOT_FOUND
    limit = _limit()
    after = _uuid(request.args["cursor"]) if "cursor" in request.args else None
    rows = tag_visibility.tag_people(session, g.viewer, g.rules, g.hidden, tag, limit=limit,
                                     after=after)
    _charge(len(rows))
    return jsonify(items=[{"person_id": str(pid), "name": name} for pid, name in rows],
                   next_cursor=str(rows[-1][0]) if len(rows) == limit else None)


def _json_uuid(field: str) -> uuid.UUID:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get(field), str):
        raise ApiError(400, "invalid_request", f"{field} is required")
    try:
        return uuid.UUID(body[field])
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"{field} is not an id") from exc


@bp.post("/contact-requests")
def create_contact_request() -> tuple[Response, int]:
    """Ask a searchable-and-addable person to become a contact (可搜可加)."""
    _person_only()
    session = _session()
    person, decision = _visible_person(_json_uuid("target_id"))
    if decision.contact is not pv.Contact.AFTER_CONSENT:
        raise ApiError(409, "already_contactable", "this person can be contacted directly")
    link = visibility_rules.request_contact(session, _audit_ctx(),
                                            uuid.UUID(g.viewer.person_id), person.id)
    session.commit()
    return jsonify(id=str(link.id), status=link.status), 201


@bp.post("/contact-requests/<link_id>/accept")
def accept_contact_request(link_id: str) -> Response:
    _person_only()
    session = _session()
    link = visibility_rules.accept_contact(session, _audit_ctx(), _uuid(link_id),
                                           uuid.UUID(g.viewer.person_id))
    session.commit()
    return jsonify(id=str(link.id), status=link.status)


@bp.get("/admin/visibility/explain")
def explain_visibility() -> Response:
    """"Can A see, search, contact B — and why": the decision and the rule that decided.
    Needs the visibility permission over B; A is a person id (``viewer``) or an app's client
    id (``app``), B a person id."""
    session = _session()
    grant = dv.load_grant(session, _person_only())
    target_id = _uuid(request.args.get("target", ""))
    loaded = dv.load_target(session, target_id)
    if loaded is None:
        raise NOT_FOUND
    person, target = loaded
    allowed = grant.system or any(
        may_act(grant, Permission.VISIBILITY, p).allowed for p in target.posts)
    if not allowed:
        raise NOT_FOUND
    if "app" in request.args:
        app = apps.by_client_id(session, request.args["app"])
        if app is None:
            raise NOT_FOUND
        viewer, subject = dv.load_app_viewer(session, app), {"app": app.client_id}
    else:
        viewer_id = _uuid(request.args.get("viewer", ""))
        if session.get(Person, viewer_id) is None:
            raise NOT_FOUND
        viewer_account = queries.account_of_person(session, viewer_id)
        viewer = dv.load_viewer(session, viewer_id,
                                viewer_account.id if viewer_account else None)
        subject = {"viewer": str(viewer_id)}
    d = pv.decide(viewer, target, g.rules, g.hidden)
    return jsonify(**subject, target=str(person.id), mode=d.mode.value, listed=d.listed,
                   search=d.search.value, contact=d.contact.value, rule=d.rule)


def _register_admin() -> None:
    from idp.admin_api import bp as admin_bp

    bp.register_blueprint(admin_bp)


_register_admin()
