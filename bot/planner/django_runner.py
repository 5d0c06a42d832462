"""Django's SQL for a project's migrations, from the repository's own code: a checkout of the
commit in a temporary directory, `bot/planner/django_sqlmigrate.py` run there by a Python that
has the project's dependencies, in a sandbox: a scrubbed environment (no tokens or secrets),
stdin closed, a time limit, a bounded answer, and a scratch database of the source's dialect
in place of every database the settings configure.

It executes repository code, so callers run it only when the configuration allows it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from bot.core.model import Dialect
from bot.sources.git import RepoError, cat_blobs, list_tree

SCRIPT = Path(__file__).with_name("django_sqlmigrate.py")
DEFAULT_TIMEOUT = 600.0
MAX_ANSWER_BYTES = 64 * 1024 * 1024
_STDERR_TAIL = 1500
_BATCH = 2000  # blobs read at once: bounds the memory a large repository takes
# What the child may see of our environment: enough to find programs and libraries.
_KEEP = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")


@dataclass(frozen=True)
class GeneratedMigration:
    """One migration as Django runs it on the source's database."""

    app: str
    name: str
    path: str | None  # repo-relative module path; None for apps outside the repository
    module: str  # dotted module name
    sql: str
    backwards: str | None = None  # Django's reverse SQL, when asked for and reversible
    irreversible: str | None = None  # why there is no reverse SQL


@dataclass(frozen=True)
class SqlRun:
    """Every migration of the project in Django's order, or why there are none."""

    migrations: tuple[GeneratedMigration, ...] = ()
    error: str | None = None


def run_sqlmigrate(
    repo: git.Repo,
    sha: str,
    root: str,
    dialect: Dialect,
    *,
    settings: str | None,
    backwards: Collection[str] = (),
    python: str,
    timeout: float = DEFAULT_TIMEOUT,
    env: Mapping[str, str] | None = None,
) -> SqlRun:
    """The SQL of every migration of the Django project at `root` (repo-relative, "" for the
    top) at commit `sha`; Django's reverse SQL too for the modules in `backwards`."""
    where = f"{root or '.'} at {sha[:12]}"
    with tempfile.TemporaryDirectory(prefix="rollback-plan-django-") as tmp:
        base = Path(tmp)
        checkout = base / "checkout"
        checkout.mkdir()
        problem, missing = _checkout(repo, sha, checkout)
        if problem:
            return SqlRun(error=f"{where}: {problem}")
        try:
            with _scratch(dialect, base) as database:
                run = _run(
                    checkout,
                    root,
                    database,
                    base,
                    settings,
                    backwards,
                    python,
                    timeout,
                    where,
                    env or {},
                )
            if run.error and missing:
                shown = ", ".join(missing[:3]) + (
                    f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                )
                run = SqlRun(
                    error=f"{run.error} ({len(missing)} file(s) are not in this clone, a partial "
                    f"or incomplete one: {shown})"
                )
            return run
        except _Unavailable as err:
            return SqlRun(
                error=f"{where}: no scratch {dialect.value} database for sqlmigrate: {err}"
            )


class _Unavailable(RuntimeError):
    pass


def _checkout(repo: git.Repo, sha: str, into: Path) -> tuple[str | None, list[str]]:
    """The commit's regular files (no .git, no symlinks), written from git's object database:
    blobs a partial clone lacks are left out rather than fetched."""
    try:
        entries = [e for e in list_tree(repo, sha).values() if not e.symlink]
    except RepoError as err:
        return str(err), []
    root = into.resolve()
    missing = []
    for i in range(0, len(entries), _BATCH):
        batch = entries[i : i + _BATCH]
        blobs = cat_blobs(repo, [e.sha for e in batch])
        for e in batch:
            data = blobs.get(e.sha)
            target = (into / e.path).resolve()
            if data is None:
                missing.append(e.path)
                continue
            if not target.is_relative_to(root):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    return None, missing


