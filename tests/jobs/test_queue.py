"""The durable queue on a real SQLite file and a real redis-server: nothing is lost across a
restart, a delivery is taken once across processes, one job at a time per revert across
processes, a killed worker's job is finished by another (once), retries back off and then
tell people how to retry, and a queue that cannot take a job says so (the web answers 503).

Worker processes are this file run as a script (see the bottom): real subprocesses, killed
with SIGKILL where the test says so.
"""

from __future__ import annotations

import itertools
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bot.events import ForgeKind, Job, JobKind
from bot.forges import ForgeError
from bot.jobs.queue import (
    DurableQueue,
    JobAbandoned,
    JobFormatError,
    QueueUnavailable,
    RedisStore,
    SqliteStore,
    Store,
    Tuning,
    job_from_json,
    job_to_json,
)
from tests.jobs.redis_server import RedisServer, redis_binary

FAST = Tuning(attempts=3, backoff=0.05, lease=1.0, poll=0.02)


# -- a real redis-server -------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(redis_binary(), tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


# -- both stores behind one fixture --------------------------------------------------------


@dataclass(frozen=True)
class Backend:
    """Storage shared by every store opened from it (as processes share it)."""

    spec: str  # how a worker process opens it: sqlite:<path> or <redis url>#<prefix>

    def open(self) -> Store:
        return open_spec(self.spec)


def open_spec(spec: str) -> Store:
    if spec.startswith("sqlite:"):
        return SqliteStore(spec.removeprefix("sqlite:"))
    url, prefix = spec.split("#")
    return RedisStore(url, prefix=prefix)


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend(f"sqlite:{tmp_path / 'queue.sqlite3'}")
    server: RedisServer = request.getfixturevalue("redis_server")
    return Backend(f"{server.url}#test-{request.node.name}")  # a keyspace per test


_ids = iter(range(1, 1_000_000))


def job(key: str = "1", *, seconds: float = 0.0, delivery: str | None = None) -> Job:
    """A pull-request job; `key` picks the PR (and so the lock), `seconds` how long the test
    handler works on it."""
    return Job(
        JobKind.PULL_REQUEST,
        ForgeKind.GITHUB,
        "acme/app",
        delivery or f"delivery-{next(_ids)}",
        number=int(key),
        command=str(seconds),
    )


BLOCK = "block"  # as a job's command: the worker process's handler waits to be released


def nothing(job: Job) -> None:
    pass


# -- Job <-> JSON --------------------------------------------------------------------------


def test_a_job_survives_json_with_every_field() -> None:
    full = Job(
        JobKind.COMMAND,
        ForgeKind.GITLAB,
        "group/sub/app",
        "delivery-1",
        number=7,
        sha="a" * 40,
        branch="revert-1",
        author="alice",
        comment_id=99,
        command="/rollback-plan approve",
        project_id=12,
        installation_id=34,
        before="b" * 40,
    )
    text = job_to_json(full)
    assert '"kind":"command"' in text and '"forge":"gitlab"' in text  # enums by value
    assert job_from_json(text) == full
    # a field a newer version added does not stop an older worker
    assert job_from_json(text.replace('"v":1', '"v":1,"later":true')) == full


@pytest.mark.parametrize(
    "text", ["not json", "[]", '{"v": 2, "kind": "push"}', '{"v": 1, "kind": "nope"}']
)
def test_an_unreadable_job_is_a_typed_error(text: str) -> None:
    with pytest.raises(JobFormatError):
        job_from_json(text)


# -- durability and deduplication ------------------------------------------------------------


def test_a_queued_job_survives_a_restart(backend: Backend) -> None:
    before = DurableQueue(backend.open(), nothing)
    queued = job()
    assert before.enqueue(queued)
    before.store.close()  # the process goes away before any worker ran

    ran: list[Job] = []
    after = DurableQueue(backend.open(), ran.append)
    assert after.stats()["waiting"] == 1
    assert after.work_once()
    assert ran == [queued]
    assert not after.work_once()
    assert after.stats()["waiting"] == 0


