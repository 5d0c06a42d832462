"""A queue file the machine will not let the bot write: the delivery is refused (the web
answers 503, the forge sends it again) with one sentence naming the file and why, and the
jobs already accepted stay in the file."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.events import ForgeKind, Job, JobKind
from bot.jobs.queue import DurableQueue, QueueUnavailable, SqliteStore


def job(delivery: str, command: str = "") -> Job:
    return Job(JobKind.COMMAND, ForgeKind.GITHUB, "acme/app", delivery, number=1, command=command)


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file cannot be written, even by root (who ignores its mode bits)."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        yield
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("as root a read-only file needs chattr (e2fsprogs)")
    subprocess.run([chattr, "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def test_a_read_only_queue_file_refuses_deliveries_and_keeps_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    store = SqliteStore(path)
    DurableQueue(store, lambda j: None).enqueue(job("d-1"))
    store.close()
    ran: list[Job] = []
    with read_only(path):
        q = DurableQueue(SqliteStore(path), ran.append)
        assert q.stats()["waiting"] == 1  # still readable
        with pytest.raises(QueueUnavailable) as err:
            q.enqueue(job("d-2"))
        q.store.close()
    assert str(err.value) == (
        f"job queue {path}: the file is not writable (attempt to write a readonly database)"
    )
    q = DurableQueue(SqliteStore(path), ran.append)
    assert q.work_once() and not q.work_once()
    assert [j.delivery for j in ran] == ["d-1"]


@contextmanager
def file_size_limit(extra: int, path: Path) -> Iterator[None]:
    """No file of this process may grow past `path`'s size plus `extra` bytes: writes past it
    fail (EFBIG) as on a disk that filled up."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = path.stat().st_size + extra
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_a_disk_that_refuses_writes_is_said_and_the_accepted_jobs_stay(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    SqliteStore(path).close()
    q = DurableQueue(SqliteStore(path), lambda j: None)
    accepted = 0
    with file_size_limit(256 * 1024, path), pytest.raises(QueueUnavailable) as err:
        for i in range(1000):
            q.enqueue(job(f"d-{i}", command="x" * 8192))
            accepted += 1
    q.store.close()
    assert accepted > 0
    assert str(err.value) == (
        f"job queue {path}: the disk refused a write (is it full?) (disk I/O error)"
    )
    ran: list[Job] = []
    q = DurableQueue(SqliteStore(path), ran.append)
    while q.work_once():
        pass
    assert [j.delivery for j in ran] == [f"d-{i}" for i in range(accepted)]


def test_a_write_lock_held_too_long_by_another_process_is_said(tmp_path: Path) -> None:
    """Another process (a stuck worker, an operator's sqlite3 shell) keeps the write lock past
    the store's 10 s busy timeout."""
    path = tmp_path / "queue.sqlite3"
    store = SqliteStore(path)
    q = DurableQueue(store, lambda j: None)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(QueueUnavailable) as err:
            q.enqueue(job("d-1"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert str(err.value) == (
        f"job queue {path}: another process holds the write lock for too long (database is locked)"
    )
    assert q.enqueue(job("d-1"))  # refused, so not remembered: the redelivery is taken


def test_a_path_that_says_full_is_not_taken_for_a_full_disk(tmp_path: Path) -> None:
    """The reason comes from the error, not from words of the path it quotes."""
    blocker = tmp_path / "fullstack"
    blocker.write_text("")  # a file where the queue's directory should be
    path = blocker / "queue.sqlite3"
    with pytest.raises(QueueUnavailable) as err:
        SqliteStore(path)
    assert str(err.value) == (
        f"job queue {path}: the file cannot be opened or created "
        f"([Errno 17] File exists: '{blocker}')"
    )
