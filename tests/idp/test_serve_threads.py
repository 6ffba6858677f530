"""`idp serve --threads N` (#4): gunicorn's gthread worker when N > 1, so one worker
process keeps its core busy while a request waits on the database."""

from __future__ import annotations

import pytest

from idp import serve
from tests.idp.support import run


@pytest.fixture
def captured(monkeypatch) -> dict:
    seen: dict = {}

    def fake_run(self) -> None:
        seen.update(self.options)

    monkeypatch.setattr(serve._Server, "run", fake_run)
    monkeypatch.setattr(serve._Server, "load_config", lambda self: None)
    return seen


@pytest.mark.parametrize(("args", "worker_class", "threads"), [
    ((), "gthread", 4),
    (("--threads", "8"), "gthread", 8),
    (("--threads", "1"), "sync", 1),
], ids=["default", "eight", "one"])
def test_threads_choose_the_worker_class(cli_env, captured, args, worker_class,
                                         threads) -> None:
    result = run(cli_env, "serve", "--workers", "1", *args)
    assert result.exit_code == 0, result.output
    assert captured["worker_class"] == worker_class and captured["threads"] == threads
    assert captured["workers"] == 1


def test_zero_threads_refused(cli_env, captured) -> None:
    result = run(cli_env, "serve", "--threads", "0")
    assert result.exit_code != 0 and "--threads" in result.output
    assert captured == {}


def test_the_access_log_is_on_unless_turned_off(cli_env, captured, monkeypatch) -> None:
    assert run(cli_env, "serve", "--workers", "1").exit_code == 0
    assert captured["accesslog"] == "-"
    assert run(cli_env, "serve", "--workers", "1", "--no-access-log").exit_code == 0
    assert captured["accesslog"] is None
    granian: list[tuple] = []
    monkeypatch.setattr(serve, "run_granian", lambda *args: granian.append(args))
    assert run(cli_env, "serve", "--server", "granian", "--threads", "3",
               "--no-access-log").exit_code == 0
    assert granian == [("127.0.0.1", 8000, 2, 3, False)]
