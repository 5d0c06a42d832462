"""The composition root: settings in, a running bot out. Nothing else builds clients.

`build(settings)` wires the web app, the durable queue and the worker, and starts nothing:
`rollback-plan serve` starts worker threads next to the web server, `rollback-plan worker`
runs worker threads only, and `bot.wsgi` exposes the web app to gunicorn (it enqueues).
The queue is the SQLite file at `queue_path`, or Redis when `redis_url` is set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast
from urllib.parse import urlsplit

from flask import Flask

from bot.approvals import ApprovalPolicy
from bot.events import ForgeKind, Job
from bot.forges import Forge, ForgeError
from bot.jobs.handlers import Worker, Workflow
from bot.jobs.queue import DurableQueue, Tuning, open_store
from bot.jobs.repo_cache import Remote, RepoCache
from bot.observability import InstrumentedForge, Metrics
from bot.planner import PlanOptions
from bot.settings import Settings
from bot.web import create_app

log = logging.getLogger("rollback_plan")


@dataclass
class Bot:
    settings: Settings
    worker: Worker
    queue: DurableQueue
    web: Flask

    def close(self, timeout: float = 30.0) -> None:
        """Let running jobs finish (up to `timeout`), then let go of the queue."""
        self.queue.close(timeout)
        self.queue.store.close()


def forge_for(
    settings: Settings,
    options: dict[str, object] | None = None,
    metrics: Metrics | None = None,
) -> Callable[[Job], Forge]:
    """A new forge client per job: a GitHub App gets a fresh installation token each time.
    With `metrics`, every call and every retry wait is counted."""

    def make(job: Job) -> Forge:
        forge = _client(job)
        if metrics is None:
            return forge
        return cast(Forge, InstrumentedForge(forge, job.forge.value, metrics))

    def _client(job: Job) -> Forge:
        extra = dict(options or {})
        if metrics is not None:
            base = extra.get("sleep")
            extra["sleep"] = metrics.waiting_sleep(
                job.forge.value, base if callable(base) else time.sleep
            )
        if job.forge is ForgeKind.GITHUB:
            from bot.forges.github import GitHubCredentials

            creds = GitHubCredentials(
                settings.github_api_url,
                settings.github_token or "",
                str(settings.github_app_id or ""),
                settings.github_private_key or "",
            )
            return creds.forge(job.installation_id, **extra)
        from bot.forges.gitlab import GitLabForge

        if not settings.gitlab_token:
            raise ForgeError("GitLab is not configured: ROLLBACK_PLAN_GITLAB_TOKEN is missing")
        return GitLabForge(url=settings.gitlab_url, token=settings.gitlab_token, **extra)  # type: ignore[arg-type]

    return make


def remote_for(settings: Settings, forges: Callable[[Job], Forge]) -> Callable[[Job], Remote]:
    """Where the worker fetches a repository from, with which token."""

    def remote(job: Job) -> Remote:
        if settings.git_url_template:
            url = settings.git_url_template.replace("{repo}", job.repo)
            return Remote(url, _token(settings, job, forges) if url.startswith("http") else None)
        if job.forge is ForgeKind.GITLAB:
            return Remote(f"{settings.gitlab_url}/{job.repo}.git", settings.gitlab_token, "oauth2")
        return Remote(
            f"{_github_web(settings.github_api_url)}/{job.repo}.git", _token(settings, job, forges)
        )

    return remote


def _token(settings: Settings, job: Job, forges: Callable[[Job], Forge]) -> str | None:
    if job.forge is ForgeKind.GITLAB:
        return settings.gitlab_token
    forge = forges(job)
    access = getattr(forge, "access_token", None)
    return str(access()) if callable(access) else settings.github_token


def _github_web(api_url: str) -> str:
    """github.com for api.github.com; a GitHub Enterprise Server's host for <host>/api/v3."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    return f"{parts.scheme}://{parts.netloc}"


def _app_manifest() -> dict[str, object] | None:
    """app.yml for the GitHub App setup page; without it the page is off (said once)."""
    from bot.web.setup import ManifestError, manifest_text, parse_manifest

    try:
        return parse_manifest(manifest_text())
    except ManifestError as err:
        log.warning("GitHub App setup page off: %s", err)
        return None


def build(
    settings: Settings,
    *,
    workers: int = 0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    forge_options: dict[str, object] | None = None,
    tuning: Tuning | None = None,
    multiprocess_metrics: bool = False,
) -> Bot:
    """The bot, with `workers` worker threads started (0: enqueue only, as the web does).

    Raises QueueUnavailable when the SQLite queue file cannot be opened or created (Redis is
    not contacted here: an outage at start is the same as one later, answered with 503)."""
    metrics = Metrics(multiprocess=multiprocess_metrics)
    forges = forge_for(settings, forge_options, metrics)
    cache = RepoCache(Path(settings.cache_dir), remote_for(settings, forges))
    policy = ApprovalPolicy(
        minimum=settings.approval_min_permission,
        teams=settings.approval_teams,
        author_may_approve_data_loss=settings.author_may_approve_data_loss,
    )
    options = PlanOptions(run_repo_code=settings.run_repo_code, python=settings.python)
    worker = Worker(Workflow(approval_policy=policy, plan_options=options), forges, cache, now)
    worker.on_plan = metrics.plan
    store = open_store(settings.queue_path, settings.redis_url)
    queue = DurableQueue(
        store,
        worker.handle,
        on_give_up=worker.give_up,
        tuning=tuning or Tuning(),
        observe=lambda job, outcome, seconds: metrics.job(job.kind.value, outcome, seconds),
    )
    metrics.queue_depth_from(queue.waiting)
    web = create_app(
        settings,
        queue.enqueue,
        metrics=metrics,
        queue_problem=queue.problem,
        app_manifest=_app_manifest(),
    )
    queue.start(workers)
    log.info("job queue: %s", store.name)
    return Bot(settings, worker, queue, web)
