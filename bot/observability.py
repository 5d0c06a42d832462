"""Metrics and logs: what an operator watches. Nothing here is global: the composition root
makes one `Metrics` (its own registry, so tests can build apps again and again) and calls
`configure_logging` once.

Logs are one JSON object per line. `log_context(delivery=..., repo=...)` adds fields to every
line logged inside it (a contextvar, so threads and jobs don't mix them up). Secrets never
reach a line: a filter masks the values of known secrets and anything shaped like a
credential (`token=...`, `Authorization: ...`, `user:password@` in a URL).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

__all__ = [
    "CONTENT_TYPE",
    "DeliveryOutcome",
    "InstrumentedForge",
    "JsonFormatter",
    "Metrics",
    "SecretMask",
    "configure_logging",
    "log_context",
]

T = TypeVar("T")

CONTENT_TYPE = CONTENT_TYPE_LATEST
# the fields log_context may set, in the order they appear on a line
CONTEXT_FIELDS = ("delivery", "repo", "revert_sha", "job")
_JOB_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class DeliveryOutcome(StrEnum):
    """What the web layer answered a webhook delivery (a closed set: a bounded label)."""

    ACCEPTED = "accepted"  # 202: jobs enqueued
    DUPLICATE = "duplicate"  # 200: the delivery (or its jobs) was already taken
    IGNORED = "ignored"  # 204/ping: nothing to do
    UNAUTHORIZED = "unauthorized"  # 401: bad or missing signature
    BAD_REQUEST = "bad_request"  # 400
    TOO_LARGE = "too_large"  # 413
    UNAVAILABLE = "unavailable"  # 503: the queue is down, the forge redelivers
    DISABLED = "disabled"  # 404: that forge is not configured
    ERROR = "error"  # 500


class _QueueDepth(Collector):
    """The queue's depth, read from the queue when scraped (the whole queue, so the same
    answer from any process)."""

    def __init__(self) -> None:
        self.depth: Callable[[], float] | None = None

    def collect(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily("rollback_plan_queue_depth", "Jobs waiting in the queue.")
        if self.depth is not None:
            gauge.add_metric([], self.depth())
        yield gauge


class Metrics:
    """Every metric the bot exports, in one registry of its own. With `multiprocess` (gunicorn
    with several web processes, PROMETHEUS_MULTIPROC_DIR set before prometheus_client was
    imported) the exposition adds up every process's counters."""

    def __init__(self, *, multiprocess: bool = False) -> None:
        self.multiprocess = multiprocess
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._depth = _QueueDepth()
        r.register(self._depth)
        self.deliveries = Counter(
            "rollback_plan_deliveries",
            "Webhook deliveries received, by forge, event and what was answered.",
            ("forge", "event", "outcome"),
            registry=r,
        )
        self.duplicate_deliveries = Counter(
            "rollback_plan_duplicate_deliveries",
            "Deliveries already taken (the forge redelivered, or sent one twice).",
            ("forge",),
            registry=r,
        )
        self.job_duration = Histogram(
            "rollback_plan_job_duration_seconds",
            "Time a worker spent on one job, by kind and outcome (ok, retry, failed).",
            ("kind", "outcome"),
            buckets=_JOB_BUCKETS,
            registry=r,
        )
        self.plans = Counter(
            "rollback_plan_plans", "Plans computed, by verdict.", ("verdict",), registry=r
        )
        self.forge_calls = Counter(
            "rollback_plan_forge_api_calls",
            "Forge API operations, by forge, operation and outcome (ok, error, transient).",
            ("forge", "method", "outcome"),
            registry=r,
        )
        self.forge_wait = Counter(
            "rollback_plan_forge_rate_limit_wait_seconds",
            "Seconds spent waiting before retrying a forge call: rate limits (the wait the "
            "forge asked for) and backoff after a 5xx or a timeout.",
            ("forge",),
            registry=r,
        )

    # -- recording --------------------------------------------------------------------------

    def delivery(self, forge: str, event: str, outcome: DeliveryOutcome) -> None:
        self.deliveries.labels(forge, event, outcome.value).inc()
        if outcome is DeliveryOutcome.DUPLICATE:
            self.duplicate_deliveries.labels(forge).inc()

    def queue_depth_from(self, depth: Callable[[], float]) -> None:
        """The queue tells its depth when scraped (no polling thread)."""
        self._depth.depth = depth

    def job(self, kind: str, outcome: str, seconds: float) -> None:
        self.job_duration.labels(kind, outcome).observe(seconds)

    @contextmanager
    def timed_job(self, kind: str) -> Iterator[None]:
        """Times the block as one job: outcome `ok`, or `failed` when it raises."""
        started = time.monotonic()
        outcome = "failed"
        try:
            yield
            outcome = "ok"
        finally:
            self.job(kind, outcome, time.monotonic() - started)

    def plan(self, verdict: str) -> None:
        self.plans.labels(verdict).inc()

    def forge_call(self, forge: str, method: str, outcome: str) -> None:
        self.forge_calls.labels(forge, method, outcome).inc()

    def waiting_sleep(
        self, forge: str, sleep: Callable[[float], None] = time.sleep
    ) -> Callable[[float], None]:
        """A `sleep` for the forge clients' retry loop that counts the time waited."""

        def counted(seconds: float) -> None:
            self.forge_wait.labels(forge).inc(max(0.0, seconds))
            sleep(seconds)

        return counted

    # -- exposition -------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """The Prometheus text format, for GET /metrics."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._depth)
        return generate_latest(registry)


