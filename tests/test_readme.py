"""The README's command-line reference runs as written (docs must match the code)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
# Long-running or CI-only commands: their parsers are checked with --help instead.
SERVERS = {"serve", "worker", "ci"}


def reference_commands() -> list[str]:
    section = README[README.index("## Command line") :]
    block = section[section.index("```sh") + 5 : section.index("```", section.index("```sh") + 5)]
    return [
        line.strip()
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]


COMMANDS = reference_commands()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("readme") / "demo"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo_repo.py"), str(repo)],
        check=True,
        capture_output=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    shutil.copytree(ROOT / "examples" / "shop", repo / "examples" / "shop")
    return repo


def test_reference_is_not_empty() -> None:
    assert len(COMMANDS) >= 8
    assert all("rollback-plan" in c for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_command_runs_as_written(command: str, demo: Path) -> None:
    words = shlex.split(command)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLBACK_PLAN_")}
    while "=" in words[0]:
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[0] == "rollback-plan"
    # this checkout's code (an installed `rollback-plan` may be another checkout's)
    env["PYTHONPATH"] = str(ROOT)
    exe = [sys.executable, "-m", "bot.cli"]
    argv = [*exe, words[1], "--help"] if words[1] in SERVERS else [*exe, *words[1:]]
    out = subprocess.run(argv, cwd=demo, env=env, capture_output=True, text=True, timeout=120)
    # 0: done; 1: `plan` reports a plan that needs approval or is refused (the demo's is).
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    if words[1] == "plan" and out.returncode == 1:
        assert re.search(r"refused|needs.approval", out.stdout)


def _demo_block() -> list[list[str]]:
    """The README's demo output, in the chunks between its `...` lines."""
    start = README.index("````markdown\n") + len("````markdown\n")
    block = README[start : README.index("````\n", start)]
    chunks: list[list[str]] = [[]]
    for line in block.splitlines():
        if line == "...":
            chunks.append([])
        else:
            chunks[-1].append(line)
    return chunks


def test_demo_output_in_the_readme_is_current(demo: Path) -> None:
    """Each chunk of the README's demo output appears, in order, in what the command prints
    today: regenerate the README when the output changes."""
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "plan", "--repo", ".", "--commit", "HEAD"],
        cwd=demo,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = out.stdout.splitlines()
    at = 0
    for chunk in _demo_block():
        found = next((i for i in range(at, len(lines)) if lines[i : i + len(chunk)] == chunk), None)
        assert found is not None, "README demo chunk not in the output:\n" + "\n".join(chunk)
        at = found + len(chunk)


def test_json_contract_doc_lists_every_field(demo: Path) -> None:
    """docs/plan-json.md's example has exactly the fields `plan --format json` prints."""
    import json

    doc = (ROOT / "docs" / "plan-json.md").read_text()
    example = json.loads(doc[doc.index("```json\n") + 8 : doc.index("```\n", doc.index("```json"))])
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "plan",
            "--repo",
            ".",
            "--commit",
            "HEAD",
            "--format",
            "json",
        ],
        cwd=demo,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    real = json.loads(out.stdout)
    assert set(example) == set(real)
    assert set(example["sources"][0]) == set(real["sources"][0])
