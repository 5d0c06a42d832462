"""The job queue behind `enqueue`: durable, shared by the web and the workers.

Two stores with one contract: a SQLite file (the embedded default: no other service, one
host) and Redis (web replicas and workers on several machines share it). Both give:

- at-least-once delivery: a claimed job carries a *lease* that its worker renews while the
  handler runs; a worker that dies stops renewing, the lease runs out and another worker
  claims the job again. Handlers are idempotent (the executor reads before it writes), so a
  second run converges instead of duplicating;
- one job at a time per `Job.lock_key`, across processes: the lease is also the key's lock
  (SQLite: no other row of the key has a live lease; Redis: a lock key with the same expiry);
- deduplication by delivery id across processes, remembered for `seen_ttl` seconds, and by
  the event's content (`Job.event_digest`) for `content_window` seconds: one signed body
  re-sent under new delivery ids is one job;
- retries with exponential backoff for transient forge errors; a job that keeps failing is
  logged with its delivery id, counted, and handed to `on_give_up` (which comments on the
  PR how to retry).

Why not huey (docs/queue.md): both of its storages delete a task when a worker takes it
(Redis BRPOP, SQLite DELETE), so a worker killed mid-job loses the job; and its task lock
is neither renewed nor owned (a long job outlives its TTL; the release deletes whoever holds
it) and refuses a locked task instead of holding it back. Those are what this module is for.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.events import ForgeKind, Job, JobKind
from bot.forges import ForgeError

log = logging.getLogger(__name__)

SEEN_TTL = 7 * 24 * 3600.0  # longer than any forge re-sends (GitHub: redeliver up to 3 days)
CONTENT_WINDOW = 600.0  # the same event content within this many seconds is the same job
LEASE = 60.0  # seconds a claim lives without renewal; renewed every third of it
_FORMAT = 1  # the stored job format; bump when a field changes meaning


class QueueUnavailable(Exception):
    """The job queue cannot take jobs right now; the web refuses the delivery with 503 so the
    forge sends it again later."""


class JobFormatError(ValueError):
    """A stored job that cannot be read back as a Job."""


class JobAbandoned(Exception):
    """The job's workers died (leases ran out) more often than it may be attempted."""


# -- Job <-> JSON ------------------------------------------------------------------------


def job_to_json(job: Job) -> str:
    """Plain values only; enums by value."""
    data: dict[str, Any] = {"v": _FORMAT, **asdict(job)}
    data["kind"] = job.kind.value
    data["forge"] = job.forge.value
    return json.dumps(data, separators=(",", ":"), sort_keys=True)


_JOB_FIELDS = frozenset(f.name for f in fields(Job))


def job_from_json(text: str) -> Job:
    """The job `job_to_json` wrote; fields a newer version added are ignored."""
    try:
        data = json.loads(text)
    except ValueError:
        raise JobFormatError("not JSON") from None
    if not isinstance(data, dict) or data.get("v") != _FORMAT:
        raise JobFormatError(f"not a job of format {_FORMAT}")
    values = {k: v for k, v in data.items() if k in _JOB_FIELDS}
    try:
        values["kind"] = JobKind(values["kind"])
        values["forge"] = ForgeKind(values["forge"])
        return Job(**values)
    except (ValueError, KeyError, TypeError) as err:
        raise JobFormatError(f"unreadable job: {err!r}") from None


# -- stores ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A dedupe key (a delivery id, an event digest) and how long it is remembered."""

    key: str
    ttl: float


@dataclass(frozen=True)
class Claim:
    """A job a worker holds until its lease runs out."""

    id: str
    body: str
    lock_key: str
    attempts: int  # this claim included
    token: str  # proves the claim is still ours when renewing or finishing
    reclaimed: int = 0  # expired leases this claim found and put back (Redis)


