"""What the forge's delivery log and the operator's log show for each delivery: the exact
one-line answer, and one log line naming the delivery and what became of it."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient

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
