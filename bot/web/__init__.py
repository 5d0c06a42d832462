"""The webhook endpoint: verify, normalize, enqueue, answer — in milliseconds. No forge
calls, no git, no planning here (the worker does those with its own credentials).

Answers: 202 jobs accepted, 200 ping or a delivery already taken, 204 nothing to do,
400 malformed or wrongly shaped payload, 401 bad or missing signature, 404 forge not enabled,
413 body over the limit, 503 queue down (the forge redelivers). Bodies are one-line JSON;
never a traceback, never the request body, never a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs

from flask import Blueprint, Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from bot.events import Event, Job
from bot.forges.github import events as github_events
from bot.forges.gitlab import events as gitlab_events
from bot.forges.payload import PayloadError, is_unicode
from bot.jobs.queue import QueueUnavailable
from bot.observability import CONTENT_TYPE, DeliveryOutcome, Metrics, log_context
from bot.settings import Settings
from bot.web.deliveries import DeliveryLog
from bot.web.jobs import job_for

__all__ = ["Enqueue", "PayloadError", "QueueUnavailable", "create_app"]

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_DELIVERY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_RETRY_AFTER_SECONDS = "30"
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


Enqueue = Callable[[Job], bool]  # False: the queue already had this job
Normalize = Callable[[str, Mapping[str, Any], str], list[Event]]


class _Refused(Exception):
    """Stops handling a delivery with a status and a one-line reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def create_app(
    settings: Settings,
    enqueue: Enqueue,
    *,
    metrics: Metrics | None = None,
    app_manifest: Mapping[str, Any] | None = None,
    queue_problem: Callable[[], str | None] = lambda: None,
) -> Flask:
    """The web app: one composition root, nothing read from the environment here.
    `metrics` is served at /metrics (a fresh registry when not given); with `app_manifest`
    (app.yml, parsed) the GitHub App setup page is served at /github-app/setup;
    `queue_problem()` says why the queue cannot take jobs (None: it can), for /healthz."""
    if not (settings.github_enabled or settings.gitlab_enabled):
        # unsigned webhooks would let anyone trigger plans and approvals
        raise ValueError("no webhook secret configured: refusing to start")
    metrics = metrics or Metrics()
    app = Flask(__name__)
    # Werkzeug then bounds every read of the body, chunked too. One byte over: it refuses any
    # read at its limit, so `_read_body` needs that byte to tell a body of exactly
    # max_body_bytes (taken) from a longer one (413).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes + 1
    app.register_blueprint(_blueprint(settings, enqueue, DeliveryLog(), metrics, queue_problem))
    if app_manifest is not None:
        from bot.web.setup import setup_blueprint

        app.register_blueprint(setup_blueprint(settings, app_manifest))

    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException) -> tuple[Response, int]:
        status = err.code or 500
        return _json({"error": err.name.lower()}), status

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> tuple[Response, int]:
        # logged for the operator; the forge only learns that it failed
        log.exception("unexpected error handling %s", request.path)
        return _json({"error": "internal error"}), 500

    return app


def _blueprint(
    settings: Settings,
    enqueue: Enqueue,
    deliveries: DeliveryLog,
    metrics: Metrics,
    queue_problem: Callable[[], str | None],
) -> Blueprint:
    bp = Blueprint("webhooks", __name__)

    @bp.get("/metrics")
    def prometheus() -> Response:
        return Response(metrics.exposition(), status=200, content_type=CONTENT_TYPE)

    @bp.get("/livez")
    def livez() -> tuple[Response, int]:
        """Liveness: the process answers (restarting it would not bring the queue back)."""
        return _json({"ok": True}), 200

    @bp.get("/healthz")
    def healthz() -> tuple[Response, int]:
        """Readiness: deliveries can be taken, which needs the queue."""
        problem = queue_problem()
        if problem is not None:
            log.warning("not ready: %s", problem)
            return _json({"ok": False, "queue": "unavailable"}), 503
        forges = [
            name
            for name, on in (
                ("github", settings.github_enabled),
                ("gitlab", settings.gitlab_enabled),
            )
            if on
        ]
        return _json({"ok": True, "forges": forges}), 200

    @bp.post("/webhooks/github")
    def github() -> tuple[Response, int] | Response:
        return _counted(
            metrics, "github", "X-GitHub-Event", github_events.EVENTS | {"ping"},
            lambda: _github(settings, enqueue, deliveries),
        )  # fmt: skip

    @bp.post("/webhooks/gitlab")
    def gitlab() -> tuple[Response, int] | Response:
        return _counted(
            metrics, "gitlab", "X-Gitlab-Event", gitlab_events.EVENTS,
            lambda: _gitlab(settings, enqueue, deliveries),
        )  # fmt: skip

    return bp


