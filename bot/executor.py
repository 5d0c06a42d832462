"""The only code that writes to a forge.

Every write is preceded by a read: the companion PR/MR is found again by its branch, the plan
comment (and each of its continuation parts) by a hidden marker, the check by its fixed name,
and nothing is written when what is there is already right. So a job that is re-run, retried
after a failure half-way, or delivered five times converges on one PR, one comment, one check.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.approvals import (
    Approval,
    ApprovalPolicy,
    approval_marker,
    hidden_json,
    read_approvals,
)
from bot.core.plan import CompanionFile, Plan
from bot.core.risk import Verdict
from bot.forges import Check, CheckState, Forge, PullRequest
from bot.markdown.env import md
from bot.markdown.messages import render
from bot.markdown.plan import plan_markdown

log = logging.getLogger(__name__)

CHECK_NAME = "rollback-plan"
LABEL = "rollback-plan"
BRANCH_PREFIX = "rollback-plan/"
COMMENT_MARKER = "<!-- rollback-plan:comment -->"
FAILURE_KEY = "failure"
GITHUB_COMMENT_LIMIT = 65536
GITLAB_COMMENT_LIMIT = 1_000_000
MAX_APPROVALS_KEPT = 20  # older ones are dropped from the comment
_STATE = re.compile(r"<!-- rollback-plan:state (\{[^<>]*\}) -->")
_COMPANION = re.compile(r"<!-- rollback-plan:companion (\{[^<>]*\}) -->")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


def part_marker(index: int) -> str:
    """The marker of the plan comment's part `index` (0 is the comment itself)."""
    return COMMENT_MARKER if index == 0 else f"<!-- rollback-plan:comment part {index + 1} -->"


def companion_message(revert_sha: str) -> str:
    """The subject of the companion commit: a push that brings it along is not re-planned."""
    return f"Rollback plan for {revert_sha[:12]}"


def reply_marker(key: str) -> str:
    return f"<!-- rollback-plan:reply {key} -->"


@dataclass(frozen=True)
class Record:
    """What the plan comment says about the last published plan (read back, never kept)."""

    comment_id: int
    plan_hash: str = ""
    head_sha: str = ""
    verdict: str = ""
    companion_branch: str = ""
    companion_number: int | None = None
    parts: int = 1
    revert_author: str | None = None
    approvals: tuple[Approval, ...] = ()


@dataclass(frozen=True)
class CompanionLink:
    """What a companion PR/MR's hidden marker says about the revert it belongs to."""

    revert_pr: int | None  # the revert PR/MR; None for a pushed revert
    revert_sha: str  # the pushed revert commit (or the revert PR's head when planned)
    base: str  # the branch the companion merges into
    start_sha: str
    commit: str  # the companion commit the bot made
    files: str  # hash of the files it carries
    author: str | None  # the revert's author, when known


@dataclass(frozen=True)
class Companion:
    """The companion PR/MR a revert needs."""

    branch: str  # rollback-plan/<revert-sha12>
    base: str  # the revert's branch (PR case) or the pushed branch
    start_sha: str  # the commit the branch starts from
    title: str
    files: tuple[CompanionFile, ...]
    revert_pr: int | None
    revert_sha: str
    author: str | None


@dataclass(frozen=True)
class Publication:
    """Everything the worker decided; the executor only makes the forge say it."""

    plan: Plan | None
    problem: str | None = None  # why there is no plan (shown instead of it)
    head_sha: str | None = None  # where the check goes; None: no check (a report)
    number: int | None = None  # PR/MR holding the plan comment; None: the companion holds it
    commit: str | None = None  # a pushed revert: the commit gets the plan comment too
    companion: Companion | None = None
    fork: bool = False  # the revert comes from a fork: no companion, said so
    approvals: tuple[Approval, ...] = ()  # every recorded one (outdated ones are shown as such)
    counting: tuple[Approval, ...] = ()
    plan_hash: str = ""
    check: CheckState | None = None
    report: bool = False  # a reversibility report on a PR that is not a revert
    notice: str = ""  # one Markdown line for the summary (already escaped)
    revert_author: str | None = None


