"""What the forge's delivery log and the operator's log show for each delivery: the exact
one-line answer, and one log line naming the delivery and what became of it."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder, run_wsgi_app

from bot.observability import Metrics, configure_logging
from bot.web import create_app
from bot.web.deliveries import DeliveryLog
from tests.web.conftest import GITLAB_SECRET, Queue, Send, github_signature, payload, settings


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("INFO", stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def web_lines(stream: io.StringIO) -> list[tuple[str, str | None]]:
    """(message, delivery field) of the web layer's JSON log lines."""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [(d["message"], d.get("delivery")) for d in lines if d["logger"] == "bot.web"]


def test_each_delivery_is_answered_and_logged_once_with_its_id(
    send_github: Send, queue: Queue, log_lines: io.StringIO
) -> None:
    body = payload("github", "pull_request.synchronize")
    accepted = send_github("pull_request", body, delivery="d-1")
    again = send_github("pull_request", body, delivery="d-1")
    labeled = {**body, "action": "labeled"}
    nothing = send_github("pull_request", labeled, delivery="d-2")
    unknown = send_github("x" * 100, {"action": "created"}, delivery="d-3")
    queue.down = True
    down = send_github("pull_request", body, delivery="d-4")

    assert (accepted.status_code, accepted.get_json()) == (202, {"accepted": 1, "delivery": "d-1"})
    assert (again.status_code, again.get_json()) == (200, {"duplicate": True, "delivery": "d-1"})
    assert (nothing.status_code, unknown.status_code) == (204, 204)
    assert (down.status_code, down.get_json()) == (
        503,
        {"error": "queue unavailable, retry later", "delivery": "d-4"},
    )
    assert down.headers["Retry-After"] == "30"
    assert web_lines(log_lines) == [
        ("delivery d-1 (pull_request): 1 job(s) accepted", "d-1"),
        ("delivery d-1 (pull_request): duplicate", "d-1"),
        ("delivery d-2 (pull_request): nothing to do", "d-2"),
        # the event header is the sender's text: only its first 64 characters are logged
        (f"delivery d-3 ({'x' * 64}): nothing to do", None),
        ("delivery d-4 (pull_request): queue unavailable", "d-4"),
    ]


def test_gitlab_answers_say_what_is_wrong(send_gitlab: Send, queue: Queue) -> None:
    push = payload("gitlab", "push")
    missing = send_gitlab("Push Hook", push, token=None)
    wrong = send_gitlab("Push Hook", push, token=GITLAB_SECRET + "x")
    assert (missing.status_code, missing.get_json()) == (401, {"error": "missing X-Gitlab-Token"})
    assert (wrong.status_code, wrong.get_json()) == (
        401,
        {"error": "X-Gitlab-Token does not match"},
    )
    off = create_app(settings(gitlab_webhook_secret=None), queue).test_client()
    disabled = off.post("/webhooks/gitlab", data=b"{}", headers={"X-Gitlab-Token": "t"})
    assert (disabled.status_code, disabled.get_json()) == (
        404,
        {"error": "gitlab webhooks are not enabled"},
    )
    assert queue.jobs == []


def test_a_gitlab_delivery_is_named_by_its_idempotency_key_else_its_event_uuid(
    send_gitlab: Send, queue: Queue
) -> None:
    """GitLab keeps Idempotency-Key across its retries; the event UUID names the event."""
    push = payload("gitlab", "push")
    by_uuid = send_gitlab("Push Hook", push, delivery="uuid-1")
    assert (by_uuid.status_code, by_uuid.get_json()) == (202, {"accepted": 1, "delivery": "uuid-1"})
    retry = send_gitlab("Push Hook", push, delivery="uuid-2", headers={"Idempotency-Key": "k-1"})
    assert retry.get_json() == {"accepted": 1, "delivery": "k-1"}
    assert [job.delivery for job in queue.jobs] == ["uuid-1", "k-1"]


