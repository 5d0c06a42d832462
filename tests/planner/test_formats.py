"""Every versioned format, end to end: a repository, a schema change, `git revert`, the plan.

Each case asserts the down statements, the verdict on the author's own down, the companion
files (re-added with identical content, a compensating migration in the tool's own naming),
and proves on SQLite that the companion change reaches the reverted-to schema. Dropping the
column loses data: under a policy that lets that be approved, the companion change carries
the plain down; under the default policy the plan is refused and it carries the way back that
keeps the data, proven to keep it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.model import Dialect
from bot.core.risk import Verdict
from bot.engines import ScratchServer
from bot.sources.atlas_sum import atlas_sum, verify_atlas_sum
from tests.planner.repo import (
    APPROVE_DATA_LOSS,
    Repo,
    apply_companion_on_data,
    apply_directory,
    assert_proven,
    only_source,
    restore_file,
    sqls,
    with_companion,
)

USERS = "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);\n"
POSTS = (
    "CREATE TABLE posts (\n  id integer PRIMARY KEY,\n"
    "  user_id integer NOT NULL REFERENCES users (id),\n  title text NOT NULL\n);\n"
)
ADD_EMAIL = (
    "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_name_idx ON users (name);\n"
)
RIGHT_DOWN = "DROP INDEX users_name_idx;\nALTER TABLE users DROP COLUMN email;\n"
# Forgets the index the up created on an existing column.
WRONG_DOWN = "ALTER TABLE users DROP COLUMN email;\n"

# (name, up, down) of migrations 1 and 2; migration 3 adds the column and the index.
BASE: list[tuple[str, str, str | None]] = [
    ("create_users", USERS, "DROP TABLE users;\n"),
    ("create_posts", POSTS, "DROP TABLE posts;\n"),
]

Files = dict[str, str]


@dataclass(frozen=True)
class Layout:
    """How one tool lays out migrations: directory, files for migration i, compensating names."""

    directory: str
    files: Callable[[int, str, str, str | None], Files]  # (i, name, up, down) -> files
    compensating: Callable[[str], set[str]]  # (rollback name) -> relative paths it adds
    has_down: bool = True
    extra: Callable[[list[tuple[str, str, str | None]]], Files] = lambda _m: {}


def _atlas_files(i: int, name: str, up: str, _down: str | None) -> Files:
    return {f"2026010100000{i}_{name}.sql": up}


def _goose(i: int, name: str, up: str, down: str | None) -> Files:
    return {f"0000{i}_{name}.sql": f"-- +goose Up\n{up}\n-- +goose Down\n{down}"}


def _dbmate(i: int, name: str, up: str, down: str | None) -> Files:
    return {f"2026010100000{i}_{name}.sql": f"-- migrate:up\n{up}\n-- migrate:down\n{down}"}


def _liquibase(i: int, name: str, up: str, down: str | None) -> Files:
    rollback = "".join(f"--rollback {line}\n" for line in (down or "").splitlines())
    return {
        f"00{i}_{name}.sql": f"--liquibase formatted sql\n\n--changeset ada:{i}\n{up}{rollback}"
    }


def _sqitch(_i: int, name: str, up: str, down: str | None) -> Files:
    return {
        f"deploy/{name}.sql": f"-- Deploy app:{name}\n{up}",
        f"revert/{name}.sql": f"-- Revert app:{name}\n{down}",
        f"verify/{name}.sql": f"-- Verify app:{name}\nSELECT 1;\n",
    }


def _sqitch_plan(migrations: list[tuple[str, str, str | None]]) -> Files:
    lines = [
        f"{name} 2026-01-0{i}T00:00:00Z Ada Example <ada@example.com> # {name}\n"
        for i, (name, _up, _down) in enumerate(migrations, 1)
    ]
    return {"sqitch.plan": "%syntax-version=1.0.0\n%project=app\n\n" + "".join(lines)}


LAYOUTS = {
    "atlas": Layout(
        "migrations",
        _atlas_files,
        lambda n: {f"20261103120000_{n}.sql", "atlas.sum"},
        has_down=False,
        extra=lambda ms: {
            "atlas.sum": atlas_sum(
                {k: v for i, m in enumerate(ms, 1) for k, v in _atlas_files(i, *m).items()}
            )
        },
    ),
    "golang-migrate": Layout(
        "db/migrations",
        lambda i, n, up, down: {f"00000{i}_{n}.up.sql": up, f"00000{i}_{n}.down.sql": down or ""},
        lambda n: {f"000004_{n}.up.sql", f"000004_{n}.down.sql"},
    ),
    "goose": Layout("db/goose", _goose, lambda n: {f"00004_{n}.sql"}),
    "dbmate": Layout("db/migrations", _dbmate, lambda n: {f"20261103120000_{n}.sql"}),
    "flyway": Layout(
        "src/main/resources/db/migration",
        lambda i, n, up, down: {f"V{i}__{n}.sql": up, f"U{i}__{n}.sql": down or ""},
        lambda n: {f"V4__{n}.sql", f"U4__{n}.sql"},
    ),
    "liquibase": Layout("db/changelog", _liquibase, lambda n: {f"004_{n}.sql"}),
    "sqitch": Layout(
        "db/sqitch",
        _sqitch,
        lambda n: {f"deploy/{n}.sql", f"revert/{n}.sql", f"verify/{n}.sql", "sqitch.plan"},
        extra=_sqitch_plan,
    ),
    "diesel": Layout(
        "migrations",
        lambda i, n, up, down: {
            f"2026-01-01-00000{i}_{n}/up.sql": up,
            f"2026-01-01-00000{i}_{n}/down.sql": down or "",
        },
        lambda n: {f"2026-11-03-120000_{n}/up.sql", f"2026-11-03-120000_{n}/down.sql"},
    ),
    "plain": Layout(
        "db/sql",
        lambda i, n, up, _down: {f"00{i}_{n}.sql": up},
        lambda n: {f"004_{n}.sql"},
        has_down=False,
    ),
}


def tree(layout: Layout, migrations: list[tuple[str, str, str | None]]) -> Files:
    files: Files = {}
    for i, (name, up, down) in enumerate(migrations, 1):
        files.update(layout.files(i, name, up, down))
    files.update(layout.extra(migrations))
    return {f"{layout.directory}/{k}": v for k, v in files.items()}


def build(tmp: Path, layout: Layout, down: str, *, policy: str | None = APPROVE_DATA_LOSS) -> Repo:
    """Migrations 1-2, then 3 (add column + index, with `down`), then `git revert HEAD`.
    `policy` is the repository's `.rollback-plan.yml` (None: none, the default policy)."""
    repo = Repo(tmp / "app")
    config: dict[str, str | bytes | None] = {".rollback-plan.yml": policy} if policy else {}
    repo.commit("Initial schema", {"README.md": "app\n", **config, **tree(layout, list(BASE))})
    third = [*BASE, ("add_email", ADD_EMAIL, down)]
    repo.commit("Add email to users", tree(layout, third))
    repo.revert("HEAD")
    return repo


