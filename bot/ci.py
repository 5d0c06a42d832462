"""`rollback-plan ci`: the bot's workflow inside a CI job on a pull/merge request, with no
server. The CI environment says which PR/MR and event; the job's own checkout is where the
repository is read from; the forge client is built from the CI's token. The same Worker,
planner and Executor as the bot then post the same comment, companion PR/MR and check.

GitHub Actions: events `pull_request`/`pull_request_target` (plan), `issue_comment`
(`/rollback-plan` commands, approvals), `pull_request_review` (approving the companion PR),
`push` (pushed reverts). GitLab CI: merge request pipelines (CI_MERGE_REQUEST_IID).

Exit codes, like `plan`: 0 nothing to gate, or the revert's check passed (safe or approved);
1 the revert's check did not pass (needs approval, refused, or could not be planned);
2 the CI environment or the forge did not let us run (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The events, model, git, planner and worker stack is imported where a run needs it:
# `rollback-plan` builds this command's options on every start-up (bench/startup.py).
if TYPE_CHECKING:
    from bot.core.replay import ReplayStore
    from bot.events import ForgeKind, Job
    from bot.forges import Forge, PullRequest
    from bot.jobs.handlers import Worker
    from bot.planner import PlanOptions

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_GATE = 1
EXIT_ERROR = 2

GITLAB_TOKEN_VARS = ("ROLLBACK_PLAN_GITLAB_TOKEN", "ROLLBACK_PLAN_GITLAB_TOKEN_FILE")
_PLAN_COMMAND = "/rollback-plan"  # "plan what reverting this would take": the report


class CiError(Exception):
    """The CI environment does not describe a run we can do; the message says what to set."""


class Report:
    """When a PR/MR that is not a revert gets a reversibility report comment."""

    AUTO = "auto"  # only when it changes a schema source
    ALWAYS = "always"
    NEVER = "never"
    CHOICES = (AUTO, ALWAYS, NEVER)


@dataclass(frozen=True)
class CiRun:
    """One CI job's work, read from its environment (plain values, no clients)."""

    forge: ForgeKind
    repo: str
    api_url: str  # GitHub: the REST API root; GitLab: the instance URL
    token: str
    workspace: Path
    job: Job | None  # None: the event asks for nothing
    gated: bool  # a PR/MR event: the exit code reports the check

    def __repr__(self) -> str:  # never the token
        return (
            f"CiRun(forge={self.forge.value}, repo={self.repo!r}, api_url={self.api_url!r}, "
            f"workspace={str(self.workspace)!r}, job={self.job!r}, gated={self.gated})"
        )


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    summary: str  # one line for the job log


# -- reading the CI environment ----------------------------------------------------------------


def detect(env: Mapping[str, str]) -> CiRun:
    """The run this CI job asks for (GitHub Actions or GitLab CI)."""
    if env.get("GITHUB_ACTIONS") == "true" or env.get("GITHUB_EVENT_PATH"):
        return from_github_actions(env)
    if env.get("GITLAB_CI") == "true" or env.get("CI_MERGE_REQUEST_IID"):
        return from_gitlab_ci(env)
    raise CiError("not running in GitHub Actions or GitLab CI (GITHUB_ACTIONS / GITLAB_CI unset)")


def from_github_actions(env: Mapping[str, str]) -> CiRun:
    from bot.events import ForgeKind

    repo = _need(env, "GITHUB_REPOSITORY")
    token = env.get("ROLLBACK_PLAN_GITHUB_TOKEN", "").strip() or env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise CiError(
            "GITHUB_TOKEN is not set: pass `github-token` to the action (or set GITHUB_TOKEN "
            "from secrets.GITHUB_TOKEN) with contents, pull-requests, issues and statuses write"
        )
    event_name = _need(env, "GITHUB_EVENT_NAME")
    path = Path(_need(env, "GITHUB_EVENT_PATH"))
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CiError(f"cannot read the event payload GITHUB_EVENT_PATH={path}: {err}") from None
    if not isinstance(payload, dict):
        raise CiError(f"GITHUB_EVENT_PATH={path} does not hold a JSON object")
    from bot.events import PullRequestEvent
    from bot.forges.github import events as github_events
    from bot.forges.payload import PayloadError
    from bot.settings import Settings

    # pull_request_target carries the same payload; it runs with the base's workflow and token
    name = "pull_request" if event_name == "pull_request_target" else event_name
    delivery = f"ci-{env.get('GITHUB_RUN_ID', 'local')}-{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    job: Job | None = None
    gated = False
    if name in github_events.EVENTS:
        try:
            events = github_events.normalize(name, payload, delivery)
        except PayloadError as err:
            raise CiError(f"the {event_name} event payload is not usable: {err}") from None
        from bot.web.jobs import job_for

        # github-actions[bot] is the token's own user: its comments are ours
        settings = Settings(bot_logins=frozenset({"github-actions[bot]"}))
        for event in events:
            job = job_for(event, settings)
            gated = isinstance(event, PullRequestEvent)
            if job is not None:
                break
    return CiRun(
        ForgeKind.GITHUB,
        repo,
        env.get("GITHUB_API_URL", "").strip().rstrip("/") or "https://api.github.com",
        token,
        Path(env.get("GITHUB_WORKSPACE") or "."),
        job,
        gated and job is not None,
    )


