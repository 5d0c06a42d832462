"""A migration Job whose image tag the revert changes: the migrations are read at the git refs
the configured tag rules map the tags to."""

from __future__ import annotations

from pathlib import Path

import git

from bot.core.plan import Plan
from bot.planner import plan_commit
from tests.planner.repo import NOW, Repo, sqls

JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: shop-migrate
  annotations:
    argocd.argoproj.io/hook: PreSync
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: ghcr.io/acme/shop-migrations:{tag}
          command: ["migrate", "-path", "/migrations", "-database", "postgres://db:5432/shop", "up"]
"""

CONFIG = """\
version: 1
sources:
  - path: db/migrations
    format: golang-migrate
    dialect: postgres
tags:
  - image: ghcr.io/acme/shop-migrations
    pattern: "v{version}"
    ref: "v{version}"
"""


def _repo(tmp_path: Path, config: str = CONFIG) -> Repo:
    repo = Repo(tmp_path / "app")
    repo.write(
        {
            ".rollback-plan.yml": config,
            "db/migrations/1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
            "deploy/job.yaml": JOB.format(tag="v1.0.0"),
        }
    )
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "v1")
    repo.git("tag", "v1.0.0")
    repo.write({"db/migrations/2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n"})
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "Add email")
    repo.git("tag", "v1.1.0")
    repo.write({"deploy/job.yaml": JOB.format(tag="v1.1.0")})
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "Deploy v1.1.0")
    repo.git("revert", "--no-edit", "HEAD")
    return repo


def _plan(repo: Repo) -> Plan:
    return plan_commit(git.Repo(repo.path), "HEAD", now=NOW)


def test_reverting_an_image_tag_plans_the_migrations_between_the_tags(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path))
    jobs = [s for s in plan.sources if s.manifest == "deploy/job.yaml"]
    assert len(jobs) == 1, [s.path for s in plan.sources]
    source = jobs[0]
    assert source.down is not None
    assert sqls(source) == ["ALTER TABLE users DROP COLUMN email"]
    assert source.files == ()  # the migrations ship in the image, not in this repository
    assert any("image tag v1.1.0 -> v1.0.0" in n for n in source.notes), source.notes


def test_without_a_tag_rule_it_says_so(tmp_path: Path) -> None:
    plan = _plan(_repo(tmp_path, CONFIG.split("tags:")[0]))
    (source,) = [s for s in plan.sources if s.path == "deploy/job.yaml"]
    assert source.down is None
    assert any(
        "no `tags:` rule" in p and "ghcr.io/acme/shop-migrations:v1.1.0" in p
        for p in source.problems
    )
