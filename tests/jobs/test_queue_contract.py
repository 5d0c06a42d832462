"""The store contract both queues keep, step by step: the same event under a new delivery id
is one job, a job of a busy revert waits, a lost lease cannot finish or renew another
worker's claim, a retried job waits its delay, and what the queue counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.events import ForgeKind, Job, JobKind
from bot.jobs.queue import (
    DurableQueue,
    JobFormatError,
    QueueUnavailable,
    RedisStore,
    SqliteStore,
    Tuning,
    job_from_json,
)
from tests.jobs.redis_server import RedisServer, free_port
from tests.jobs.test_queue import Backend, redis_server  # noqa: F401 (a fixture)


@pytest.fixture(params=["sqlite", "redis"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """Both stores, as tests/jobs/test_queue.py opens them (a Redis keyspace per test)."""
    if request.param == "sqlite":
        return Backend(f"sqlite:{tmp_path / 'queue.sqlite3'}")
    server: RedisServer = request.getfixturevalue("redis_server")
    return Backend(f"{server.url}#contract-{request.node.name}")


def job(delivery: str, number: int = 1, digest: str = "") -> Job:
    return Job(
        JobKind.PULL_REQUEST, ForgeKind.GITHUB, "acme/app", delivery, number=number,
        event_digest=digest,
    )  # fmt: skip


def nothing(job: Job) -> None:
    pass


def test_the_same_event_under_new_delivery_ids_is_one_job(stores: Backend) -> None:
    q = DurableQueue(stores.open(), nothing)
    assert q.enqueue(job("d-1", digest="e-1"))
    assert not q.enqueue(job("d-2", digest="e-1"))  # re-sent body, new delivery id
    # the duplicate's own delivery id was recorded too: its redelivery is known
    assert not q.enqueue(job("d-2", digest="e-2"))
    assert q.enqueue(job("d-3", digest="e-3"))
    stats = q.stats()
    assert (stats["enqueued"], stats["duplicates"], stats["waiting"]) == (2, 2, 2)


def test_a_busy_revert_s_next_job_waits_while_another_revert_runs(stores: Backend) -> None:
    q = DurableQueue(stores.open(), nothing)
    for delivery, number in (("d-1", 1), ("d-2", 1), ("d-3", 2)):
        q.enqueue(job(delivery, number))
    store = stores.open()
    first = store.claim(60)
    assert first is not None and job_from_json(first.body).delivery == "d-1"
    assert first.attempts == 1 and first.lock_key == "github:acme/app:1"
    other = store.claim(60)
    assert other is not None and job_from_json(other.body).delivery == "d-3"
    assert store.claim(60) is None  # d-2 waits for PR 1's lock
    assert store.depth() == (1, 2)
    store.finish(first)
    after = store.claim(60)
    assert after is not None and job_from_json(after.body).delivery == "d-2"
    assert store.depth() == (0, 2)


def test_a_stale_claim_neither_renews_nor_finishes_the_new_one(stores: Backend) -> None:
    q = DurableQueue(stores.open(), nothing)
    q.enqueue(job("d-1"))
    store = stores.open()
    stale = store.claim(0.001)
    assert stale is not None
    fresh = None
    while fresh is None:  # the lease runs out within a millisecond
        fresh = store.claim(60)
    assert fresh.id == stale.id and fresh.attempts == 2
    assert not store.renew(stale, 60)
    store.finish(stale)  # the dead worker's late finish: ignored
    store.retry(stale, 0)  # ...and its late give-back too
    assert store.depth() == (0, 1)
    assert store.renew(fresh, 60)
    store.finish(fresh)
    assert store.depth() == (0, 0)


def test_a_retried_job_waits_its_delay_then_counts_its_attempts(tmp_path: Path) -> None:
    clock = [1000.0]
    store = SqliteStore(tmp_path / "q.sqlite3", clock=lambda: clock[0])
    DurableQueue(store, nothing).enqueue(job("d-1"))
    claim = store.claim(60)
    assert claim is not None
    store.retry(claim, 30)
    clock[0] += 29
    assert store.claim(60) is None and store.depth() == (1, 0)
    clock[0] += 1
    again = store.claim(60)
    assert again is not None and again.attempts == 2


def test_a_lease_runs_out_after_its_time_not_before(tmp_path: Path) -> None:
    clock = [1000.0]
    store = SqliteStore(tmp_path / "q.sqlite3", clock=lambda: clock[0])
    DurableQueue(store, nothing).enqueue(job("d-1"))
    claim = store.claim(60)
    assert claim is not None
    clock[0] += 60
    assert store.claim(60) is None and store.depth() == (0, 1)  # still held at the edge
    clock[0] += 0.5
    assert store.renew(claim, 60) and store.claim(60) is None  # a late renewal still counts
    clock[0] += 61
    assert store.depth() == (1, 0)
    taken = store.claim(60)
    assert taken is not None and taken.attempts == 2


def test_the_event_window_is_shorter_than_the_delivery_memory(tmp_path: Path) -> None:
    clock = [1000.0]
    store = SqliteStore(tmp_path / "q.sqlite3", clock=lambda: clock[0])
    q = DurableQueue(store, nothing, tuning=Tuning(seen_ttl=3600, content_window=60))
    assert q.enqueue(job("d-1", digest="e"))
    clock[0] += 61
    assert q.enqueue(job("d-2", digest="e"))  # the same content, later: a new job
    assert not q.enqueue(job("d-1", digest="f"))  # the delivery itself is still known


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"v": 2, "kind": "push"}', "not a job of format 1"),
        ('{"v": 1, "kind": "push", "forge": "github", "repo": "a/b"}', "unreadable job: "),
    ],
)
def test_an_unreadable_job_says_why(text: str, message: str) -> None:
    with pytest.raises(JobFormatError) as err:
        job_from_json(text)
    assert str(err.value).startswith(message)


def test_a_queue_path_that_is_a_directory_says_it_cannot_be_opened(tmp_path: Path) -> None:
    with pytest.raises(QueueUnavailable) as err:
        SqliteStore(tmp_path)
    assert str(err.value) == (
        f"job queue {tmp_path}: the file cannot be opened or created (unable to open database file)"
    )


def test_a_queue_file_that_is_not_a_database_says_sqlite_failed(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    path.write_text("these are not the pages of a database\n" * 200)
    with pytest.raises(QueueUnavailable) as err:
        SqliteStore(path)
    assert str(err.value) == f"job queue {path}: SQLite failed (file is not a database)"


def test_the_queue_file_s_directories_are_made_and_worker_threads_share_it(
    tmp_path: Path,
) -> None:
    """The web's thread queues, a worker thread of the same process runs: one connection,
    shared by threads, in a directory made on first use."""
    path = tmp_path / "var" / "lib" / "rollback-plan" / "queue.sqlite3"
    ran: list[Job] = []
    q = DurableQueue(SqliteStore(path), ran.append, tuning=Tuning(poll=0.01))
    assert q.store.name == f"sqlite:{path}"
    queued = job("d-1")
    q.start(1)
    try:
        assert q.enqueue(queued)
        assert q.drain(30)
    finally:
        q.close()
    assert ran == [queued] and q.stats()["completed"] == 1


def test_a_delivery_the_queue_cannot_take_is_refused_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: Redis is down
    q = DurableQueue(RedisStore(url, connect_timeout=0.5), nothing)
    with pytest.raises(QueueUnavailable) as err:
        q.enqueue(job("d-7"))
    assert str(err.value).startswith(f"job queue {url}: Redis is unavailable (")
    assert q.stats()["refused"] == 1 and q.stats()["enqueued"] == 0
    [logged] = [r for r in caplog.records if r.name == "bot.jobs.queue"]
    assert logged.levelname == "ERROR"
    assert logged.getMessage() == f"delivery d-7 not queued: {err.value}"