class InstrumentedForge:
    """Wraps a Forge client and counts each operation: `ok`, `error`, or `transient` (a
    ForgeError that retrying later may fix). Attribute access is passed through, so it
    satisfies the Forge protocol wherever the wrapped client does."""

    def __init__(self, forge: Any, kind: str, metrics: Metrics) -> None:
        self._forge = forge
        self._kind = kind
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._forge, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            from bot.forges import ForgeError

            try:
                result = attr(*args, **kwargs)
            except ForgeError as err:
                outcome = "transient" if err.transient else "error"
                self._metrics.forge_call(self._kind, name, outcome)
                raise
            self._metrics.forge_call(self._kind, name, "ok")
            return result

        return call

    def __repr__(self) -> str:
        return f"InstrumentedForge({self._forge!r})"


# -- logs ------------------------------------------------------------------------------------

_context: ContextVar[Mapping[str, str] | None] = ContextVar(
    "rollback_plan_log_context", default=None
)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Every log line inside the block carries these fields (None values are left out);
    nested blocks add to the outer ones."""
    known = {k: str(v) for k, v in fields.items() if v is not None}
    unknown = set(known) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context field(s): {', '.join(sorted(unknown))}")
    token = _context.set({**(_context.get() or {}), **known})
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> Mapping[str, str]:
    return dict(_context.get() or {})


# Credential shapes masked whatever their value: query/form parameters, headers, URL user-info.
_PATTERNS = (
    re.compile(
        r"(?i)\b((?:access_|private_|job_|refresh_|id_)?token|secret|password|passwd|client_secret"
        r"|api_key|apikey)(=|:\s*|\"\s*:\s*\")([^\s&\"',;]+)"
    ),
    re.compile(
        r"(?i)\b(authorization|private-token|job-token|x-gitlab-token)(['\"]?\s*[:=]\s*['\"]?)"
        r"([^\r\n\"']+)"
    ),
    re.compile(r"(://)([^/@\s:]+:[^/@\s]+|[^/@\s:]{20,})(@)"),
    re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
    ),
    re.compile(r"\b(ghp|gho|ghu|ghs|ghr|github_pat|glpat|gldt|glcbt)[-_][A-Za-z0-9_-]{8,}"),
    # GitHub's one-time app-manifest code, in the conversion URL (urllib3 logs request lines)
    re.compile(r"(/app-manifests/)([^/\s?\"']+)"),
)
MASK = "***"
# environment variables whose values are secrets, wherever they are set
_SECRET_NAME = re.compile(r"(?i)(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE_KEY|CREDENTIALS|REDIS_URL)")


class SecretMask:
    """Masks known secret values and credential-shaped text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values: set[str] = set()
        for secret in secrets:
            secret = secret.strip()
            if len(secret) < 6:
                continue  # too short to mask without mangling ordinary words
            values.add(secret)
            # a PEM key can leak one line at a time
            values.update(
                line.strip()
                for line in secret.splitlines()
                if len(line.strip()) >= 16 and "-----" not in line
            )
        self._values = sorted(values, key=len, reverse=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str], extra: Iterable[str] = ()) -> SecretMask:
        """Secrets named like secrets in `env` (ROLLBACK_PLAN_GITHUB_TOKEN, CI_JOB_TOKEN,
        *_SECRET, ...), plus `extra` (values read from *_FILE by the settings)."""
        found = [v for k, v in env.items() if _SECRET_NAME.search(k) and not k.endswith("_FILE")]
        return cls([*found, *extra])

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, MASK)
        text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
        text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
        text = _PATTERNS[3].sub(MASK, text)
        text = _PATTERNS[4].sub(MASK, text)
        return _PATTERNS[5].sub(lambda m: f"{m.group(1)}{MASK}", text)


class _MaskFilter(logging.Filter):
    """Formats the message once and masks it, so no formatter sees the raw arguments."""

    def __init__(self, mask: SecretMask) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self.mask(message)
        record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, the log_context fields, and
    `exc` (the traceback, masked) when there is one."""

    def __init__(self, mask: SecretMask | None = None) -> None:
        super().__init__()
        self.mask = mask or SecretMask()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": self.mask(record.getMessage()),
        }
        line.update(_context.get() or {})
        if record.exc_info:
            line["exc"] = self.mask(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exc"] = self.mask(record.exc_text)
        return json.dumps(line, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    """For a terminal: the usual line, with the context fields appended."""

    def __init__(self, mask: SecretMask) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.mask = mask

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = " ".join(f"{k}={v}" for k, v in (_context.get() or {}).items())
        return self.mask(f"{text} [{fields}]" if fields else text)


def configure_logging(
    level: str | int = "INFO",
    *,
    json_lines: bool = True,
    env: Mapping[str, str] | None = None,
    secrets: Iterable[str] = (),
    stream: Any = None,
) -> logging.Handler:
    """Route every logger to one handler on stderr (JSON lines by default), with secrets
    masked. Replaces handlers an earlier call installed; returns the handler."""
    mask = SecretMask.from_env(env or {}, secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.set_name("rollback-plan")
    handler.addFilter(_MaskFilter(mask))
    handler.setFormatter(JsonFormatter(mask) if json_lines else _TextFormatter(mask))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "rollback-plan"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
    # sqlglot logs each statement it cannot parse; the plan reports those itself
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    return handler


def settings_secrets(settings: object) -> list[str]:
    """The secret values a Settings object holds (for `configure_logging(secrets=...)`)."""
    names = (
        "github_webhook_secret",
        "github_private_key",
        "github_token",
        "gitlab_webhook_secret",
        "gitlab_token",
        "redis_url",
    )
    values = (getattr(settings, n, None) for n in names)
    return [v for v in values if isinstance(v, str) and v]
