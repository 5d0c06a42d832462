"""The worker side of the queue, in one process: a failing job is retried after its backoff
and then given up with a report, a job nobody can read or whose workers keep dying is
dropped with a reason, a running job keeps its lease (and notices losing it), a job still
running at shutdown is handed to another worker, and the worker thread outlives an outage
and a bug. What the operator's log says in each case is asserted word for word.

Worker threads are synchronised on events; the store's clock is the test's where leases and
delays are measured."""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.events import ForgeKind, Job, JobKind
from bot.forges import ForgeError
from bot.jobs.queue import (
    Claim,
    DurableQueue,
    JobAbandoned,
    QueueUnavailable,
    RedisStore,
    Seen,
    SqliteStore,
    Tuning,
)
from tests.jobs.redis_server import RedisServer, free_port, redis_binary
from tests.jobs.test_queue import _restart as restart

WAIT = 10.0  # a bound for a broken build only: every wait below ends on an event


def job(delivery: str = "d-1", number: int = 1) -> Job:
    return Job(JobKind.PULL_REQUEST, ForgeKind.GITHUB, "acme/app", delivery, number=number)


class Clock:
    """The store's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Log(logging.Handler):
    """The queue's log records, as they come (from any thread)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: queue.Queue[logging.LogRecord] = queue.Queue()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.put(record)

    def next(self, start: str) -> logging.LogRecord:
        """The next record whose message starts with `start` (others are skipped), waiting
        for a worker thread to log it."""
        while True:
            record = self.records.get(timeout=WAIT)
            if record.getMessage().startswith(start):
                return record

    def logged(self, start: str) -> logging.LogRecord:
        """The same, among what the test's own thread has logged already."""
        while True:
            record = self.records.get_nowait()
            if record.getMessage().startswith(start):
                return record


@pytest.fixture
def log() -> Iterator[Log]:
    handler = Log()
    logger = logging.getLogger("bot.jobs.queue")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


# -- retries and giving up ---------------------------------------------------------------


def test_a_transient_failure_is_retried_after_a_doubling_capped_backoff_then_given_up(
    tmp_path: Path, log: Log
) -> None:
    clock = Clock()
    store = SqliteStore(tmp_path / "q.sqlite3", clock=clock)
    outcomes: list[str] = []
    gave_up: list[tuple[Job, BaseException]] = []
    failure = ForgeError("502 Bad Gateway", transient=True, status=502)

    def handle(job: Job) -> None:
        raise failure

    q = DurableQueue(
        store,
        handle,
        on_give_up=lambda j, e: gave_up.append((j, e)),
        tuning=Tuning(attempts=4, backoff=2.0, max_backoff=5.0),
        observe=lambda j, outcome, seconds: outcomes.append(outcome),
    )
    queued = job("d-42")
    q.enqueue(queued)
    # Each delay is 2 s doubled per attempt, capped at 5 s, times a jitter of 1 to 1.25.
    for attempt, (lowest, highest, said) in enumerate(
        [(2.0, 2.5, r"2\.[0-5]"), (4.0, 5.0, r"(4\.\d|5\.0)"), (5.0, 6.25, r"(5\.\d|6\.[0-2])")],
        start=1,
    ):
        assert q.work_once()
        retried = log.logged("job pull_request")
        assert retried.levelname == "WARNING"
        assert re.fullmatch(
            rf"job pull_request \(delivery d-42\) attempt {attempt} failed transiently "
            rf"\(502 Bad Gateway\); retrying in {said}s",
            retried.getMessage(),
        ), retried.getMessage()
        clock.now += lowest - 0.01
        assert not q.work_once()  # not before its delay
        clock.now += highest - lowest + 0.01
    assert q.work_once()  # the fourth attempt is the last: given up, not retried
    final = log.logged("job pull_request")
    assert final.getMessage() == "job pull_request (delivery d-42) failed for good: 502 Bad Gateway"
    assert final.levelname == "ERROR" and not final.exc_info  # a forge error: no traceback
    assert gave_up == [(queued, failure)]
    assert outcomes == ["retry", "retry", "retry", "failed"]
    clock.now += 3600
    assert not q.work_once()
    stats = q.stats()
    assert (stats["retried"], stats["failed"], stats["completed"]) == (3, 1, 0)
    assert (stats["waiting"], stats["running"]) == (0, 0)


