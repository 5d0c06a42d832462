"""gunicorn settings for the production web process:

    gunicorn -c /app/deploy/gunicorn.conf.py "bot.wsgi:application"

Tuned by environment variables only (the same 12-factor rule as the bot's own settings):
PORT (default 8080), WEB_CONCURRENCY worker processes (default 2), GUNICORN_THREADS per
worker (default 4), GUNICORN_TIMEOUT seconds (default 30). The web process only verifies,
enqueues and answers, so threads cover the wait on the queue and a request never runs long.
Access log: one JSON object per request on stdout, with no headers, query strings or bodies:
a webhook's secret travels in a header and must never reach a log.
"""

from __future__ import annotations

import datetime
import json
import os
from typing import Any

from gunicorn.glogging import Logger


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
worker_class = "gthread"
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
# X-Forwarded-* are trusted from these addresses only (set to your ingress's range)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# headers whose value identifies a delivery without revealing anything
_DELIVERY_HEADERS = ("HTTP_X_GITHUB_DELIVERY", "HTTP_IDEMPOTENCY_KEY", "HTTP_X_GITLAB_EVENT_UUID")


class JsonAccessLogger(Logger):
    """gunicorn's logger, with access lines written as JSON objects."""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
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
        try:
            self.access_log.info(json.dumps(line, separators=(",", ":")))
        except Exception:
            self.exception("could not write an access log line")


logger_class = JsonAccessLogger
