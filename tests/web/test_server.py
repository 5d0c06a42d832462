"""The bot as deployed: `rollback-plan serve` (gunicorn embedded, web and workers in one process)
and gunicorn with deploy/gunicorn.conf.py, as real processes on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import GITHUB_SECRET, github_signature, payload

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "deploy" / "gunicorn.conf.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StalledGitHub:
    """A GitHub API that takes requests and answers none until released (then 404)."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake.arrived.set()
                fake.release.wait(120)
                data = b'{"message": "Not Found"}'
                self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Process:
    """A server process whose output lines are collected as they come."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, cwd: Path = ROOT) -> None:
        self.port = port
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for_line(self, ok: Callable[[str], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(ok(line) for line in self.stderr + self.stdout):
                left = deadline - time.monotonic()
                assert left > 0 and self.proc.poll() is None, "\n".join(self.stderr)
                self._changed.wait(left)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = self.get("/livez")
                if status == 200:
                    return
            except OSError:
                pass
            assert time.monotonic() < deadline and self.proc.poll() is None, self.stderr
            time.sleep(0.05)

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def deliver(self, delivery: str, timeout: float = 10.0, **changes: Any) -> int:
        body = payload("github", "pull_request.synchronize")
        body["pull_request"].update(changes)
        raw = json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(
                "POST",
                "/webhooks/github",
                body=raw,
                headers={
                    "Content-Type": "application/json",
                    "X-GitHub-Event": "pull_request",
                    "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": github_signature(raw, GITHUB_SECRET),
                },
            )
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)
        for t in self._readers:
            t.join(5)


def bot_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBACK_PLAN_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return {
        **env,
        "PYTHONPATH": str(ROOT),
        "ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
        "ROLLBACK_PLAN_GITHUB_TOKEN": "ghp_" + "t" * 36,
        "ROLLBACK_PLAN_QUEUE_PATH": str(tmp / "queue.sqlite3"),
        "ROLLBACK_PLAN_CACHE_DIR": str(tmp / "cache"),
        **extra,
    }


@pytest.fixture
def github() -> Iterator[StalledGitHub]:
    fake = StalledGitHub()
    yield fake
    fake.close()


@pytest.fixture
def serve(tmp_path: Path, github: StalledGitHub) -> Iterator[Callable[..., Process]]:
    made: list[Process] = []

    def start(*args: str) -> Process:
        port = free_port()
        env = bot_env(tmp_path, ROLLBACK_PLAN_GITHUB_API_URL=github.url)
        argv = [sys.executable, "-m", "bot.cli", "serve", "--port", str(port), "--workers", "1"]
        made.append(Process([*argv, *args], env, port))
        made[-1].wait_ready()
        return made[-1]

    yield start
    for p in made:
        p.stop()


def jobs(tmp: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp / "queue.sqlite3") as db:
        return list(db.execute("SELECT delivery, lease_until FROM jobs"))


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """Every line, parsed: a line that is not a JSON object fails the test."""
    parsed = []
    for line in lines:
        assert "\x1b" not in line, line  # no terminal colours in a log
        value = json.loads(line)
        assert isinstance(value, dict), line
        parsed.append(value)
    return parsed


def test_serve_is_gunicorn_with_json_logs_and_a_graceful_stop(
    serve: Callable[..., Process], github: StalledGitHub, tmp_path: Path
) -> None:
    bot = serve()
    # the setup page docs/deploy.md describes is there, and its one-time code is never logged
    status, page = bot.get("/github-app/setup")
    assert status == 200 and b"Create the GitHub App" in page
    assert bot.get("/github-app/exchange?code=c0de5ecret&state=unknown")[0] == 400

    assert bot.deliver("d-running") == 202
    assert github.arrived.wait(30)  # the job is running: its forge call is held
    bot.proc.send_signal(signal.SIGTERM)
    bot.wait_for_line(lambda line: "Handling signal: term" in line)
    github.release.set()  # the running job may now finish: it must be let finish
    assert bot.proc.wait(60) == 0
    bot.stop()

    assert jobs(tmp_path) == []  # finished, not cut off
    errors = json_lines(bot.stderr)
    access = json_lines(bot.stdout)
    assert any(line["message"].startswith("serving GitHub webhooks") for line in errors)
    assert not any(line["level"] == "error" for line in errors), errors
    assert not any("exc" in line for line in errors), errors
    assert {(a["method"], a["path"], a["status"]) for a in access} >= {
        ("GET", "/github-app/setup", 200),
        ("GET", "/github-app/exchange", 400),
        ("POST", "/webhooks/github", 202),
    }
    everything = "\n".join(bot.stdout + bot.stderr)
    assert "development server" not in everything
    assert "c0de5ecret" not in everything


def test_a_job_still_running_after_the_grace_is_released(
    serve: Callable[..., Process], github: StalledGitHub, tmp_path: Path
) -> None:
    bot = serve("--grace", "1")
    assert bot.deliver("d-cut-off") == 202
    assert github.arrived.wait(30)
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.proc.wait(60) == 0
    bot.stop()
    # put back ready, not left under a lease another worker must wait out
    assert jobs(tmp_path) == [("d-cut-off", None)]
    assert any("released unfinished" in line for line in bot.stderr)


def gunicorn(tmp: Path, port: int, **env: str) -> Process:
    argv = [sys.executable, "-m", "gunicorn", "-c", str(CONF), "bot.wsgi:application"]
    process = Process(argv, bot_env(tmp, PORT=str(port), **env), port)
    process.wait_ready()
    return process


def test_idle_connections_do_not_stall_deliveries(tmp_path: Path) -> None:
    """More idle connections than the server has threads: a delivery is answered at once,
    not after the idle ones time out (gunicorn's gthread waits 5 s in a thread for each)."""
    port = free_port()
    web = gunicorn(tmp_path, port, WEB_CONCURRENCY="1", GUNICORN_THREADS="2")
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
    try:
        for i in range(3):
            # well under the 5 s an idle connection would hold a thread
            assert web.deliver(f"d-busy-{i}", timeout=2.5, number=100 + i) == 202
    finally:
        for sock in idle:
            sock.close()
        web.stop()


def test_metrics_add_up_every_web_process(tmp_path: Path) -> None:
    port = free_port()
    web = gunicorn(tmp_path, port, WEB_CONCURRENCY="3", GUNICORN_THREADS="2")
    try:
        with ThreadPoolExecutor(6) as pool:  # new connections: spread over the processes
            statuses = list(pool.map(lambda i: web.deliver(f"d-m-{i}", number=200 + i), range(30)))
        assert statuses == [202] * 30
        for _ in range(9):
            status, text = web.get("/metrics")
            assert status == 200
            total = sum(
                float(line.rsplit(" ", 1)[1])
                for line in text.decode().splitlines()
                if line.startswith("rollback_plan_deliveries_total{")
            )
            assert total == 30
    finally:
        web.stop()


def test_setup_github_app_runs_from_any_directory(tmp_path: Path) -> None:
    """Outside the repository (no app.yml in the working directory), on gunicorn."""
    port = free_port()
    argv = [sys.executable, "-m", "bot.cli", "setup-github-app", "--port", str(port)]
    setup = Process(argv, bot_env(tmp_path), port, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, page = setup.get("/github-app/setup")
                break
            except OSError:
                assert time.monotonic() < deadline and setup.proc.poll() is None, setup.stderr
                time.sleep(0.05)
        assert status == 200 and b"rollback-plan" in page
        assert setup.get("/github-app/exchange?code=0nce0nly&state=x")[0] == 400
        setup.proc.send_signal(signal.SIGTERM)
        assert setup.proc.wait(30) == 0
    finally:
        setup.stop()
    assert "0nce0nly" not in "\n".join(setup.stdout + setup.stderr)