def test_a_queue_tuned_to_no_attempts_still_runs_a_job_once(tmp_path: Path) -> None:
    runs: list[Job] = []

    def handle(job: Job) -> None:
        runs.append(job)
        raise ForgeError("rate limited", transient=True, status=429)

    q = DurableQueue(SqliteStore(tmp_path / "q.sqlite3"), handle, tuning=Tuning(attempts=0))
    q.enqueue(job())
    assert q.work_once()
    assert len(runs) == 1 and q.stats()["failed"] == 1
    assert q.store.depth() == (0, 0)  # given up, not waiting for a retry


def test_a_bug_in_a_handler_is_given_up_with_its_traceback_in_the_log(
    tmp_path: Path, log: Log
) -> None:
    gave_up: list[BaseException] = []
    outcomes: list[str] = []

    def handle(job: Job) -> None:
        raise KeyError("sha")

    q = DurableQueue(
        SqliteStore(tmp_path / "q.sqlite3"),
        handle,
        on_give_up=lambda j, e: gave_up.append(e),
        observe=lambda j, outcome, seconds: outcomes.append(outcome),
    )
    q.enqueue(job("d-7"))
    assert q.work_once()
    record = log.logged("job pull_request")
    assert record.getMessage() == "job pull_request (delivery d-7) failed for good: 'sha'"
    assert record.levelname == "ERROR" and record.exc_info is not None
    assert [type(e) for e in gave_up] == [KeyError] and outcomes == ["failed"]
    assert q.store.depth() == (0, 0) and q.stats()["failed"] == 1


def test_a_report_that_fails_is_logged_and_the_job_is_still_finished(
    tmp_path: Path, log: Log
) -> None:
    def handle(job: Job) -> None:
        raise ForgeError("404 Not Found", status=404)

    reports: list[BaseException] = [ForgeError("403 Forbidden", status=403), ValueError("bug")]

    def report(job: Job, err: BaseException) -> None:
        raise reports.pop(0)

    q = DurableQueue(SqliteStore(tmp_path / "q.sqlite3"), handle, on_give_up=report)
    q.enqueue(job("d-1"))
    q.enqueue(job("d-2", number=2))
    assert q.work_once()
    forge = log.logged("could not report")
    assert forge.getMessage() == "could not report the failure of delivery d-1: 403 Forbidden"
    assert forge.levelname == "ERROR" and not forge.exc_info
    assert q.work_once()
    bug = log.logged("could not report")
    assert bug.getMessage() == "could not report the failure of delivery d-2"
    assert bug.levelname == "ERROR" and bug.exc_info is not None
    assert q.store.depth() == (0, 0) and q.stats()["failed"] == 2


def test_without_a_report_a_failed_job_is_only_logged(tmp_path: Path, log: Log) -> None:
    def handle(job: Job) -> None:
        raise ForgeError("410 Gone", status=410)

    q = DurableQueue(SqliteStore(tmp_path / "q.sqlite3"), handle)
    q.enqueue(job("d-1"))
    assert q.work_once()
    assert log.logged("job pull_request").getMessage() == (
        "job pull_request (delivery d-1) failed for good: 410 Gone"
    )
    assert q.store.depth() == (0, 0)


def test_a_job_nobody_can_read_is_dropped_with_the_reason(tmp_path: Path, log: Log) -> None:
    """A job a newer release wrote in a format this one cannot read."""
    store = SqliteStore(tmp_path / "q.sqlite3")
    ran: list[Job] = []
    q = DurableQueue(store, ran.append)
    assert store.put([Seen("d-1", 60)], "github:acme/app:1", '{"v": 2}')
    assert q.work_once()
    record = log.logged("job ")
    assert record.getMessage() == "job 1 dropped: not a job of format 1"
    assert record.levelname == "ERROR"
    assert ran == [] and q.stats()["failed"] == 1
    assert store.depth() == (0, 0) and not q.work_once()