def from_gitlab_ci(env: Mapping[str, str]) -> CiRun:
    from bot.events import ForgeKind, Job, JobKind

    iid = env.get("CI_MERGE_REQUEST_IID", "").strip()
    if not iid:
        raise CiError(
            "not a merge request pipeline (CI_MERGE_REQUEST_IID is unset): run the job with "
            '`rules: - if: $CI_PIPELINE_SOURCE == "merge_request_event"`'
        )
    if not iid.isdigit():
        raise CiError("CI_MERGE_REQUEST_IID is not a number")
    repo = _need(env, "CI_PROJECT_PATH")
    token = _gitlab_token(env)
    server = env.get("CI_SERVER_URL", "").strip().rstrip("/")
    if not server:
        api = _need(env, "CI_API_V4_URL").rstrip("/")
        server = api.removesuffix("/api/v4")
    # In merged-results pipelines CI_COMMIT_SHA is the merge preview, not the MR's head.
    head = (
        env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "").strip()
        or env.get("CI_COMMIT_SHA", "").strip()
        or None
    )
    delivery = f"ci-{env.get('CI_PIPELINE_ID', 'local')}-{env.get('CI_JOB_ID', '0')}"
    job = Job(
        JobKind.PULL_REQUEST,
        ForgeKind.GITLAB,
        repo,
        delivery,
        number=int(iid),
        sha=head,
        branch=env.get("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME") or None,
        project_id=int(env["CI_PROJECT_ID"]) if env.get("CI_PROJECT_ID", "").isdigit() else None,
    )
    return CiRun(
        ForgeKind.GITLAB,
        repo,
        server,
        token,
        Path(env.get("CI_PROJECT_DIR") or "."),
        job,
        True,
    )


def _gitlab_token(env: Mapping[str, str]) -> str:
    token = env.get("ROLLBACK_PLAN_GITLAB_TOKEN", "").strip()
    path = env.get("ROLLBACK_PLAN_GITLAB_TOKEN_FILE", "").strip()
    if not token and path:
        try:
            token = Path(path).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise CiError(
                f"ROLLBACK_PLAN_GITLAB_TOKEN_FILE: cannot read {path}: {err.strerror}"
            ) from None
    if token:
        return token
    if env.get("CI_JOB_TOKEN"):
        # The job token may clone, but the REST API refuses it for MR notes, commit
        # statuses and branches: it cannot post a plan.
        raise CiError(
            "ROLLBACK_PLAN_GITLAB_TOKEN is not set, and CI_JOB_TOKEN cannot post merge request "
            "comments or commit statuses: add a project access token (role Developer, scope "
            "`api`) as the masked CI/CD variable ROLLBACK_PLAN_GITLAB_TOKEN"
        )
    raise CiError("ROLLBACK_PLAN_GITLAB_TOKEN is not set (a project access token, scope `api`)")


