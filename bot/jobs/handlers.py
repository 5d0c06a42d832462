"""The job handlers: fetch the repository, plan with the engine, decide, and hand the result
to the executor (the only writer).

Where a revert's state lives: the plan comment on the revert PR/MR; for a pushed revert, the
plan comment on its companion PR/MR (the commit gets a copy). Commands and approving reviews on
a companion PR/MR act on the revert it belongs to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

import git

from bot.approvals import (
    Approval,
    ApprovalPolicy,
    check_state,
    counting,
    decide,
    plan_hash,
)
from bot.commands import CommandKind, parse
from bot.core.plan import CompanionFile, Plan, RevertSummary
from bot.core.revert import PullRequestMeta, RevertInfo, detect_revert
from bot.events import ForgeKind, Job, JobKind
from bot.executor import (
    BRANCH_PREFIX,
    CHECK_NAME,
    GITHUB_COMMENT_LIMIT,
    GITLAB_COMMENT_LIMIT,
    Companion,
    Executor,
    Publication,
    Record,
    companion_message,
)
from bot.forges import CheckState, Forge, ForgeError, PullRequest, PullState
from bot.jobs.locks import KeyedLocks
from bot.jobs.repo_cache import CachedRepo, CloneError, RepoCache
from bot.markdown.env import md
from bot.markdown.messages import render
from bot.planner import PlanCache, PlanOptions, plan_commit, plan_refs
from bot.sources.dirs import SourceError
from bot.sources.git import commit_info, recent_commits

log = logging.getLogger(__name__)

_ZERO = "0" * 40
_MAX_PUSHED = 100  # commits of one push looked at for reverts
_MAX_PR_COMMITS = 50  # commits of one PR looked at for a revert, when the head is not one
# Wording only: what each forge calls a pull request.
_PR_WORD = {ForgeKind.GITHUB: "pull request", ForgeKind.GITLAB: "merge request"}
_DEFAULT_LIMITS = {ForgeKind.GITHUB: GITHUB_COMMENT_LIMIT, ForgeKind.GITLAB: GITLAB_COMMENT_LIMIT}


class WorkflowSettings(Protocol):
    """What the worker reads from the settings (any object with these attributes)."""

    @property
    def approval_policy(self) -> ApprovalPolicy: ...

    @property
    def comment_limits(self) -> dict[ForgeKind, int]: ...

    @property
    def plan_options(self) -> PlanOptions: ...


@dataclass(frozen=True)
class Workflow:
    """The default WorkflowSettings."""

    approval_policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    comment_limits: dict[ForgeKind, int] = field(default_factory=lambda: dict(_DEFAULT_LIMITS))
    plan_options: PlanOptions = field(default_factory=PlanOptions)


@dataclass(frozen=True)
class _Request:
    """Someone asked to approve."""

    user: str
    data_loss: bool
    reply_on: int  # the PR/MR where they asked
    key: str  # what the reply is found again by


@dataclass(frozen=True)
class _Ctx:
    job: Job
    forge: Forge
    ex: Executor


@dataclass(frozen=True)
class _Planned:
    plan: Plan | None
    problem: str | None
    revert_sha: str  # the revert commit (names the companion branch)


class Worker:
    def __init__(
        self,
        settings: WorkflowSettings,
        forge_for: Callable[[Job], Forge],
        repo_cache: RepoCache,
        now: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.forge_for = forge_for
        self.repos = repo_cache
        self.now = now
        self.plans = PlanCache()
        self._targets = KeyedLocks()  # one job at a time per revert, whichever PR it came on
        # Told the verdict of every plan decided (the composition root counts them).
        self.on_plan: Callable[[str], None] | None = None

    # -- entry points -------------------------------------------------------------------

    def handle(self, job: Job) -> None:
        ctx = self._ctx(job)
        if job.kind is JobKind.PUSH:
            self._push(ctx)
        elif job.kind is JobKind.PULL_REQUEST and job.number is not None:
            pr = ctx.forge.pull_request(job.repo, job.number)
            if pr is not None and pr.state is PullState.OPEN and not _ours(pr):
                self._pull_request(ctx, pr, report=False, request=None)
        elif job.kind is JobKind.COMMAND:
            self._command(ctx)
        elif job.kind is JobKind.REVIEW:
            self._review(ctx)
        elif job.kind is JobKind.RERUN:
            self._rerun(ctx)

    def give_up(self, job: Job, err: BaseException) -> None:
        """For the queue: a job failed for good; say so where people look, and how to retry.
        Not when the forge itself did not answer: the comment would not get through either."""
        if isinstance(err, ForgeError) and err.transient and err.status is None:
            log.warning("delivery %s: the forge is unreachable; no failure comment", job.delivery)
            return
        ctx = self._ctx(job)
        text = (
            "**rollback-plan could not finish** planning this change "
            f"(delivery `{md(job.delivery)}`); the forge or the repository did not answer in "
            "time. Comment `/rollback-plan refresh` to try again."
        )
        ctx.ex.fail(job.number, job.sha if job.number is None else None, text)

    # -- jobs ---------------------------------------------------------------------------

    def _command(self, ctx: _Ctx) -> None:
        job = ctx.job
        text = job.command or ""
        command = parse(text)
        if command is None or job.number is None or "<!-- rollback-plan:" in text:
            return  # not a command, or the bot's own text quoted back
        if job.comment_id is not None:
            ctx.ex.react(job.number, job.comment_id, "eyes")
        key = f"comment-{job.comment_id}"
        if command.kind in (CommandKind.HELP, CommandKind.UNKNOWN):
            unknown = command.text if command.kind is CommandKind.UNKNOWN else ""
            ctx.ex.reply(job.number, key, self._help(job, unknown))
            return
        pr = ctx.forge.pull_request(job.repo, job.number)
        if pr is None:
            return
        request = None
        if command.kind in (CommandKind.APPROVE, CommandKind.APPROVE_DATA_LOSS):
            if not job.author:
                return
            data_loss = command.kind is CommandKind.APPROVE_DATA_LOSS
            request = _Request(job.author, data_loss, job.number, key)
        self._on_pr(ctx, pr, request=request, report=request is None)

    def _review(self, ctx: _Ctx) -> None:
        job = ctx.job
        if job.number is None or not job.author:
            return
        pr = ctx.forge.pull_request(job.repo, job.number)
        if pr is None or ctx.ex.companion_link(pr) is None:
            return  # only an approval of the companion counts
        key = f"review-{job.author}-{(job.sha or pr.head_sha)[:12]}"
        self._on_pr(ctx, pr, request=_Request(job.author, False, pr.number, key), report=False)

    def _rerun(self, ctx: _Ctx) -> None:
        job = ctx.job
        if job.number is not None:
            pr = ctx.forge.pull_request(job.repo, job.number)
            if pr is not None:
                self._on_pr(ctx, pr, request=None, report=False)
            return
        if job.sha:
            companion = ctx.forge.pull_request_for_branch(job.repo, BRANCH_PREFIX + job.sha[:12])
            if companion is not None and ctx.ex.companion_link(companion) is not None:
                # The check of a revert PR/MR as well as of a pushed revert: its state lives
                # where the companion says, with the approvals given there.
                self._on_pr(ctx, companion, request=None, report=False)
                return
            branch = job.branch or ctx.forge.default_branch(job.repo)
            start = ctx.forge.branch_sha(job.repo, branch)
            self._pushed_revert(ctx, job.sha, branch, start or job.sha)

    def _on_pr(self, ctx: _Ctx, pr: PullRequest, *, request: _Request | None, report: bool) -> None:
        """A command or review on `pr`: act on the revert it is, or whose companion it is."""
        link = ctx.ex.companion_link(pr)
        if link is None:
            if not self._pull_request(ctx, pr, report=report, request=request) and request:
                ctx.ex.reply(
                    request.reply_on,
                    request.key,
                    "There is nothing to approve here: this is not a revert, so it has no "
                    "rollback plan to gate.",
                )
            return
        if link.revert_pr is not None:
            revert = ctx.forge.pull_request(ctx.job.repo, link.revert_pr)
            if revert is not None:
                self._pull_request(ctx, revert, report=False, request=request)
            return
        self._pushed_revert(
            ctx, link.revert_sha, link.base, link.start_sha, request=request, author=link.author
        )

    def _push(self, ctx: _Ctx) -> None:
        job = ctx.job
        branch = job.branch or ""
        if not job.sha or branch.startswith(BRANCH_PREFIX):
            return  # a deleted branch, or our own companion branch
        # A branch with an open PR/MR is planned as that PR/MR, not commit by commit.
        if branch and ctx.forge.pull_request_for_branch(job.repo, branch) is not None:
            return
        try:
            with self.repos.open(job, [job.sha]) as cached:
                shas = _pushed(cached, job.before, job.sha)
                subjects = set(_subjects(cached.repo, shas))
                reverts = [
                    s
                    for s in shas
                    # Planned already: as a revert PR's head (merged now), or by an earlier
                    # delivery of this push; or its companion change lands in the same push.
                    if ctx.forge.get_check(job.repo, s, CHECK_NAME) is None
                    and companion_message(s) not in subjects
                    and _revert_info(cached.repo, s) is not None
                ]
        except (CloneError, SourceError) as err:
            log.warning("push %s of %s: %s", job.delivery, job.repo, err)
            ctx.ex.fail(None, job.sha, f"**rollback-plan could not read the push:** {md(err)}")
            return
        for sha in reverts:
            self._pushed_revert(ctx, sha, branch, job.sha, author=job.author)

    # -- planning and publishing ----------------------------------------------------------

    def _pull_request(
        self, ctx: _Ctx, pr: PullRequest, *, report: bool, request: _Request | None
    ) -> bool:
        """Plan a revert PR (or, with `report`, any PR); False when it is no revert."""
        with self._targets(f"{ctx.job.repo}#{pr.number}"):
            planned, is_revert = self._plan_pr(ctx, pr)
            if not is_revert and not report:
                return False
            if not is_revert:
                ctx.ex.publish(
                    Publication(planned.plan, planned.problem, number=pr.number, report=True)
                )
                return False
            record = ctx.ex.record(pr.number)
            companion = None
            if planned.plan is not None and any(s.files for s in planned.plan.sources):
                branch = (record.companion_branch if record else "") or (
                    BRANCH_PREFIX + planned.revert_sha[:12]
                )
                companion = Companion(
                    branch,
                    pr.head_branch,
                    pr.head_sha,
                    f"Rollback plan: {pr.title}",
                    _files(planned.plan),
                    pr.number,
                    planned.revert_sha,
                    pr.author,
                )
            self._decide_and_publish(
                ctx,
                planned,
                record,
                request,
                head=pr.head_sha,
                author=pr.author,
                number=pr.number,
                companion=companion,
                fork=pr.is_fork,
            )
            return True

    def _pushed_revert(
        self,
        ctx: _Ctx,
        sha: str,
        branch: str,
        start_sha: str,
        *,
        request: _Request | None = None,
        author: str | None = None,
    ) -> None:
        job = ctx.job
        with self._targets(f"{job.repo}@{sha}"):
            planned = self._plan_commit(ctx, sha, start_sha)
            if planned is None:
                return
            companion = None
            record: Record | None = None
            if planned.plan is not None and any(s.files for s in planned.plan.sources):
                title = planned.plan.revert.title if planned.plan.revert else sha[:12]
                companion = Companion(
                    BRANCH_PREFIX + sha[:12],
                    branch,
                    start_sha,
                    f"Rollback plan: {title}",
                    _files(planned.plan),
                    None,
                    sha,
                    author,
                )
                home = ctx.forge.pull_request_for_branch(job.repo, companion.branch)
                record = ctx.ex.record(home.number) if home is not None else None
            self._decide_and_publish(
                ctx,
                planned,
                record,
                request,
                head=sha,
                author=author or (record.revert_author if record else None),
                number=None,
                commit=sha,
                companion=companion,
            )

    def _decide_and_publish(
        self,
        ctx: _Ctx,
        planned: _Planned,
        record: Record | None,
        request: _Request | None,
        *,
        head: str,
        author: str | None,
        number: int | None,
        companion: Companion | None,
        commit: str | None = None,
        fork: bool = False,
    ) -> None:
        plan = planned.plan
        if plan is not None and self.on_plan is not None:
            self.on_plan(plan.verdict.value)
        approvals = record.approvals if record else ()
        digest = plan_hash(plan) if plan is not None else ""
        notice = ""
        if request is not None:
            go_on, accepted = self._approve(ctx, request, record, plan, digest, head, author)
            if not go_on:
                return  # denied: the reply says why; the check and the comment stay as they are
            if accepted is not None:
                approvals = (*approvals, accepted)
                what = " accepting the data loss" if accepted.data_loss else ""
                notice = f"@{md(accepted.user)} approved this plan{what}."
        valid = counting(approvals, digest, head) if plan is not None else ()
        # No plan (the repository could not be read): the gate stays shut until one exists.
        state = check_state(plan.verdict, valid) if plan is not None else CheckState.FAILURE
        ctx.ex.publish(
            Publication(
                plan,
                planned.problem,
                head_sha=head,
                number=number,
                commit=commit,
                companion=companion,
                fork=fork,
                approvals=approvals,
                counting=valid,
                plan_hash=digest,
                check=state,
                notice=notice,
                revert_author=author,
            )
        )

    def _approve(
        self,
        ctx: _Ctx,
        request: _Request,
        record: Record | None,
        plan: Plan | None,
        digest: str,
        head: str,
        author: str | None,
    ) -> tuple[bool, Approval | None]:
        """Whether to publish, and the new approval. Denied: (False, None), with a reply;
        the plan changed since it was shown: (True, None), so the new one is published."""
        if plan is None or record is None:
            ctx.ex.reply(
                request.reply_on,
                request.key,
                "There is no rollback plan to approve yet. Comment `/rollback-plan refresh`.",
            )
            return False, None
        if (record.plan_hash, record.head_sha) != (digest, head):
            # Approve what people were shown, never a plan they have not seen.
            ctx.ex.reply(
                request.reply_on,
                request.key,
                f"@{md(request.user)}: the plan changed since the comment showed it (new commits "
                "or a new plan); it has been updated. Review it and approve again.",
            )
            return True, None
        denied = decide(
            ctx.forge,
            ctx.job.repo,
            request.user,
            data_loss=request.data_loss,
            verdict=plan.verdict,
            revert_author=author,
            policy=self.settings.approval_policy,
        )
        if denied is not None:
            ctx.ex.reply(
                request.reply_on,
                request.key,
                f"@{md(request.user)}: **approval not accepted**: {denied.reason}. "
                "The check is unchanged.",
            )
            return False, None
        return True, Approval(request.user, request.data_loss, digest, head, self.now().isoformat())

    def _plan_pr(self, ctx: _Ctx, pr: PullRequest) -> tuple[_Planned, bool]:
        """The plan of a revert PR (deployed base -> the head merged into it), or of what
        reverting any PR would take (its head -> where it branched off)."""
        job = ctx.job
        base = ctx.forge.branch_sha(job.repo, pr.base_branch)
        if base is None:
            return _Planned(None, f"the base branch {pr.base_branch!r} is gone", pr.head_sha), True
        try:
            with self.repos.open(job, [pr.head_sha, base]) as cached:
                g = cached.repo
                # first: deepening to where the PR branched off brings all of its commits
                mb = _merge_base(cached, base, pr.head_sha)
                info = self._revert_in_pr(cached, pr, base)
                now = _commit_time(g, pr.head_sha)
                options = self.settings.plan_options
                if info is None:
                    to = mb or base
                    plan = plan_refs(g, pr.head_sha, to, cache=self.plans, now=now, options=options)
                    return _Planned(plan, None, pr.head_sha), False
                target = pr.head_sha if mb == base else _merged(g, base, pr.head_sha, mb)
                problems: tuple[str, ...] = ()
                start = base
                if target is None:
                    start, target = mb or base, pr.head_sha
                    problems = (
                        f"the revert does not merge cleanly into {pr.base_branch}: "
                        "planned from where it branched off",
                    )
                # the plan names the PR's head: a merge preview exists only in this clone
                plan = plan_refs(
                    g,
                    start,
                    target,
                    cache=self.plans,
                    now=now,
                    options=options,
                    shown_to=pr.head_sha,
                )
                plan = replace(
                    plan,
                    revert=_summary(info),
                    problems=(*plan.problems, *problems),
                )
                return _Planned(plan, None, info.commit), True
        except (CloneError, SourceError, ValueError) as err:
            log.warning("planning %s#%s failed: %s", job.repo, pr.number, err)
            revertish = _looks_like_revert(pr)
            return _Planned(None, str(err), pr.head_sha), revertish

    def _revert_in_pr(self, cached: CachedRepo, pr: PullRequest, base: str) -> RevertInfo | None:
        g = cached.repo
        meta = PullRequestMeta(pr.title, pr.body, pr.head_branch, f"#{pr.number}")
        info = _revert_info(g, pr.head_sha, meta)
        if info is not None:
            return info
        try:
            shas = g.git.rev_list(f"--max-count={_MAX_PR_COMMITS}", f"{base}..{pr.head_sha}")
        except git.GitCommandError:
            return None
        listed = shas.split()
        for sha in listed:
            if sha != pr.head_sha and (found := _revert_info(g, sha)) is not None:
                return found
        if len(listed) == _MAX_PR_COMMITS:
            log.warning(
                "%s: no revert among its newest %d commits; older ones are not looked at",
                pr.url or f"#{pr.number}",
                _MAX_PR_COMMITS,
            )
        return None

    def _plan_commit(self, ctx: _Ctx, sha: str, start_sha: str) -> _Planned | None:
        try:
            with self.repos.open(ctx.job, [sha, start_sha]) as cached:
                info = _revert_info(cached.repo, sha)
                if info is None:
                    return None
                reverted = [r for r in info.reverts if len(r) >= 7]
                cached.deepen_until(lambda: all(cached.has(r) for r in reverted), [sha])
                plan = plan_commit(
                    cached.repo,
                    sha,
                    cache=self.plans,
                    now=_commit_time(cached.repo, sha),
                    options=self.settings.plan_options,
                )
                return _Planned(plan, None, sha)
        except (CloneError, SourceError, ValueError) as err:
            log.warning("planning %s@%s failed: %s", ctx.job.repo, sha[:12], err)
            return _Planned(None, str(err), sha)

    # -- small pieces ---------------------------------------------------------------------

    def _ctx(self, job: Job) -> _Ctx:
        forge = self.forge_for(job)
        limit = self.settings.comment_limits.get(job.forge, _DEFAULT_LIMITS[job.forge])
        ex = Executor(
            forge,
            job.repo,
            comment_limit=limit,
            policy=self.settings.approval_policy,
            pr_word=_PR_WORD[job.forge],
        )
        return _Ctx(job, forge, ex)

    def _help(self, job: Job, unknown: str) -> str:
        policy = self.settings.approval_policy
        teams = f" or membership of {', '.join(policy.teams)}" if policy.teams else ""
        return render(
            "help.md.j2",
            marker="",
            author=job.author or "",
            unknown=unknown,
            who=f"{policy.minimum.value} permission{teams}",
        )


def _ours(pr: PullRequest) -> bool:
    return pr.head_branch.startswith(BRANCH_PREFIX)


def _looks_like_revert(pr: PullRequest) -> bool:
    from bot.core.revert import CommitMeta

    meta = PullRequestMeta(pr.title, pr.body, pr.head_branch)
    return detect_revert(CommitMeta(pr.head_sha), pr=meta) is not None


def _revert_info(g: git.Repo, sha: str, pr: PullRequestMeta | None = None) -> RevertInfo | None:
    meta = commit_info(g, sha)
    candidates = recent_commits(g, sha, [c.path for c in meta.changed])
    return detect_revert(meta, pr=pr, candidates=candidates)


def _summary(info: RevertInfo) -> RevertSummary:
    return RevertSummary(
        info.commit, tuple(info.reverts), info.detected_by.value, info.reapply, info.subject
    )


def _files(plan: Plan) -> tuple[CompanionFile, ...]:
    return tuple(f for s in plan.sources for f in s.files)


def _commit_time(g: git.Repo, sha: str) -> datetime:
    """Planning uses the revert's own date, so the companion files (named by time in some
    formats) and the plan's hash do not change when the same revert is planned again."""
    return datetime.fromisoformat(g.git.show("-s", "--format=%cI", sha).strip())


