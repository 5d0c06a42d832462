"""An in-process job queue: the web layer enqueues and answers; worker threads act.

Deliveries are deduplicated by id (the forges re-send on timeouts, people press
"redeliver"); jobs with the same `lock_key` run one at a time, so two deliveries for the same
revert converge instead of racing. A transient forge error is retried with backoff; when a job
gives up, `on_give_up` tells people how to retry. The operations issue replaces this with a
durable queue behind the same `enqueue`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from bot.events import Job
from bot.forges import ForgeError

log = logging.getLogger(__name__)

_SEEN = 10_000  # deliveries remembered for deduplication


class KeyedLocks:
    """One lock per key, created on first use."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


class InProcessQueue:
    def __init__(
        self,
        handler: Callable[[Job], None],
        workers: int = 1,
        *,
        attempts: int = 4,
        backoff: float = 1.0,
        on_give_up: Callable[[Job, BaseException], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._handler = handler
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._on_give_up = on_give_up
        self._sleep = sleep
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._seen_lock = threading.Lock()
        self._locks = KeyedLocks()
        self._idle = threading.Condition()
        self._unfinished = 0
        self._threads = [
            threading.Thread(target=self._run, name=f"rollback-plan-worker-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        for t in self._threads:
            t.start()

    def enqueue(self, job: Job) -> bool:
        """False when this delivery was seen already (nothing is queued then)."""
        with self._seen_lock:
            if job.delivery in self._seen:
                return False
            self._seen[job.delivery] = None
            while len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
        with self._idle:
            self._unfinished += 1
        self._jobs.put(job)
        return True

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued job has finished; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._unfinished:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                with self._locks(job.lock_key):
                    self._attempt(job)
            finally:
                with self._idle:
                    self._unfinished -= 1
                    self._idle.notify_all()

    def _attempt(self, job: Job) -> None:
        for attempt in range(1, self._attempts + 1):
            try:
                self._handler(job)
                return
            except ForgeError as err:
                if err.transient and attempt < self._attempts:
                    delay = self._backoff * 2 ** (attempt - 1)
                    log.warning(
                        "job %s (delivery %s) attempt %d failed transiently (%s); retrying in %.1fs",
                        job.kind.value,
                        job.delivery,
                        attempt,
                        err,
                        delay,
                    )
                    self._sleep(delay)
                    continue
                self._give_up(job, err)
                return
            except Exception as err:  # a bug must not kill the worker thread
                self._give_up(job, err)
                return

    def _give_up(self, job: Job, err: BaseException) -> None:
        # The exception text of a forge call never holds the token (clients keep it in
        # headers); the traceback goes to the log, never to a user.
        log.error(
            "job %s (delivery %s) failed: %s",
            job.kind.value,
            job.delivery,
            err,
            exc_info=not isinstance(err, ForgeError),
        )
        if self._on_give_up is None:
            return
        try:
            self._on_give_up(job, err)
        except Exception:
            log.exception("could not report the failure of delivery %s", job.delivery)
