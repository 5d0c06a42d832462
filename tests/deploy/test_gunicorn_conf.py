"""deploy/gunicorn.conf.py: sized from the environment, and a real gunicorn using it logs one
JSON object per request on stdout, with no header that could carry a secret."""

from __future__ import annotations

import json
import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import DEPLOY, PORT

CONF = DEPLOY / "gunicorn.conf.py"


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    for name in ("PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    # the conf sets it for the server's processes; monkeypatch takes it back afterwards
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONF))


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch)
    assert conf["bind"] == f"0.0.0.0:{PORT}"
    assert conf["workers"] == 2
    # threads, and idle connections wait on the poller (bot.server.ThreadWorker)
    assert conf["threads"] >= 2 and conf["worker_class"] == "bot.server.ThreadWorker"
    assert conf["logger_class"] == "bot.server.JsonLogger"
    assert 0 < conf["timeout"] <= 60
    assert conf["accesslog"] == "-" and conf["errorlog"] == "-"
    assert conf["preload_app"] is False


def test_port_and_concurrency_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    conf = load(monkeypatch, PORT="9000", WEB_CONCURRENCY="5", GUNICORN_THREADS="8")
    assert (conf["bind"], conf["workers"], conf["threads"]) == ("0.0.0.0:9000", 5, 8)


def test_a_bad_number_is_refused_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="WEB_CONCURRENCY must be a positive integer"):
        load(monkeypatch, WEB_CONCURRENCY="lots")


APP = """
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"ok": true}']
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_access_log_is_json_without_secrets(tmp_path: Path) -> None:
    (tmp_path / "probe_app.py").write_text(APP)
    port = _free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
        "PYTHONPATH": f"{tmp_path}:{DEPLOY.parent}",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), "probe_app:application"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        secret = "hunter2-webhook-secret"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks/gitlab?token={secret}",
            data=b"{}",
            headers={"X-Gitlab-Token": secret, "X-Gitlab-Event-UUID": "uuid-1"},
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:
                    assert response.status == 200
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    lines = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1, (stdout, stderr)
    (line,) = lines
    assert line["method"] == "POST"
    assert line["path"] == "/webhooks/gitlab"
    assert line["status"] == 200
    assert line["delivery"] == "uuid-1"
    assert line["duration_ms"] >= 0
    assert secret not in stdout + stderr
