"""Run by the repository's own Python, in a checkout of one commit: the SQL Django's
`sqlmigrate` gives for every migration of the project (forwards, and backwards for the ones
asked), against the scratch database it is handed. Imports nothing of rollback-plan.

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


def _sql(editor: Any) -> str:
    return "\n".join(editor.collected_sql) + ("\n" if editor.collected_sql else "")


def _collect(args: dict[str, Any]) -> dict[str, Any]:
    sys.path.insert(0, os.getcwd())  # as `python manage.py` has it
    module = os.environ.get("DJANGO_SETTINGS_MODULE", "")
    try:
        import django
    except ImportError as err:
        return {"error": f"Django is not installed for {sys.executable} ({_short(err)})"}
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
    for key in plan:
        migration = graph.nodes[key]
        mod = sys.modules.get(type(migration).__module__)
        file = os.path.realpath(getattr(mod, "__file__", "") or "")
        rel = os.path.relpath(file, root) if file.startswith(root + os.sep) else None
        before = state.clone() if rel in backwards else None
        try:
            with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
                state = migration.apply(state, editor, collect_sql=True)
        except BaseException as err:
            return {"error": f"sqlmigrate {key[0]} {key[1]} failed: {_short(err)}"}
        item: dict[str, Any] = {
            "app": key[0],
            "name": key[1],
            "path": rel,
            "module": type(migration).__module__,
            "sql": _sql(editor),
            "atomic": bool(migration.atomic),
        }
        if before is not None:
            try:
                with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as back:
                    migration.unapply(before, back, collect_sql=True)
                item["backwards"] = _sql(back)
            except IrreversibleError as err:
                item["irreversible"] = _short(err)
            except BaseException as err:
                item["irreversible"] = f"sqlmigrate --backwards failed: {_short(err)}"
        out.append(item)
    return {"migrations": out, "not_sql": _NOT_SQL}


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
