"""`pip install .` as users do it: the wheel, not the checkout, in a fresh virtualenv, used from
another directory (the GitHub Action, the GitLab template, the Docker image all install so)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Installed:
    wheel: Path
    bin: Path
    env: dict[str, str]
    elsewhere: Path


def _setuptools_ok() -> str | None:
    try:
        import setuptools
    except ImportError:
        return "setuptools is not installed"
    major = int(setuptools.__version__.split(".")[0])
    return None if major >= 77 else f"setuptools {setuptools.__version__} < 77 (pyproject's)"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    problem = _setuptools_ok()
    if problem:
        # the dev extra installs the build backend; CI must really build the wheel
        if os.environ.get("CI") == "true":
            pytest.fail(f"cannot build the wheel in CI: {problem}")
        pytest.skip(f"cannot build the wheel offline: {problem}")
    tmp = tmp_path_factory.mktemp("packaging")
    # Build from the tracked files only: a file the build needs but git lacks fails here.
    src = tmp / "src"
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.split(b"\0")
    for name in filter(None, (t.decode() for t in tracked)):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    dist = tmp / "dist"
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, src],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("rollback_plan-*.whl")
    target = tmp / "venv"
    venv.create(target, with_pip=False)
    py = target / "bin" / "python"
    subprocess.run(
        [*pip, "--python", py, "install", "--no-deps", "--no-index", wheel],
        check=True,
        capture_output=True,
    )
    # The dependencies (not rollback-plan) come from this interpreter's site-packages: a plain
    # path in a .pth, so that directory's own .pth files (the editable install) are not run.
    purelib = Path(
        subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (purelib / "zz_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV"} and not k.startswith("ROLLBACK_PLAN_")
    }
    return Installed(wheel, target / "bin", env, elsewhere)


def _run(inst: Installed, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(inst.bin / argv[0]), *argv[1:]],
        cwd=inst.elsewhere,
        env=inst.env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_carries_templates_and_app_yml(installed: Installed) -> None:
    names = set(zipfile.ZipFile(installed.wheel).namelist())
    templates = {p.name for p in (ROOT / "templates").glob("*.j2")}
    assert {f"bot/markdown/templates/{t}" for t in templates} <= names
    assert "bot/app.yml" in names
    packaged = zipfile.ZipFile(installed.wheel).read("bot/app.yml").decode()
    assert packaged == (ROOT / "app.yml").read_text()


def test_bot_is_imported_from_the_install_not_the_checkout(installed: Installed) -> None:
    out = _run(installed, "python", "-c", "import bot; print(bot.__file__)")
    assert out.returncode == 0, out.stderr
    where = Path(out.stdout.strip())
    assert where.is_relative_to(installed.bin.parent), where
    assert not where.is_relative_to(ROOT)


def test_plan_from_another_directory(installed: Installed, tmp_path: Path) -> None:
    repo = tmp_path / "demo"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo_repo.py"), str(repo)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    md = _run(installed, "rollback-plan", "plan", "--repo", str(repo), "--commit", "HEAD")
    assert md.returncode == 1, md.stderr  # the demo's plan is refused: a CI job stops
    assert "Traceback" not in md.stderr
    assert "\n## Rollback plan for" in md.stdout and "```sql" in md.stdout
    js = _run(
        installed,
        "rollback-plan",
        "plan",
        "--repo",
        str(repo),
        "--commit",
        "HEAD",
        "--format",
        "json",
    )
    assert js.returncode == 1, js.stderr
    plan = json.loads(js.stdout)
    assert plan["verdict"] == "refused" and plan["sources"]


@pytest.mark.parametrize("command", ["ci", "setup-github-app"])
def test_commands_start_from_another_directory(installed: Installed, command: str) -> None:
    out = _run(installed, "rollback-plan", command, "--help")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: rollback-plan")


@pytest.mark.parametrize(("verify", "spec"), [("true", "/action[engines]"), ("false", "/action")])
def test_the_action_installs_the_engines_when_it_verifies(
    tmp_path: Path, verify: str, spec: str
) -> None:
    import yaml

    action = yaml.safe_load((ROOT / "action.yml").read_text())
    (step,) = [s for s in action["runs"]["steps"] if s.get("name") == "Install rollback-plan"]
    # `python` records what it was asked to install instead of installing it
    shim = tmp_path / "python"
    shim.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$0.args"\n')
    shim.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin",
        "GITHUB_ACTION_PATH": "/action",
        "INPUT_VERIFY": verify,
    }
    assert step["env"]["INPUT_VERIFY"] == "${{ inputs.verify }}"
    subprocess.run(["bash", "-c", step["run"]], env=env, check=True)
    assert (tmp_path / "python.args").read_text().splitlines()[-1] == spec
