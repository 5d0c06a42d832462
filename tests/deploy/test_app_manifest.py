"""app.yml, the GitHub App manifest: exactly the events the bot reads and the permissions its
API calls need, pointing at the routes the web app serves."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from bot.forges.github import events as github_events
from bot.settings import Settings
from bot.web import create_app
from tests.deploy.conftest import CHART_DIR, DOCS, REPO
from tests.deploy.helmrender import Chart

PERMISSIONS = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "checks": "write",
    "metadata": "read",
    "members": "read",
}
FIELDS = {"name", "description", "url", "hook_attributes", "redirect_url", "public",
          "default_events", "default_permissions"}  # fmt: skip


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPO / "app.yml").read_text())
    return document


def test_only_fields_github_knows(manifest: dict[str, Any]) -> None:
    assert set(manifest) == FIELDS
    assert manifest["public"] is False
    assert manifest["hook_attributes"]["active"] is True
    assert len(manifest["name"]) <= 34  # GitHub's limit for an app name


def test_events_are_exactly_those_the_bot_reads(manifest: dict[str, Any]) -> None:
    events = manifest["default_events"]
    assert len(events) == len(set(events))
    assert set(events) == github_events.EVENTS


def test_permissions_are_exactly_those_the_bot_uses(manifest: dict[str, Any]) -> None:
    assert manifest["default_permissions"] == PERMISSIONS
    # an App always gets the Checks API; commit statuses are only for token mode
    assert "statuses" not in manifest["default_permissions"]


def test_urls_point_at_routes_the_deployment_serves(manifest: dict[str, Any]) -> None:
    base = manifest["url"]
    hook = manifest["hook_attributes"]["url"]
    assert hook == f"{base}/webhooks/github"
    app = create_app(Settings(github_webhook_secret="x", github_token="t"), lambda job: True)
    routes = {rule.rule for rule in app.url_map.iter_rules()}
    assert "/webhooks/github" in routes
    # the ingress publishes the webhook and the setup page, under the same base URL
    paths = Chart(CHART_DIR).values["ingress"]["paths"]
    for url in (hook, manifest["redirect_url"]):
        path = url.removeprefix(base)
        assert any(path.startswith(prefix) for prefix in paths), url


def test_each_permission_and_event_is_justified_in_the_docs(manifest: dict[str, Any]) -> None:
    docs = DOCS.read_text()
    section = docs[docs.index("## Permissions and events") :]
    section = section[: section.index("\n## ", 1)]
    for name in [*manifest["default_permissions"], *manifest["default_events"]]:
        assert f"`{name}`" in section, f"docs/deploy.md does not justify {name}"
    assert "rollback-plan.example.com" in docs  # the placeholder is explained