def test_a_job_whose_workers_keep_dying_is_given_up_saying_so(tmp_path: Path, log: Log) -> None:
    clock = Clock()
    store = SqliteStore(tmp_path / "q.sqlite3", clock=clock)
    ran: list[Job] = []
    gave_up: list[BaseException] = []
    q = DurableQueue(
        store,
        ran.append,
        on_give_up=lambda j, e: gave_up.append(e),
        tuning=Tuning(attempts=2, lease=60),
    )
    q.enqueue(job("d-9"))
    for _ in range(2):  # two workers take it and die: they never finish nor renew
        assert store.claim(60) is not None
        clock.now += 61
    assert q.work_once()
    assert ran == []
    [err] = gave_up
    assert isinstance(err, JobAbandoned) and str(err) == "its worker stopped 2 time(s) mid-job"
    record = log.logged("job pull_request")
    assert record.getMessage() == (
        "job pull_request (delivery d-9) failed for good: its worker stopped 2 time(s) mid-job"
    )
    assert not record.exc_info
    stats = q.stats()
    assert (stats["abandoned"], stats["failed"], stats["waiting"], stats["running"]) == (
        1, 1, 0, 0,
    )  # fmt: skip


# -- leases --------------------------------------------------------------------------------


class Watched(SqliteStore):
    """The SQLite store, telling the test each renewal's answer."""

    def __init__(self, path: Path, clock: Clock) -> None:
        super().__init__(path, clock=clock)
        self.renewals: queue.Queue[tuple[str, bool | QueueUnavailable]] = queue.Queue()
        self.fail_next = False
        self.counted: dict[str, int] = {}
        self.changed = threading.Condition()

    def renew(self, claim: Claim, lease: float) -> bool:
        if self.fail_next:
            self.fail_next = False
            err = QueueUnavailable("job queue: the disk is full")
            self.renewals.put((claim.id, err))
            raise err
        ok = super().renew(claim, lease)
        self.renewals.put((claim.id, ok))
        with self.changed:
            self.counted[claim.id] = self.counted.get(claim.id, 0) + 1
            self.changed.notify_all()
        return ok

    def renewed(self, job_id: str, times: int) -> bool:
        """Wait until this job's lease was renewed (or refused) `times` times in all."""
        with self.changed:
            return self.changed.wait_for(lambda: self.counted.get(job_id, 0) >= times, WAIT)

    def renewal(self, job_id: str = "1") -> bool | QueueUnavailable:
        """The answer of the next renewal of this job (other jobs' are skipped)."""
        while True:
            renewed, answer = self.renewals.get(timeout=WAIT)
            if renewed == job_id:
                return answer


def test_a_running_job_keeps_its_lease_and_notices_losing_it(tmp_path: Path, log: Log) -> None:
    path = tmp_path / "q.sqlite3"
    clock = Clock()
    store = Watched(path, clock)
    started, release, settled = threading.Event(), threading.Event(), threading.Event()

    def handle(job: Job) -> None:
        started.set()
        release.wait(WAIT)

    q = DurableQueue(
        store,
        handle,
        tuning=Tuning(lease=0.3, poll=0.01),  # renewed every 0.1 s of real time
        observe=lambda j, outcome, seconds: settled.set(),
    )
    q.enqueue(job("d-1"))
    q.start(1)
    try:
        assert started.wait(WAIT)
        clock.now += 0.2
        assert store.renewal() is True
        clock.now += 0.25  # past the first lease, not past the renewed one
        assert SqliteStore(path, clock=clock).claim(60) is None
        store.fail_next = True  # the store fails once: logged, and renewed again after
        assert isinstance(store.renewal(), QueueUnavailable)
        failed = log.next("job 1: lease")
        assert failed.getMessage() == "job 1: lease not renewed: job queue: the disk is full"
        assert failed.levelname == "ERROR"
        assert store.renewal() is True
        # another worker, whose clock says the lease ran out long ago, takes the job
        other = SqliteStore(path, clock=lambda: clock.now + 3600)
        taken = other.claim(3600)
        assert taken is not None and taken.attempts == 2
        lost = log.next("job 1: lease")
        assert lost.getMessage() == "job 1: lease lost (another worker may run it too)"
        assert lost.levelname == "WARNING"
        assert q.stats()["leases_lost"] == 1
        release.set()
        assert settled.wait(WAIT)
        # the first worker's finish does not remove the job the other one now runs
        assert other.depth() == (0, 1)
        other.finish(taken)
        assert other.depth() == (0, 0)
    finally:
        release.set()
        q.close(WAIT)


