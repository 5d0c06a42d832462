"""The production HTTP server: gunicorn with threads, for `rollback-plan serve` (embedded, one
process holding the web and the job workers) and for the gunicorn command line
(deploy/gunicorn.conf.py, web only).

Two things gunicorn's stock gthread worker does not give us:
- a connection that sends nothing waits on the poller, not in a thread (gunicorn 27 hands a
  new connection to a thread that waits up to 5 s for its first byte, so a few idle clients
  stall every real delivery behind them);
- log lines as JSON objects (our formatter, secrets masked), access lines with the path only:
  the query string of the setup page's redirect carries GitHub's one-time code.
"""

from __future__ import annotations

import datetime
import json
import logging
import math
import os
import selectors
import time
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.glogging import Logger  # type: ignore[import-untyped]
from gunicorn.workers.gthread import TConn  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker as _GThreadWorker

from bot.observability import configure_logging
from bot.settings import LOG_LEVELS

log = logging.getLogger(__name__)

WSGIApp = Callable[..., Iterable[bytes]]
WORKER_CLASS = "bot.server.ThreadWorker"
LOGGER_CLASS = "bot.server.JsonLogger"
# headers whose value identifies a delivery without revealing anything
_DELIVERY_HEADERS = ("HTTP_X_GITHUB_DELIVERY", "HTTP_IDEMPOTENCY_KEY", "HTTP_X_GITLAB_EVENT_UUID")


class ThreadWorker(_GThreadWorker):  # type: ignore[misc]
    """gthread, with a new connection parked on the poller until it sends its first byte."""

    def accept(self, listener: Any) -> None:
        try:
            sock, client = listener.accept()
        except BlockingIOError:
            return
        except ConnectionAbortedError:
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, sock, client, listener.getsockname())  # non-blocking
        # closed by the worker loop when it has sent nothing for a keep-alive period
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )


class JsonLogger(Logger):  # type: ignore[misc]
    """gunicorn's own lines through our JSON handler (configured once per process); access
    lines as JSON objects with no headers, query strings or bodies."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        root = logging.getLogger()
        if not any(h.get_name() == "rollback-plan" for h in root.handlers):
            # the bot's settings report a bad level by name; until then, INFO
            level = os.environ.get("ROLLBACK_PLAN_LOG_LEVEL", "INFO").strip().upper()
            configure_logging(level if level in LOG_LEVELS else "INFO", env=os.environ)
        for handler in list(self.error_log.handlers):
            self.error_log.removeHandler(handler)
        self.error_log.propagate = True

    def access(self, resp: Any, req: Any, environ: Mapping[str, Any], request_time: Any) -> None:
        if not self.cfg.accesslog:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        line: dict[str, Any] = {
            "time": datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds"),
            "logger": "gunicorn.access",
            "remote": environ.get("REMOTE_ADDR", ""),
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),  # never the query string
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
        }
        for key in _DELIVERY_HEADERS:
            if environ.get(key):
                line["delivery"] = str(environ[key])[:128]
                break
        self.access_log.info(json.dumps(line, separators=(",", ":")))


class Embedded(BaseApplication):  # type: ignore[misc]
    """gunicorn run from our own process: `load()` builds the app in the worker process (after
    the fork, so no thread or connection crosses it); `on_exit()` runs there when it stops."""

    def __init__(
        self,
        load: Callable[[], WSGIApp],
        options: Mapping[str, Any],
        on_exit: Callable[[], None] = lambda: None,
    ) -> None:
        self._load = load
        self._options = dict(options)
        self._on_exit = on_exit
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)
        self.cfg.set("worker_exit", lambda _arbiter, _worker: self._on_exit())

    def load(self) -> WSGIApp:
        return self._load()


def options(
    host: str, port: int, *, threads: int = 8, grace: float = 25.0, access_log: bool = True
) -> dict[str, Any]:
    """gunicorn settings for one embedded web process."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": 1,
        "worker_class": WORKER_CLASS,
        "threads": threads,
        "timeout": 30,
        # room for running jobs to finish after the last request is answered
        "graceful_timeout": math.ceil(grace) + 5,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "logger_class": LOGGER_CLASS,
        "preload_app": False,
        "worker_tmp_dir": "/dev/shm" if os.path.isdir("/dev/shm") else None,
    }


def run(
    load: Callable[[], WSGIApp], opts: Mapping[str, Any], on_exit: Callable[[], None] = lambda: None
) -> None:
    """Serve until SIGTERM or SIGINT; returns after a graceful stop."""
    try:
        Embedded(load, opts, on_exit).run()
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
