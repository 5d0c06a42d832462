"""A forge that takes connections and never answers: each job attempt ends at the forge
call's deadline, and the log says so in one line per attempt, with no traceback."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.app import build
from bot.events import ForgeKind, Job, JobKind
from bot.jobs.queue import Tuning
from bot.observability import configure_logging
from tests.web.conftest import settings


@pytest.fixture
def silent_forge() -> Iterator[str]:
    """Accepts connections, reads, never writes a byte back."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    listener.close()


def test_a_silent_forge_is_one_log_line_per_attempt(silent_forge: str, tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    bot = build(
        replace(
            settings(),
            github_api_url=silent_forge,
            queue_path=str(tmp_path / "queue.sqlite3"),
            cache_dir=str(tmp_path / "cache"),
        ),
        forge_options={"timeout": 1, "budget_s": 1.5, "sleep": lambda _: None},
        tuning=Tuning(attempts=2, backoff=0.0, poll=0.01),
    )
    try:
        job = Job(JobKind.PULL_REQUEST, ForgeKind.GITHUB, "acme/shop", "d-silent", number=7)
        assert bot.queue.enqueue(job)
        bot.queue.start(1)
        assert bot.queue.drain(60)
    finally:
        bot.close(5)
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert not [line for line in lines if "exc" in line], lines  # no traceback at all
    about = [line for line in lines if "d-silent" in line["message"]]
    problems = [line for line in about if line["level"] in ("warning", "error")]
    assert [line["level"] for line in problems] == ["warning", "error", "warning"], about
    retrying, failed, uncommented = (line["message"] for line in problems)
    assert "attempt 1 failed transiently" in retrying and "connection failed" in retrying
    assert "failed for good" in failed and "connection failed" in failed
    assert "forge is unreachable" in uncommented
