"""The one composition root: ``create_app`` reads settings, builds the engine and
registers the blueprints. Domain code receives settings and a session as arguments."""

from __future__ import annotations

import logging

from flask import Flask
from flask import Response
from flask import g
from flask import jsonify
from flask import request
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from directory.db import make_engine
from directory.db import make_sessionmaker
from directory.errors import DomainError
from directory.errors import ErrorKind
from idp import config
from idp import logs
from idp import web
from idp.runtime import Runtime
from idp.runtime import runtime

log = logging.getLogger("idp")
STATUS_OF_KIND = {
    ErrorKind.INVALID: 400,
    ErrorKind.UNAUTHENTICATED: 401,
    ErrorKind.FORBIDDEN: 403,
    ErrorKind.NOT_FOUND: 404,
    ErrorKind.CONFLICT: 409,
    ErrorKind.PRECONDITION: 412,
}


def create_app(settings: config.Settings | None = None) -> Flask:
    settings = config.validate(settings) if settings is not None else config.load()
    logs.configure(settings.log_level)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, TESTING=settings.testing,
                      JSON_AS_ASCII=False)
    engine = make_engine(settings.database_url)
    app.extensions["idp"] = Runtime(settings, settings.directory(), engine,
                                    make_sessionmaker(engine))
    _register_request_ids(app)
    _register_errors(app)
    _register_health(app)
    from idp import login
    from idp import oauth
    from idp.api import bp as api_bp
    from idp.openapi import bp as openapi_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(openapi_bp)
    from idp.proxies_api import bp as proxies_bp
    app.register_blueprint(proxies_bp)
    oauth.init_app(app)
    login.init_app(app)
    from idp import portal
    portal.init_app(app)
    from idp.oidc import backchannel
    from idp.tokens import verify_access_token
    from scim.views import init_app as init_scim
    rt = runtime(app)
    init_scim(app, rt.sessions, rt.directory,
              lambda s, token: verify_access_token(s, settings.issuer, token),
              lambda revoked: backchannel.deliver_revoked(
                  rt.sessions, rt.directory.cipher, settings.issuer, revoked, "scim"))
    _trust_proxies(app, settings.trusted_proxies)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` reverse proxies (``IDP_TRUSTED_PROXIES``), the client's address,
    scheme and host are the ones the nearest ``hops`` proxies recorded in X-Forwarded-For,
    -Proto and -Host (werkzeug's ``ProxyFix``), for everything the app does with them: the
    per-address sign-in limit, audit records' source address, authlib's https check, the
    URLs the app builds. Outermost, so that the token lane sees them too. With no proxy
    (0, the default) those headers are ignored: a client could forge them."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops,  # type: ignore[method-assign]
                                x_host=hops)


def _register_request_ids(app: Flask) -> None:
    app.before_request(lambda: web.assign_request_id(request.headers))
    app.after_request(web.stamp)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> Response:
        return web.error(STATUS_OF_KIND[exc.kind], exc.code, exc.message, exc.field)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        name = (exc.name or "error").lower().replace(" ", "_")
        return web.error(exc.code or 500, name, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(_exc: Exception) -> Response:
        return web.unexpected()


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Response:
        """The process is up."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> Response | tuple[Response, int]:
        """The database answers; else 503 so a load balancer stops sending traffic."""
        try:
            with runtime(app).engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means not ready
            log.warning("readiness check failed", extra={"request_id": g.get("request_id")})
            return web.error(503, "not_ready", "database unreachable"), 503
        return jsonify(status="ready")
