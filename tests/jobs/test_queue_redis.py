"""The Redis store as an operator meets it: the keys docs/queue.md documents (which processes
of two releases share during a rolling upgrade), an error that names the server but never its
password, a Redis that stops answering refused rather than waited on, and a dead worker's job
logged and counted when it is put back."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.events import ForgeKind, Job, JobKind
from bot.jobs.queue import (
    DurableQueue,
    QueueUnavailable,
    RedisStore,
    Seen,
    SqliteStore,
    job_from_json,
    open_store,
)
from tests.jobs.redis_server import RedisServer, free_port
from tests.jobs.test_queue import redis_server  # noqa: F401 (a fixture)

TAG = "{rollback-plan}"


def job(delivery: str, number: int = 1, digest: str = "") -> Job:
    return Job(
        JobKind.PULL_REQUEST, ForgeKind.GITHUB, "acme/app", delivery, number=number,
        event_digest=digest,
    )  # fmt: skip


def nothing(job: Job) -> None:
    pass


@pytest.fixture
def default_keys(redis_server: RedisServer) -> Iterator[redis.Redis]:  # noqa: F811
    """The session's server with nothing under the default prefix, before and after."""
    r = redis.Redis.from_url(redis_server.url, decode_responses=True)

    def clear() -> None:
        for key in r.scan_iter(f"{TAG}:*"):
            r.delete(key)

    clear()
    yield r
    clear()
    r.close()


def test_the_redis_keys_are_the_documented_ones(
    redis_server: RedisServer,  # noqa: F811
    default_keys: redis.Redis,
) -> None:
    """A web replica of the new release and a worker of the old one share these keys during
    a rolling upgrade: a renamed key would strand every job queued under the old name."""
    r = default_keys
    store = RedisStore(redis_server.url)
    assert DurableQueue(store, nothing).enqueue(job("d-1", digest="e-1"))
    assert set(r.keys(f"{TAG}:*")) == {
        f"{TAG}:jobs", f"{TAG}:ready", f"{TAG}:keys", f"{TAG}:seq",
        f"{TAG}:seen:d-1", f"{TAG}:seen:event:e-1",
    }  # fmt: skip
    [job_id] = r.zrange(f"{TAG}:ready", 0, -1)
    assert job_from_json(r.hget(f"{TAG}:jobs", job_id) or "").delivery == "d-1"
    assert r.hget(f"{TAG}:keys", job_id) == "github:acme/app:1"

    claim = store.claim(60)
    assert claim is not None and claim.id == job_id
    assert set(r.keys(f"{TAG}:*")) == {
        f"{TAG}:jobs", f"{TAG}:leased", f"{TAG}:keys", f"{TAG}:seq", f"{TAG}:attempts",
        f"{TAG}:owners", f"{TAG}:lock:github:acme/app:1",
        f"{TAG}:seen:d-1", f"{TAG}:seen:event:e-1",
    }  # fmt: skip
    assert r.get(f"{TAG}:lock:github:acme/app:1") == claim.token
    assert r.hget(f"{TAG}:owners", job_id) == claim.token
    assert r.hget(f"{TAG}:attempts", job_id) == "1"
    store.finish(claim)
    assert set(r.keys(f"{TAG}:*")) == {f"{TAG}:seq", f"{TAG}:seen:d-1", f"{TAG}:seen:event:e-1"}
    store.close()


def test_the_store_names_its_server_never_its_password() -> None:
    assert RedisStore("redis://:hunter2@/3").name == "redis://localhost:6379/3"
    assert RedisStore("redis://bot:hunter2@10.1.2.3:6380/0").name == "redis://10.1.2.3:6380/0"
    port = free_port()  # nothing listens there
    store = RedisStore(f"redis://bot:hunter2@127.0.0.1:{port}/0", connect_timeout=0.5)
    with pytest.raises(QueueUnavailable) as err:
        store.put([Seen("d-1", 60)], "k", "{}")
    assert str(err.value).startswith(f"job queue redis://127.0.0.1:{port}/0: Redis is unavailable")
    assert "hunter2" not in str(err.value)


