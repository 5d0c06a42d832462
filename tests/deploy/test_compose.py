"""deploy/docker-compose.yml: web on gunicorn, workers and Redis sharing one queue, each
service restarted, health-checked where it serves something, and configured from .env."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.deploy.conftest import DEPLOY, HEALTH_PATH, PORT, WEB, WORKER

Service = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Service]:
    found: dict[str, Service] = compose["services"]
    return found


def test_web_worker_and_redis_run_the_documented_commands(services: dict[str, Service]) -> None:
    assert set(services) == {"web", "worker", "redis"}
    assert tuple(services["web"]["command"]) == WEB
    assert tuple(services["worker"]["command"]) == WORKER
    assert services["web"]["image"] == services["worker"]["image"], "one image, two roles"
    assert services["web"]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / services["web"]["build"]["context"] / "deploy" / "Dockerfile").is_file()


def test_both_share_the_redis_queue(services: dict[str, Service]) -> None:
    for name in ("web", "worker"):
        service = services[name]
        assert service["environment"]["ROLLBACK_PLAN_REDIS_URL"] == "redis://redis:6379/0"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["env_file"] == ".env"
    assert "--appendonly" in services["redis"]["command"], "a Redis restart must keep the queue"
    assert any(v.endswith(":/data") for v in services["redis"]["volumes"])


def test_restart_policies_and_healthchecks(services: dict[str, Service]) -> None:
    for name, service in services.items():
        assert service["restart"] in ("unless-stopped", "always"), name
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    assert f"127.0.0.1:{PORT}{HEALTH_PATH}" in web_check
    assert services["web"]["ports"] == [f"${{ROLLBACK_PLAN_PORT:-{PORT}}}:{PORT}"]
    # the image's /healthz check would mark a worker (no HTTP server) unhealthy forever
    assert services["worker"]["healthcheck"] == {"disable": True}
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_containers_are_locked_down(services: dict[str, Service]) -> None:
    for name in ("web", "worker"):
        service = services[name]
        assert service["read_only"] is True
        assert "/tmp" in service["tmpfs"]
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert any(v.endswith(":/data") for v in service["volumes"])


def test_the_private_key_is_a_file_secret(
    compose: dict[str, Any], services: dict[str, Service]
) -> None:
    assert compose["secrets"]["github-private-key"]["file"] == "./github-private-key.pem"
    example = (DEPLOY / "env.example").read_text()
    assert "ROLLBACK_PLAN_GITHUB_PRIVATE_KEY_FILE=/run/secrets/github-private-key" in example
    ignored = (DEPLOY / ".gitignore").read_text().split()
    assert ".env" in ignored and "*.pem" in ignored
