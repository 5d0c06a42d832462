"""gunicorn settings for the production web process:

    gunicorn -c /app/deploy/gunicorn.conf.py "bot.wsgi:application"

Tuned by environment variables only (the same 12-factor rule as the bot's own settings):
PORT (default 8080), WEB_CONCURRENCY worker processes (default 2), GUNICORN_THREADS per
worker (default 4), GUNICORN_TIMEOUT seconds (default 30). The web process only verifies,
enqueues and answers, so threads cover the wait on the queue and a request never runs long.
Logs: one JSON object per line; access lines on stdout with no headers, query strings or
bodies (a webhook's secret travels in a header, the setup page's one-time code in a query).
Metrics: the web processes share counters through prometheus-client's multi-process mode
(PROMETHEUS_MULTIPROC_DIR, a fresh directory per start), so /metrics adds up every worker.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive integer")
    return int(raw)


bind = f"0.0.0.0:{_positive_int('PORT', 8080)}"
workers = _positive_int("WEB_CONCURRENCY", 2)
threads = _positive_int("GUNICORN_THREADS", 4)
# gthread, with idle connections parked on the poller instead of holding a thread
worker_class = "bot.server.ThreadWorker"
# GitHub waits 10 s for an answer and GitLab 10 s too; anything near this is a bug
timeout = _positive_int("GUNICORN_TIMEOUT", 30)
graceful_timeout = 30
keepalive = 5  # longer than nothing behind a load balancer that reuses connections
# each worker opens its own queue connection after the fork: no preloading
preload_app = False
# heartbeat files on a tmpfs: /tmp may be slow, and the root filesystem is read-only
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logger_class = "bot.server.JsonLogger"
# X-Forwarded-* are trusted from these addresses only (set to your ingress's range)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Set before any worker imports prometheus_client: it picks its storage at import.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="rollback-plan-metrics-", dir=worker_tmp_dir
    )


def on_starting(server: Any) -> None:
    """Counters of an earlier run of this server must not be added to this one's."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