def test_open_store_is_redis_when_a_url_is_set_else_the_file(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    embedded = open_store(str(path), None)
    assert isinstance(embedded, SqliteStore) and embedded.name == f"sqlite:{path}"
    embedded.close()
    assert isinstance(open_store(str(path), ""), SqliteStore)  # the variable set but empty
    shared = open_store(str(path), "redis://:pw@127.0.0.1:1/2")  # not contacted at start
    assert isinstance(shared, RedisStore) and shared.name == "redis://127.0.0.1:1/2"


def test_a_redis_that_stops_answering_is_refused_not_waited_on() -> None:
    """The connection is taken (the kernel accepts it) but Redis never answers: the delivery
    is refused (the web answers 503 and the forge sends it again) instead of hanging."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        store = RedisStore(f"redis://127.0.0.1:{port}/0", timeout=0.2)
        q = DurableQueue(store, nothing)
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                q.enqueue(job("d-1"))
            except BaseException as err:  # handed to the test thread
                errors.append(err)

        web = threading.Thread(target=deliver, daemon=True)
        web.start()
        web.join(30)  # a bound for a broken build only: the timeout is 0.2 s
        assert not web.is_alive(), "the delivery hung on a silent Redis"
    [err] = errors
    assert isinstance(err, QueueUnavailable)
    assert str(err) == (
        f"job queue redis://127.0.0.1:{port}/0: Redis is unavailable "
        f"(Timeout reading from 127.0.0.1:{port})"
    )
    assert q.stats()["refused"] == 1


def test_dead_workers_jobs_are_put_back_and_counted(
    redis_server: RedisServer,  # noqa: F811
    request: pytest.FixtureRequest,
) -> None:
    spec = f"{redis_server.url}#reclaim-{request.node.name}"
    url, prefix = spec.split("#")
    ran: list[Job] = []
    q = DurableQueue(RedisStore(url, prefix=prefix), ran.append)
    queued = [job("d-1"), job("d-2", number=2)]
    for j in queued:
        q.enqueue(j)
    dead = RedisStore(url, prefix=prefix)  # a worker that never renews, holding both
    claims = [dead.claim(1.0), dead.claim(1.0)]  # (a lease long enough to take both)
    # Wait on Redis's clock until their locks and leases have run out: a lock may outlive
    # its lease by the script's start time, leaving the job for the claim after the one
    # that put it back.
    r = redis.Redis.from_url(url, decode_responses=True)
    for claim in claims:
        assert claim is not None
        ends = r.zscore(f"{{{prefix}}}:leased", claim.id)
        assert ends is not None
        while r.exists(f"{{{prefix}}}:lock:{claim.lock_key}") or _ms(r.time()) <= ends:
            time.sleep(0.01)
    r.close()
    assert q.work_once() and q.work_once()  # the first claim puts both back
    assert ran == queued
    stats = q.stats()
    assert (stats["reclaimed"], stats["completed"], stats["waiting"]) == (2, 2, 0)


def test_a_job_put_back_behind_a_busy_revert_s_backlog_is_logged(
    redis_server: RedisServer,  # noqa: F811
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A claim looks at the first 200 due jobs; when all of them wait for one revert's lock,
    the dead worker's job it put back behind them still shows in the operator's log."""
    url, prefix = redis_server.url, f"backlog-{request.node.name}"
    store = RedisStore(url, prefix=prefix)
    q = DurableQueue(store, nothing)
    q.enqueue(job("busy-0", number=1))
    q.enqueue(job("other", number=2))
    running = store.claim(60)  # PR 1's job runs; the 250 below wait for its lock
    assert running is not None and job_from_json(running.body).delivery == "busy-0"
    dead = store.claim(0.001)  # PR 2's job: its worker dies
    assert dead is not None and job_from_json(dead.body).delivery == "other"
    for i in range(1, 251):
        q.enqueue(job(f"busy-{i}", number=1))
    caplog.set_level(logging.WARNING, "bot.jobs.queue")
    found = store.claim(60)
    while found is None and not caplog.records:  # until the lease has run out
        found = store.claim(60)
    assert found is None
    [logged] = caplog.records
    assert logged.levelname == "WARNING"
    assert logged.getMessage() == "put 1 job(s) back whose worker stopped renewing"
    assert store.depth() == (251, 1)  # PR 1: 250 waiting and one running; PR 2: waiting


def _ms(time: tuple[int, int]) -> int:
    seconds, micros = time
    return seconds * 1000 + micros // 1000
