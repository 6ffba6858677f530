"""``/api/v1/me/proxies``: the signed-in user names, lists and revokes their own proxies
(代理人员, DOMAIN.md §3). The bearer token is a user's access token of this server (RFC
9068, as for the contacts API); a token already acting for someone (``act``) names no
proxy (no chains). Errors have the contacts API's shape (``idp.api``)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from flask import Blueprint
from flask import Response
from flask import g
from flask import jsonify
from flask import request

from directory import audit
from directory import proxies
from directory.db import utcnow
from directory.models import Proxy
from idp.api import ApiError
from idp.api import _session
from idp.api import api_error
from idp.api import bearer_token
from idp.api import user_account

bp = Blueprint("proxies_api", __name__, url_prefix="/api/v1/me/proxies")


bp.register_error_handler(ApiError, api_error)


@bp.before_request
def _authenticate() -> None:
    """A person's own token only: not an app's, not one acting for someone (no chains)."""
    session = _session()
    token = bearer_token(session)
    if token.subject == token.client_id or "act" in token.claims:
        raise ApiError(403, "forbidden", "only a person's own token names proxies")
    g.proxies_account = user_account(session, token)


def _ctx() -> audit.Context:
    return audit.Context(actor=f"account:{g.proxies_account.id}", source_ip=request.remote_addr,
                         request_id=g.get("request_id"))


def _proxy_json(row: Proxy) -> dict[str, Any]:
    return {"id": str(row.id), "principal": str(row.principal_id), "proxy": str(row.proxy_id),
            "starts_at": row.starts_at.isoformat(), "ends_at": row.ends_at.isoformat(),
            "created_at": row.created_at.isoformat(),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None}


def _field(body: dict[str, Any], name: str, parse: Any, default: Any = None) -> Any:
    value = body.get(name)
    if value is None and default is not None:
        return default
    try:
        return parse(str(value))
    except ValueError as exc:
        raise ApiError(400, "invalid_request", f"{name} is not valid") from exc


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("a time zone is required")
    return value.astimezone(dt.UTC)


@bp.post("")
def name_proxy() -> tuple[Response, int]:
    """JSON ``{"proxy": <account id>, "starts_at"?: ISO 8601 (default now),
    "ends_at": ISO 8601}`` → 201 and the proxy record."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request", "a JSON object is required")
    proxy_id = _field(body, "proxy", uuid.UUID)
    starts_at = _field(body, "starts_at", _instant, default=utcnow())
    ends_at = _field(body, "ends_at", _instant)
    session = _session()
    row = proxies.name(session, _ctx(), principal_id=g.proxies_account.id, proxy_id=proxy_id,
                       starts_at=starts_at, ends_at=ends_at)
    session.commit()
    return jsonify(_proxy_json(row)), 201


@bp.get("")
def list_proxies() -> Response:
    rows = proxies.listed(_session(), g.proxies_account.id)
    return jsonify(items=[_proxy_json(r) for r in rows])


@bp.delete("/<record_id>")
def revoke_proxy(record_id: str) -> tuple[str, int]:
    try:
        key = uuid.UUID(record_id)
    except ValueError as exc:
        raise ApiError(404, "not_found", "no such resource") from exc
    session = _session()
    proxies.revoke(session, _ctx(), principal_id=g.proxies_account.id, proxy_record_id=key)
    session.commit()
    return "", 204
