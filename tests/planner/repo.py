"""Real git repositories for planner tests, and the engine proof of a plan's companion files."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import git

from bot.core.model import Dialect
from bot.core.plan import CompanionFile, Plan, SourcePlan
from bot.core.split import split_statements
from bot.engines import Catalog, ScratchDatabase, ScratchServer
from bot.planner import plan_commit, plan_refs
from bot.sources.formats import detect_format, parse_migrations
from bot.sources.model import VersionedMigration

NOW = datetime(2026, 11, 3, 12, 0, 0, tzinfo=UTC)

# A repository policy under which losing data needs approval instead of being refused: the
# companion change then carries the plain down, so it must reach the reverted-to schema exactly.
APPROVE_DATA_LOSS = "policy:\n  data_loss: needs-approval\n"
RESTORE_DIR = ".rollback-plan/restore/"

ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ada Example",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Example",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2026-11-02T10:00:00Z",
    "GIT_COMMITTER_DATE": "2026-11-02T10:00:00Z",
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": os.devnull,
}


class Repo:
    """A scratch repository driven through the git CLI, as a user would."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        out = subprocess.run(
            ["git", *args], cwd=self.path, env=ENV, check=True, capture_output=True, text=True
        )
        return out.stdout.strip()

    def write(self, files: Mapping[str, str | bytes | None]) -> None:
        """Write (or, for None, delete) files relative to the repository."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)

    def commit(self, message: str, files: Mapping[str, str | bytes | None] | None = None) -> str:
        if files:
            self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def show(self, ref: str, path: str) -> str:
        return self.git("show", f"{ref}:{path}") + "\n"

    def revert(self, *args: str) -> str:
        self.git("revert", "--no-edit", *args)
        return self.head()

    def plan(self, commit: str = "HEAD", dialect: Dialect | None = None) -> Plan:
        return plan_commit(git.Repo(self.path), commit, dialect=dialect, now=NOW)

    def plan_refs(self, a: str, b: str, dialect: Dialect | None = None) -> Plan:
        return plan_refs(git.Repo(self.path), a, b, dialect=dialect, now=NOW)

    def tree(self, ref: str, directory: str) -> dict[str, str]:
        """The files below `directory` at `ref`, relative to it."""
        names = self.git("ls-tree", "-r", "--name-only", ref, "--", directory).splitlines()
        prefix = f"{directory}/" if directory not in {"", "."} else ""
        return {n[len(prefix) :]: self.show(ref, n) for n in names}


def only_source(plan: Plan, kind: str | None = None) -> SourcePlan:
    found = [s for s in plan.sources if kind is None or s.kind == kind]
    assert len(found) == 1, [(s.kind, s.path, s.problems) for s in plan.sources]
    return found[0]


def sqls(source: SourcePlan) -> list[str]:
    """The down's schema statements, after the session timeouts it starts with."""
    assert source.down is not None, source.problems
    statements = source.down.statements
    if source.dialect in ("postgres", "mysql") and statements:
        assert statements[0].change == "session", "the down sets no lock timeout first"
    return [s.sql for s in statements if s.change != "session"]


def with_companion(files: Mapping[str, str], source: SourcePlan, directory: str) -> dict[str, str]:
    """The directory's files once the companion change is applied on top of them (restore
    scripts live outside the directory and are left out)."""
    prefix = f"{directory}/"
    out = dict(files)
    for f in source.files:
        if f.path.startswith(RESTORE_DIR):
            continue
        assert f.path.startswith(prefix), f"{f.path} is outside {directory}"
        out[f.path[len(prefix) :]] = f.content
    return out


def migrations_of(files: Mapping[str, str]) -> list[VersionedMigration]:
    """A directory's migrations in the tool's order."""
    fmt = detect_format(files)
    assert fmt is not None, sorted(files)
    migrations, problems = parse_migrations(fmt, files)
    assert not problems, problems
    return list(migrations)


def run_sql(db: ScratchDatabase, sql: str, dialect: str) -> None:
    db.execute([st.text for st in split_statements(sql, dialect)])


def apply_directory(server: ScratchServer, files: Mapping[str, str], dialect: str) -> Catalog:
    """Apply every migration of a directory, in the tool's order, on a fresh database."""
    db = server.new_database()
    try:
        for m in migrations_of(files):
            run_sql(db, m.up, dialect)
        return db.catalog()
    finally:
        db.close()


def apply_companion_on_data(
    db: ScratchDatabase,
    repo: Repo,
    source: SourcePlan,
    directory: str,
    dialect: str,
    rows: str,
    *,
    deployed: str = "HEAD~1",
    target: str = "HEAD",
) -> list[str]:
    """On `db`: the deployed migrations, then `rows` (the data written since), then what the
    companion change adds on top of the deployed state. Returns the up paths it ran last."""
    deployed_files = repo.tree(deployed, directory)
    applied = migrations_of(deployed_files)
    for m in applied:
        run_sql(db, m.up, dialect)
    run_sql(db, rows, dialect)
    done = {(m.up_path, m.version) for m in applied}
    after = with_companion(repo.tree(target, directory), source, directory)
    new = [m for m in migrations_of(after) if (m.up_path, m.version) not in done]
    for m in new:
        run_sql(db, m.up, dialect)
    return [m.up_path for m in new]


def restore_file(source: SourcePlan) -> CompanionFile | None:
    """The companion change's restore script, if it carries one."""
    found = [f for f in source.files if f.path.startswith(RESTORE_DIR)]
    assert len(found) <= 1, [f.path for f in found]
    return found[0] if found else None


def assert_proven(
    server: ScratchServer,
    repo: Repo,
    source: SourcePlan,
    directory: str,
    dialect: str,
    *,
    deployed: str = "HEAD~1",
    target: str = "HEAD",
) -> None:
    """Applying the target's migrations plus the companion files reaches the target's schema,
    and the companion change does change something (the deployed schema differs)."""
    at_target = repo.tree(target, directory)
    companion = apply_directory(server, with_companion(at_target, source, directory), dialect)
    expected = apply_directory(server, at_target, dialect)
    assert companion.diff(expected) == []
    assert apply_directory(server, repo.tree(deployed, directory), dialect).diff(expected) != []
