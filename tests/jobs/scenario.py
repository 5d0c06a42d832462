"""A real repository served over file://, the fake forge on top of it, and the worker."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.approvals import ApprovalPolicy
from bot.events import ForgeKind, Job, JobKind
from bot.executor import CHECK_NAME, COMMENT_MARKER
from bot.forges import Check, Comment, Permission, PullRequest
from bot.jobs.handlers import Worker, Workflow
from bot.jobs.repo_cache import Remote, RepoCache
from tests.jobs.fake_forge import BOT, FakeForge
from tests.planner.repo import APPROVE_DATA_LOSS, Repo

REPO = "acme/app"
M = "db/migrations"
CONFIG = f"version: 1\nsources:\n  - path: {M}\n    format: golang-migrate\n    dialect: sqlite\n"
USERS = {
    f"{M}/000001_users.up.sql": "CREATE TABLE users (id integer PRIMARY KEY, name text);\n",
    f"{M}/000001_users.down.sql": "DROP TABLE users;\n",
}
EMAIL = {
    f"{M}/000002_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n",
    f"{M}/000002_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
}
INDEX = {
    f"{M}/000002_idx.up.sql": "CREATE INDEX users_name ON users (name);\n",
    f"{M}/000002_idx.down.sql": "DROP INDEX users_name;\n",
}
NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
_deliveries = itertools.count(1)


@dataclass
class World:
    repo: Repo
    forge: FakeForge
    worker: Worker
    cache: RepoCache

    def job(self, kind: JobKind, **values: object) -> Job:
        delivery = str(values.pop("delivery", f"d-{next(_deliveries)}"))
        return Job(kind, ForgeKind.GITHUB, REPO, delivery, **values)  # type: ignore[arg-type]

    def pr_job(self, number: int, **values: object) -> Job:
        return self.job(JobKind.PULL_REQUEST, number=number, **values)

    def command(self, number: int, text: str, author: str) -> Job:
        c = self.forge.add_comment(number, text, author)
        return self.job(
            JobKind.COMMAND, number=number, comment_id=c.id, command=text, author=author
        )

    def plan_comment(self, number: int) -> Comment:
        found = self.forge.find_comment(REPO, number, COMMENT_MARKER)
        assert found is not None, self.forge.comments.get(number)
        return found

    def check(self, sha: str) -> Check:
        found = self.forge.get_check(REPO, sha, CHECK_NAME)
        assert found is not None, self.forge.checks
        return found

    def companions(self) -> list[PullRequest]:
        return [p for p in self.forge.pulls.values() if p.author == BOT]

    def replies(self, number: int) -> list[Comment]:
        return [c for c in self.forge.bot_comments(number) if "rollback-plan:reply" in c.body]


def make_world(
    tmp: Path,
    *,
    approve_data_loss: bool = False,
    policy: ApprovalPolicy | None = None,
    comment_limit: int | None = None,
) -> World:
    repo = Repo(tmp / "origin")
    config = CONFIG + (APPROVE_DATA_LOSS if approve_data_loss else "")
    repo.commit("Users", {".rollback-plan.yml": config, **USERS})
    forge = FakeForge(
        REPO,
        repo.path / ".git",
        permissions={
            "alice": Permission.WRITE,
            "wendy": Permission.WRITE,
            "ruth": Permission.READ,
            "tom": Permission.READ,
        },
        teams={"acme/dba": frozenset({"tom"})},
    )
    cache = RepoCache(tmp / "cache", lambda job: Remote(f"file://{repo.path}"), depth=2)
    limits = {ForgeKind.GITHUB: comment_limit} if comment_limit else None
    settings = Workflow(approval_policy=policy or ApprovalPolicy())
    if limits:
        settings = Workflow(approval_policy=settings.approval_policy, comment_limits=limits)
    worker = Worker(settings, lambda job: forge, cache, lambda: NOW)
    return World(repo, forge, worker, cache)


def revert_pr(world: World, files: dict[str, str] | None = None, *, fork: bool = False) -> int:
    """`Add email` merged on main, then a revert PR for it (as GitHub's Revert button makes)."""
    r = world.repo
    r.commit("Add email (#2)", files or EMAIL)
    r.git("checkout", "-q", "-b", "revert-2-add-email")
    r.revert("HEAD")
    r.git("checkout", "-q", "main")
    pr = world.forge.add_pull_request(
        title='Revert "Add email (#2)"',
        body="Reverts acme/app#2",
        head_branch="revert-2-add-email",
        author="alice",
        is_fork=fork,
    )
    return pr.number