def test_a_lost_lease_is_let_go_while_the_worker_s_other_jobs_keep_theirs(
    tmp_path: Path, log: Log
) -> None:
    path = tmp_path / "q.sqlite3"
    clock = Clock()
    store = Watched(path, clock)
    started = {"d-1": threading.Event(), "d-2": threading.Event()}
    release = threading.Event()

    def handle(job: Job) -> None:
        started[job.delivery].set()
        release.wait(WAIT)

    q = DurableQueue(store, handle, tuning=Tuning(lease=0.3, poll=0.01))
    q.enqueue(job("d-1"))
    q.start(2)
    try:
        assert started["d-1"].wait(WAIT)
        q.enqueue(job("d-2", number=2))
        assert started["d-2"].wait(WAIT)
        taken = SqliteStore(path, clock=lambda: clock.now + 3600).claim(3600)
        assert taken is not None and taken.id == "1"  # another worker took job 1 over
        log.next("job 1: lease lost")
        with store.changed:
            so_far = store.counted.get("2", 0)
        assert store.renewed("2", so_far + 2)  # two more rounds of renewals
        assert q.stats()["leases_lost"] == 1  # job 1 was not renewed (nor lost) again
    finally:
        release.set()
        q.close(WAIT)


class Unsettled(SqliteStore):
    """The SQLite store, failing to remove the first job finished."""

    failed = False

    def finish(self, claim: Claim) -> None:
        if not self.failed:
            self.failed = True
            raise QueueUnavailable("job queue: the disk is full")
        super().finish(claim)


def test_a_job_that_cannot_be_marked_done_runs_again_after_its_lease(
    tmp_path: Path, log: Log
) -> None:
    clock = Clock()
    store = Unsettled(tmp_path / "q.sqlite3", clock=clock)
    ran: list[Job] = []
    outcomes: list[str] = []
    timings: list[float] = []

    def observe(job: Job, outcome: str, seconds: float) -> None:
        outcomes.append(outcome)
        timings.append(seconds)

    q = DurableQueue(store, ran.append, tuning=Tuning(lease=60), observe=observe)
    q.enqueue(job("d-1"))
    began = time.monotonic()
    assert q.work_once()
    took = time.monotonic() - began
    assert 0 <= timings[0] <= took  # the job-duration metric: the handler's run
    record = log.logged("job 1 could not")
    assert record.getMessage() == (
        "job 1 could not be settled (job queue: the disk is full); it will run again"
    )
    assert record.levelname == "ERROR"
    assert not q.work_once()  # still leased
    clock.now += 61
    assert q.work_once()  # at least once: run again, never lost
    assert [j.delivery for j in ran] == ["d-1", "d-1"] and outcomes == ["ok", "ok"]
    assert store.depth() == (0, 0) and q.stats()["completed"] == 2


def test_every_job_s_lease_is_renewed_after_an_idle_spell_and_during_shutdown(
    tmp_path: Path,
) -> None:
    store = Watched(tmp_path / "q.sqlite3", Clock())
    seen: list[tuple[str, bool | QueueUnavailable]] = []
    done = threading.Event()

    def handle(job: Job) -> None:
        job_id = "1" if job.delivery == "d-1" else "2"
        seen.append((job.delivery, store.renewal(job_id)))
        done.set()
        if job.delivery == "d-2":  # still running when shutdown begins: still renewed
            assert q._stop.wait(WAIT)
            seen.append(("stopping", store.renewal(job_id)))
            seen.append(("stopping", store.renewal(job_id)))  # and again, a round later

    q = DurableQueue(store, handle, tuning=Tuning(lease=0.3, poll=0.01))
    q.enqueue(job("d-1"))
    q.start(1)
    try:
        assert done.wait(WAIT)
        done.clear()
        q.enqueue(job("d-2", number=2))  # after a spell with nothing to renew
        assert done.wait(WAIT)
    finally:
        assert q.close(WAIT) == 0
    assert seen == [("d-1", True), ("d-2", True), ("stopping", True), ("stopping", True)]


# -- shutdown ------------------------------------------------------------------------------


def test_a_job_still_running_at_shutdown_is_handed_to_another_worker_at_once(
    tmp_path: Path, log: Log
) -> None:
    path = tmp_path / "q.sqlite3"
    clock = Clock()
    started, release, settled = threading.Event(), threading.Event(), threading.Event()
    ran: list[Job] = []

    def handle(job: Job) -> None:
        ran.append(job)
        started.set()
        release.wait(WAIT)

    q = DurableQueue(
        SqliteStore(path, clock=clock),
        handle,
        tuning=Tuning(poll=0.01),
        observe=lambda j, outcome, seconds: settled.set(),
    )
    q.enqueue(job("d-1"))
    q.start(1)
    try:
        assert started.wait(WAIT)
        assert q.close(0.05) == 1  # the handler is still waiting: released
    finally:
        release.set()
    assert settled.wait(WAIT)  # the first run ends; its finish must not remove the job
    record = log.logged("job 1 released")
    assert record.getMessage() == "job 1 released unfinished: another worker runs it"
    assert record.levelname == "WARNING"
    again: list[Job] = []
    other = DurableQueue(SqliteStore(path, clock=clock), again.append)
    assert other.work_once()  # ready at once, not after the lease
    assert again == ran and other.store.depth() == (0, 0)