def test_a_delivery_is_taken_once_across_queues(backend: Backend) -> None:
    web1, web2 = DurableQueue(backend.open(), nothing), DurableQueue(backend.open(), nothing)
    first = job(delivery="delivery-a")
    assert web1.enqueue(first)
    assert not web2.enqueue(first)  # the forge redelivered to the other replica
    assert not web1.enqueue(first)
    assert web2.enqueue(job(delivery="delivery-b"))
    assert web2.stats()["duplicates"] == 1
    assert web1.stats()["waiting"] == 2


def test_a_delivery_is_forgotten_after_its_ttl(tmp_path: Path) -> None:
    clock = [1000.0]
    store = SqliteStore(tmp_path / "q.sqlite3", clock=lambda: clock[0])
    q = DurableQueue(store, nothing, tuning=Tuning(seen_ttl=60))
    assert q.enqueue(job(delivery="d"))
    clock[0] += 59
    assert not q.enqueue(job(delivery="d"))
    clock[0] += 2
    assert q.enqueue(job(delivery="d"))


# -- worker processes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    what: str  # start | end
    delivery: str
    number: int
    pid: int
    at: float


class Workers:
    """Worker processes (this file run as a script) and what their handlers recorded."""

    def __init__(self, backend: Backend, out: Path, lease: float) -> None:
        self.backend = backend
        self.out = out
        self.lease = lease
        self.procs: list[subprocess.Popen[bytes]] = []
        out.mkdir(exist_ok=True)

    def start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, __file__, self.backend.spec, str(self.out), str(self.lease)],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        self.procs.append(proc)
        wait_for(lambda: (self.out / f"ready-{proc.pid}").exists(), f"worker {proc.pid} ready")
        return proc

    def events(self) -> list[Event]:
        log = self.out / "events.log"
        lines = log.read_text().splitlines() if log.exists() else []
        found = []
        for line in lines:
            what, delivery, number, pid, at = line.split()
            found.append(Event(what, delivery, int(number), int(pid), float(at)))
        return found

    def ended(self) -> list[Event]:
        return [e for e in self.events() if e.what == "end"]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)


@pytest.fixture
def workers(backend: Backend, tmp_path: Path) -> Iterator[Callable[[float], Workers]]:
    made: list[Workers] = []

    def make(lease: float) -> Workers:
        made.append(Workers(backend, tmp_path / "out", lease))
        return made[-1]

    yield make
    for w in made:
        w.stop()