CASES = [
    ("atlas", RIGHT_DOWN),
    ("golang-migrate", WRONG_DOWN),
    ("golang-migrate", RIGHT_DOWN),
    ("goose", RIGHT_DOWN),
    ("dbmate", WRONG_DOWN),
    ("flyway", RIGHT_DOWN),
    ("liquibase", WRONG_DOWN),
    ("sqitch", RIGHT_DOWN),
    ("diesel", WRONG_DOWN),
    ("plain", RIGHT_DOWN),
]


@pytest.mark.parametrize(
    ("fmt", "down"), CASES, ids=[f"{f}-{'right' if d == RIGHT_DOWN else 'wrong'}" for f, d in CASES]
)
def test_revert_of_a_migration_is_planned_and_proven(
    tmp_path: Path, sqlite_server: ScratchServer, fmt: str, down: str
) -> None:
    layout = LAYOUTS[fmt]
    repo = build(tmp_path, layout, down)
    revert = repo.head()
    plan = repo.plan(dialect=Dialect.SQLITE)

    assert plan.revert is not None and plan.revert.reverts == (repo.git("rev-parse", "HEAD~1"),)
    source = only_source(plan)
    assert (source.kind, source.path, source.dialect) == ("directory", layout.directory, "sqlite")
    assert source.problems == ()
    assert sqls(source) == ["DROP INDEX users_name_idx", "ALTER TABLE users DROP COLUMN email"]
    assert source.complete
    assert len(source.undone) == 1 and "add_email" in source.undone[0]
    # Data loss under a policy that lets a person approve it: the plain down is carried.
    assert source.verdict is Verdict.NEEDS_APPROVAL and plan.verdict is Verdict.NEEDS_APPROVAL
    assert restore_file(source) is None

    h = source.handwritten
    if not layout.has_down:
        assert (h.present, h.restores) == (False, None)
    elif down == RIGHT_DOWN:
        assert (h.present, h.restores, h.differences) == (True, True, ())
    else:
        assert (h.present, h.restores) == (True, False)
        assert h.differences == ("leaves index users_name_idx in place",)

    prefix = layout.directory + "/"
    by_path = {f.path: f.content for f in source.files}
    removed = set(repo.git("diff", "--name-only", "HEAD~1", "HEAD").splitlines())
    migration_files = removed - {prefix + "sqitch.plan", prefix + "atlas.sum"}
    readded = {p for p in migration_files if p in by_path}
    assert readded == migration_files
    for p in readded:
        assert by_path[p] == repo.show("HEAD~1", p), p
    added = {p[len(prefix) :] for p in by_path} - {p[len(prefix) :] for p in removed}
    assert added >= layout.compensating(f"rollback_{revert[:7]}") - {"sqitch.plan", "atlas.sum"}
    assert set(by_path) - removed == {prefix + p for p in added}

    after = with_companion(repo.tree("HEAD", layout.directory), source, layout.directory)
    if fmt == "atlas":
        assert verify_atlas_sum(after)
    if fmt == "sqitch":
        plan_lines = [
            ln.split()[0] for ln in after["sqitch.plan"].splitlines() if ln and ln[0] not in "%#"
        ]
        assert plan_lines == ["create_users", "create_posts", "add_email", f"rollback_{revert[:7]}"]
    assert_proven(sqlite_server, repo, source, layout.directory, "sqlite")