_OUTCOMES = {
    202: DeliveryOutcome.ACCEPTED,
    200: DeliveryOutcome.IGNORED,  # ping; duplicates say so through `g`
    204: DeliveryOutcome.IGNORED,
    400: DeliveryOutcome.BAD_REQUEST,
    401: DeliveryOutcome.UNAUTHORIZED,
    404: DeliveryOutcome.DISABLED,
    413: DeliveryOutcome.TOO_LARGE,
    503: DeliveryOutcome.UNAVAILABLE,
}


def _counted(
    metrics: Metrics,
    forge: str,
    header: str,
    known: frozenset[str] | set[str],
    handle: Callable[[], tuple[Response, int] | Response],
) -> tuple[Response, int] | Response:
    """Answer a delivery and count it by its outcome."""
    # The event header is unauthenticated input: only known names become a label value.
    event = request.headers.get(header, "").strip()
    event = event if event in known else "other"
    try:
        result = handle()
    except _Refused as refused:
        result = _json({"error": refused.reason}), refused.status
    except Exception:
        metrics.delivery(forge, event, DeliveryOutcome.ERROR)
        raise
    status = result[1] if isinstance(result, tuple) else result.status_code
    outcome = g.get("delivery_outcome") or _OUTCOMES.get(status, DeliveryOutcome.ERROR)
    metrics.delivery(forge, event, outcome)
    return result


def _github(
    settings: Settings, enqueue: Enqueue, deliveries: DeliveryLog
) -> tuple[Response, int] | Response:
    secret = settings.github_webhook_secret
    if not secret:
        raise _Refused(404, "github webhooks are not enabled")
    _check_length(settings)
    signature = request.headers.get("X-Hub-Signature-256", "")
    if not signature.startswith("sha256="):
        raise _Refused(401, "missing or malformed X-Hub-Signature-256")
    body = _read_body(settings.max_body_bytes)
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise _Refused(401, "signature does not match")

    event_name = _header("X-GitHub-Event")
    if event_name == "ping":
        return _json({"ok": True, "pong": True}), 200
    delivery = _delivery_id(body, "X-GitHub-Delivery", "Idempotency-Key")
    if event_name not in github_events.EVENTS:
        return _nothing(event_name, delivery)
    return _accept(
        settings, enqueue, deliveries, github_events.normalize, event_name, delivery, body
    )


def _gitlab(
    settings: Settings, enqueue: Enqueue, deliveries: DeliveryLog
) -> tuple[Response, int] | Response:
    secret = settings.gitlab_webhook_secret
    if not secret:
        raise _Refused(404, "gitlab webhooks are not enabled")
    _check_length(settings)
    token = request.headers.get("X-Gitlab-Token")
    if token is None:
        raise _Refused(401, "missing X-Gitlab-Token")
    # GitLab sends the secret itself, not a signature: compare in constant time
    if not hmac.compare_digest(token.encode("utf-8", "replace"), secret.encode()):
        raise _Refused(401, "X-Gitlab-Token does not match")
    body = _read_body(settings.max_body_bytes)

    event_name = _header("X-Gitlab-Event")
    # Idempotency-Key stays the same across GitLab's retries; the event UUID is per event
    delivery = _delivery_id(body, "Idempotency-Key", "X-Gitlab-Event-UUID")
    if event_name not in gitlab_events.EVENTS:
        return _nothing(event_name, delivery)
    return _accept(
        settings, enqueue, deliveries, gitlab_events.normalize, event_name, delivery, body
    )


def _accept(
    settings: Settings,
    enqueue: Enqueue,
    deliveries: DeliveryLog,
    normalize: Normalize,
    event_name: str,
    delivery: str,
    body: bytes,
) -> tuple[Response, int] | Response:
    with log_context(delivery=delivery):
        return _enqueue(settings, enqueue, deliveries, normalize, event_name, delivery, body)


