"""Run by the repository's own Python, in a checkout of one commit: the SQL Django runs for
every migration of the project (forwards, and backwards for the ones asked), as `sqlmigrate`
prints it. Each migration is applied to the scratch database it is handed, as `migrate` does:
operations that read the catalog (AlterUniqueTogether, AlterField) need the tables there.
Imports nothing of rollback-plan.

Usage: python django_sqlmigrate.py <args.json>; the answer is written to args["out"].
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

# mypy: disable-error-code="import-untyped"

_NOT_SQL = "MIGRATION NOW PERFORMS OPERATION THAT CANNOT BE WRITTEN AS SQL"


def _short(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:500]}" if text else type(err).__name__


def _collect(args: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, os.getcwd())  # as `python manage.py` has it
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    try:
        import django
    except ImportError as err:
        return {"error": f"Django is not installed for {sys.executable} ({_short(err)})"}
    _deterministic()
    try:
        from django.conf import settings

        configured = dict(settings.DATABASES or {})  # imports the project's settings module
    except BaseException as err:
        return {"error": f"the settings module {module or '(unset)'} failed to load: {_short(err)}"}
    # Every alias goes to the scratch database: no configured database is ever connected.
    settings.DATABASES = {alias: dict(args["database"]) for alias in {"default", *configured}}
    try:
        django.setup()
        from django.db import connections
        from django.db.migrations.exceptions import IrreversibleError
        from django.db.migrations.loader import MigrationLoader
        from django.db.migrations.state import ProjectState

        connection = connections["default"]
        loader = MigrationLoader(connection, ignore_no_migrations=True)
        graph = loader.graph
        plan: list[tuple[str, str]] = []
        seen: set[tuple[str, str]] = set()
        for leaf in sorted(graph.leaf_nodes()):
            for node in graph.forwards_plan(leaf):
                if node not in seen:
                    seen.add(node)
                    plan.append(node)
    except BaseException as err:
        return {"error": f"Django could not load the migrations: {_short(err)}"}
    root = os.path.realpath(args["root"])
    backwards = set(args["backwards"])
    state = ProjectState(real_apps=loader.unmigrated_apps)
    out = []
    undo: list[tuple[Any, Any, dict[str, Any]]] = []  # (migration, state before it, item)
    for key in plan:
        migration = graph.nodes[key]
        mod = sys.modules.get(type(migration).__module__)
        file = os.path.realpath(getattr(mod, "__file__", "") or "")
        rel = os.path.relpath(file, root) if file.startswith(root + os.sep) else None
        before = state.clone() if rel in backwards else None
        try:
            with connection.schema_editor(atomic=migration.atomic) as editor:
                sql = _recording(editor)
                state = migration.apply(state, editor)
        except BaseException as err:
            return {"error": f"migrating {key[0]} {key[1]} failed: {_short(err)}"}
        if any(not getattr(op, "reduces_to_sql", True) for op in migration.operations):
            sql.append(f"-- {_NOT_SQL}")
        item: dict[str, Any] = {
            "app": key[0],
            "name": key[1],
            "path": rel,
            "module": type(migration).__module__,
            "sql": "\n".join(sql) + ("\n" if sql else ""),
            "atomic": bool(migration.atomic),
        }
        out.append(item)
        if before is not None:
            undo.append((migration, before, item))
    # Django's reverse SQL of the migrations being undone, newest first, as `migrate` runs it
    for migration, before, item in reversed(undo):
        try:
            with connection.schema_editor(atomic=migration.atomic) as editor:
                sql = _recording(editor)
                migration.unapply(before, editor)
            item["backwards"] = "\n".join(sql) + ("\n" if sql else "")
        except IrreversibleError as err:
            item["irreversible"] = _short(err)
            break
        except BaseException as err:
            item["irreversible"] = f"migrating backwards failed: {_short(err)}"
            break
    return {"migrations": out}


def _deterministic() -> None:
    """The same SQL at every run: a one-off default (`timezone.now`, `uuid.uuid4`) is written
    into the SQL that fills existing rows, and would differ between the two commits' runs.
    Patched before any migration module is imported, so their `default=` see these."""
    import datetime
    import itertools
    import uuid

    from django.utils import timezone

    # datetime.UTC is 3.11+: the project's Python may be older
    fixed = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)  # noqa: UP017
    counter = itertools.count(1)
    timezone.now = lambda: fixed
    uuid.uuid4 = lambda: uuid.UUID(int=next(counter))


def _recording(editor: Any) -> list[str]:
    """Run every statement on the scratch database (operations that read the catalog need
    it there) and keep its text as sqlmigrate prints it."""
    sql: list[str] = []
    run = editor.execute

    def execute(statement: Any, params: Any = ()) -> None:
        text = str(statement)
        if params:
            text = text % tuple(map(editor.quote_value, params))
        sql.append(text if text.rstrip().endswith(";") else text + ";")
        run(statement, params)

    editor.execute = execute
    return sql


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as f:
        args = json.load(f)
    try:
        answer = _collect(args)
    except BaseException as err:
        answer = {"error": f"unexpected failure: {_short(err)}"}
    with open(args["out"], "w", encoding="utf-8") as f:
        json.dump(answer, f)


if __name__ == "__main__":
    main()
