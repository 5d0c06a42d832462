"""Metrics an operator scrapes and log lines an operator reads: what they say, and that no
secret ever reaches them."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import build
from bot.events import ForgeKind, Job, JobKind
from bot.forges import ForgeError
from bot.jobs.queue import Tuning
from bot.observability import (
    DeliveryOutcome,
    InstrumentedForge,
    Metrics,
    SecretMask,
    configure_logging,
    log_context,
)
from bot.web import create_app
from tests.web.conftest import GITLAB_SECRET, Queue, github_signature, payload, settings


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} from the exposition format."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def delivered(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], **labels: str) -> float:
    return found.get(("rollback_plan_deliveries_total", tuple(sorted(labels.items()))), 0.0)


# -- /metrics ---------------------------------------------------------------------------------


def test_metrics_endpoint_counts_deliveries_by_outcome() -> None:
    metrics = Metrics()
    queue = Queue()
    app = create_app(settings(), queue, metrics=metrics)
    client = app.test_client()
    body = json.dumps(payload("github", "pull_request.synchronize")).encode()

    def send(event: str, delivery: str, signature: str | None = None) -> int:
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": signature or github_signature(body),
            "Content-Type": "application/json",
        }
        return client.post("/webhooks/github", data=body, headers=headers).status_code

    assert send("pull_request", "d-1") == 202
    assert send("pull_request", "d-1") == 200  # GitHub redelivered it
    assert send("pull_request", "d-2", signature="sha256=" + "0" * 64) == 401
    assert send("x" * 200, "d-3") == 204  # an event we don't handle: a bounded label
    gitlab = client.post(
        "/webhooks/gitlab",
        data=b"{not json",
        headers={"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": GITLAB_SECRET},
    )
    assert gitlab.status_code == 400
    queue.down = True
    assert send("pull_request", "d-4") == 503

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    found = samples(response.get_data(as_text=True))
    assert delivered(found, forge="github", event="pull_request", outcome="accepted") == 1
    assert delivered(found, forge="github", event="pull_request", outcome="duplicate") == 1
    assert delivered(found, forge="github", event="pull_request", outcome="unauthorized") == 1
    assert delivered(found, forge="github", event="pull_request", outcome="unavailable") == 1
    assert delivered(found, forge="github", event="other", outcome="ignored") == 1
    assert delivered(found, forge="gitlab", event="Merge Request Hook", outcome="bad_request") == 1
    assert found[("rollback_plan_duplicate_deliveries_total", (("forge", "github"),))] == 1


def test_each_app_has_its_own_registry() -> None:
    """Apps are built again and again (tests, gunicorn workers): no global registry clash."""
    first, second = Metrics(), Metrics()
    first.delivery("github", "push", DeliveryOutcome.ACCEPTED)
    assert b'outcome="accepted"} 1.0' in first.exposition()
    assert b'outcome="accepted"' not in second.exposition()
    create_app(settings(), Queue())
    create_app(settings(), Queue())


def test_queue_depth_is_read_when_scraped() -> None:
    metrics = Metrics()
    jobs = [1, 2, 3]
    metrics.queue_depth_from(lambda: len(jobs))
    assert samples(metrics.exposition().decode())[("rollback_plan_queue_depth", ())] == 3
    jobs.pop()
    assert samples(metrics.exposition().decode())[("rollback_plan_queue_depth", ())] == 2


def test_job_durations_plans_and_waits() -> None:
    metrics = Metrics()
    with metrics.timed_job("pull_request"):
        pass
    with pytest.raises(RuntimeError), metrics.timed_job("push"):
        raise RuntimeError("boom")
    metrics.plan("refused")
    waited: list[float] = []
    metrics.waiting_sleep("github", waited.append)(2.5)

    found = samples(metrics.exposition().decode())
    count = "rollback_plan_job_duration_seconds_count"
    assert found[(count, (("kind", "pull_request"), ("outcome", "ok")))] == 1
    assert found[(count, (("kind", "push"), ("outcome", "failed")))] == 1
    assert found[("rollback_plan_plans_total", (("verdict", "refused"),))] == 1
    assert (
        found[("rollback_plan_forge_rate_limit_wait_seconds_total", (("forge", "github"),))] == 2.5
    )
    assert waited == [2.5]


class _Forge:
    def default_branch(self, repo: str) -> str:
        return "main"

    def set_check(self, *args: object) -> None:
        raise ForgeError("GitHub answered 502", transient=True, status=502)

    def permission(self, repo: str, user: str) -> str:
        raise ForgeError("GitHub answered 403", status=403)


def test_forge_calls_are_counted_by_operation_and_outcome() -> None:
    metrics = Metrics()
    forge = InstrumentedForge(_Forge(), "github", metrics)

    assert forge.default_branch("acme/app") == "main"
    with pytest.raises(ForgeError):
        forge.set_check("acme/app", "a" * 40)
    with pytest.raises(ForgeError):
        forge.permission("acme/app", "eve")

    found = samples(metrics.exposition().decode())
    name = "rollback_plan_forge_api_calls_total"
    assert (
        found[(name, (("forge", "github"), ("method", "default_branch"), ("outcome", "ok")))] == 1
    )
    assert (
        found[(name, (("forge", "github"), ("method", "set_check"), ("outcome", "transient")))] == 1
    )
    assert found[(name, (("forge", "github"), ("method", "permission"), ("outcome", "error")))] == 1


# -- logs ------------------------------------------------------------------------------------

SECRET = "s3cr3t-webhook-value-9f8e"
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx1y2z3abcdefghijklmnop\n-----END RSA PRIVATE KEY-----"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    env = {"ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET": SECRET, "PATH": "/usr/bin"}
    handler = configure_logging("DEBUG", env=env, secrets=[PEM], stream=stream)
    yield stream
    logging.getLogger().removeHandler(handler)


def _records(stream: io.StringIO) -> list[dict[str, str]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_with_the_job_context(lines: io.StringIO) -> None:
    log = logging.getLogger("bot.jobs")
    with log_context(delivery="d-1", repo="acme/app"):
        with log_context(revert_sha="abc123", job="j-9"):
            log.info("planned %s", "acme/app#4")
        log.warning("multi\nline")
    log.info("outside")

    first, second, third = _records(lines)
    assert first["message"] == "planned acme/app#4"
    assert (first["level"], first["logger"]) == ("info", "bot.jobs")
    assert {k: first[k] for k in ("delivery", "repo", "revert_sha", "job")} == {
        "delivery": "d-1",
        "repo": "acme/app",
        "revert_sha": "abc123",
        "job": "j-9",
    }
    assert "ts" in first
    assert second["message"] == "multi\nline" and "revert_sha" not in second
    assert "delivery" not in third


def test_secrets_never_reach_a_log_line(lines: io.StringIO) -> None:
    log = logging.getLogger("bot.forges")
    log.info("webhook secret is %s", SECRET)
    log.info("fetch https://x-access-token:ghs_abcdefghijklmnop1234@github.com/acme/app.git")
    log.info("GET /api?private_token=glpat-zzzzzzzzzzzzzzzz&page=2")
    log.info("headers: {'Authorization': 'Bearer eyJhbGciOi.payload.sig'}")
    log.info("Authorization: token abcdef0123456789")
    log.info("key line %s", PEM.splitlines()[1])
    try:
        raise ValueError(f"bad key {PEM}")
    except ValueError:
        log.exception("loading the key failed")

    text = lines.getvalue()
    for leaked in (
        SECRET,
        "ghs_abcdefghijklmnop1234",
        "glpat-zzzzzzzzzzzzzzzz",
        "eyJhbGciOi",
        "abcdef0123456789",
        "MIIEowIBAAKCAQEAx1y2z3abcdefghijklmnop",
    ):
        assert leaked not in text, leaked
    records = _records(lines)
    assert records[2]["message"] == "GET /api?private_token=***&page=2"
    assert "ValueError" in records[-1]["exc"]


def test_mask_leaves_ordinary_text_alone() -> None:
    mask = SecretMask(["abc", "a-long-secret-value"])
    assert mask("token count is abc") == "token count is abc"  # too short to mask
    assert mask("the key: a-long-secret-value") == "the key: ***"
    assert mask("delivery 72d3162e planned") == "delivery 72d3162e planned"


def test_unknown_context_fields_are_refused() -> None:
    with pytest.raises(ValueError, match="password"), log_context(password="x"):
        pass


def test_the_bot_times_every_job_it_runs(tmp_path: Path) -> None:
    """As built for production (bot.app.build): a job run by the queue shows in /metrics."""
    bot = build(
        replace(
            settings(),
            queue_path=str(tmp_path / "queue.sqlite3"),
            cache_dir=str(tmp_path / "cache"),
        ),
        tuning=Tuning(poll=0.01),
    )
    try:
        # a push of a deleted branch: the worker looks and has nothing to do
        bot.queue.enqueue(Job(JobKind.PUSH, ForgeKind.GITHUB, "acme/shop", "d-timed"))
        bot.queue.start(1)
        assert bot.queue.drain(30)
        # the duration is recorded just after the job is settled: wait for it, not for a clock
        deadline = time.monotonic() + 30
        while True:
            found = samples(bot.web.test_client().get("/metrics").get_data(as_text=True))
            count = found.get(
                ("rollback_plan_job_duration_seconds_count", (("kind", "push"), ("outcome", "ok")))
            )
            if count or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        assert count == 1
    finally:
        bot.close(5)
