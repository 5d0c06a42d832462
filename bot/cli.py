"""`rollback-plan` command line: thin, calls the same functions the bot calls.

Exit codes: 0 success, 1 the plan needs approval or is refused, 2 bad input (one line on
stderr naming the file, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.sources.model import RUNS_CODE, Format

# Each command imports what it uses: start-up (`--help`, a bad argument) stays cheap, and
# `schema`/`diff` never load the git, forge and template stack (bench/startup.py).
if TYPE_CHECKING:
    from bot.core.down import Down
    from bot.core.model import Dialect
    from bot.core.replay import Migration, ParseCache, Unmodelled

EXIT_OK = 0
EXIT_GATE = 1  # plan: the verdict is needs-approval or refused
EXIT_BAD_INPUT = 2


class UsageError(ValueError):
    """Bad arguments or input; printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(ci_options="ci" in words)
    args = parser.parse_args(words)
    # sqlglot logs each statement it can't parse; we report those ourselves as unmodelled.
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        return int(args.func(args))
    except (UsageError, ValueError) as err:  # SourceError included: bad files are input too
        print(f"rollback-plan: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK


def _parser(ci_options: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rollback-plan",
        description="Compute, prove and gate the database side of a rollback.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    schema = sub.add_parser("schema", help="print the schema a migration directory produces")
    schema.add_argument("--dir", required=True, type=Path, help="migration directory")
    _common(schema)
    schema.set_defaults(func=cmd_schema)

    diff = sub.add_parser(
        "diff", help="print the down-migration from one directory's schema to another's"
    )
    diff.add_argument(
        "--from-dir", required=True, type=Path, help="the newer state (what is deployed)"
    )
    diff.add_argument("--to-dir", required=True, type=Path, help="the older state to go back to")
    diff.add_argument("--format", choices=["sql", "json"], default="sql")
    diff.add_argument(
        "--no-timeouts",
        action="store_true",
        help="leave out the lock and statement timeouts the down sets first (PostgreSQL, MySQL)",
    )
    _common(diff)
    diff.set_defaults(func=cmd_diff)

    plan = sub.add_parser(
        "plan",
        help="plan the database side of rolling back a commit, or of going from one ref to another",
    )
    plan.add_argument("--repo", type=Path, default=Path("."), help="git repository (default: .)")
    what = plan.add_mutually_exclusive_group(required=True)
    what.add_argument("--commit", help="a (revert) commit: plan from its parent to it")
    what.add_argument("--from", dest="from_ref", help="the deployed ref (where the database is)")
    plan.add_argument("--to", dest="to_ref", help="the ref to go back to (with --from)")
    plan.add_argument(
        "--dialect",
        help="dialect of the sources that .rollback-plan.yml, a manifest or the directory name "
        "(migrations/mysql) leave open",
    )
    plan.add_argument("--format", choices=["md", "json"], default="md")
    plan.add_argument(
        "--verify",
        action="store_true",
        help="prove each down on a scratch engine: SQLite in-process, the embedded PostgreSQL, "
        "MySQL/MariaDB via $ROLLBACK_PLAN_MYSQL_SCRATCH_URL (never an application database)",
    )
    plan.add_argument(
        "--exact-column-order",
        action="store_true",
        help="SQLite: rebuild a table to put a re-added column back at its old position "
        "(default: add it at the end, which needs no rebuild)",
    )
    plan.add_argument(
        "--run-repo-code",
        action="store_true",
        help="run the repository's own code where a migration tool needs it for the SQL "
        "(Alembic's env.py offline, Django's sqlmigrate), in a subprocess with a timeout and "
        "none of your environment variables; off by default",
    )
    plan.add_argument(
        "--python",
        help="the Python with the project's dependencies (default: $ROLLBACK_PLAN_PYTHON, "
        "else this one)",
    )
    plan.add_argument(
        "--repo-code-env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a variable the repository's code sees (it sees no other but PATH and the locale)",
    )
    plan.set_defaults(func=cmd_plan)

    serve = sub.add_parser(
        "serve", help="run the bot: webhooks (gunicorn, threaded) and workers in one process"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=2, help="worker threads")
    serve.add_argument("--threads", type=int, default=8, help="web threads (default 8)")
    serve.add_argument(
        "--grace",
        type=float,
        default=25.0,
        help="seconds running jobs may finish after SIGTERM (default 25; a job still running "
        "then is released to another worker)",
    )
    serve.set_defaults(func=cmd_serve)

    worker = sub.add_parser(
        "worker",
        help="run workers only, on the shared job queue (Redis, or the SQLite file on this host)",
    )
    worker.add_argument("--workers", type=int, default=2, help="worker threads")
    worker.add_argument(
        "--grace",
        type=float,
        default=25.0,
        help="seconds running jobs may finish after SIGTERM (default 25; a job cut off is "
        "run again by another worker)",
    )
    worker.set_defaults(func=cmd_worker)

    check = sub.add_parser("check-config", help="validate the ROLLBACK_PLAN_* settings")
    check.set_defaults(func=cmd_check_config)

    ci = sub.add_parser(
        "ci", help="plan and gate the PR/MR this CI job runs for (GitHub Actions, GitLab CI)"
    )
    if ci_options:
        # bot.ci brings subprocess, tempfile and the forge settings: only `ci` pays for them
        from bot.ci import add_arguments as ci_arguments

        ci_arguments(ci)
    ci.set_defaults(func=cmd_ci)

    setup = sub.add_parser("setup-github-app", help="serve the GitHub App setup page from app.yml")
    setup.add_argument(
        "--manifest", type=Path, default=None, help="default: the app.yml shipped with the bot"
    )
    setup.add_argument("--host", default="127.0.0.1")
    setup.add_argument("--port", type=int, default=8080)
    setup.set_defaults(func=cmd_setup_github_app)
    return parser


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dialect", required=True, help="postgres, mysql (MySQL 8 / MariaDB) or sqlite")
    p.add_argument(
        "--layout",
        # Alembic and Django produce their SQL by running the project's code: `plan` only
        choices=[f.value for f in Format if f not in RUNS_CODE],
        help="migration layout (default: detect)",
    )


def _replay_cache() -> ParseCache:
    """This process's parse cache, backed by the on-disk replay cache (bot/cache.py)."""
    from bot.cache import replay_store
    from bot.core.replay import ParseCache

    return ParseCache(store=replay_store(os.environ))


def _load(directory: Path, layout: str | None, *, allow_empty: bool = False) -> list[Migration]:
    from bot.sources.dirs import read_dir

    _, migrations = read_dir(directory, Format(layout) if layout else None, allow_empty=allow_empty)
    if not migrations:
        print(f"rollback-plan: {directory}: no migrations: the empty database", file=sys.stderr)
    from bot.core.replay import Migration

    return [Migration(m.up_path, m.up) for m in migrations]


def cmd_schema(args: argparse.Namespace) -> int:
    files = _load(args.dir, args.layout, allow_empty=True)
    from bot.core.diff import create_all
    from bot.core.model import Dialect, Schema
    from bot.core.render import render, to_script
    from bot.core.replay import replay

    dialect = Dialect.parse(args.dialect)
    history = replay(files, dialect, cache=_replay_cache())
    _warn_unmodelled(history.unmodelled)
    sys.stdout.write(_header(history.unmodelled))
    sys.stdout.write(to_script(render(create_all(history.schema), Schema(dialect))))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    from bot.core.model import Dialect

    dialect = Dialect.parse(args.dialect)
    newer_files = _load(args.from_dir, args.layout)
    older_files = _load(args.to_dir, args.layout, allow_empty=True)  # back to nothing: drop all
    from bot.core.down import down_between
    from bot.core.render import to_script

    down = down_between(newer_files, older_files, dialect, _replay_cache())
    if down.unmodelled:  # else the engine has nothing to settle: its stack is not loaded
        from bot.engines.engine_state import engine_checked
        from bot.engines.proof import MYSQL_SCRATCH_ENV

        undone = [m.path for m in newer_files if m not in older_files]
        mysql_url = os.environ.get(MYSQL_SCRATCH_ENV) or None
        down = engine_checked(
            down, newer_files, older_files, dialect, undone=undone, mysql_url=mysql_url
        ).down
    if down.statements and not args.no_timeouts:
        from dataclasses import replace

        from bot.core.render.session import Timeouts, preamble

        # what ships must not queue every query behind its lock: the same SETs a plan's down has
        down = replace(down, statements=(*preamble(dialect, Timeouts()), *down.statements))
    _warn_unmodelled(down.unmodelled)
    if args.format == "json":
        json.dump(down_json(down, dialect), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(_header(down.unmodelled, down.note, down.listed))
        sys.stdout.write(
            to_script(list(down.statements)) or "-- nothing to undo: the schemas are equal\n"
        )
    return EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    # Imported here: the git and YAML stack is only needed by this command.
    from bot.core.model import Dialect
    from bot.core.plan import plan_json
    from bot.core.risk import Verdict
    from bot.engines.proof import MYSQL_SCRATCH_ENV
    from bot.markdown.plan import plan_markdown
    from bot.planner import PlanCache, PlanOptions, plan_commit, plan_refs
    from bot.sources.git import open_repo
    from bot.sources.pyrunner import PYTHON_ENV

    if args.from_ref and not args.to_ref:
        raise UsageError("--from needs --to")
    if args.to_ref and not args.from_ref:
        raise UsageError("--to needs --from")
    dialect = Dialect.parse(args.dialect) if args.dialect else None
    repo = open_repo(args.repo)
    now = datetime.now(UTC)
    cache = PlanCache(parses=_replay_cache())
    options = PlanOptions(
        dialect=dialect,
        verify=args.verify,
        mysql_url=os.environ.get(MYSQL_SCRATCH_ENV) or None,
        env=dict(os.environ),
        exact_column_order=args.exact_column_order,
        run_repo_code=args.run_repo_code,
        python=args.python or os.environ.get(PYTHON_ENV) or None,
        repo_code_env=_repo_code_env(args.repo_code_env),
    )
    if args.commit:
        plan = plan_commit(
            repo, args.commit, dialect=dialect, cache=cache, now=now, options=options
        )
    else:
        plan = plan_refs(
            repo, args.from_ref, args.to_ref, dialect=dialect, cache=cache, now=now, options=options
        )
    if not plan.plannable:
        for problem in plan.problems:
            print(f"rollback-plan: {problem}", file=sys.stderr)
        raise UsageError("nothing could be planned")
    if args.format == "json":
        json.dump(plan_json(plan), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(plan_markdown(plan))
    # CI jobs gate on this: anything but a safe plan needs a person.
    return EXIT_OK if plan.verdict is Verdict.SAFE else EXIT_GATE


def _repo_code_env(items: list[str]) -> dict[str, str]:
    from bot.planner.django_runner import env_option

    try:
        return env_option(items, os.environ)
    except ValueError as err:
        raise UsageError(str(err)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from bot import server
    from bot.jobs.queue import QueueUnavailable, open_store

    settings = _settings()
    if args.workers < 1 or args.threads < 1:
        raise UsageError("--workers and --threads must be at least 1")
    try:  # a queue that can't be opened is said here, once, not by a worker that won't boot
        open_store(settings.queue_path, settings.redis_url).close()
    except QueueUnavailable as err:
        raise UsageError(str(err)) from None
    built: list[Any] = []

    def load() -> Any:
        # in gunicorn's worker process: the queue, its threads and the app are made there
        bot = _build(settings, args.workers)
        built.append(bot)
        forges = [
            f
            for f, on in (("GitHub", settings.github_enabled), ("GitLab", settings.gitlab_enabled))
            if on
        ]
        logging.getLogger("rollback_plan").info(
            "serving %s webhooks on %s:%s, %d worker(s) on the job queue %s",
            ", ".join(forges), args.host, args.port, args.workers, bot.queue.store.name,
        )  # fmt: skip
        return bot.web

    def stop() -> None:
        for bot in built:
            bot.close(args.grace)

    server.run(
        load, server.options(args.host, args.port, threads=args.threads, grace=args.grace), stop
    )
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    settings = _settings()
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    bot = _build(settings, args.workers)
    where = bot.queue.store.name
    if not settings.redis_url:
        # SQLite's locks work between processes of one host, not across a network filesystem
        where += " (this host only: set ROLLBACK_PLAN_REDIS_URL to scale out)"
    print(f"rollback-plan: {args.workers} worker(s) on the job queue {where}", file=sys.stderr)
    while not stop.wait(1.0):
        pass
    print("rollback-plan: stopping; letting running jobs finish", file=sys.stderr)
    bot.close(args.grace)
    return EXIT_OK


def _build(settings: Any, workers: int) -> Any:
    from bot.app import build
    from bot.jobs.queue import QueueUnavailable

    try:
        return build(settings, workers=workers)
    except QueueUnavailable as err:
        raise UsageError(str(err)) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    from bot.settings import SettingsError, load_settings, scratch_url_problem, unknown_names

    problems: list[str] = []
    settings = None
    try:
        settings = load_settings(os.environ)
    except SettingsError as err:
        problems += err.problems
    problems += unknown_names(os.environ)
    if scratch := scratch_url_problem(os.environ):
        problems.append(scratch)
    if problems:
        print(f"rollback-plan: error: {len(problems)} problem(s) in the settings:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    assert settings is not None
    print(_describe(settings), end="")
    return EXIT_OK


def _describe(settings: Any) -> str:
    """The settings as an operator reads them: what runs where; secrets only as "set"."""
    forges = []
    if settings.github_enabled:
        auth = f"GitHub App {settings.github_app_id}" if settings.github_app_id else "a token"
        forges.append(f"GitHub at {settings.github_api_url} ({auth})")
    if settings.gitlab_enabled:
        forges.append(f"GitLab at {settings.gitlab_url}")
    queue = (
        "Redis (ROLLBACK_PLAN_REDIS_URL is set)"
        if settings.redis_url
        else f"the SQLite file {settings.queue_path}"
    )
    teams = (
        f", or a member of {', '.join(settings.approval_teams)}" if settings.approval_teams else ""
    )
    lines = [
        "rollback-plan: the settings are valid.",
        f"  webhooks:   {'; '.join(forges)}",
        f"  public URL: {settings.public_url or '(not set: the setup page guesses it)'}",
        f"  job queue:  {queue}",
        f"  cache:      {settings.cache_dir}",
        f"  approvals:  {settings.approval_min_permission} permission{teams}",
        f"  log level:  {settings.log_level}",
    ]
    return "".join(f"{line}\n" for line in lines)


def _settings() -> Any:
    from bot.observability import configure_logging, settings_secrets
    from bot.settings import SettingsError, load_settings, unknown_names

    try:
        settings = load_settings(os.environ)
    except SettingsError as err:
        lines = "".join(f"\n  {p}" for p in err.problems)
        raise UsageError(f"{len(err.problems)} problem(s) in the settings:{lines}") from None
    # The long-running commands log JSON lines, with every secret value masked.
    configure_logging(settings.log_level, env=os.environ, secrets=settings_secrets(settings))
    for problem in unknown_names(os.environ):
        logging.getLogger("rollback_plan").warning("%s", problem)
    return settings


def cmd_ci(args: argparse.Namespace) -> int:
    from bot.ci import run_ci

    return run_ci(args)


def cmd_setup_github_app(args: argparse.Namespace) -> int:
    """Serve the setup page until interrupted (before the bot has the secrets it needs)."""
    from bot import server
    from bot.settings import Settings
    from bot.web.setup import (
        ManifestError,
        create_setup_app,
        load_manifest,
        manifest_text,
        parse_manifest,
    )

    try:
        manifest = (
            load_manifest(args.manifest) if args.manifest else parse_manifest(manifest_text())
        )
    except ManifestError as err:
        raise UsageError(str(err)) from err
    settings = Settings(
        public_url=os.environ.get("ROLLBACK_PLAN_PUBLIC_URL", "").strip().rstrip("/"),
        github_api_url=os.environ.get("ROLLBACK_PLAN_GITHUB_API_URL", "").strip().rstrip("/")
        or "https://api.github.com",
    )
    print(f"open http://{args.host}:{args.port}/github-app/setup", file=sys.stderr)
    app = create_setup_app(settings, manifest)
    # gunicorn, like `serve`: its access log has the path only, never the one-time code
    server.run(lambda: app, server.options(args.host, args.port, threads=2, grace=0.0))
    return EXIT_OK


def down_json(down: Down, dialect: Dialect) -> dict[str, Any]:
    return {
        "dialect": dialect.value,
        "method": down.method.value,
        "complete": down.complete,
        "statements": [
            {"sql": s.sql, "change": s.change, "object": s.object} for s in down.statements
        ],
        "unmodelled": [
            {"file": u.file, "line": u.line, "sql": u.sql, "reason": u.reason}
            for u in down.unmodelled
        ],
        "unmodelled_listed": [
            {"file": u.file, "line": u.line, "sql": u.sql, "reason": u.reason} for u in down.listed
        ],
        "note": down.note,
    }


def _header(
    unmodelled: tuple[Unmodelled, ...], note: str | None = None, listed: tuple[Unmodelled, ...] = ()
) -> str:
    lines = []
    if note:
        lines.append(f"-- note: {note}")
    if unmodelled:
        lines.append(
            f"-- INCOMPLETE: {len(unmodelled)} statement(s) could not be modelled; "
            "their effect is not in this script:"
        )
        lines += [f"--   {_where(u)}{u.reason}" for u in unmodelled]
    if listed:
        lines.append(
            f"-- not gating: {len(listed)} statement(s) not modelled, settled or unrelated:"
        )
        lines += [f"--   {_where(u)}{u.reason}" for u in listed]
    return "".join(f"{line}\n" for line in lines) + ("\n" if lines else "")


def _where(u: Unmodelled) -> str:
    """`file:line: `, or nothing for what the down itself can't do (no statement to point at)."""
    return f"{u.file}:{u.line}: " if u.file else ""


def _warn_unmodelled(unmodelled: tuple[Unmodelled, ...]) -> None:
    if unmodelled:
        print(
            f"rollback-plan: warning: {len(unmodelled)} statement(s) could not be modelled; "
            "the output is incomplete (see its header)",
            file=sys.stderr,
        )


if __name__ == "__main__":
    raise SystemExit(main())