def _need(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise CiError(f"{name} is not set")
    return value


# -- running ------------------------------------------------------------------------------------


def forge_for_run(run: CiRun, **options: Any) -> Forge:
    """The forge client the CI token allows."""
    from bot.events import ForgeKind

    if run.forge is ForgeKind.GITHUB:
        from bot.forges.github import GitHubForge

        return GitHubForge.with_token(run.token, api_url=run.api_url, **options)
    from bot.forges.gitlab import GitLabForge

    return GitLabForge(url=run.api_url, token=run.token, **options)


def execute(
    run: CiRun,
    forge: Forge,
    *,
    options: PlanOptions | None = None,
    report: str = Report.AUTO,
    cache_dir: Path | None = None,
    replays: ReplayStore | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Outcome:
    """Do the run's job with the bot's own Worker; the outcome says how the gate stands."""
    from bot.events import JobKind
    from bot.executor import BRANCH_PREFIX, CHECK_NAME
    from bot.forges import CheckState
    from bot.jobs.handlers import Worker, Workflow
    from bot.jobs.repo_cache import Remote, RepoCache
    from bot.planner import PlanOptions

    job = run.job
    if job is None:
        return Outcome(EXIT_OK, "nothing to do for this event")
    options = options or PlanOptions()
    with tempfile.TemporaryDirectory(prefix="rollback-plan-ci-", dir=cache_dir) as tmp:
        remote = Remote(run.workspace.resolve().as_uri())
        cache = RepoCache(Path(tmp), lambda _job: remote)
        worker = Worker(Workflow(plan_options=options), lambda _job: forge, cache, now)
        worker.plans.parses.store = replays  # histories replayed by earlier CI runs
        pr = forge.pull_request(job.repo, job.number) if job.number is not None else None
        if run.gated and pr is None:
            raise CiError(f"{job.repo}: pull/merge request {job.number} not found with this token")
        if pr is not None:
            base = forge.branch_sha(job.repo, pr.base_branch)
            _fetch_into_workspace(run.workspace, [pr.head_sha, base or ""])
            if run.gated:  # planned as of the PR's current head, whatever the event carried
                job = replace(job, sha=pr.head_sha)
        elif job.sha:
            before = job.before if job.before and job.before.strip("0") else ""
            _fetch_into_workspace(run.workspace, [job.sha, before])
        worker.handle(job)
        if pr is None or not run.gated:
            return Outcome(EXIT_OK, f"{job.kind.value} handled")
        if pr.head_branch.startswith(BRANCH_PREFIX):
            return Outcome(EXIT_OK, f"#{pr.number} is a companion of a revert: nothing to gate")
        check = forge.get_check(job.repo, pr.head_sha, CHECK_NAME)
        if check is not None:
            code = EXIT_OK if check.state is CheckState.SUCCESS else EXIT_GATE
            return Outcome(code, f"revert #{pr.number}: check {CHECK_NAME} is {check.state.value}")
        if report == Report.NEVER or pr.state != "open":
            return Outcome(EXIT_OK, f"#{pr.number} is not a revert: nothing to gate")
        if report == Report.AUTO and not _changes_schema(worker, job, forge, pr, options, now):
            return Outcome(EXIT_OK, f"#{pr.number} is not a revert and changes no schema source")
        # "/rollback-plan" on the PR: the same report a person gets by asking for it
        worker.handle(
            replace(job, kind=JobKind.COMMAND, command=_PLAN_COMMAND, author=pr.author or None)
        )
        return Outcome(EXIT_OK, f"#{pr.number} is not a revert: reversibility report posted")


def _changes_schema(
    worker: Worker,
    job: Job,
    forge: Forge,
    pr: PullRequest,
    options: PlanOptions,
    now: Callable[[], datetime],
) -> bool:
    """Whether reverting the PR would touch a schema source (a cheap plan: no proving)."""
    import git

    from bot.jobs.repo_cache import CloneError
    from bot.planner import plan_refs
    from bot.sources.dirs import SourceError

    base = forge.branch_sha(job.repo, pr.base_branch)
    if base is None:
        return False
    try:
        with worker.repos.open(job, [pr.head_sha, base]) as cached:
            try:
                mb = str(cached.repo.git.merge_base(base, pr.head_sha)).strip() or base
            except git.GitCommandError:
                mb = base
            plan = plan_refs(
                cached.repo,
                pr.head_sha,
                mb,
                cache=worker.plans,
                now=now(),
                options=replace(options, verify=False),
            )
    except (CloneError, SourceError, ValueError, git.GitError) as err:
        log.warning("cannot tell whether %s#%s changes a schema: %s", job.repo, pr.number, err)
        return True  # say so in a report rather than stay silent
    return bool(plan.sources) or bool(plan.problems)


def _fetch_into_workspace(workspace: Path, shas: Sequence[str]) -> None:
    """CI checkouts are often shallow, or hold only the merge commit: fetch the commits the
    job needs from the checkout's own origin (with its credentials), history included."""
    wanted = [s for s in dict.fromkeys(shas) if s]
    try:
        missing = [s for s in wanted if not _has(workspace, s)]
        shallow = _git(workspace, "rev-parse", "--is-shallow-repository").strip() == "true"
    except (OSError, subprocess.SubprocessError) as err:
        raise CiError(f"{workspace} is not a git checkout: {type(err).__name__}") from None
    if not missing and not shallow:
        return
    args = ["fetch", "--no-tags", "--quiet", *(["--unshallow"] if shallow else []), "origin"]
    try:
        _git(workspace, *args, *(missing or wanted))
    except subprocess.SubprocessError as err:
        # The plan then says which commit it could not read.
        log.warning("could not fetch the job's commits into %s: %s", workspace, type(err).__name__)


def _has(workspace: Path, sha: str) -> bool:
    try:
        _git(workspace, "cat-file", "-e", f"{sha}^{{commit}}")
        return True
    except subprocess.CalledProcessError:
        return False


def _git(workspace: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args],
        cwd=workspace,
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    return out.stdout


# -- the command --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `rollback-plan ci` (for bot/cli.py's subparser)."""
    parser.add_argument("--dialect", help="override the detected dialect of every source")
    parser.add_argument(
        "--verify",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="prove what ships on a scratch engine, with data (default); --no-verify for speed",
    )
    parser.add_argument(
        "--run-repo-code",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the repository's own code where a migration tool needs it for the SQL "
        "(Alembic's env.py offline, Django's sqlmigrate), sandboxed (default: the CI job runs "
        "the repository's code anyway); --no-run-repo-code to refuse",
    )
    parser.add_argument(
        "--repo-code-env",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a variable the repository's code sees (it sees no other but PATH and the locale)",
    )
    parser.add_argument(
        "--report",
        choices=Report.CHOICES,
        default=Report.AUTO,
        help="a reversibility report on PRs/MRs that are not reverts: auto (when they change "
        "a schema source), always, never (default: auto)",
    )


def run_ci(
    args: argparse.Namespace,
    env: Mapping[str, str] | None = None,
    *,
    forge_options: Mapping[str, Any] | None = None,
) -> int:
    """`rollback-plan ci` with parsed arguments; prints one summary line. `forge_options`
    go to the forge client (tests switch GitHub's request spacing off)."""
    from bot.cache import replay_store
    from bot.core.model import Dialect
    from bot.engines.proof import MYSQL_SCRATCH_ENV
    from bot.forges import ForgeError
    from bot.planner import PlanOptions
    from bot.planner.django_runner import env_option
    from bot.sources.pyrunner import PYTHON_ENV

    env = os.environ if env is None else env
    try:
        dialect = Dialect.parse(args.dialect) if args.dialect else None
        run = detect(env)
        options = PlanOptions(
            dialect=dialect,
            verify=bool(args.verify),
            mysql_url=env.get(MYSQL_SCRATCH_ENV) or None,
            env=dict(env),
            run_repo_code=bool(args.run_repo_code),
            repo_code_env=env_option(args.repo_code_env, env),
            python=env.get(PYTHON_ENV) or None,
        )
        outcome = execute(
            run,
            forge_for_run(run, **(forge_options or {})),
            options=options,
            report=args.report,
            replays=replay_store(env),
        )
    except (CiError, ValueError) as err:
        print(f"rollback-plan ci: error: {err}", file=sys.stderr)
        return EXIT_ERROR
    except ForgeError as err:
        print(f"rollback-plan ci: error: the forge refused: {err}", file=sys.stderr)
        return EXIT_ERROR
    print(f"rollback-plan ci: {outcome.summary}")
    return outcome.exit_code


def main_ci(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    forge_options: Mapping[str, Any] | None = None,
) -> int:
    """`rollback-plan ci` as a program of its own."""
    parser = argparse.ArgumentParser(
        prog="rollback-plan ci",
        description="Plan and gate the pull/merge request this CI job runs for.",
    )
    add_arguments(parser)
    return run_ci(parser.parse_args(argv), env, forge_options=forge_options)
