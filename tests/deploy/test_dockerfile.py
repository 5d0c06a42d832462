"""deploy/Dockerfile, checked without a Docker engine: its instructions parsed, the files it
copies present in the build context, its healthcheck run against a real HTTP server, and the
commands it starts resolved to entry points that exist."""

from __future__ import annotations

import fnmatch
import http.server
import json
import os
import shlex
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from tests.deploy.conftest import (
    CACHE_DIR,
    CHART_DIR,
    DEPLOY,
    HEALTH_PATH,
    PORT,
    QUEUE_PATH,
    REPO,
    SERVE,
    WEB,
    WORKER,
)
from tests.deploy.helmrender import Chart


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The JSON-array form of CMD/ENTRYPOINT/HEALTHCHECK CMD; shell form is refused."""
        text = self.args
        if self.keyword == "HEALTHCHECK":
            text = text[text.index("CMD") + 3 :]
        value = json.loads(text)
        assert isinstance(value, list), f"{self.keyword} must use the exec (JSON) form"
        return [str(v) for v in value]


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def run_text(self) -> str:
        return "\n".join(i.args for i in self.all("RUN"))


def parse_dockerfile(text: str) -> list[Stage]:
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            words = rest.split()
            image = words[0]
            for name, value in args.items():
                image = image.replace("${" + name + "}", value)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(image, name))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append(Instruction(keyword, rest))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile((DEPLOY / "Dockerfile").read_text())


@pytest.fixture(scope="module")
def runtime(stages: list[Stage]) -> Stage:
    return stages[-1]


def test_multi_stage_compilers_only_in_the_builder(stages: list[Stage], runtime: Stage) -> None:
    assert [s.name for s in stages] == ["builder", "runtime"]
    assert all(s.image == "python:3.11-slim" for s in stages)
    assert "gcc" in stages[0].run_text()
    assert "gcc" not in runtime.run_text()
    assert "git" in runtime.run_text().split()  # the repo cache runs git
    assert "--no-install-recommends" in runtime.run_text()
    # the app and its dependencies come from the builder's venv, installed as a package
    assert "pip install ." in stages[0].run_text()
    copies = [i.args.split() for i in runtime.all("COPY") if i.args.startswith("--from=")]
    assert ["--from=builder", "/opt/venv", "/opt/venv"] in copies
    (env,) = runtime.all("ENV")
    assert "PATH=/opt/venv/bin:$PATH" in env.args


def test_sqlglot_is_compiled_and_checked_at_build(stages: list[Stage]) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("sqlglot[c]") for dep in project["dependencies"])
    assert "SQLGLOTC_INSTALLED" in stages[0].run_text()  # the build fails if not compiled


def test_runs_as_the_non_root_user_the_chart_expects(runtime: Stage) -> None:
    (user,) = runtime.all("USER")
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit() and int(uid) != 0, "numeric, so runAsNonRoot can verify it"
    values = Chart(CHART_DIR).values["podSecurityContext"]
    assert (int(uid), int(gid)) == (values["runAsUser"], values["runAsGroup"])
    instructions = [i.keyword for i in runtime.instructions]
    assert instructions.index("USER") > max(
        n for n, k in enumerate(instructions) if k in ("RUN", "COPY")
    ), "nothing after USER should need root"


def test_port_data_volume_and_defaults(runtime: Stage) -> None:
    assert [i.args for i in runtime.all("EXPOSE")] == [str(PORT)]
    assert [json.loads(i.args) for i in runtime.all("VOLUME")] == [["/data"]]
    (env,) = runtime.all("ENV")
    settings = dict(shlex.split(part)[0].split("=", 1) for part in env.args.split() if "=" in part)
    assert settings["ROLLBACK_PLAN_QUEUE_PATH"] == QUEUE_PATH
    assert settings["ROLLBACK_PLAN_CACHE_DIR"] == CACHE_DIR
    assert settings["PORT"] == str(PORT)


def test_default_command_is_serve(runtime: Stage) -> None:
    assert not runtime.all("ENTRYPOINT"), "compose and the chart replace CMD with their command"
    (cmd,) = runtime.all("CMD")
    assert tuple(cmd.exec_form()) == SERVE


def test_gunicorn_config_is_where_the_web_command_reads_it(runtime: Stage) -> None:
    copies = [i.args.split() for i in runtime.all("COPY")]
    assert ["deploy/gunicorn.conf.py", WEB[2]] in copies


# -- the build context -----------------------------------------------------------------------


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics: the last matching pattern wins, `!` re-includes, a pattern
    matching a directory covers everything below it."""
    parts = path.split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").rstrip("/")
        for candidate in candidates:
            if fnmatch.fnmatchcase(candidate, pattern) or (
                pattern.startswith("**/")
                and fnmatch.fnmatchcase(candidate.split("/")[-1], pattern[3:])
            ):
                ignored = not negate
                break
    return ignored


