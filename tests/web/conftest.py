"""Fixtures for the web layer: real example payloads (tests/data/webhooks, copied from the
platforms' published examples), signed the way the forges sign them, sent through Flask's test
client to an app whose queue is a list."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.events import Job
from bot.jobs.queue import QueueUnavailable
from bot.settings import Settings
from bot.web import create_app

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks"
GITHUB_SECRET = "gh-webhook-secret-6f1c"
GITLAB_SECRET = "gl-webhook-token-93ab"
BOT_LOGIN = "rollback-plan[bot]"


def payload(forge: str, name: str) -> dict[str, Any]:
    """A fresh copy of a stored example payload (tests may change fields)."""
    return copy.deepcopy(json.loads((DATA / forge / f"{name}.json").read_text()))


def github_signature(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Queue:
    """The enqueue seam: records jobs, dedupes like the real queue, can be 'down'."""

    jobs: list[Job] = field(default_factory=list)
    down: bool = False

    def __call__(self, job: Job) -> bool:
        if self.down:
            raise QueueUnavailable("queue is down")
        if any(j.delivery == job.delivery and j == job for j in self.jobs):
            return False
        self.jobs.append(job)
        return True


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "github_webhook_secret": GITHUB_SECRET,
        "github_token": "ghp_test",
        "gitlab_webhook_secret": GITLAB_SECRET,
        "gitlab_token": "glpat-test",
        "bot_logins": frozenset({BOT_LOGIN.casefold(), "rollback-plan-bot"}),
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def queue() -> Queue:
    return Queue()


@pytest.fixture
def client(queue: Queue) -> Iterator[FlaskClient]:
    app = create_app(settings(), queue)
    with app.test_client() as c:
        yield c


Send = Callable[..., Any]


@pytest.fixture
def send_github(client: FlaskClient) -> Send:
    def send(
        event: str,
        body: dict[str, Any] | bytes,
        *,
        delivery: str = "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": github_signature(raw) if signature is None else signature,
            "Content-Type": "application/json",
        }
        h.update(headers or {})
        return client.post("/webhooks/github", data=raw, headers=h)

    return send


@pytest.fixture
def send_gitlab(client: FlaskClient) -> Send:
    def send(
        event: str,
        body: dict[str, Any] | bytes,
        *,
        delivery: str = "a9cd3b09-3e3f-4f0b-9a1c-2b8c7c1c5e10",
        token: str | None = GITLAB_SECRET,
        headers: dict[str, str] | None = None,
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h = {
            "X-Gitlab-Event": event,
            "X-Gitlab-Event-UUID": delivery,
            "Content-Type": "application/json",
        }
        if token is not None:
            h["X-Gitlab-Token"] = token
        h.update(headers or {})
        return client.post("/webhooks/gitlab", data=raw, headers=h)

    return send