class Store(Protocol):
    """Where jobs live. Every method raises QueueUnavailable when the storage cannot be
    used; none of them blocks for long."""

    name: str

    def put(self, seen: Sequence[Seen], lock_key: str, body: str) -> bool:
        """Queue a job; False when any of `seen` was recorded within its window already."""
        ...

    def claim(self, lease: float) -> Claim | None:
        """The oldest ready job whose lock key is free, leased to the caller."""
        ...

    def renew(self, claim: Claim, lease: float) -> bool:
        """Extend the lease; False when the claim was lost (it ran out and was taken)."""
        ...

    def finish(self, claim: Claim) -> None:
        """Remove the job (done, or given up) and free its lock key."""
        ...

    def retry(self, claim: Claim, delay: float) -> None:
        """Give the job back, to be claimed again after `delay` seconds."""
        ...

    def depth(self) -> tuple[int, int]:
        """(jobs waiting, jobs running) in the whole queue, all processes."""
        ...

    def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery TEXT NOT NULL,
    lock_key TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at REAL NOT NULL,
    lease_until REAL,
    token TEXT
);
CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (available_at, id);
CREATE INDEX IF NOT EXISTS jobs_key ON jobs (lock_key, lease_until);
CREATE TABLE IF NOT EXISTS seen (
    delivery TEXT PRIMARY KEY,
    expires REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_expires ON seen (expires);
"""

# A row whose lease ran out is claimable again; a row is blocked while another row of its
# lock key holds a live lease.
_CLAIM = """
SELECT id, body, lock_key, attempts FROM jobs AS j
WHERE j.available_at <= :now
  AND (j.lease_until IS NULL OR j.lease_until < :now)
  AND NOT EXISTS (
    SELECT 1 FROM jobs AS k WHERE k.lock_key = j.lock_key AND k.lease_until >= :now
  )
ORDER BY j.available_at, j.id
LIMIT 1
"""


class SqliteStore:
    """Jobs in one SQLite file (WAL mode): processes on one host share it. Not for network
    filesystems: SQLite's locks are only as good as the filesystem's."""

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        synchronous: str = "FULL",
    ) -> None:
        self.path = Path(path)
        self.name = f"sqlite:{self.path}"
        self._clock = clock
        self._lock = threading.Lock()  # one connection per store, shared by its threads
        self._puts = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=10.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            # FULL: an accepted delivery is on disk before the forge hears 202, even if the
            # machine (not just the process) goes down right after.
            self._db.execute(f"PRAGMA synchronous = {synchronous}")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as err:
            raise self._unavailable(err) from err

    def put(self, seen: Sequence[Seen], lock_key: str, body: str) -> bool:
        now = self._clock()
        with self._guard(), self._tx():
            self._puts += 1
            if self._puts % 256 == 1:
                self._db.execute("DELETE FROM seen WHERE expires < ?", (now,))
            new = True
            for s in seen:  # every key is recorded, so each one's repeat is known later
                cur = self._db.execute(
                    "INSERT INTO seen (delivery, expires) VALUES (?, ?) "
                    "ON CONFLICT (delivery) DO UPDATE SET expires = excluded.expires "
                    "WHERE seen.expires < ?",
                    (s.key, now + s.ttl, now),
                )
                new = new and cur.rowcount == 1
            if not new:
                return False
            self._db.execute(
                "INSERT INTO jobs (delivery, lock_key, body, available_at) VALUES (?, ?, ?, ?)",
                (seen[0].key, lock_key, body, now),
            )
            return True

    def claim(self, lease: float) -> Claim | None:
        now = self._clock()
        with self._guard():
            # Idle workers poll: look without the write lock first, so they don't queue up
            # behind (or in front of) the web's inserts.
            if self._db.execute(_CLAIM, {"now": now}).fetchone() is None:
                return None
        with self._guard(), self._tx():
            row = self._db.execute(_CLAIM, {"now": now}).fetchone()
            if row is None:
                return None
            token = uuid.uuid4().hex
            self._db.execute(
                "UPDATE jobs SET lease_until = ?, token = ?, attempts = attempts + 1 WHERE id = ?",
                (now + lease, token, row[0]),
            )
            return Claim(str(row[0]), row[1], row[2], row[3] + 1, token)

    def renew(self, claim: Claim, lease: float) -> bool:
        with self._guard(), self._tx():
            cur = self._db.execute(
                "UPDATE jobs SET lease_until = ? WHERE id = ? AND token = ?",
                (self._clock() + lease, int(claim.id), claim.token),
            )
            return cur.rowcount == 1

    def finish(self, claim: Claim) -> None:
        with self._guard(), self._tx():
            # another worker's claim (ours ran out) is left to that worker
            self._db.execute(
                "DELETE FROM jobs WHERE id = ? AND token = ?", (int(claim.id), claim.token)
            )

    def retry(self, claim: Claim, delay: float) -> None:
        with self._guard(), self._tx():
            self._db.execute(
                "UPDATE jobs SET lease_until = NULL, token = NULL, available_at = ? "
                "WHERE id = ? AND token = ?",
                (self._clock() + delay, int(claim.id), claim.token),
            )

    def depth(self) -> tuple[int, int]:
        with self._guard():
            row = self._db.execute(
                "SELECT count(*), coalesce(sum(lease_until >= ?), 0) FROM jobs",
                (self._clock(),),
            ).fetchone()
        total, running = int(row[0]), int(row[1])
        return total - running, running

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        with self._lock:
            try:
                yield
            except sqlite3.Error as err:
                raise self._unavailable(err) from err

    @contextmanager
    def _tx(self) -> Iterator[None]:
        # IMMEDIATE: take the write lock up front, so two processes claiming at once wait
        # for each other instead of both reading the same free row.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")  # may fail too: a full disk shows here
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise

    def _unavailable(self, err: BaseException) -> QueueUnavailable:
        text = str(err)
        code = getattr(err, "sqlite_errorname", "") or ""
        # not the text: an OSError's holds the path, which may say "full" (/srv/fullstack/...)
        if code == "SQLITE_FULL":
            why = "the disk is full"
        elif code.startswith("SQLITE_IOERR"):
            # ENOSPC mid-page, a file size limit, a failing device: the OS refused a write
            why = "the disk refused a write (is it full?)"
        elif code.startswith("SQLITE_READONLY") or isinstance(err, PermissionError):
            why = "the file is not writable"
        elif code.startswith("SQLITE_CANTOPEN") or isinstance(err, OSError):
            why = "the file cannot be opened or created"
        elif code == "SQLITE_BUSY":
            why = "another process holds the write lock for too long"
        else:
            why = "SQLite failed"
        return QueueUnavailable(f"job queue {self.path}: {why} ({text})")


# Redis: every key shares one hash tag, so the scripts' keys live in one slot.
# KEYS: jobs, ready, keys, seq, then the seen keys. ARGV: body, lock key, then their TTLs.
_ENQUEUE = """
local new = true
for i = 5, #KEYS do
  if not redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[i - 2]) then new = false end
