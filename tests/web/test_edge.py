"""The edge under hostile input, through the real app and its real queue (SQLite; Redis where
readiness depends on it): nothing a payload says can burn a delivery, reach outside the
repository it names, or turn into two jobs by being re-sent."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.app import Bot, build
from bot.jobs.queue import job_from_json
from tests.jobs.redis_server import RedisServer, redis_binary
from tests.web.conftest import GITHUB_SECRET, github_signature, payload, settings


@pytest.fixture
def bot(tmp_path: Path) -> Iterator[Bot]:
    made = build(
        replace(
            settings(),
            queue_path=str(tmp_path / "queue.sqlite3"),
            cache_dir=str(tmp_path / "cache"),
        )
    )
    yield made
    made.close(1)


_ids = itertools.count()


def fresh() -> str:
    return f"d-{next(_ids)}"


def queued(bot: Bot) -> list[Any]:
    """The jobs in the queue file, read back as the worker would."""
    db = bot.queue.store._db  # type: ignore[attr-defined]
    return [job_from_json(body) for (body,) in db.execute("SELECT body FROM jobs ORDER BY id")]


def post(
    client: FlaskClient, event: str, body: dict[str, Any] | bytes, delivery: str, forge: str
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if forge == "github":
        headers = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": github_signature(raw, GITHUB_SECRET),
        }
    else:
        headers = {
            "X-Gitlab-Event": event,
            "X-Gitlab-Event-UUID": delivery,
            "X-Gitlab-Token": settings().gitlab_webhook_secret or "",
        }
    headers["Content-Type"] = "application/json"
    return client.post(f"/webhooks/{forge}", data=raw, headers=headers)


def test_a_lone_surrogate_is_400_and_the_redelivery_is_queued(bot: Bot) -> None:
    good = payload("github", "pull_request.synchronize")
    bad = json.dumps(good).replace('"full_name": "', '"full_name": "\\ud800', 1).encode()
    client = bot.web.test_client()
    response = post(client, "pull_request", bad, "d-surrogate", "github")
    assert response.status_code == 400
    assert "surrogate" in response.get_json()["error"]
    assert queued(bot) == []
    # the delivery was not taken: the forge's redelivery (here with a fixed body) is queued
    response = post(client, "pull_request", good, "d-surrogate", "github")
    assert response.status_code == 202
    assert [j.delivery for j in queued(bot)] == ["d-surrogate"]


def test_a_delivery_that_failed_with_500_is_not_seen(bot: Bot) -> None:
    calls: list[str] = []
    real = bot.queue.store.put

    def flaky(*args: Any, **kwargs: Any) -> bool:
        calls.append("put")
        if len(calls) == 1:
            raise RuntimeError("a bug between the web and the queue")
        return real(*args, **kwargs)

    bot.queue.store.put = flaky  # type: ignore[method-assign]
    client = bot.web.test_client()
    good = payload("github", "pull_request.synchronize")
    assert post(client, "pull_request", good, "d-500", "github").status_code == 500
    assert post(client, "pull_request", good, "d-500", "github").status_code == 202
    assert [j.delivery for j in queued(bot)] == ["d-500"]


@pytest.mark.parametrize(
    "name",
    ["acme/../other", "../etc/passwd", "acme/..", "acme", "acme/shop/x", "acme/sh op",
     "acme/shop\n", "-acme/shop", "acme/shop%2f..", "acme/\u00e9"],
)  # fmt: skip
def test_github_repository_names_are_checked(bot: Bot, name: str) -> None:
    body = payload("github", "pull_request.synchronize")
    body["repository"]["full_name"] = name
    response = post(bot.web.test_client(), "pull_request", body, fresh(), "github")
    assert response.status_code == 400
    assert (
        response.get_json()["error"] == "repository.full_name is not a repository path (owner/name)"
    )
    assert queued(bot) == []


@pytest.mark.parametrize(
    "name", ["group/../other", "group/sub/..", "group", "group/.hidden", "group/p.git", "a//b",
             "group/p\nq", "/group/p"],
)  # fmt: skip
def test_gitlab_project_paths_are_checked(bot: Bot, name: str) -> None:
    body = payload("gitlab", "merge_request.open")
    body["project"]["path_with_namespace"] = name
    response = post(bot.web.test_client(), "Merge Request Hook", body, fresh(), "gitlab")
    assert response.status_code == 400
    assert "project.path_with_namespace is not a repository path" in response.get_json()["error"]


def test_gitlab_nested_groups_are_accepted(bot: Bot) -> None:
    body = payload("gitlab", "merge_request.open")
    body["project"]["path_with_namespace"] = "acme/platform/db-team/billing.api"
    response = post(bot.web.test_client(), "Merge Request Hook", body, "d-nested", "gitlab")
    assert response.status_code == 202
    assert [j.repo for j in queued(bot)] == ["acme/platform/db-team/billing.api"]


@pytest.mark.parametrize(
    "branch", ["feature\nx", "a..b", "-x", "x.lock", "x/", "a b", "x~1", "x^", "a:b", "@",
               ".hidden", "a/.b", "x@{1}", "\ud800"],
)  # fmt: skip
def test_branch_names_are_checked(bot: Bot, branch: str) -> None:
    body = payload("github", "pull_request.synchronize")
    body["pull_request"]["head"]["ref"] = branch
    raw = json.dumps(body).encode()
    response = post(bot.web.test_client(), "pull_request", raw, fresh(), "github")
    assert response.status_code == 400
    assert queued(bot) == []


def test_a_pushed_branch_is_checked(bot: Bot) -> None:
    body = payload("gitlab", "push")
    body["ref"] = "refs/heads/../../x"
    response = post(bot.web.test_client(), "Push Hook", body, "d-push", "gitlab")
    assert response.status_code == 400
    assert response.get_json()["error"] == "ref is not a valid branch name"


def test_one_body_sent_under_many_delivery_ids_is_one_job(bot: Bot) -> None:
    body = payload("github", "pull_request.synchronize")
    client = bot.web.test_client()
    answers = [post(client, "pull_request", body, f"replay-{i}", "github") for i in range(50)]
    assert [a.status_code for a in answers] == [202] + [200] * 49
    assert all(a.get_json()["duplicate"] for a in answers[1:])
    assert len(queued(bot)) == 1
    # another event (here: the same PR at a new head) is another job
    body["pull_request"]["head"]["sha"] = "f" * 40
    assert post(client, "pull_request", body, "replay-new-head", "github").status_code == 202
    assert len(queued(bot)) == 2


def test_the_same_body_on_another_forge_path_is_not_a_duplicate(bot: Bot) -> None:
    """The digest covers the endpoint and event name, not only the bytes."""
    body = payload("gitlab", "merge_request.open")
    client = bot.web.test_client()
    assert post(client, "Merge Request Hook", body, "g-1", "gitlab").status_code == 202
    body2 = payload("gitlab", "note.merge_request")
    assert post(client, "Note Hook", body2, "g-2", "gitlab").status_code in (202, 204)


def test_healthz_follows_the_redis_queue(tmp_path: Path) -> None:
    server = RedisServer(redis_binary(), tmp_path)
    bot = build(replace(settings(), redis_url=server.url, cache_dir=str(tmp_path / "cache")))
    client = bot.web.test_client()
    try:
        ready = client.get("/healthz")
        assert ready.status_code == 200 and ready.get_json()["ok"] is True
        server.stop()
        down = client.get("/healthz")
        assert down.status_code == 503
        assert down.get_json() == {"ok": False, "queue": "unavailable"}
        # alive all the same: restarting the web would not bring Redis back
        assert client.get("/livez").status_code == 200
    finally:
        bot.close(1)
        server.stop()
