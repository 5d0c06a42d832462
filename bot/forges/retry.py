"""Our retry policy for forge calls, shared by the GitHub and GitLab clients.

The client libraries' own retries are switched off: they re-send a POST after a 5xx, and a
5xx or a timeout on a create often means the object *was* created, so a blind re-send makes
duplicate PRs and comments. Here a failed create is retried only after `idempotency_check`
looked and did not find the object; a rate limit (the request was refused, nothing happened)
is retried after the wait the forge asked for.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import requests

from bot.forges import ForgeError

T = TypeVar("T")

MAX_WAIT_S = 30.0  # one wait never exceeds this, whatever a header asks for
DEADLINE_S = 45.0  # one forge operation, every attempt and wait included (a 30 s wait fits)
SECONDARY_LIMIT_WAIT_S = 60.0  # GitHub: "wait at least one minute" when it gives no header


class TransientHTTP(Exception):
    """A forge answer (or a missing answer) worth retrying. Clients raise it from their own
    library's exceptions; `status` is None for timeouts and connection errors."""

    def __init__(
        self,
        status: int | None,
        headers: Mapping[str, str] | None = None,
        message: str = "",
    ) -> None:
        super().__init__(message or f"transient forge failure (status {status})")
        self.status = status
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}

    @property
    def rate_limited(self) -> bool:
        """The forge refused the request before acting on it, so re-sending is safe."""
        return is_rate_limit(self.status, self.headers)


def is_rate_limit(status: int | None, headers: Mapping[str, str]) -> bool:
    """429, or GitHub's 403 that carries a primary or secondary rate limit."""
    low = {k.lower(): v for k, v in headers.items()}
    if status == 429:
        return True
    if status == 403:
        return "retry-after" in low or low.get("x-ratelimit-remaining") == "0"
    return False


def is_transient_status(status: int | None, headers: Mapping[str, str]) -> bool:
    """Statuses a later attempt may get past: 5xx, 408, and rate limits."""
    if status is None:
        return True
    return status >= 500 or status == 408 or is_rate_limit(status, headers)


def _classify(err: BaseException) -> TransientHTTP | None:
    if isinstance(err, TransientHTTP):
        return err
    if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return TransientHTTP(None, message=f"connection failed: {type(err).__name__}")
    if isinstance(err, (ConnectionError, TimeoutError)):
        return TransientHTTP(None, message=f"connection failed: {type(err).__name__}")
    return None


def requested_wait(err: TransientHTTP, *, now: float) -> float | None:
    """Seconds the forge asked us to wait, from Retry-After or X-RateLimit-Reset."""
    retry_after = err.headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:  # the HTTP-date form
                parsed = email.utils.parsedate_to_datetime(retry_after)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None:
                return max(0.0, parsed.timestamp() - now)
    if err.headers.get("x-ratelimit-remaining") == "0":
        reset = err.headers.get("x-ratelimit-reset", "")
        try:
            return max(0.0, float(reset) - now + 1.0)  # reset is a whole epoch second
        except ValueError:
            pass
    if err.status == 403 and err.rate_limited:
        return SECONDARY_LIMIT_WAIT_S
    return None


def call_with_retry(
    fn: Callable[[], T],
    *,
    write: bool,
    idempotency_check: Callable[[], T | None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = 4,
    budget_s: float = DEADLINE_S,
    attempt_timeout_s: float = 0.0,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> T:
    """Run `fn`, retrying transient failures.

    `write=True` marks a call that is not idempotent (a create): after a failure that may
    have happened server-side (5xx, timeout, dropped connection) it is re-sent only once
    `idempotency_check()` returned None; when the check finds the object, that object is
    returned. Without a check such a write is not retried. Idempotent writes (edits, upserts
    by name) can pass `write=False`. Gives up with ForgeError(transient=True) after
    `max_attempts`, or when the next wait and attempt (which may take `attempt_timeout_s`, the
    client's socket timeout) would end past `budget_s` from the start: a total deadline, so a
    forge that takes connections and never answers holds a worker for `budget_s` at most.
    """
    started = monotonic()
    slept = 0.0
    attempt = 0
    must_look = False  # a write may have landed; look before sending it again
    last: TransientHTTP | None = None
    while attempt < max_attempts:
        attempt += 1
        try:
            if must_look and idempotency_check is not None:
                found = idempotency_check()
                if found is not None:
                    return found
                must_look = False
            return fn()
        except ForgeError:
            raise
        except Exception as err:  # classified below; re-raised when not transient
            transient = _classify(err)
            if transient is None:
                raise
            last = transient
        if write and not last.rate_limited:
            if idempotency_check is None:
                raise ForgeError(
                    f"write failed and cannot be safely repeated: {last}",
                    transient=True,
                    status=last.status,
                )
            must_look = True
        if attempt >= max_attempts:
            break
        wait = requested_wait(last, now=clock())
        if wait is None:
            wait = 0.5 * 2 ** (attempt - 1)  # 0.5, 1, 2 s: the forge gave no hint
        wait = min(wait, MAX_WAIT_S)
        # (an injected `sleep` may not pass time: count what was slept too)
        elapsed = max(monotonic() - started, slept)
        if elapsed + wait + attempt_timeout_s > budget_s:
            break
        sleep(wait)
        slept += wait
    assert last is not None
    raise ForgeError(
        f"forge call failed after {attempt} attempt(s): {last}",
        transient=True,
        status=last.status,
    )