@pytest.mark.parametrize("fmt", ["golang-migrate", "atlas"])
def test_companion_change_is_proven_on_postgres(
    tmp_path: Path, postgres_server: ScratchServer, fmt: str
) -> None:
    layout = LAYOUTS[fmt]
    repo = build(tmp_path, layout, WRONG_DOWN)
    source = only_source(repo.plan(dialect=Dialect.POSTGRES))
    assert source.dialect == "postgres" and source.complete
    assert source.verdict is Verdict.NEEDS_APPROVAL
    assert sqls(source) == ["DROP INDEX users_name_idx", "ALTER TABLE users DROP COLUMN email"]
    assert_proven(postgres_server, repo, source, layout.directory, "postgres")


# What the deployed app wrote since the column was added: it must survive the rollback.
ROWS = (
    "INSERT INTO users (id, name, email) VALUES (1, 'ada', 'ada@example.com');\n"
    "INSERT INTO users (id, name, email) VALUES (2, 'bob', NULL);\n"
    "INSERT INTO users (id, name, email) VALUES (3, 'cy', 'cy@example.com');\n"
)
EMAILS = [(1, "ada@example.com"), (2, None), (3, "cy@example.com")]
# How each tool's file says "this is the down" (a down of the compensating migration).
DOWN_MARKERS = ("+goose Down", "migrate:down", "--rollback")