def test_a_job_that_cannot_be_released_at_shutdown_waits_for_its_lease(
    tmp_path: Path, log: Log
) -> None:
    store = Watched(tmp_path / "q.sqlite3", Clock())
    started, release = threading.Event(), threading.Event()

    def handle(job: Job) -> None:
        started.set()
        release.wait(WAIT)

    def broken_retry(claim: Claim, delay: float) -> None:
        raise QueueUnavailable("job queue: the disk is full")

    q = DurableQueue(store, handle, tuning=Tuning(poll=0.01))
    q.enqueue(job("d-1"))
    q.start(1)
    try:
        assert started.wait(WAIT)
        store.retry = broken_retry  # type: ignore[method-assign]
        assert q.close(0.05) == 1
    finally:
        release.set()
    record = log.logged("job 1 not released")
    assert record.getMessage() == (
        "job 1 not released (job queue: the disk is full); it runs again when its lease ends"
    )
    assert record.levelname == "ERROR"


def test_a_queue_with_nothing_running_closes_at_once_and_starts_no_idle_workers(
    tmp_path: Path,
) -> None:
    ran: list[Job] = []
    q = DurableQueue(SqliteStore(tmp_path / "q.sqlite3"), ran.append, tuning=Tuning(poll=0.01))
    q.start(0)  # no workers asked: none started, nothing taken
    q.enqueue(job())
    assert q.close() == 0 and ran == []
    before = set(threading.enumerate())
    q.start(1)
    q.start(1)  # already running: no second worker
    # named for an operator's thread dump; daemons, so they never keep a dying process alive
    threads = [t for t in threading.enumerate() if t not in before]
    assert sorted(t.name for t in threads) == ["rollback-plan-leases", "rollback-plan-worker-0"]
    assert all(t.daemon for t in threads)
    assert q.drain(WAIT)
    assert q.close() == 0 and len(ran) == 1
    assert not any(t.is_alive() for t in threads)


def test_a_job_that_ends_within_the_grace_period_is_not_handed_over(tmp_path: Path) -> None:
    """Shutdown waits for a running job up to its timeout: one that ends in time is finished
    here and not run a second time elsewhere."""
    path = tmp_path / "q.sqlite3"
    ran: list[Job] = []
    started = threading.Event()

    def handle(job: Job) -> None:
        ran.append(job)
        started.set()
        # ends only once shutdown has begun (the queue's stop flag, as the worker loop sees it)
        assert q._stop.wait(WAIT)

    q = DurableQueue(SqliteStore(path), handle, tuning=Tuning(poll=0.01))
    q.enqueue(job("d-1"))
    q.start(1)
    assert started.wait(WAIT)
    assert q.close(WAIT) == 0
    assert len(ran) == 1
    assert SqliteStore(path).depth() == (0, 0)  # finished, not put back


# -- the worker thread lives through outages and bugs ------------------------------------------


def test_the_worker_waits_out_a_store_outage_with_a_growing_pause(log: Log) -> None:
    port = free_port()  # Redis is down: nothing listens
    q = DurableQueue(RedisStore(f"redis://127.0.0.1:{port}/0", connect_timeout=0.5), lambda j: None)
    q.start(1)
    try:
        first = log.next("worker: ")
        assert first.levelname == "ERROR"
        assert re.fullmatch(
            rf"worker: job queue redis://127.0.0.1:{port}/0: Redis is unavailable \(.*\); "
            r"trying again in 1s",
            first.getMessage(),
        ), first.getMessage()
        assert log.next("worker: ").getMessage().endswith("; trying again in 2s")
        assert log.next("worker: ").getMessage().endswith("; trying again in 4s")  # doubling
    finally:
        q.close(WAIT)


