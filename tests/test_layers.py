"""Data flows one way: event -> job -> sources -> core (+ engines) -> plan -> render -> executor.

An import that runs back up that line means a seam is in the wrong place (docs: STYLE.md).
Imports inside functions count too: they are still a dependency, only a later one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

# package -> the bot packages it may import (besides itself). The roots (app, cli, ci, wsgi)
# compose everything and are not listed.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "engines": {"core", "sources"},  # sources: config values (engine settings, tool format)
    "cache": {"core"},
    "sources": {"core"},
    "markdown": {"core"},
    "forges": {"events"},
    "events": set(),
    "commands": set(),
    "settings": {"forges"},  # the permission levels approvals are configured in
    "approvals": {"core", "forges"},
    "live": {"core", "engines", "sources"},
    "planner": {"core", "engines", "live", "sources"},
    "executor": {"approvals", "core", "forges", "markdown", "events"},
    "observability": {"forges", "events"},
    "jobs": {
        "approvals", "commands", "core", "events", "executor", "forges", "markdown", "planner",
        "sources", "observability", "settings",
    },
    "web": {"commands", "events", "forges", "jobs", "observability", "settings"},
}  # fmt: skip


# Finer seams inside an allowed package: the web layer enqueues, it never runs a job.
DENIED = {"web": ("bot.jobs.handlers", "bot.app", "bot.wsgi", "bot.server")}


def _package(path: Path) -> str:
    rel = path.relative_to(BOT)
    return rel.parts[0].removesuffix(".py")


def _modules(text: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _imports(text: str) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "bot":
                names = [f"bot.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "bot" and len(parts) > 1:
                found.add(parts[1])
    return found


def _file_violations(path: Path, text: str) -> list[str]:
    package = _package(path)
    if package not in ALLOWED:
        return []
    allowed = ALLOWED[package]
    out = [
        f"{path.relative_to(BOT.parent)} imports bot.{target}"
        for target in sorted(_imports(text) - allowed - {package})
    ]
    out += [
        f"{path.relative_to(BOT.parent)} imports {name}"
        for name in sorted(_modules(text))
        if any(name == d or name.startswith(d + ".") for d in DENIED.get(package, ()))
    ]
    return out


def _violations() -> list[str]:
    return [v for p in sorted(BOT.rglob("*.py")) for v in _file_violations(p, p.read_text())]


def test_no_import_runs_back_up_the_layers() -> None:
    assert _violations() == []


def test_every_package_has_a_declared_place() -> None:
    """A new package must say where it sits, or this test would silently not guard it."""
    roots = {"__init__", "app", "cli", "ci", "wsgi", "server", "__main__"}
    packages = {_package(p) for p in BOT.rglob("*.py")} - roots
    assert packages <= set(ALLOWED), sorted(packages - set(ALLOWED))


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("core/model.py", "engines"),
        ("executor.py", "jobs"),
        ("web/__init__.py", "app"),
        ("web/__init__.py", "jobs.handlers"),
        ("engines/proof.py", "planner"),
    ],
)
def test_the_check_sees_a_backward_import(source: str, target: str) -> None:
    """Guard the guard: an upward import added to a module, even inside a function, is reported."""
    module = BOT / source
    text = (
        module.read_text() + f"\n\ndef _late() -> None:\n    from bot.{target} import x  # noqa\n"
    )
    assert f"bot/{source} imports bot.{target}" in _file_violations(module, text)
