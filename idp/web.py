"""What every response of the server carries, whoever serves it (Flask's hooks in
``idp.app``, or ``idp.oauth.TokenLane`` outside Flask's request context): the request id,
``nosniff``, and the JSON error body with the request id."""

from __future__ import annotations

import logging
import re
import secrets

from flask import Response
from flask import g
from flask import jsonify
from werkzeug.datastructures import Headers

log = logging.getLogger("idp")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def assign_request_id(headers: Headers) -> None:
    """The caller's ``X-Request-ID`` when it is a plausible id, else a new one, in ``g``."""
    g.request_id = request_id(headers.get("X-Request-ID"))


def request_id(given: str | None) -> str:
    """``given`` (a caller's ``X-Request-ID``) when it is a plausible id, else a new one."""
    return given if given and _REQUEST_ID.match(given) else secrets.token_hex(16)


def stamps(rid: str | None = None) -> list[tuple[str, str]]:
    """The headers every response carries: the request id (``rid``, else the request's in
    ``g``) and ``nosniff``."""
    return [("X-Request-ID", rid if rid is not None else g.get("request_id", "")),
            ("X-Content-Type-Options", "nosniff")]


def stamp(response: Response) -> Response:
    response.headers.update(stamps())
    return response


def error(status: int, code: str, message: str, field: str | None = None) -> Response:
    body = {"error": code, "message": message, "request_id": g.get("request_id")}
    if field:
        body["field"] = field
    response = jsonify(body)
    response.status_code = status
    return response


def unexpected() -> Response:
    """An exception nobody expected: logged with its traceback and the request id, and
    answered with a bare 500 (never the exception's text)."""
    log.exception("unhandled error", extra={"request_id": g.get("request_id")})
    return error(500, "server_error", "internal error")