def test_a_bug_outside_the_handler_does_not_stop_the_worker(tmp_path: Path, log: Log) -> None:
    done: queue.Queue[str] = queue.Queue()

    def observe(job: Job, outcome: str, seconds: float) -> None:
        done.put(job.delivery)
        if job.delivery == "d-1":
            raise RuntimeError("a broken metric")

    q = DurableQueue(
        SqliteStore(tmp_path / "q.sqlite3"), lambda j: None, tuning=Tuning(poll=0.01),
        observe=observe,
    )  # fmt: skip
    q.enqueue(job("d-1"))
    q.start(1)
    try:
        assert done.get(timeout=WAIT) == "d-1"
        record = log.next("worker: ")
        assert record.getMessage() == "worker: unexpected error"
        assert record.levelname == "ERROR" and record.exc_info is not None
        q.enqueue(job("d-2", number=2))
        assert done.get(timeout=WAIT) == "d-2"
    finally:
        q.close(WAIT)


class Polled(SqliteStore):
    """The SQLite store, counting the claims that found nothing."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.empty = 0
        self.looked = threading.Event()

    def claim(self, lease: float) -> Claim | None:
        found = super().claim(lease)
        if found is None:
            self.empty += 1
            self.looked.set()
        return found


def test_an_idle_worker_waits_for_work_instead_of_asking_the_store_without_pause(
    tmp_path: Path,
) -> None:
    store = Polled(tmp_path / "q.sqlite3")
    ran = threading.Event()
    looks: list[int] = []

    def handle(job: Job) -> None:
        looks.append(store.empty)
        ran.set()

    # polls every WAIT seconds: any other look before the job is queued is a busy loop
    q = DurableQueue(store, handle, tuning=Tuning(poll=WAIT))
    q.start(1)
    try:
        assert store.looked.wait(WAIT)  # found nothing, now waits to be woken
        q.enqueue(job())  # wakes it
        assert ran.wait(WAIT)
        assert looks == [1]
    finally:
        q.close(WAIT)


def test_an_idle_worker_takes_a_job_another_process_queued(tmp_path: Path) -> None:
    """Nothing wakes it then (the web runs elsewhere): it looks again every `poll`."""
    path = tmp_path / "q.sqlite3"
    ran = threading.Event()
    store = Polled(path)
    worker = DurableQueue(store, lambda j: ran.set(), tuning=Tuning(poll=0.01))
    worker.start(1)
    try:
        assert store.looked.wait(WAIT)  # idle now
        assert DurableQueue(SqliteStore(path), lambda j: None).enqueue(job())
        assert ran.wait(WAIT)
    finally:
        worker.close(WAIT)


def test_a_worker_that_worked_before_an_outage_waits_from_the_shortest_pause_and_recovers(
    tmp_path: Path, log: Log
) -> None:
    server = RedisServer(redis_binary(), tmp_path)
    done: queue.Queue[str] = queue.Queue()
    q = DurableQueue(
        RedisStore(server.url, connect_timeout=0.5),
        lambda j: done.put(j.delivery),
        tuning=Tuning(poll=0.01),
    )
    q.start(1)
    try:
        q.enqueue(job("d-1"))
        assert done.get(timeout=WAIT) == "d-1"
        server.stop()
        assert log.next("worker: ").getMessage().endswith("; trying again in 1s")
        server = restart(tmp_path, server.port)
        q.enqueue(job("d-2", number=2))
        assert done.get(timeout=WAIT) == "d-2"  # the worker thread lived through it
    finally:
        q.close(WAIT)
        server.stop()


# -- what the web and the probes read ------------------------------------------------------------


def test_the_depth_gauge_and_the_readiness_probe(tmp_path: Path) -> None:
    q = DurableQueue(SqliteStore(tmp_path / "q.sqlite3"), lambda j: None)
    q.enqueue(job())
    assert q.waiting() == 1.0 and q.problem() is None
    assert not q.drain(0.05)  # a job waits: not empty
    assert q.work_once() and q.drain(WAIT)
    url = f"redis://127.0.0.1:{free_port()}/0"
    down = DurableQueue(RedisStore(url, connect_timeout=0.5), lambda j: None)
    assert math.isnan(down.waiting())
    problem = down.problem()
    assert problem is not None and problem.startswith(f"job queue {url}: Redis is unavailable (")
    stats = down.stats()
    assert (stats["waiting"], stats["running"], stats["enqueued"]) == (-1, -1, 0)
