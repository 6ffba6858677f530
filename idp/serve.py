"""gunicorn as a library: ``idp serve`` runs the app under N worker processes."""

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
        from idp import purge
        from idp.app import create_app
        from idp.app import runtime

        app = create_app(self.settings)
        # every worker tries; the database lease lets one purge run per interval
        purge.start_background(runtime(app).sessions)
        # What is loaded now (modules, the app, SQLAlchemy's mappers and caches) lives as
        # long as the worker: frozen out of the collector's sight, a full collection walks
        # only what requests made. Unfrozen, a gen-2 pass over the whole heap held one SCIM
        # page of 100 Users for ~90 ms more than the others (bench/README.md).
        gc.freeze()
        return app


def run_gunicorn(settings: config.Settings, host: str, port: int, workers: int,
                 threads: int = 1) -> None:
    """``threads`` > 1 selects gunicorn's ``gthread`` worker: each process serves that many
    requests at once, so one waiting on the database (a commit's WAL flush) does not idle
    the core. Everything shared lives in the database; per-process caches are keyed and
    invalidated through it (``directory.versions``, ``idp.keys``), so threads and workers
    are interchangeable."""
    options = {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
               "worker_class": "gthread" if threads > 1 else "sync", "accesslog": "-",
               "access_log_format": '%(h)s "%(r)s" %(s)s %(b)s %(L)ss rid=%({x-request-id}o)s',
               "timeout": 60}
    _Server(settings, options).run()