@pytest.mark.parametrize("header", ["Idempotency-Key", "X-Gitlab-Event-UUID"])
def test_a_malformed_gitlab_delivery_id_is_named(
    send_gitlab: Send, queue: Queue, header: str
) -> None:
    headers = {header: "not valid!"}
    if header == "X-Gitlab-Event-UUID":
        response = send_gitlab("Push Hook", payload("gitlab", "push"), delivery="not valid!")
    else:
        response = send_gitlab("Push Hook", payload("gitlab", "push"), headers=headers)
    assert (response.status_code, response.get_json()) == (400, {"error": f"malformed {header}"})
    assert queue.jobs == []


def test_releasing_a_delivery_never_claimed_is_harmless() -> None:
    log = DeliveryLog()
    log.release("never-claimed")
    assert log.claim("never-claimed")


def test_a_delivery_another_web_process_queued_is_a_duplicate(queue: Queue) -> None:
    """Two web processes share the queue, not their delivery logs: the queue's answer
    decides, and the second process says (and counts) a duplicate."""
    body = json.dumps(payload("github", "pull_request.synchronize")).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": github_signature(body),
        "Content-Type": "application/json",
    }
    metrics = Metrics()
    first = create_app(settings(), queue).test_client()
    second = create_app(settings(), queue, metrics=metrics).test_client()
    assert first.post("/webhooks/github", data=body, headers=headers).status_code == 202
    again = second.post("/webhooks/github", data=body, headers=headers)
    assert (again.status_code, again.get_json()) == (200, {"duplicate": True, "delivery": "d-1"})
    assert b'outcome="duplicate"} 1.0' in metrics.exposition()
    assert len(queue.jobs) == 1


def test_a_form_post_without_a_payload_field_is_400(send_github: Send, queue: Queue) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = send_github("pull_request", b"other=1", headers=form)
    assert (response.status_code, response.get_json()) == (400, {"error": "malformed JSON"})
    assert queue.jobs == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[1]", "payload must be a JSON object"),
        (b'{"title": "\\ud800"}', "payload holds a lone UTF-16 surrogate (not valid Unicode)"),
    ],
)
def test_a_payload_that_is_json_but_unusable_is_400_saying_why(
    send_github: Send, queue: Queue, body: bytes, error: str
) -> None:
    response = send_github("pull_request", body)
    assert (response.status_code, response.get_json()) == (400, {"error": error})
    assert queue.jobs == []