@dataclass(frozen=True)
class Published:
    comment_number: int | None
    companion_number: int | None
    companion_url: str


class Executor:
    """Writes one repository's plan comment, companion PR/MR and check, idempotently."""

    def __init__(
        self,
        forge: Forge,
        repo: str,
        *,
        comment_limit: int = GITHUB_COMMENT_LIMIT,
        policy: ApprovalPolicy | None = None,
        pr_word: str = "pull request",
    ) -> None:
        self.forge = forge
        self.repo = repo
        self.comment_limit = comment_limit
        self.policy = policy or ApprovalPolicy()
        self.pr_word = pr_word

    # -- reads --------------------------------------------------------------------------

    def record(self, number: int) -> Record | None:
        """The state in the plan comment on PR/MR `number`, if the bot has posted one."""
        comment = self.forge.find_comment(self.repo, number, COMMENT_MARKER)
        if comment is None:
            return None
        return parse_record(comment.id, comment.body)

    def companion_link(self, pr: PullRequest) -> CompanionLink | None:
        """The revert a companion PR/MR belongs to, when `pr` is one of ours."""
        if pr.is_fork or not pr.head_branch.startswith(BRANCH_PREFIX):
            return None
        return parse_companion(pr.body)

    # -- writes -------------------------------------------------------------------------

    def react(self, number: int, comment_id: int, reaction: str = "eyes") -> None:
        self.forge.react(self.repo, number, comment_id, reaction)

    def reply(self, number: int, key: str, text: str) -> None:
        """One answer per `key` (a command's comment id, a review): edited, never repeated."""
        marker = reply_marker(key)
        self._upsert(number, marker, f"{marker}\n{text}")

    def fail(self, number: int | None, sha: str | None, text: str) -> None:
        """Tell people a job gave up, and how to retry."""
        marker = reply_marker(FAILURE_KEY)
        body = f"{marker}\n{text}"
        if number is not None:
            self._upsert(number, marker, body)
        elif sha is not None:
            self.forge.comment_on_commit(self.repo, sha, body, marker)

    def publish(self, pub: Publication) -> Published:
        """Companion PR/MR first (the comment and the check link it), then the plan comment,
        then the check."""
        number, url = None, ""
        companion = pub.companion if pub.plan is not None and not pub.fork else None
        if companion is not None and companion.files:
            pr = self._companion(companion, pub)
            number, url = pr.number, pr.url or f"#{pr.number}"
        home = pub.number if pub.number is not None else number
        earlier = self.record(home) if home is not None else None
        approvals = _kept(pub.approvals)
        parts = [""]
        for _ in range(3):  # the state says how many parts there are: render until it holds
            text = self._comment_text(pub, approvals, companion, number, url, len(parts))
            parts, count = split_markdown(text, self.comment_limit, self._continued), len(parts)
            if len(parts) == count:
                break
        if home is not None:
            self._write_parts(home, parts, earlier.parts if earlier else 1)
        if pub.commit is not None:
            first = parts[0]
            if len(parts) > 1:
                first += _rest_of_plan(url, pub.commit)
            self.forge.comment_on_commit(self.repo, pub.commit, first, COMMENT_MARKER)
        if pub.head_sha is not None and pub.check is not None:
            self._set_check(pub, approvals, url)
        if home is not None:
            self._resolve_failure(home)
        return Published(home, number, url)

    # -- the pieces ---------------------------------------------------------------------

    def _companion(self, c: Companion, pub: Publication) -> PullRequest:
        existing = self.forge.pull_request_for_branch(self.repo, c.branch)
        link = parse_companion(existing.body) if existing is not None else None
        files = files_hash(c.files)
        commit = self.forge.branch_sha(self.repo, c.branch)
        unchanged = (
            link is not None
            and commit is not None
            and (link.start_sha, link.files, link.commit) == (c.start_sha, files, commit)
        )
        if not unchanged or commit is None:
            commit = self.forge.commit_files(
                self.repo,
                branch=c.branch,
                start_sha=c.start_sha,
                files={f.path: f.content for f in c.files},
                message=f"{companion_message(c.revert_sha)}\n\n{c.title}",
            )
        link = CompanionLink(
            c.revert_pr, c.revert_sha, c.base, c.start_sha, commit, files, c.author
        )
        body = self._companion_body(c, link, pub)
        if existing is None:
            return self.forge.open_pull_request(
                self.repo, head=c.branch, base=c.base, title=c.title, body=body, labels=(LABEL,)
            )
        if (existing.title, existing.body) != (c.title, body):
            self.forge.update_pull_request(self.repo, existing.number, title=c.title, body=body)
        return existing

    def _companion_body(self, c: Companion, link: CompanionLink, pub: Publication) -> str:
        assert pub.plan is not None
        data: dict[str, Any] = {
            "revert_pr": link.revert_pr,
            "revert_sha": link.revert_sha,
            "base": link.base,
            "start_sha": link.start_sha,
            "commit": link.commit,
            "files": link.files,
            "author": link.author,
        }
        what = f"#{c.revert_pr}" if c.revert_pr is not None else f"the revert `{c.revert_sha[:12]}`"
        return render(
            "companion_pr.md.j2",
            marker=f"<!-- rollback-plan:companion {hidden_json(data)} -->",
            pr_word=self.pr_word,
            what=what,
            refused=pub.plan.verdict is Verdict.REFUSED,
            verdict=_verdict_words(pub.plan.verdict),
            who=self._who(),
            where=what if c.revert_pr is not None else f"this {self.pr_word}",
            plan_text=plan_markdown(pub.plan),
        )

    def _comment_text(
        self,
        pub: Publication,
        approvals: tuple[Approval, ...],
        companion: Companion | None,
        number: int | None,
        url: str,
        parts: int,
    ) -> str:
        counting = tuple(a for a in approvals if a in pub.counting)
        state: dict[str, Any] = {
            "plan_hash": pub.plan_hash,
            "head_sha": pub.head_sha or "",
            "verdict": pub.plan.verdict.value if pub.plan is not None else "",
            "companion_branch": companion.branch if companion and number is not None else "",
            "companion_number": number,
            "revert_author": pub.revert_author,
            "parts": parts,
        }
        markers = [f"<!-- rollback-plan:state {hidden_json(state)} -->"]
        markers += [approval_marker(a) for a in approvals]
        return render(
            "comment.md.j2",
            markers=COMMENT_MARKER + "\n" + "\n".join(markers),
            report=pub.report,
            headline=_headline(pub),
            check=pub.check,
            companion_url=url,
            pr_word=self.pr_word,
            fork=pub.fork and pub.plan is not None and any(s.files for s in pub.plan.sources),
            counting=counting,
            outdated=tuple(a for a in approvals if a not in counting),
            notice=pub.notice,
            how_to_approve=self._how_to_approve(pub),
            problem=pub.problem,
            plan_text=plan_markdown(pub.plan) if pub.plan is not None else "",
        )

    def _continued(self, index: int) -> str:
        return f"{part_marker(index)}\n*Rollback plan, continued (part {index + 1}).*\n\n"

    def _write_parts(self, number: int, parts: list[str], before: int) -> None:
        for i, body in enumerate(parts):
            self._upsert(number, part_marker(i), body)
        # A shorter plan than last time: the extra parts stay, emptied (the forge API here
        # has no delete, and an emptied part is still found again by its marker).
        for i in range(len(parts), before):
            marker = part_marker(i)
            stale = self.forge.find_comment(self.repo, number, marker)
            text = f"{marker}\n*This part of an earlier, longer plan is no longer used.*\n"
            if stale is not None and stale.body != text:
                self.forge.edit_comment(self.repo, number, stale.id, text)

    def _upsert(self, number: int, marker: str, body: str) -> None:
        found = self.forge.find_comment(self.repo, number, marker)
        if found is None:
            self.forge.create_comment(self.repo, number, body)
        elif found.body != body:
            self.forge.edit_comment(self.repo, number, found.id, body)

    def _set_check(self, pub: Publication, approvals: tuple[Approval, ...], url: str) -> None:
        assert pub.head_sha is not None and pub.check is not None
        counting = tuple(a for a in approvals if a in pub.counting)
        summary = render(
            "check.md.j2",
            why=_why(pub),
            counting=counting,
            outdated=tuple(a for a in approvals if a not in counting),
            companion_url=url,
            state=pub.check,
            how_to_approve=self._how_to_approve(pub),
        )
        # the PR's number goes with the check, for a re-run request (it names only the commit)
        ours = f"pr:{pub.number}" if pub.number is not None else ""
        check = Check(pub.check, _headline(pub), summary, ours)
        if self.forge.get_check(self.repo, pub.head_sha, CHECK_NAME) != check:
            self.forge.set_check(self.repo, pub.head_sha, CHECK_NAME, check, url)

    def _resolve_failure(self, number: int) -> None:
        marker = reply_marker(FAILURE_KEY)
        found = self.forge.find_comment(self.repo, number, marker)
        text = f"{marker}\n*An earlier attempt failed; the plan has since been published.*\n"
        if found is not None and found.body != text:
            self.forge.edit_comment(self.repo, number, found.id, text)

    def _who(self) -> str:
        teams = f" or membership of {', '.join(self.policy.teams)}" if self.policy.teams else ""
        return f"{self.policy.minimum.value} permission{teams}"

    def _how_to_approve(self, pub: Publication) -> str:
        if pub.plan is None:
            return "comment `/rollback-plan refresh` once the problem is fixed"
        command = (
            "`/rollback-plan approve data-loss`"
            if pub.plan.verdict is Verdict.REFUSED
            else "`/rollback-plan approve`"
        )
        author = (
            " (not the revert's author)"
            if pub.plan.verdict is Verdict.REFUSED and not self.policy.author_may_approve_data_loss
            else ""
        )
        return f"a person with {self._who()}{author} comments {command}"


