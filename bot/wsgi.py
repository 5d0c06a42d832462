"""The web app for gunicorn: `gunicorn "bot.wsgi:application"`.

Built on the first request, not at import, so importing this module does no work and a
misconfigured environment fails with the settings' own message.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

_lock = threading.Lock()
_app: Callable[..., Iterable[bytes]] | None = None


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    global _app
    if _app is None:
        with _lock:
            if _app is None:
                from bot.app import build
                from bot.observability import configure_logging, settings_secrets
                from bot.settings import load_settings

                settings = load_settings(os.environ)
                configure_logging(
                    settings.log_level, env=os.environ, secrets=settings_secrets(settings)
                )
                # several gunicorn processes: /metrics adds up the counters of all of them
                multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
                bot = build(settings, multiprocess_metrics=multiprocess)
                _app = bot.web.wsgi_app
    return _app(environ, start_response)
