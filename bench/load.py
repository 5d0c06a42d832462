"""Load benchmark: signed webhook deliveries against gunicorn, embedded queue and Redis.

Prints numbers; asserts nothing. Target (2-core machine): p99 acknowledgement under 25 ms at
100 deliveries/s with the embedded queue; zero lost jobs (every accepted delivery is a job in
the queue, and a worker completes every one of them).

The slow-client run holds `--idle` connections open (connected, sending nothing; reopened
when the server closes them) beside the paced deliveries: they must not slow those down.

    python bench/load.py [--deliveries 5000] [--clients 50] [--rate 100] [--idle 50] [--no-redis]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def push_payload(i: int, run: str) -> bytes:
    """A branch push, shaped like GitHub's push event (only what the normalizer reads); each
    run pushes other commits (the same body again would be the same job)."""
    sha = hashlib.sha1(f"commit {run} {i}".encode()).hexdigest()
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": "0" * 39 + "1",
            "after": sha,
            "created": False,
            "deleted": False,
            "commits": [{"id": sha}],
            "head_commit": {"id": sha},
            "repository": {
                "id": 1,
                "name": "shop",
                "full_name": f"acme/shop-{i % 20}",
                "default_branch": "main",
                "clone_url": "https://github.com/acme/shop.git",
                "owner": {"login": "acme"},
            },
            "sender": {"login": "ada", "type": "User"},
            "installation": {"id": 7},
        }
    ).encode()


def wait_ready(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not become ready")


def run_load(
    port: int, deliveries: int, clients: int, rate: float | None, run: str
) -> dict[str, Any]:
    """`clients` threads with keep-alive connections; with `rate`, an open-loop schedule
    (each delivery has a planned send time, latency measured from the send)."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    interval = (1.0 / rate) if rate else 0.0

    def client(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(k, deliveries, clients):
            if rate:
                delay = start + i * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            body = push_payload(i, run)
            sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            headers = {
                "Content-Type": "application/json",
                "X-GitHub-Event": "push",
                "X-GitHub-Delivery": f"bench-{run}-{i}",
                "X-Hub-Signature-256": sig,
            }
            t0 = time.perf_counter()
            try:
                conn.request("POST", "/webhooks/github", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
            except OSError:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                status = -1
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    t_start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - max(t_start, start if rate else t_start)
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max_ms": latencies[-1] * 1000,
        "throughput": len(latencies) / wall,
        "accepted": float(statuses.get(202, 0)),
        "other": float(sum(v for k, v in statuses.items() if k != 202)),
        "statuses": statuses,
    }


class IdleClients:
    """`n` connections that connect and send nothing, kept at `n` while running."""

    def __init__(self, port: int, n: int) -> None:
        self.port = port
        self.n = n
        self.opened = 0
        self._stop = threading.Event()
        self._socks: list[socket.socket] = []
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def __enter__(self) -> IdleClients:
        self._thread.start()
        deadline = time.monotonic() + 10
        while len(self._socks) < self.n and time.monotonic() < deadline:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for sock in self._socks:
            sock.close()

    def _hold(self) -> None:
        while not self._stop.is_set():
            alive = []
            for sock in self._socks:
                try:
                    closed = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                except BlockingIOError:
                    closed = False
                except OSError:
                    closed = True
                if closed:
                    sock.close()
                else:
                    alive.append(sock)
            while len(alive) < self.n:
                alive.append(socket.create_connection(("127.0.0.1", self.port)))
                self.opened += 1
            self._socks = alive
            self._stop.wait(0.1)


def drain_count(queue_path: str, redis_url: str | None) -> int:
    """Complete every queued job with a worker whose handler only counts."""
    from bot.jobs.queue import DurableQueue, Tuning, open_store

    done = 0
    lock = threading.Lock()

    def handler(job: object) -> None:
        nonlocal done
        with lock:
            done += 1

    queue = DurableQueue(open_store(queue_path, redis_url), handler, tuning=Tuning())  # type: ignore[arg-type]
    queue.start(4)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and queue.store.depth() != (0, 0):
        time.sleep(0.2)
    queue.close(10)
    queue.store.close()
    return done


def scenario(
    name: str, args: argparse.Namespace, redis_url: str | None, worker_class: str | None = None
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="rp-load-"))
    port = free_port()
    queue_path = str(tmp / "queue.sqlite3")
    env = {
        **os.environ,
        "ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET": SECRET,
        "ROLLBACK_PLAN_GITHUB_TOKEN": "unused",
        "ROLLBACK_PLAN_QUEUE_PATH": queue_path,
        "ROLLBACK_PLAN_CACHE_DIR": str(tmp / "cache"),
        "PORT": str(port),
        "ROLLBACK_PLAN_LOG_LEVEL": "WARNING",
    }
    if redis_url:
        env["ROLLBACK_PLAN_REDIS_URL"] = redis_url
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    proc = subprocess.Popen(
        [
            gunicorn,
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            *(["--worker-class", worker_class] if worker_class else []),
            "bot.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(port)
        # Warm both gunicorn workers (the app is built on the first request of each).
        warm = run_load(port, 20, 4, None, "warm")
        paced = run_load(port, args.deliveries, args.clients, args.rate, "paced")
        with IdleClients(port, args.idle) as idle:
            slow = run_load(port, args.deliveries, args.clients, args.rate, "slow")
        burst = run_load(port, args.deliveries, args.clients, None, "burst")
    finally:
        proc.terminate()
        proc.wait(10)
    accepted = int(warm["accepted"] + paced["accepted"] + slow["accepted"] + burst["accepted"])
    completed = drain_count(queue_path, redis_url)
    print(
        f"[{name}] {args.deliveries} deliveries at {args.rate:.0f}/s from {args.clients} clients: "
        f"p50 {paced['p50_ms']:.1f} ms, p99 {paced['p99_ms']:.1f} ms, max {paced['max_ms']:.0f} ms, "
        f"answers {paced['statuses']}"
    )
    print(
        f"[{name}] same, beside {args.idle} idle connections held open ({idle.opened} opened): "
        f"p50 {slow['p50_ms']:.1f} ms, p99 {slow['p99_ms']:.1f} ms, max {slow['max_ms']:.0f} ms, "
        f"answers {slow['statuses']}"
    )
    print(
        f"[{name}] {args.deliveries} deliveries unpaced: {burst['throughput']:.0f}/s, "
        f"p50 {burst['p50_ms']:.1f} ms, p99 {burst['p99_ms']:.1f} ms, answers {burst['statuses']}"
    )
    print(f"[{name}] jobs accepted {accepted}, completed {completed}, lost {accepted - completed}")
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--idle", type=int, default=50, help="idle connections held open")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument(
        "--stock", action="store_true", help="also run gunicorn's stock gthread worker, to compare"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    scenario("embedded SQLite queue", args, None)
    if args.stock:
        scenario("embedded, stock gthread", args, None, "gthread")
    if args.no_redis or not shutil.which("redis-server"):
        return
    port = free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        scenario("Redis queue", args, f"redis://127.0.0.1:{port}/0")
    finally:
        redis.terminate()
        redis.wait(10)


if __name__ == "__main__":
    main()