def _merge_base(cached: CachedRepo, a: str, b: str) -> str | None:
    def find() -> str | None:
        try:
            return str(cached.repo.git.merge_base(a, b)).strip() or None
        except git.GitCommandError:
            return None

    cached.deepen_until(lambda: find() is not None, [a, b])
    return find()


def _merged(g: git.Repo, base: str, head: str, mb: str | None) -> str | None:
    """A commit (only in the cache) whose tree is `head` merged into `base`: the schema
    after the revert is merged. None when they conflict or have no common history."""
    if mb is None:
        return None
    try:
        tree = g.git.merge_tree("--write-tree", base, head).split()[0]
        when = g.git.show("-s", "--format=%cI", head).strip()
        env = {
            "GIT_AUTHOR_NAME": "rollback-plan",
            "GIT_AUTHOR_EMAIL": "rollback-plan@localhost",
            "GIT_COMMITTER_NAME": "rollback-plan",
            "GIT_COMMITTER_EMAIL": "rollback-plan@localhost",
            "GIT_AUTHOR_DATE": when,
            "GIT_COMMITTER_DATE": when,
        }
        out = g.git.execute(
            ["git", "commit-tree", tree, "-p", base, "-p", head, "-m", "merge preview"], env=env
        )
        return str(out).strip()
    except git.GitCommandError:
        return None