def test_a_form_post_with_too_many_fields_is_refused(send_github: Send, queue: Queue) -> None:
    """GitHub's form posts carry one field; parsing is bounded at 16."""
    good = json.dumps(payload("github", "pull_request.synchronize"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    fields = [("payload", good)] + [(f"f{i}", "1") for i in range(15)]
    assert send_github("pull_request", urlencode(fields).encode(), headers=form).status_code == 202
    fields.append(("f15", "1"))
    response = send_github("pull_request", urlencode(fields).encode(), headers=form, delivery="d-2")
    assert (response.status_code, response.get_json()) == (400, {"error": "malformed JSON"})
    assert len(queue.jobs) == 1


def test_the_delivery_log_keeps_the_newest_ids_up_to_its_capacity() -> None:
    log = DeliveryLog(capacity=2)
    assert log.claim("a") and log.claim("b") and log.claim("c")
    assert not log.claim("c") and not log.claim("b")  # the two newest are held
    assert log.claim("a")  # the oldest was let go


def test_a_signed_delivery_without_an_event_header_is_400_naming_it(
    client: FlaskClient, queue: Queue
) -> None:
    body = json.dumps(payload("github", "pull_request.synchronize")).encode()
    github = client.post(
        "/webhooks/github", data=body, headers={"X-Hub-Signature-256": github_signature(body)}
    )
    gitlab = client.post("/webhooks/gitlab", data=body, headers={"X-Gitlab-Token": GITLAB_SECRET})
    assert (github.status_code, github.get_json()) == (400, {"error": "missing X-GitHub-Event"})
    assert (gitlab.status_code, gitlab.get_json()) == (400, {"error": "missing X-Gitlab-Event"})
    assert queue.jobs == []


def test_a_delivery_without_an_id_is_named_by_its_body(client: FlaskClient) -> None:
    body = json.dumps(payload("github", "pull_request.synchronize")).encode()
    headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": github_signature(body)}
    response = client.post("/webhooks/github", data=body, headers=headers)
    assert response.get_json() == {
        "accepted": 1,
        "delivery": "sha256:" + hashlib.sha256(body).hexdigest(),
    }


def test_an_unknown_gitlab_event_is_logged_with_its_delivery(
    send_gitlab: Send, log_lines: io.StringIO
) -> None:
    assert send_gitlab("System Hook", {"event_name": "x"}, delivery="u-1").status_code == 204
    assert web_lines(log_lines) == [("delivery u-1 (System Hook): nothing to do", None)]


# -- the body limit, as a WSGI server delivers bodies --------------------------------------


class _Endless(io.RawIOBase):
    """A request body that never ends (a chunked upload that keeps going), counting reads."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b" " * len(buffer)
        self.read_bytes += len(buffer)
        return len(buffer)


def served(
    app: Flask, path: str, headers: dict[str, str], body: io.RawIOBase | bytes, length: int | None
) -> tuple[int, Any]:
    """POST the way gunicorn hands a request over: `wsgi.input_terminated` set (the server ends
    the stream), Content-Length as the client declared it, or none for a chunked body."""
    environ = EnvironBuilder(path=path, method="POST", headers=headers).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    environ["wsgi.input"] = io.BytesIO(body) if isinstance(body, bytes) else body
    environ["wsgi.input_terminated"] = True
    chunks, status, _ = run_wsgi_app(app.wsgi_app, environ, buffered=True)
    text = b"".join(chunks)
    return int(status.split()[0]), json.loads(text) if text else None


def signed(body: bytes, delivery: str = "d-1") -> dict[str, str]:
    return {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": github_signature(body),
        "Content-Type": "application/json",
    }


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_of_exactly_the_limit_is_taken(queue: Queue, chunked: bool) -> None:
    """The limit is the largest body taken, under a WSGI server as under the test client."""
    body = json.dumps(payload("github", "pull_request.synchronize")).encode()
    app = create_app(settings(max_body_bytes=len(body)), queue)
    length = None if chunked else len(body)
    assert served(app, "/webhooks/github", signed(body), body, length) == (
        202,
        {"accepted": 1, "delivery": "d-1"},
    )
    over = body + b" "
    assert served(app, "/webhooks/github", signed(over, "d-2"), over, None) == (
        413,
        {"error": f"body larger than {len(body)} bytes"},
    )
    assert len(queue.jobs) == 1


def test_an_endless_body_is_cut_one_byte_past_the_limit() -> None:
    """A chunked body with no end: 413 as soon as it passes the limit, the rest never read
    (a limit above one read's 64 KiB, so the bytes are counted across reads)."""
    queue, stream, limit = Queue(), _Endless(), 100_000
    app = create_app(settings(max_body_bytes=limit), queue)
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert served(app, "/webhooks/github", headers, stream, None) == (
        413,
        {"error": "body larger than 100000 bytes"},
    )
    assert stream.read_bytes == limit + 1
    assert queue.jobs == []


@pytest.mark.parametrize("path", ["/webhooks/github", "/webhooks/gitlab"])
def test_a_declared_length_over_the_limit_is_refused_first(path: str) -> None:
    """The declared size decides before the signature is looked at: the sender learns the
    body is too large (not that it is unsigned), and nothing of it is read."""
    queue, stream = Queue(), _Endless()
    app = create_app(settings(max_body_bytes=10), queue)
    assert served(app, path, {"X-GitHub-Event": "push"}, stream, 11) == (
        413,
        {"error": "body larger than 10 bytes"},
    )
    assert stream.read_bytes == 0


# -- GitHub's refusals, word for word ------------------------------------------------------


def test_github_answers_say_what_is_wrong(send_github: Send, client: FlaskClient) -> None:
    body = payload("github", "pull_request.synchronize")
    raw = json.dumps(body).encode()
    unsigned = client.post("/webhooks/github", data=raw, headers={"X-GitHub-Event": "push"})
    wrong = send_github("pull_request", body, signature="sha256=" + "0" * 64)
    ping = send_github("ping", payload("github", "ping"))
    assert (unsigned.status_code, unsigned.get_json()) == (
        401,
        {"error": "missing or malformed X-Hub-Signature-256"},
    )
    assert (wrong.status_code, wrong.get_json()) == (401, {"error": "signature does not match"})
    assert (ping.status_code, ping.get_json()) == (200, {"ok": True, "pong": True})


def test_github_webhooks_answer_404_when_only_gitlab_is_configured(queue: Queue) -> None:
    off = create_app(settings(github_webhook_secret=None), queue).test_client()
    raw = json.dumps(payload("github", "pull_request.synchronize")).encode()
    headers = {"X-GitHub-Event": "pull_request", "X-Hub-Signature-256": github_signature(raw)}
    disabled = off.post("/webhooks/github", data=raw, headers=headers)
    assert (disabled.status_code, disabled.get_json()) == (
        404,
        {"error": "github webhooks are not enabled"},
    )
    assert queue.jobs == []


def test_a_github_delivery_without_its_id_is_named_by_an_idempotency_key(
    send_github: Send, queue: Queue
) -> None:
    """Without X-GitHub-Delivery (a proxy that drops it), an Idempotency-Key names it."""
    body = payload("github", "pull_request.synchronize")
    response = send_github("pull_request", body, delivery="", headers={"Idempotency-Key": "k-9"})
    assert (response.status_code, response.get_json()) == (202, {"accepted": 1, "delivery": "k-9"})
    assert [job.delivery for job in queue.jobs] == ["k-9"]


@pytest.mark.parametrize("header", ["X-GitHub-Delivery", "Idempotency-Key"])
def test_a_malformed_github_delivery_id_is_named(
    send_github: Send, queue: Queue, header: str
) -> None:
    body = payload("github", "pull_request.synchronize")
    if header == "X-GitHub-Delivery":
        response = send_github("pull_request", body, delivery="not valid!")
    else:
        response = send_github("pull_request", body, delivery="", headers={header: "not valid!"})
    assert (response.status_code, response.get_json()) == (400, {"error": f"malformed {header}"})
    assert queue.jobs == []


# -- what the operator sees --------------------------------------------------------------------


def test_a_delivery_that_fails_is_counted_as_an_error_under_its_forge_and_event() -> None:
    def broken(job: Any) -> bool:
        raise RuntimeError("the queue's client broke")

    metrics = Metrics()
    client = create_app(settings(), broken, metrics=metrics).test_client()
    raw = json.dumps(payload("github", "pull_request.synchronize")).encode()
    response = client.post("/webhooks/github", data=raw, headers=signed(raw))
    assert (response.status_code, response.get_json()) == (500, {"error": "internal error"})
    counted = 'rollback_plan_deliveries_total{event="pull_request",forge="github",outcome="error"}'
    assert f"{counted} 1.0" in metrics.exposition().decode()


def test_without_a_webhook_secret_the_app_refuses_to_start_saying_why(queue: Queue) -> None:
    with pytest.raises(ValueError) as err:
        create_app(settings(github_webhook_secret=None, gitlab_webhook_secret=None), queue)
    assert str(err.value) == "no webhook secret configured: refusing to start"


def test_the_delivery_log_holds_ten_thousand_ids_by_default() -> None:
    """Memory stays bounded whatever the traffic; the queue dedupes what it let go."""
    log = DeliveryLog()
    assert all(log.claim(f"d-{i}") for i in range(10_001))
    assert log.claim("d-0")  # the 10,001st let the oldest go
    assert not log.claim("d-10000")  # the newest are held
