"""Django sources in a plan: their SQL from `sqlmigrate` when running the repository's code is
allowed (or why there is none), and the companion change as a Django migration."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

import git

from bot.core.model import Dialect
from bot.core.plan import CompanionFile
from bot.core.split import SplitError, split_statements
from bot.planner.django_runner import GeneratedMigration, python_for, run_sqlmigrate
from bot.sources.django import (
    MANAGE,
    migration_graph,
    next_name,
    render_django_migration,
    settings_module,
    snapshot_text,
)
from bot.sources.git import GitSnapshot
from bot.sources.model import SchemaSource, VersionedMigration

ENABLE = (
    "`rollback-plan plan --run-repo-code`, `rollback-plan ci` (on unless --no-run-repo-code), "
    "or for the bot ROLLBACK_PLAN_RUN_REPO_CODE=true (its operator's choice)"
)
_NOT_SQL = "MIGRATION NOW PERFORMS OPERATION THAT CANNOT BE WRITTEN AS SQL"


def django_sql(
    repo: git.Repo,
    newer: SchemaSource | None,
    older: SchemaSource | None,
    shas: tuple[str, str],
    *,
    run_code: bool,
    python: str | None,
    timeout: float,
    env: Mapping[str, str],
) -> tuple[SchemaSource | None, SchemaSource | None, bool]:
    """Both sides with the SQL Django gives their migrations, and True; or the sides with
    the reason there is none among their problems, and False."""
    src = newer or older
    assert src is not None
    if not run_code:
        n = len(src.migrations)
        problem = (
            f"{src.path}: Django project with {n} migration(s): their SQL comes from "
            "`manage.py sqlmigrate`, which runs the repository's code, and this run does not "
            f"run repository code, so it is not planned. To plan it: {ENABLE}"
        )
        return _problem(newer, problem), _problem(older, problem), False
    if src.dialect is None:
        return newer, older, False  # the plan says the database is unknown
    code = {(m.up_path, m.code) for m in (older.migrations if older else ())}
    undone = [
        m.up_path for m in (newer.migrations if newer else ()) if (m.up_path, m.code) not in code
    ]
    out: list[SchemaSource | None] = []
    for side, sha, backwards in ((newer, shas[0], undone), (older, shas[1], [])):
        if side is None:
            out.append(None)
            continue
        root = "" if side.path == "." else side.path
        manage = f"{root}/{MANAGE}" if root else MANAGE
        module = settings_module(snapshot_text(GitSnapshot(repo, sha), [manage]).get(manage, ""))
        result = run_sqlmigrate(
            repo,
            sha,
            root,
            side.dialect or src.dialect,
            settings=module,
            backwards=backwards,
            python=python_for(python),
            timeout=timeout,
            env=env,
        )
        if result.error is not None:
            problem = f"{result.error}; the Django migrations could not be planned"
            return _problem(newer, problem), _problem(older, problem), False
        out.append(_filled(side, result.migrations, set(backwards)))
    return out[0], out[1], True


def _problem(source: SchemaSource | None, problem: str) -> SchemaSource | None:
    if source is None:
        return None
    return replace(source, problems=(*source.problems, problem))


def _filled(
    source: SchemaSource, generated: Sequence[GeneratedMigration], undone: set[str]
) -> SchemaSource:
    """The source's migrations as Django runs them: every app's, the repository's and the
    installed packages', in Django's order."""
    code = {m.up_path: m.code for m in source.migrations}
    migrations = []
    notes = list(source.notes)
    for g in generated:
        path = g.path or f"{g.module.replace('.', '/')}.py (installed)"
        migrations.append(
            VersionedMigration(
                f"{g.app}.{g.name}",
                g.name,
                path,
                g.sql,
                g.backwards,
                path if g.backwards is not None else None,
                code=code.get(path),
            )
        )
        if path in undone and _NOT_SQL in g.sql:
            notes.append(
                f"{path}: runs Python code (RunPython) or other operations with no SQL; what "
                "they do to data is not in this plan"
            )
        if path in undone and g.irreversible:
            notes.append(f"{path}: Django has no reverse SQL for it ({g.irreversible})")
    return replace(source, migrations=tuple(migrations), notes=tuple(notes))


def django_companion(
    older: SchemaSource,
    undone: Sequence[VersionedMigration],
    script: str,
    snapshot: GitSnapshot,
    target: str,
    problems: list[str],
    variant: bool,
    wrong_downs: bool,
) -> tuple[CompanionFile, ...]:
    """The undone migration modules back as deployed, and a new migration in the app of the
    newest one running the down with `migrations.RunSQL`, after every migration it undoes."""
    paths = [m.up_path for m in undone if m.code is not None]
    read = snapshot_text(snapshot, paths)
    why = (
        "re-added: the database has this migration applied; Django's reverse SQL for it does "
        "not restore the previous schema (see the plan): do not migrate backwards through it"
        if wrong_downs
        else "re-added: the database has this migration applied"
    )
    out = [CompanionFile(p, read[p], why) for p in paths if p in read]
    if not script.strip():
        return tuple(out)
    if not paths:
        problems.append(f"{older.path}: the undone migrations are not the repository's own")
        return tuple(out)
    deployed = replace(older, migrations=(*older.migrations, *undone))
    graph = migration_graph(deployed)
    last = next(m for m in reversed(graph) if m.path in paths)
    app_names = [
        m.name for m in graph if m.app == last.app and m.path.startswith(_folder(last.path))
    ]
    depended = {d for m in graph for d in m.dependencies}
    # the app's leaves (Django refuses two), and each undone migration of another app
    deps = [m.key for m in graph if m.app == last.app and m.key not in depended]
    deps += [m.key for m in graph if m.path in paths and m.app != last.app and m.key not in deps]
    name = next_name(app_names, f"rollback_{target[:7]}")
    undoes = ", ".join(f"{m.app}.{m.name}" for m in graph if m.path in paths)
    statements = [_local(s, older.dialect) for s in _statements(script, older.dialect)]
    reapply = None if variant else [s for m in undone for s in _statements(m.up, older.dialect)]
    note = (
        f"Generated by rollback-plan: takes the database back to the schema of {target[:12]} "
        f"(undoes {undoes}).\n"
        "Django's migration state still has the undone migrations' model changes, while the "
        "reverted models do not: before merging, run `manage.py makemigrations --check`; if it "
        "proposes operations, add them here as `state_operations=[...]` of this RunSQL so the "
        "state matches the models without changing the database again."
    )
    folder = _folder(last.path)
    if not any(m.up_path.startswith(folder) for m in older.migrations):
        problems.append(
            f"{older.path}: the revert removes every migration of the app {last.app}: Django runs "
            "only the migrations of installed apps, so the companion files do not run as they "
            f"are. Keep {last.app} installed (its package and its INSTALLED_APPS entry) until "
            "the compensating migration has run, or run the down by hand"
        )
    text = render_django_migration(deps, statements, reapply, note)
    out.append(
        CompanionFile(
            f"{_folder(last.path)}{name}.py",
            text,
            "compensating migration: takes the database back (check its state_operations)",
        )
    )
    return tuple(out)


def _folder(path: str) -> str:
    return path.rsplit("/", 1)[0] + "/"


def _local(statement: str, dialect: Dialect | None) -> str:
    """PostgreSQL timeouts for this migration only: Django runs it in a transaction, and a
    plain SET would stay on the connection for every later migration of the same `migrate`."""
    if dialect is Dialect.POSTGRES:
        return _SET_TIMEOUT.sub(r"SET LOCAL \1", statement)
    return statement


_SET_TIMEOUT = re.compile(r"(?i)^SET\s+(lock_timeout|statement_timeout)\b")


def _statements(script: str, dialect: Dialect | None) -> list[str]:
    """Each statement of a script on its own, for RunSQL's list form."""
    try:
        return [st.text for st in split_statements(script, (dialect or Dialect.POSTGRES).value)]
    except SplitError:
        return [script.strip()]