end
if not new then return 0 end
local id = redis.call('INCR', KEYS[4])
local t = redis.call('TIME')
redis.call('HSET', KEYS[1], id, ARGV[1])
redis.call('HSET', KEYS[3], id, ARGV[2])
redis.call('ZADD', KEYS[2], tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), id)
return id
"""

# KEYS: jobs, ready, leased, keys, attempts, owners. ARGV: lock prefix, lease ms, token, scan.
_CLAIM_REDIS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. now, 'LIMIT', 0, 100)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('HDEL', KEYS[6], id)
  redis.call('ZADD', KEYS[2], now, id)
end
local ready = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ready) do
  local key = redis.call('HGET', KEYS[4], id)
  local body = redis.call('HGET', KEYS[1], id)
  if not key or not body then
    redis.call('ZREM', KEYS[2], id)
  elseif redis.call('SET', ARGV[1] .. key, ARGV[3], 'NX', 'PX', ARGV[2]) then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[6], id, ARGV[3])
    local n = redis.call('HINCRBY', KEYS[5], id, 1)
    return {id, body, key, n, #expired}
  end
end
return {false, false, false, 0, #expired}
"""

# KEYS: leased, owners. ARGV: lock name, token, lease ms, id.
_RENEW = """
if redis.call('HGET', KEYS[2], ARGV[4]) ~= ARGV[2] then return 0 end
local holder = redis.call('GET', ARGV[1])
if holder and holder ~= ARGV[2] then return 0 end
redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[3]), ARGV[4])
return 1
"""

# KEYS: jobs, ready, leased, keys, attempts, owners. ARGV: lock name, token, id, delay ms
# (negative: finished, remove the job).
_RELEASE = """
if redis.call('HGET', KEYS[6], ARGV[3]) ~= ARGV[2] then return 0 end
if redis.call('GET', ARGV[1]) == ARGV[2] then redis.call('DEL', ARGV[1]) end
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('HDEL', KEYS[6], ARGV[3])
local delay = tonumber(ARGV[4])
if delay < 0 then
  redis.call('HDEL', KEYS[1], ARGV[3])
  redis.call('HDEL', KEYS[4], ARGV[3])
  redis.call('HDEL', KEYS[5], ARGV[3])
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZADD', KEYS[2], now + delay, ARGV[3])
end
return 1
"""