def _enqueue(
    settings: Settings,
    enqueue: Enqueue,
    deliveries: DeliveryLog,
    normalize: Normalize,
    event_name: str,
    delivery: str,
    body: bytes,
) -> tuple[Response, int] | Response:
    if not deliveries.claim(delivery):
        log.info("delivery %s (%s): duplicate", delivery, event_name)
        g.delivery_outcome = DeliveryOutcome.DUPLICATE
        return _json({"duplicate": True, "delivery": delivery}), 200
    try:
        events = normalize(event_name, _parse(body), delivery)
        digest = _event_digest(event_name, body)
        jobs = [
            replace(job, event_digest=f"{digest}:{i}")
            for i, job in enumerate(j for j in (job_for(e, settings) for e in events) if j)
        ]
        if not jobs:
            return _nothing(event_name, delivery)
        accepted = sum(1 for job in jobs if enqueue(job))
    except PayloadError as err:
        deliveries.release(delivery)
        raise _Refused(400, str(err)) from None
    except QueueUnavailable:
        # forget the claim so the forge's redelivery is taken; jobs already enqueued are
        # deduplicated by the queue itself
        deliveries.release(delivery)
        log.warning("delivery %s (%s): queue unavailable", delivery, event_name)
        response = _json({"error": "queue unavailable, retry later", "delivery": delivery})
        response.headers["Retry-After"] = _RETRY_AFTER_SECONDS
        return response, 503
    except BaseException:
        # a delivery counts as seen only once its jobs are queued (or it was answered 2xx on
        # purpose): after a 500 the forge's redelivery must be taken
        deliveries.release(delivery)
        raise
    log.info("delivery %s (%s): %d job(s) accepted", delivery, event_name, accepted)
    if accepted == 0:
        g.delivery_outcome = DeliveryOutcome.DUPLICATE
        return _json({"duplicate": True, "delivery": delivery}), 200
    return _json({"accepted": accepted, "delivery": delivery}), 202


def _event_digest(event_name: str, body: bytes) -> str:
    """The event's content, whatever delivery id it came with (forge and event included)."""
    digest = hashlib.sha256(f"{request.path}\0{event_name}\0".encode())
    digest.update(body)
    return digest.hexdigest()


def _nothing(event_name: str, delivery: str) -> Response:
    log.info("delivery %s (%s): nothing to do", delivery, event_name[:64])
    return Response(status=204)


def _check_length(settings: Settings) -> None:
    length = request.content_length
    if length is not None and length > settings.max_body_bytes:
        raise _Refused(413, f"body larger than {settings.max_body_bytes} bytes")


def _read_body(limit: int) -> bytes:
    """The raw body (what the signature covers), reading at most `limit` + 1 bytes whatever
    Content-Length claims."""
    chunks: list[bytes] = []
    total = 0
    stream = request.stream
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise _Refused(413, f"body larger than {limit} bytes")
    return b"".join(chunks)


def _parse(body: bytes) -> Mapping[str, Any]:
    """The JSON payload; GitHub may also post it form-encoded as `payload=`."""
    try:
        text = body.decode("utf-8")
        if request.mimetype == "application/x-www-form-urlencoded":
            text = parse_qs(text, max_num_fields=16).get("payload", [""])[0]
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise PayloadError("malformed JSON") from None
    if not isinstance(payload, dict):
        raise PayloadError("payload must be a JSON object")
    # JSON may escape a lone UTF-16 surrogate; such a string cannot be written anywhere
    if _SURROGATE_ESCAPE.search(text) and not is_unicode(json.dumps(payload, ensure_ascii=False)):
        raise PayloadError("payload holds a lone UTF-16 surrogate (not valid Unicode)")
    return payload


def _header(name: str) -> str:
    value = request.headers.get(name, "").strip()
    if not value:
        raise _Refused(400, f"missing {name}")
    return value


def _delivery_id(body: bytes, *headers: str) -> str:
    """The delivery's id from the first header present; without one, the body's hash (an
    identical signed body is the same delivery)."""
    for name in headers:
        value = request.headers.get(name, "").strip()
        if value:
            if not _DELIVERY_ID.fullmatch(value):
                raise _Refused(400, f"malformed {name}")
            return value
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _json(data: Mapping[str, Any]) -> Response:
    return jsonify(data)
