"""Structured JSON logs on stderr. Tokens, secrets, ID numbers and mobiles are never
passed to a logger; authlib's logger stays at INFO because its grants log tokens at DEBUG,
httpx's at WARNING because it logs whole URLs at INFO."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        body.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    # Replace our own handler on repeated create_app calls; leave others (pytest's) alone.
    root.handlers[:] = [h for h in root.handlers if not isinstance(h.formatter, JsonFormatter)]
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLevelName(level)))
    # httpx logs each request's full URL at INFO (a client's jwks_uri may carry a query
    # string); ``idp.jwks_uri`` logs what is needed itself.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