def wait_for(ok: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_one_job_at_a_time_per_revert_across_processes(
    backend: Backend, workers: Callable[[float], Workers]
) -> None:
    w = workers(5.0)
    a, b = w.start(), w.start()
    web = DurableQueue(backend.open(), nothing)
    for key in ("1", "2", "1", "2", "1", "2"):
        web.enqueue(job(key, seconds=0.25))
    wait_for(lambda: len(w.ended()) == 6, "six jobs done")

    events = w.events()
    spans: dict[int, list[tuple[float, float]]] = {}
    for start in (e for e in events if e.what == "start"):
        [stop] = [e for e in events if e.what == "end" and e.delivery == start.delivery]
        spans.setdefault(start.number, []).append((start.at, stop.at))
    for number, runs in spans.items():
        runs.sort()
        for (_, ended), (next_start, _) in itertools.pairwise(runs):
            assert next_start >= ended, f"two jobs of PR {number} ran at once"
    # Both processes worked, at the same time, on different PRs: so the serialization above
    # is the lock's doing, not a single worker's.
    assert {e.pid for e in events} == {a.pid, b.pid}
    assert any(s1 < e2 and s2 < e1 for s1, e1 in spans[1] for s2, e2 in spans[2]), (
        "the two PRs never ran in parallel"
    )
    # The handler's last event comes just before the worker marks the job done: wait for it.
    wait_for(
        lambda: web.stats()["waiting"] == 0 and web.stats()["running"] == 0, "the queue to empty"
    )


def test_a_job_whose_worker_is_killed_is_finished_by_another_once(
    backend: Backend, workers: Callable[[float], Workers]
) -> None:
    lease = 1.0
    w = workers(lease)
    first = w.start()
    web = DurableQueue(backend.open(), nothing)
    # the handler holds the job until the test releases it: the first worker can't finish it
    web.enqueue(replace(job(delivery="delivery-killed"), command=BLOCK))
    wait_for(lambda: any(e.what == "start" for e in w.events()), "the first worker to start")
    second = w.start()
    time.sleep(lease * 1.5)  # longer than a lease: the first worker's renewals keep the job
    assert [e.pid for e in w.events() if e.what == "start"] == [first.pid]

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = time.time()
    wait_for(lambda: len([e for e in w.events() if e.what == "start"]) == 2, "the takeover")
    (w.out / "release-delivery-killed").touch()
    wait_for(lambda: len(w.ended()) == 1, "the job to be finished")
    # The handler's last event comes just before the worker marks the job done: wait for it.
    wait_for(
        lambda: web.stats()["waiting"] == 0 and web.stats()["running"] == 0, "the queue to empty"
    )

    starts = [e for e in w.events() if e.what == "start"]
    assert [e.pid for e in starts] == [first.pid, second.pid]
    assert starts[1].at >= killed_at  # taken over only after the kill...
    # ...once the lease ran out (with room for a loaded machine: promptly, not at once)
    assert starts[1].at <= killed_at + lease + 3.0
    [end] = w.ended()
    assert end.pid == second.pid  # ran to completion exactly once
    effect = w.out / "effect-delivery-killed"
    assert effect.read_text() == str(second.pid)  # and the effect happened once


# -- retries, give-up, abandoned jobs ----------------------------------------------------------


def test_transient_failures_retry_with_backoff_then_the_pr_says_how_to_retry(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.jobs.scenario import make_world, revert_pr

    world = make_world(tmp_path, approve_data_loss=True)
    n = revert_pr(world)
    world.forge.fail("commit_files", times=3)
    tries: list[float] = []

    def handle(job: Job) -> None:
        tries.append(time.monotonic())
        world.worker.handle(job)

    q = DurableQueue(backend.open(), handle, on_give_up=world.worker.give_up, tuning=FAST)
    assert q.enqueue(world.pr_job(n, delivery="delivery-42"))
    q.start(1)
    try:
        wait_for(lambda: q.stats()["failed"] == 1, "the job to give up")
    finally:
        q.close()

    assert len(tries) == 3  # Tuning.attempts, then it gave up
    gaps = [b - a for a, b in itertools.pairwise(tries)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1, gaps  # backoff doubles
    [failure] = world.forge.bot_comments(n)
    assert "/rollback-plan refresh" in failure.body and "delivery-42" in failure.body
    assert any("delivery-42" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)
    stats = q.stats()
    assert (stats["retried"], stats["failed"], stats["completed"]) == (2, 1, 0)
    assert (stats["waiting"], stats["running"]) == (0, 0)


def test_a_lasting_error_gives_up_without_retrying(backend: Backend) -> None:
    calls: list[Job] = []
    gave_up: list[tuple[Job, BaseException]] = []

    def handle(job: Job) -> None:
        calls.append(job)
        raise ForgeError("404 repository gone", status=404)

    q = DurableQueue(
        backend.open(), handle, on_give_up=lambda j, e: gave_up.append((j, e)), tuning=FAST
    )
    queued = job()
    q.enqueue(queued)
    assert q.work_once()
    assert calls == [queued] and [j for j, _ in gave_up] == [queued]
    assert not q.work_once()  # gone from the queue


def test_a_job_that_keeps_killing_its_worker_is_given_up(backend: Backend) -> None:
    gave_up: list[BaseException] = []
    q = DurableQueue(
        backend.open(),
        nothing,
        on_give_up=lambda j, e: gave_up.append(e),
        tuning=Tuning(attempts=2, lease=0.05, poll=0.02),
    )
    q.enqueue(job())
    for _ in range(2):  # two workers take it and die (never finish, never renew)
        assert backend.open().claim(0.05) is not None
        time.sleep(0.1)
    assert q.work_once()
    assert len(gave_up) == 1 and isinstance(gave_up[0], JobAbandoned)
    assert q.stats()["abandoned"] == 1 and q.stats()["waiting"] == 0


# -- a queue that cannot take jobs --------------------------------------------------------------


def test_redis_down_refuses_jobs_and_the_worker_recovers(tmp_path: Path) -> None:
    server = RedisServer(redis_binary(), tmp_path)
    port = server.port
    ran: list[Job] = []
    q = DurableQueue(RedisStore(server.url), ran.append, tuning=FAST)
    q.start(1)
    try:
        assert q.enqueue(job())
        wait_for(lambda: len(ran) == 1, "the first job")
        server.stop()
        started = time.monotonic()
        with pytest.raises(QueueUnavailable, match="Redis is unavailable"):
            q.enqueue(job())
        assert time.monotonic() - started < 3  # the forge is answered 503 at once
        assert q.stats()["refused"] == 1 and q.stats()["waiting"] == -1

        # Redis comes back (same address): the worker thread lived through the outage.
        server = _restart(tmp_path, port)
        assert q.enqueue(job())
        wait_for(lambda: len(ran) == 2, "a job after the outage")
    finally:
        q.close(5)
        server.stop()


def _restart(workdir: Path, port: int) -> RedisServer:
    for _ in range(20):  # the old process may hold the port for a moment
        try:
            return RedisServer(redis_binary(), workdir, port)
        except RuntimeError:
            time.sleep(0.1)
    raise AssertionError(f"redis-server did not restart on port {port}")


def test_an_unusable_queue_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    with pytest.raises(QueueUnavailable, match="cannot be opened or created"):
        SqliteStore(blocker / "queue.sqlite3")


def test_a_full_disk_refuses_jobs_and_keeps_the_ones_taken(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    SqliteStore(path).close()
    # A child process whose files may not grow past 256 KiB: the disk is "full" for it.
    out = subprocess.run(
        [sys.executable, __file__, "--fill", str(path)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    accepted, message = out.stdout.split("\n", 1)
    assert int(accepted) > 0
    assert message.startswith(f"job queue {path}: the disk"), message

    ran: list[Job] = []
    q = DurableQueue(SqliteStore(path), ran.append)
    while q.work_once():
        pass
    assert len(ran) == int(accepted)  # every job that was accepted is still there


# -- the composition root ---------------------------------------------------------------------


def test_build_uses_sqlite_by_default_and_redis_when_set(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    from bot.app import build
    from bot.settings import Settings

    base = Settings(
        github_webhook_secret="s",
        github_token="t",
        cache_dir=str(tmp_path / "cache"),
        queue_path=str(tmp_path / "q" / "queue.sqlite3"),
    )
    embedded = build(base)
    assert isinstance(embedded.queue.store, SqliteStore)
    assert (tmp_path / "q" / "queue.sqlite3").exists()
    embedded.close()
    from dataclasses import replace

    shared = build(replace(base, redis_url=redis_server.url))
    assert isinstance(shared.queue.store, RedisStore)
    assert shared.queue.stats()["waiting"] >= 0
    shared.close()


# -- the worker process (python tests/jobs/test_queue.py SPEC OUT LEASE) ----------------------


def _worker_main(spec: str, out: Path, lease: float) -> None:
    pid = os.getpid()

    def record(what: str, job: Job) -> None:
        line = f"{what} {job.delivery} {job.number} {pid} {time.time():.6f}\n"
        fd = os.open(out / "events.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def handle(job: Job) -> None:
        record("start", job)
        if job.command == BLOCK:
            release = out / f"release-{job.delivery}"
            while not release.exists():
                time.sleep(0.01)
        else:
            time.sleep(float(job.command or 0))
        effect = out / f"effect-{job.delivery}"
        if not effect.exists():  # idempotent: read before write, like the executor
            effect.write_text(str(pid))
        record("end", job)

    q = DurableQueue(open_spec(spec), handle, tuning=Tuning(lease=lease, poll=0.02))
    q.start(1)
    (out / f"ready-{pid}").touch()
    threading.Event().wait()


def _fill_main(path: str) -> None:
    """Enqueue until the (rlimited) disk is full; print how many were taken, and the error."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    limit = os.path.getsize(path) + 256 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    q = DurableQueue(SqliteStore(path), nothing)
    accepted = 0
    try:
        for i in range(10_000):
            big = Job(JobKind.COMMAND, ForgeKind.GITHUB, "acme/app", f"d-{i}", number=1,
                      command="x" * 8192)  # fmt: skip
            q.enqueue(big)
            accepted += 1
    except QueueUnavailable as err:
        print(f"{accepted}\n{err}")
        return
    print(f"{accepted}\nnever full")


if __name__ == "__main__":
    if sys.argv[1] == "--fill":
        _fill_main(sys.argv[2])
    else:
        _worker_main(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]))
