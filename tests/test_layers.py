"""Imports run down the layers (docs: STYLE.md, "the house"): the edge never reaches back up.
Read from the source with `ast`, so an import inside a function counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parents[1] / "bot"

# (modules, what they must not import): each pair is a seam that was once crossed upwards
RULES = [
    ("executor.py", ("bot.jobs", "bot.web", "bot.app")),  # the writer knows no queue or web
    ("jobs/", ("bot.web", "bot.app", "bot.wsgi", "bot.server")),  # the queue knows no web
    ("web/", ("bot.app", "bot.wsgi", "bot.server", "bot.jobs.handlers")),  # web only enqueues
    ("forges/", ("bot.jobs", "bot.web", "bot.app", "bot.executor")),
    ("events.py", ("bot.jobs", "bot.web", "bot.forges", "bot.app")),
]


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("where", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_no_import_runs_back_up(where: str, forbidden: tuple[str, ...]) -> None:
    files = sorted((BOT / where).rglob("*.py")) if where.endswith("/") else [BOT / where]
    assert files
    crossings = [
        f"{path.relative_to(BOT)} imports {name}"
        for path in files
        for name in sorted(imports(path))
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    ]
    assert crossings == []