@contextlib.contextmanager
def _scratch(dialect: Dialect, base: Path) -> Iterator[dict[str, Any]]:
    """Django DATABASES settings for a scratch database of `dialect`, empty and private."""
    if dialect is Dialect.SQLITE:
        yield {"ENGINE": "django.db.backends.sqlite3", "NAME": str(base / "scratch.sqlite3")}
        return
    from bot.engines import EngineUnavailable, start_mariadb, start_postgres

    try:
        server: Any = start_postgres() if dialect is Dialect.POSTGRES else start_mariadb()
    except EngineUnavailable as err:
        raise _Unavailable(str(err).splitlines()[0]) from None
    try:
        db: Any = server.new_database()
        # the scratch engines keep their connections private: Django needs where they point
        if dialect is Dialect.POSTGRES:
            info = db._conn.info
            yield {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": info.dbname,
                "USER": info.user,
                "HOST": info.host,
                "PORT": str(info.port),
            }
        else:
            yield {
                "ENGINE": "django.db.backends.mysql",
                "NAME": db.name,
                "USER": "root",
                "OPTIONS": {"unix_socket": str(server._sock)},
            }
    finally:
        server.close()


def _run(
    checkout: Path,
    root: str,
    database: dict[str, Any],
    base: Path,
    settings: str | None,
    backwards: Collection[str],
    python: str,
    timeout: float,
    where: str,
    extra_env: Mapping[str, str],
) -> SqlRun:
    cwd = checkout / root if root else checkout
    answer = base / "answer.json"
    args = {
        "root": str(checkout),
        "database": database,
        "backwards": sorted(backwards),
        "out": str(answer),
    }
    # run from a directory of its own: beside bot/sources/django.py, `import django` is ours
    script = base / "bin" / "rollback_plan_sqlmigrate.py"
    script.parent.mkdir()
    shutil.copyfile(SCRIPT, script)
    args_file = base / "args.json"
    args_file.write_text(json.dumps(args))
    home = base / "home"
    home.mkdir()
    env = {k: os.environ[k] for k in _KEEP if k in os.environ}
    env |= extra_env  # what the user named (--repo-code-env), e.g. a settings switch
    env |= {
        "HOME": str(home),
        "TMPDIR": str(base),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
    }
    if settings and "DJANGO_SETTINGS_MODULE" not in extra_env:  # manage.py's setdefault
        env["DJANGO_SETTINGS_MODULE"] = settings
    stderr_path = base / "stderr.txt"
    with stderr_path.open("wb") as stderr:
        try:
            proc = subprocess.Popen(
                [python, str(script), str(args_file)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # its own process group: a timeout ends all of it
            )
        except OSError as err:
            return SqlRun(error=f"{where}: cannot run {python}: {err.strerror}")
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return SqlRun(
                error=f"{where}: Django's sqlmigrate did not finish within {timeout:g}s "
                "(settings or migrations that wait on something?); it was stopped"
            )
    if not answer.exists():
        tail = stderr_path.read_bytes()[-_STDERR_TAIL:].decode("utf-8", "replace").strip()
        last = tail.splitlines()[-1] if tail else f"exit status {proc.returncode}"
        return SqlRun(error=f"{where}: Django's sqlmigrate ended without an answer: {last}")
    if answer.stat().st_size > MAX_ANSWER_BYTES:
        return SqlRun(error=f"{where}: Django's sqlmigrate answered more than 64 MiB of SQL")
    try:
        data = json.loads(answer.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return SqlRun(error=f"{where}: Django's sqlmigrate answered something that is not JSON")
    if data.get("error"):
        return SqlRun(error=f"{where}: {data['error']}")
    return SqlRun(tuple(_migration(item) for item in data.get("migrations", [])))


def _migration(item: dict[str, Any]) -> GeneratedMigration:
    return GeneratedMigration(
        str(item["app"]),
        str(item["name"]),
        item.get("path"),
        str(item.get("module", "")),
        str(item.get("sql", "")),
        item.get("backwards"),
        item.get("irreversible"),
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def python_for(option: str | None) -> str:
    """The interpreter that runs the project's code: the one given (a name on PATH or a
    path), else the one running rollback-plan, installed beside the project's dependencies."""
    if option:
        return shutil.which(option) or option
    return sys.executable


def env_option(items: Collection[str], environ: Mapping[str, str]) -> dict[str, str]:
    """`--repo-code-env` values: `NAME=VALUE`, or `NAME` for its value here (when set)."""
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not name or not name.replace("_", "").isalnum():
            raise ValueError(f"--repo-code-env {item!r}: expected NAME=VALUE or NAME")
        if eq:
            out[name] = value
        elif name in environ:
            out[name] = environ[name]
    return out