def _pushed(cached: CachedRepo, before: str | None, after: str) -> list[str]:
    """The commits a push added, oldest first (just the tip when the start is unknown)."""
    if not before or before == _ZERO:
        return [after]

    def listed() -> list[str]:
        out = cached.repo.git.rev_list(
            "--reverse", f"--max-count={_MAX_PUSHED}", f"{before}..{after}"
        )
        return str(out).split()

    def complete() -> bool:
        # Every commit of the range with its parents: a shallow boundary inside the range
        # (a merge's other side, say) would cut it short.
        if not _is_ancestor(cached.repo, before, after):
            return False
        return not set(listed()) & cached.boundary()

    if not cached.deepen_until(complete, [after]):
        return [after]
    shas = listed()
    if len(shas) == _MAX_PUSHED:
        count = int(cached.repo.git.rev_list("--count", f"{before}..{after}"))
        if count > _MAX_PUSHED:
            # said, not silent: a revert among the older ones gets no plan from this push
            log.warning(
                "push %s..%s added %d commits: only the newest %d are looked at for reverts",
                before[:12],
                after[:12],
                count,
                _MAX_PUSHED,
            )
    return shas


def _subjects(g: git.Repo, shas: list[str]) -> list[str]:
    if not shas:
        return []
    return str(g.git.show("-s", "--format=%s", *shas)).splitlines()


def _is_ancestor(g: git.Repo, a: str, b: str) -> bool:
    try:
        g.git.merge_base("--is-ancestor", a, b)
        return True
    except git.GitCommandError:
        return False