# -- pure helpers -------------------------------------------------------------------------


def parse_record(comment_id: int, body: str) -> Record:
    """The state in a plan comment; a marker someone edited by hand reads as no state."""
    record = Record(comment_id, approvals=read_approvals(body))
    d = _hidden_object(_STATE, body)
    if d is None:
        return record
    author, parts = d.get("revert_author"), _int(d, "parts")
    return replace(
        record,
        plan_hash=_text(d, "plan_hash"),
        head_sha=_text(d, "head_sha"),
        verdict=_text(d, "verdict"),
        companion_branch=_text(d, "companion_branch"),
        companion_number=_int(d, "companion_number"),
        parts=parts if parts is not None and parts >= 1 else 1,
        revert_author=author if isinstance(author, str) else None,
    )


def parse_companion(body: str) -> CompanionLink | None:
    """The revert a companion PR/MR belongs to; None when its marker is missing or mangled."""
    d = _hidden_object(_COMPANION, body)
    if d is None:
        return None
    needed = ("revert_sha", "base", "start_sha", "commit", "files")
    if not all(isinstance(d.get(key), str) for key in needed):
        return None
    author = d.get("author")
    return CompanionLink(
        _int(d, "revert_pr"),
        d["revert_sha"],
        d["base"],
        d["start_sha"],
        d["commit"],
        d["files"],
        author if isinstance(author, str) else None,
    )


