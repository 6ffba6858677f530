"""``idp serve``: the app under N worker processes, by gunicorn (``gthread`` workers, the
default) or granian (its HTTP layer in Rust, Python threads only for the app: a fraction of
gunicorn's CPU per request, bench/README.md). Either way every worker builds the app once,
starts the purge loop and freezes what it loaded out of the garbage collector's sight
(``_worker_app``)."""

from __future__ import annotations

import gc
from typing import Any

from gunicorn.app.base import BaseApplication

from idp import config


class _Server(BaseApplication):
    def __init__(self, settings: config.Settings, options: dict[str, Any]) -> None:
        self.settings, self.options = settings, options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return _worker_app(self.settings)


def _worker_app(settings: config.Settings) -> Any:
    from idp import purge
    from idp.app import create_app
    from idp.app import runtime

    app = create_app(settings)
    # every worker tries; the database lease lets one purge run per interval
    purge.start_background(runtime(app).sessions)
    # What is loaded now (modules, the app, SQLAlchemy's mappers and caches) lives as
    # long as the worker: frozen out of the collector's sight, a full collection walks
    # only what requests made. Unfrozen, a gen-2 pass over the whole heap held one SCIM
    # page of 100 Users for ~90 ms more than the others (bench/README.md).
    gc.freeze()
    return app


def granian_app() -> Any:
    """granian's factory (``idp.serve:granian_app``), called in each worker process: the
    settings from the environment and the configuration file, as ``idp serve`` read them."""
    return _worker_app(config.load())


# A worker that has not stopped this long after SIGTERM is killed: granian waits forever
# for one that got SIGTERM while still loading the app (it never starts its shutdown).
KILL_AFTER_S = 15


def run_granian(host: str, port: int, workers: int, threads: int,
                access_log: bool = True) -> None:
    """granian's WSGI server: ``threads`` Python threads a worker run the app, so one
    request waiting on the database does not idle the core; an access log line a request
    unless ``access_log`` is off (written through Python's logging, it costs ~75 µs of CPU
    a request, as much as a token's signature)."""
    from granian import Granian
    from granian.constants import Interfaces

    Granian("idp.serve:granian_app", address=host, port=port, interface=Interfaces.WSGI,
            workers=workers, blocking_threads=threads, factory=True, websockets=False,
            log_access=access_log,
            log_access_format='%(addr)s "%(method)s %(path)s %(protocol)s" %(status)d '
                              '%(dt_ms).1fms',
            respawn_failed_workers=True, workers_kill_timeout=KILL_AFTER_S).serve()


def run_gunicorn(settings: config.Settings, host: str, port: int, workers: int,
                 threads: int = 1, access_log: bool = True) -> None:
    """``threads`` > 1 selects gunicorn's ``gthread`` worker: each process serves that many
    requests at once, so one waiting on the database (a commit's WAL flush) does not idle
    the core. Everything shared lives in the database; per-process caches are keyed and
    invalidated through it (``directory.versions``, ``idp.keys``), so threads and workers
    are interchangeable."""
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
               "worker_class": "gthread" if threads > 1 else "sync",
               "accesslog": "-" if access_log else None,
               "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s',
               "timeout": 60}
    _Server(settings, options).run()
