"""What every deployment artifact must agree on: the entry points, the port, the data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy.helmrender import Chart

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CHART_DIR = DEPLOY / "helm" / "rollback-plan"
DOCS = REPO / "docs" / "deploy.md"

# The commands the docs name; the image, compose file and chart must run exactly these.
SERVE = ("rollback-plan", "serve", "--host", "0.0.0.0", "--port", "8080")
WORKER = ("rollback-plan", "worker")
WEB = ("gunicorn", "-c", "/app/deploy/gunicorn.conf.py", "bot.wsgi:application")
ENTRY_POINTS = frozenset({SERVE, WORKER, WEB})

PORT = 8080
HEALTH_PATH = "/healthz"
QUEUE_PATH = "/data/queue.sqlite3"
CACHE_DIR = "/data/cache"


@pytest.fixture(scope="session")
def chart() -> Chart:
    return Chart(CHART_DIR)