def _hidden_object(marker: re.Pattern[str], body: str) -> dict[str, Any] | None:
    """The JSON object in a hidden marker (comments are editable: trust no shape)."""
    m = marker.search(body)
    if m is None:
        return None
    try:
        d = json.loads(m.group(1))
    except ValueError:
        return None
    return d if isinstance(d, dict) else None


def _text(d: dict[str, Any], key: str) -> str:
    value = d.get(key)
    return value if isinstance(value, str) else ""


def _int(d: dict[str, Any], key: str) -> int | None:
    value = d.get(key)
    # JSON true is not 1
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def files_hash(files: tuple[CompanionFile, ...]) -> str:
    digest = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        digest.update(f"{f.path}\0{f.content}\0".encode())
    return digest.hexdigest()[:16]


def split_markdown(text: str, limit: int, header: Callable[[int], str]) -> list[str]:
    """`text` in parts of at most `limit` characters, each later part starting with
    `header(i)`; a code block cut at a part boundary is closed and reopened, so no part
    leaves a fence open. Lines longer than a part are cut."""
    reserve = max(len(header(i)) for i in (1, 99)) + 64  # the header, a closing fence, a margin
    budget = limit - reserve
    if budget < 200:
        raise ValueError(f"comment limit {limit} is too small to split into")
    parts: list[str] = []
    current: list[str] = []
    size = 0
    fence: str | None = None  # the opening line of the code block we are in
    for line in text.splitlines(keepends=True):
        pieces = [line[i : i + budget // 2] for i in range(0, len(line), budget // 2)] or [line]
        for piece in pieces:
            if size + len(piece) > budget and current:
                if fence is not None:
                    current.append(_closing(fence))
                parts.append("".join(current))
                current = [header(len(parts))]
                if fence is not None:
                    current.append(fence)
                size = sum(len(c) for c in current)
            current.append(piece)
            size += len(piece)
            m = _FENCE.match(piece)
            if m is not None:
                if fence is None:
                    fence = piece if piece.endswith("\n") else piece + "\n"
                elif m.group(1).startswith(_FENCE.match(fence).group(1)):  # type: ignore[union-attr]
                    fence = None
    if current:
        if fence is not None:
            current.append(_closing(fence))
        parts.append("".join(current))
    return parts or [""]


def _closing(fence: str) -> str:
    m = _FENCE.match(fence)
    return f"{m.group(1) if m else '```'}\n"


def _rest_of_plan(url: str, sha: str) -> str:
    """The last line of a commit comment holding only the first part of a longer plan."""
    if url:
        return f"\n*The plan continues in {url}.*\n"
    # no companion: there is no other comment holding the rest
    return (
        "\n*The plan is longer than one comment and is cut here: "
        f"`rollback-plan plan --commit {sha[:12]}` prints it whole.*\n"
    )


def _kept(approvals: tuple[Approval, ...]) -> tuple[Approval, ...]:
    unique = tuple(dict.fromkeys(approvals))
    return unique[-MAX_APPROVALS_KEPT:]


def _verdict_words(v: Verdict) -> str:
    return {
        Verdict.SAFE: "safe",
        Verdict.NEEDS_APPROVAL: "needs approval",
        Verdict.REFUSED: "refused: the plain way back loses data",
    }[v]


def _headline(pub: Publication) -> str:
    if pub.plan is None:
        return "could not be planned"
    v = pub.plan.verdict
    if pub.check is CheckState.SUCCESS and v is not Verdict.SAFE:
        return "approved"
    return _verdict_words(v)


def _why(pub: Publication) -> str:
    if pub.plan is None:
        return f"The plan could not be computed: {md(pub.problem or 'unknown reason')}"
    v = pub.plan.verdict
    if not pub.plan.sources:
        return "The revert changes no schema source: nothing to roll back in the database."
    if v is Verdict.SAFE:
        return "The rollback plan is safe: no step loses data or needs a person's judgement."
    if pub.check is CheckState.SUCCESS:
        return "The rollback plan needed approval and has it, for this plan at this head."
    if v is Verdict.NEEDS_APPROVAL:
        return "The rollback plan needs approval before this revert is synced."
    return (
        "The plain rollback loses data, so it is refused; the companion change carries the "
        "data-preserving variant. Syncing the revert as is needs an approval that accepts "
        "the loss."
    )