def _files(path: Path) -> Iterator[str]:
    if path.is_file():
        yield path.relative_to(REPO).as_posix()
        return
    for file in sorted(path.rglob("*")):
        if file.is_file() and "__pycache__" not in file.parts:
            yield file.relative_to(REPO).as_posix()


def test_copied_files_exist_and_reach_the_build_context(stages: list[Stage]) -> None:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for stage in stages:
        for copy in stage.all("COPY"):
            if copy.args.startswith("--from="):
                continue
            *sources, _ = copy.args.split()
            for source in sources:
                path = REPO / source
                assert path.exists(), f"COPY {source}: not in the repository"
                files = list(_files(path))
                assert files, source
                sent = [f for f in files if not _ignored(f, patterns)]
                assert sent == files, (
                    f"COPY {source}: excluded by .dockerignore: {set(files) - set(sent)}"
                )
    # pip builds from pyproject.toml, which names README.md; nothing else is sent
    for needed in ("pyproject.toml", "setup.py", "app.yml", "templates/plan.md.j2", "bot/cli.py"):
        assert not _ignored(needed, patterns), needed
    for private in (".venv/bin/python", ".git/config", "tests/conftest.py", "deploy/.env"):
        assert _ignored(private, patterns), private


def test_the_build_step_gets_what_it_packages(stages: list[Stage]) -> None:
    """setup.py copies app.yml and templates/ into the wheel: the builder must COPY them, and
    check after `pip install .` that the installed package has them."""
    copied = {src for c in stages[0].all("COPY") for src in c.args.split()[:-1]}
    assert {"setup.py", "MANIFEST.in", "app.yml", "templates/"} <= copied
    (install,) = [i for i in stages[0].all("RUN") if "pip install ." in i.args]
    assert "'app.yml'" in install.args and "'plan.md.j2'" in install.args


class _Health(http.server.BaseHTTPRequestHandler):
    status: ClassVar[int] = 200
    paths: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).paths.append(self.path)
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_healthcheck_probes_healthz_and_fails_on_an_error(
    runtime: Stage, status: int, healthy: bool
) -> None:
    (check,) = runtime.all("HEALTHCHECK")
    command = check.exec_form()
    assert command[0] == "python"

    class Handler(_Health):
        pass

    Handler.status, Handler.paths = status, []
    handler = Handler
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = {**os.environ, "PORT": str(server.server_address[1])}
        result = subprocess.run(
            [sys.executable, *command[1:]], env=env, capture_output=True, timeout=30
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (result.returncode == 0) is healthy
    assert handler.paths == [HEALTH_PATH]


# -- the commands resolve to real entry points ----------------------------------------------


def test_console_scripts_and_dependencies_exist() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["rollback-plan"] == "bot.cli:main"
    names = {
        dep.split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for dep in project["dependencies"]
    }
    assert "gunicorn" in names, "the image runs gunicorn: it must be a dependency of the package"


@pytest.mark.parametrize("command", [SERVE, WORKER], ids=["serve", "worker"])
def test_cli_subcommands_exist(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([*command[1:], "--help"])
    assert exit_.value.code == 0
    help_text = capsys.readouterr().out
    for option in command[2:]:
        if option.startswith("--"):
            assert option in help_text, f"`{' '.join(command)}`: no {option} option"


def test_wsgi_application_exists() -> None:
    """gunicorn imports `bot.wsgi:application`; importing it builds the app from the
    environment (its composition root), so here it is only read, not imported."""
    module, _, attribute = WEB[-1].partition(":")
    path = REPO / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{module} does not exist"
    import ast

    tree = ast.parse(path.read_text())
    assigned = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    }
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert attribute in assigned | defined, f"{module} has no `{attribute}`"