class RedisStore:
    """Jobs in Redis: a sorted set of ready jobs (score: when they may run), a sorted set of
    leased ones (score: when the lease runs out), a lock key per `lock_key`. Each step is one
    Lua script, so two workers never take the same job or the same lock."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "rollback-plan",
        connect_timeout: float = 2.0,
        timeout: float = 5.0,
    ) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        parts = urlsplit(url)
        # never the password: the URL may carry one
        self.name = f"redis://{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path}"
        # No client retries: the web answers 503 at once and the forge redelivers; the worker
        # loop has its own backoff.
        self._r = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=connect_timeout,
            socket_timeout=timeout,
            health_check_interval=15,
            retry=Retry(NoBackoff(), 0),
        )
        tag = "{" + prefix + "}"
        self._seen = f"{tag}:seen:"
        self._lock = f"{tag}:lock:"
        self._keys = [
            f"{tag}:{name}" for name in ("jobs", "ready", "leased", "keys", "attempts", "owners")
        ]
        self._seq = f"{tag}:seq"
        self._enqueue = self._r.register_script(_ENQUEUE)
        self._claim = self._r.register_script(_CLAIM_REDIS)
        self._renew = self._r.register_script(_RENEW)
        self._release = self._r.register_script(_RELEASE)

    def put(self, seen: Sequence[Seen], lock_key: str, body: str) -> bool:
        jobs, ready, _, keys, _, _ = self._keys
        with self._guard():
            new = self._enqueue(
                keys=[jobs, ready, keys, self._seq, *(self._seen + s.key for s in seen)],
                args=[body, lock_key, *(max(1, int(s.ttl)) for s in seen)],
            )
        return bool(int(new))

    def claim(self, lease: float) -> Claim | None:
        token = uuid.uuid4().hex
        with self._guard():
            found = self._claim(keys=self._keys, args=[self._lock, _ms(lease), token, 200])
        job_id, body, key, attempts, reclaimed = found
        if not job_id:
            if reclaimed:
                log.warning("put %d job(s) back whose worker stopped renewing", reclaimed)
            return None
        return Claim(str(job_id), str(body), str(key), int(attempts), token, int(reclaimed))

    def renew(self, claim: Claim, lease: float) -> bool:
        _, _, leased, _, _, owners = self._keys
        with self._guard():
            ok = self._renew(
                keys=[leased, owners],
                args=[self._lock + claim.lock_key, claim.token, _ms(lease), claim.id],
            )
        return bool(int(ok))

    def finish(self, claim: Claim) -> None:
        self._release_claim(claim, -1)

    def retry(self, claim: Claim, delay: float) -> None:
        self._release_claim(claim, _ms(delay))

    def depth(self) -> tuple[int, int]:
        _, ready, leased, _, _, _ = self._keys
        with self._guard():
            pipe = self._r.pipeline(transaction=False)
            pipe.zcard(ready)
            pipe.zcard(leased)
            waiting, running = pipe.execute()
        return int(waiting), int(running)

    def close(self) -> None:
        self._r.close()

    def _release_claim(self, claim: Claim, delay_ms: int) -> None:
        with self._guard():
            self._release(
                keys=self._keys,
                args=[self._lock + claim.lock_key, claim.token, claim.id, delay_ms],
            )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except self._errors as err:
            raise QueueUnavailable(f"job queue {self.name}: Redis is unavailable ({err})") from err


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


# -- the queue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tuning:
    """How hard the queue tries and how fast it notices a dead worker."""

    attempts: int = 4  # runs of a job that fails transiently, then it gives up
    backoff: float = 2.0  # seconds before the first retry; doubled each time
    max_backoff: float = 300.0
    lease: float = LEASE  # a dead worker's job runs again this long after it died, at most
    poll: float = 0.5  # idle workers look for jobs this often (other processes' jobs)
    seen_ttl: float = SEEN_TTL
    content_window: float = CONTENT_WINDOW


class DurableQueue:
    """`enqueue` for the web; worker threads for `serve` and `worker`."""

    def __init__(
        self,
        store: Store,
        handler: Callable[[Job], None],
        *,
        on_give_up: Callable[[Job, BaseException], None] | None = None,
        tuning: Tuning = Tuning(),
        observe: Callable[[Job, str, float], None] | None = None,
    ) -> None:
        """`observe(job, outcome, seconds)` is told of every run: outcome ok, retry or failed
        (for the job-duration metric)."""
        self.store = store
        self._observe = observe
        self._handler = handler
        self._on_give_up = on_give_up
        self._attempts = max(1, tuning.attempts)
        self._backoff = tuning.backoff
        self._max_backoff = tuning.max_backoff
        self._lease = tuning.lease
        self._poll = tuning.poll
        self._seen_ttl = tuning.seen_ttl
        self._content_window = tuning.content_window
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._renewer: threading.Thread | None = None
        self._held: dict[str, Claim] = {}  # claims this process is running, by token
        self._held_lock = threading.Lock()
        self._counts = dict.fromkeys(
            ("enqueued", "duplicates", "refused", "completed", "retried", "failed",
             "abandoned", "reclaimed", "leases_lost"),
            0,
        )  # fmt: skip
        self._counts_lock = threading.Lock()

    # -- the web side ---------------------------------------------------------------------

    def enqueue(self, job: Job) -> bool:
        """False when this delivery, or the same event content within the window, was
        queued already; QueueUnavailable when the store cannot take it (the web answers 503
        and the forge sends it again)."""
        try:
            seen = [Seen(job.delivery, self._seen_ttl)]
            if job.event_digest:
                seen.append(Seen(f"event:{job.event_digest}", self._content_window))
            new = self.store.put(seen, job.lock_key, job_to_json(job))
        except QueueUnavailable as err:
            self._count("refused")
            log.error("delivery %s not queued: %s", job.delivery, err)
            raise
        self._count("enqueued" if new else "duplicates")
        if new:
            self._wake.set()
        return new

    def waiting(self) -> float:
        """Jobs waiting in the whole queue (for a gauge read when scraped; NaN when the
        store cannot be read)."""
        try:
            return float(self.store.depth()[0])
        except QueueUnavailable:
            return float("nan")

    def problem(self) -> str | None:
        """Why the queue cannot take jobs now (None: it can), for readiness probes."""
        try:
            self.store.depth()
        except QueueUnavailable as err:
            return str(err)
        return None

    def stats(self) -> dict[str, int]:
        """Counters of this process, plus `waiting`/`running` of the whole queue (-1 when
        the store cannot be read)."""
        with self._counts_lock:
            out = dict(self._counts)
        try:
            out["waiting"], out["running"] = self.store.depth()
        except QueueUnavailable:
            out["waiting"] = out["running"] = -1
        return out

    # -- the worker side ------------------------------------------------------------------

    def start(self, workers: int) -> None:
        """Start worker threads (and the lease renewer) in this process."""
        if workers < 1 or self._threads:
            return
        self._stop.clear()
        self._renewer = threading.Thread(
            target=self._renew_loop, name="rollback-plan-leases", daemon=True
        )
        self._threads = [
            threading.Thread(target=self._work_loop, name=f"rollback-plan-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for t in [self._renewer, *self._threads]:
            t.start()

    def close(self, timeout: float = 30.0) -> int:
        """Stop claiming; wait up to `timeout` for running jobs. A job still running then is
        released (put back, ready at once) for another worker, since this process is about
        to exit; returns how many were released."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._held_lock:
            unfinished = list(self._held.values())
            self._held.clear()
        for claim in unfinished:
            try:
                self.store.retry(claim, 0.0)
            except QueueUnavailable as err:
                log.error(
                    "job %s not released (%s); it runs again when its lease ends", claim.id, err
                )
            else:
                log.warning("job %s released unfinished: another worker runs it", claim.id)
        if self._renewer is not None:
            self._renewer.join(1.0)
        self._threads, self._renewer = [], None
        return len(unfinished)

    def work_once(self) -> bool:
        """Claim and run one job; False when none was ready."""
        claim = self.store.claim(self._lease)
        if claim is None:
            return False
        if claim.reclaimed:
            self._count("reclaimed", claim.reclaimed)
        self._run(claim)
        return True

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until the whole queue is empty; False on timeout (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.store.depth() == (0, 0):
                return True
            time.sleep(min(0.05, self._poll))
        return False

    def _work_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                ran = self.work_once()
                failures = 0
            except QueueUnavailable as err:
                failures += 1
                wait = min(30.0, 0.5 * 2.0 ** min(failures, 6))
                log.error("worker: %s; trying again in %.0fs", err, wait)
                self._stop.wait(wait)
                continue
            except Exception:  # a bug must not kill the worker thread
                log.exception("worker: unexpected error")
                self._stop.wait(self._poll)
                continue
            if not ran and self._wake.wait(self._poll):
                self._wake.clear()

    def _run(self, claim: Claim) -> None:
        try:
            job = job_from_json(claim.body)
        except JobFormatError as err:
            self._count("failed")
            log.error("job %s dropped: %s", claim.id, err)
            self._settle(claim, None)
            return
        if claim.attempts > self._attempts:
            # only a dead worker gets past the count: a handler failure stops at the limit
            self._count("abandoned")
            self._give_up(
                job, JobAbandoned(f"its worker stopped {claim.attempts - 1} time(s) mid-job")
            )
            self._settle(claim, None)
            return
        with self._held_lock:
            self._held[claim.token] = claim
        started = time.monotonic()
        outcome, retry_in = "failed", None
        try:
            self._handler(job)
            outcome = "ok"
            self._count("completed")
        except ForgeError as err:
            if err.transient and claim.attempts < self._attempts:
                outcome, retry_in = "retry", self._delay(claim.attempts)
                self._count("retried")
                log.warning(
                    "job %s (delivery %s) attempt %d failed transiently (%s); retrying in %.1fs",
                    job.kind.value,
                    job.delivery,
                    claim.attempts,
                    err,
                    retry_in,
                )
            else:
                self._give_up(job, err)
        except Exception as err:
            self._give_up(job, err)
        finally:
            with self._held_lock:
                self._held.pop(claim.token, None)
        self._settle(claim, retry_in)
        if self._observe is not None:
            self._observe(job, outcome, time.monotonic() - started)

    def _settle(self, claim: Claim, retry_in: float | None) -> None:
        try:
            if retry_in is None:
                self.store.finish(claim)
            else:
                self.store.retry(claim, retry_in)
        except QueueUnavailable as err:
            # the lease runs out and the job runs again: at-least-once, never lost
            log.error("job %s could not be settled (%s); it will run again", claim.id, err)

    def _delay(self, attempt: int) -> float:
        base = min(self._max_backoff, self._backoff * 2.0 ** (attempt - 1))
        return base * random.uniform(1.0, 1.25)  # jitter: retries of one outage spread out

    def _give_up(self, job: Job, err: BaseException) -> None:
        self._count("failed")
        # The exception text of a forge call never holds the token (clients keep it in
        # headers); the traceback goes to the log, never to a user.
        log.error(
            "job %s (delivery %s) failed for good: %s",
            job.kind.value,
            job.delivery,
            err,
            exc_info=not isinstance(err, ForgeError | JobAbandoned),
        )
        if self._on_give_up is None:
            return
        try:
            self._on_give_up(job, err)
        except ForgeError as failed:
            log.error("could not report the failure of delivery %s: %s", job.delivery, failed)
        except Exception:  # a bug in the report: its traceback is what the operator needs
            log.exception("could not report the failure of delivery %s", job.delivery)

    def _renew_loop(self) -> None:
        # Runs until stopped with nothing held: a job still running at shutdown keeps its
        # lease for as long as the process lives.
        every = self._lease / 3
        while True:
            if self._stop.is_set():
                time.sleep(every)
            else:
                self._stop.wait(every)
            with self._held_lock:
                claims = list(self._held.values())
            if self._stop.is_set() and not claims:
                return
            for claim in claims:
                try:
                    if not self.store.renew(claim, self._lease):
                        self._count("leases_lost")
                        log.warning("job %s: lease lost (another worker may run it too)", claim.id)
                        with self._held_lock:
                            self._held.pop(claim.token, None)
                except QueueUnavailable as err:
                    log.error("job %s: lease not renewed: %s", claim.id, err)

    def _count(self, name: str, n: int = 1) -> None:
        with self._counts_lock:
            self._counts[name] += n


def open_store(queue_path: str, redis_url: str | None) -> Store:
    """Redis when a URL is set (scale-out), else the SQLite file (embedded)."""
    if redis_url:
        return RedisStore(redis_url)
    return SqliteStore(queue_path)