@pytest.mark.parametrize("fmt", list(LAYOUTS))
def test_refused_revert_keeps_the_data(
    tmp_path: Path, sqlite_server: ScratchServer, fmt: str
) -> None:
    layout = LAYOUTS[fmt]
    repo = build(tmp_path, layout, RIGHT_DOWN, policy=None)
    plan = repo.plan(dialect=Dialect.SQLITE)
    source = only_source(plan)
    assert source.verdict is Verdict.REFUSED and plan.verdict is Verdict.REFUSED
    # The plan still shows the plain down; the companion change carries the variant.
    assert sqls(source) == ["DROP INDEX users_name_idx", "ALTER TABLE users DROP COLUMN email"]
    variant = source.safe_variant
    assert variant is not None
    assert [a.strategy.value for a in variant.chosen] == ["keep"]
    assert variant.statements == ("DROP INDEX users_name_idx",) and variant.restore == ()
    assert restore_file(source) is None  # keep moves no data: nothing to restore

    prefix = layout.directory + "/"
    removed = set(repo.git("diff", "--name-only", "HEAD~1", "HEAD").splitlines())
    added = [f for f in source.files if f.path not in removed]
    compensating = [
        f for f in added if f.reason.startswith("compensating") and "/verify/" not in f.path
    ]
    assert len(compensating) == 1, [f.path for f in added]
    body = compensating[0].content
    assert "DROP INDEX users_name_idx;" in body and "DROP COLUMN" not in body
    # Its down would re-apply the change, but the kept column is still there: none ships.
    names = {f.path[len(prefix) :] for f in added}
    assert not any(n.endswith(("down.sql", ".down.sql")) or n.startswith("U") for n in names)
    assert not any(n.startswith("revert/") for n in names)
    assert not any(marker in body for marker in DOWN_MARKERS)

    db = sqlite_server.new_database()
    try:
        ran = apply_companion_on_data(db, repo, source, layout.directory, "sqlite", ROWS)
        assert ran == [compensating[0].path[len(prefix) :]]  # the re-added one is applied
        assert db.query("SELECT id, email FROM users ORDER BY id") == EMAILS
        kept = db.catalog()
    finally:
        db.close()
    # The schema is the reverted-to one plus the kept column (its index is gone).
    expected = apply_directory(sqlite_server, repo.tree("HEAD", layout.directory), "sqlite")
    assert kept.diff(expected) == ["table users: extra column email"]


@pytest.mark.parametrize("fmt", list(LAYOUTS))
def test_nothing_to_run_gives_git_the_deployed_directory_back(tmp_path: Path, fmt: str) -> None:
    """The reverted migration only added a column: the data-keeping variant runs nothing, the
    migration stays applied, so git must list it again exactly as deployed (atlas.sum and
    sqitch.plan included) and add no compensating migration."""
    layout = LAYOUTS[fmt]
    add = (
        "add_email",
        "ALTER TABLE users ADD COLUMN email text;\n",
        "ALTER TABLE users DROP COLUMN email;\n",
    )
    repo = Repo(tmp_path / "app")
    repo.commit("Initial schema", {"README.md": "app\n", **tree(layout, list(BASE))})
    repo.commit("Add email to users", tree(layout, [*BASE, add]))
    repo.revert("HEAD")
    source = only_source(repo.plan(dialect=Dialect.SQLITE))
    assert source.verdict is Verdict.REFUSED
    assert source.safe_variant is not None and source.safe_variant.statements == ()
    deployed = repo.tree("HEAD~1", layout.directory)
    assert with_companion(repo.tree("HEAD", layout.directory), source, layout.directory) == deployed
    assert not any(f.reason.startswith("compensating") for f in source.files)
