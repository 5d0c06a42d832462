"""Revert detection: is this commit a revert (or a re-apply), of what, and how do we know.

Pure: commit metadata and diffs in (read by bot/sources/git.py), a `RevertInfo` out. The
conventions recognised, strongest first:

- git's own message: `This reverts commit <sha>.`, one line per reverted commit (several when
  reverts were squashed), and for merges `This reverts commit <sha>, reversing\\nchanges made to
  <sha>.` (git breaks the line after "reversing");
- GitLab's: `This reverts commit <sha>` (no final period) and `This reverts merge request !N`;
- GitHub's revert pull requests: title `Revert "<title>"`, body `Reverts owner/repo#N`, head
  branch `revert-N-<branch>`; GitLab's revert branches are `revert-<sha8>`;
- the title alone: `Revert "Revert "x""` or git >= 2.43's `Reapply "x"` is a re-apply;
- content: the commit's changes are the exact inverse of an earlier commit's.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class ChangeStatus(StrEnum):
    ADDED = "A"
    MODIFIED = "M"
    DELETED = "D"
    RENAMED = "R"


@dataclass(frozen=True)
class ChangedFile:
    """One file of a commit's diff against its first parent."""

    path: str  # the path after the commit (before it, for deletions)
    status: ChangeStatus
    old_sha: str | None = None  # blob before; None when added
    new_sha: str | None = None  # blob after; None when deleted
    old_path: str | None = None  # renames: the path before

    @property
    def before(self) -> str | None:
        """The path before the commit, None when the commit added the file."""
        if self.status is ChangeStatus.ADDED:
            return None
        return self.old_path or self.path

    @property
    def after(self) -> str | None:
        """The path after the commit, None when the commit deleted the file."""
        return None if self.status is ChangeStatus.DELETED else self.path

    def inverts(self, other: ChangedFile) -> bool:
        """True when this change exactly undoes `other` (added <-> deleted, renamed back)."""
        return (
            self.before == other.after
            and self.after == other.before
            and self.old_sha == other.new_sha
            and self.new_sha == other.old_sha
        )


@dataclass(frozen=True)
class CommitMeta:
    """What revert detection needs to know about one commit."""

    sha: str
    parents: tuple[str, ...] = ()
    author_name: str = ""
    author_email: str = ""
    subject: str = ""  # the first line of the message
    body: str = ""  # the rest of the message, without the blank line after the subject
    changed: tuple[ChangedFile, ...] = ()

    @property
    def message(self) -> str:
        return f"{self.subject}\n\n{self.body}" if self.body else self.subject


@dataclass(frozen=True)
class PullRequestMeta:
    """A pull/merge request as a forge describes it, normalized at the edge."""

    title: str
    body: str = ""
    head_branch: str = ""
    reference: str = ""  # how to name it: "owner/repo#13", "group/project!34"


class DetectedBy(StrEnum):
    GIT_MESSAGE = "git-message"  # This reverts commit <sha>.
    MERGE_REVERT = "merge-revert"  # ..., reversing changes made to <sha>.
    GITHUB_PR = "github-pr"  # Reverts owner/repo#N, or a revert PR's title
    GITLAB_COMMIT = "gitlab-commit"  # This reverts commit <sha> (no final period)
    GITLAB_MR = "gitlab-mr"  # This reverts merge request !N
    BRANCH_NAME = "branch-name"  # revert-N-<branch> (GitHub), revert-<sha8> (GitLab)
    REAPPLY = "reapply"  # only the title: Reapply "x", Revert "Revert "x""
    CONTENT = "content"  # the changes are the exact inverse of an earlier commit's


@dataclass(frozen=True)
class RevertInfo:
    """A revert commit, what it reverts and how that was found."""

    commit: str
    reverts: tuple[str, ...]  # reverted commit SHAs, full or abbreviated as found; may be empty
    detected_by: DetectedBy
    reapply: bool = False  # a revert of a revert: a roll-forward
    reverted_pr: str | None = None  # "owner/repo#12", "#12", "!34", "group/project!34"
    subject: str = ""  # the revert commit's subject
    reverted_title: str | None = None  # x in Revert "x", when the title says
    mainline: tuple[str, ...] = ()  # merge reverts: the parents whose side was kept


_HEX = r"[0-9a-fA-F]{7,64}"
_BULLET = r"^[ \t>]*(?:[*-][ \t]+)?"  # squash merges list the commits as "* ..." lines
_REVERTS_COMMIT = re.compile(
    _BULLET + rf"This reverts commit ({_HEX})(?:,[ \t]*reversing\s+changes made to ({_HEX}))?(\.?)",
    re.M,
)
_REVERTS_MR = re.compile(_BULLET + r"This reverts merge request ((?:[\w.-]+/)*[\w.-]*!\d+)", re.M)
_GITHUB_REVERTS = re.compile(r"^[ \t]*Reverts ((?:[\w.-]+/[\w.-]+)?#\d+)\b", re.M)
_TITLE = re.compile(r'(Revert|Reapply) "(.*)"')
_SQUASH_SUFFIX = re.compile(r"\s+\(#\d+\)$")
_GITLAB_BRANCH = re.compile(r"revert-([0-9a-f]{8})(?:-\d+)?")
_GITHUB_BRANCH = re.compile(r"revert-(\d+)-.+")
_GITHUB_MERGE = re.compile(r"^Merge pull request (#\d+) from [\w.-]+/(\S+)")
_GITLAB_MERGE = re.compile(r"^Merge branch '([^']+)' into ")
_GITLAB_SEE_MR = re.compile(r"^See merge request ((?:[\w.-]+/)*[\w.-]*(!\d+))\s*$", re.M)


def touched_paths(commit: CommitMeta) -> set[str]:
    """Every path the commit changed, before and after (both sides of a rename)."""
    out: set[str] = set()
    for change in commit.changed:
        out.update(p for p in (change.before, change.after) if p is not None)
    return out


def title_depth(subject: str) -> tuple[int, str]:
    """How many reverts a title wraps (Reapply counts two) and the innermost title.

    Odd depth: a revert; even and > 0: a re-apply. `Revert "x" (#12)` (a squash-merged
    revert PR) counts as `Revert "x"`.
    """
    text = _SQUASH_SUFFIX.sub("", subject.strip())
    depth = 0
    while m := _TITLE.fullmatch(text):
        depth += 1 if m.group(1) == "Revert" else 2
        text = m.group(2)
    return depth, text


def detect_revert(
    commit: CommitMeta,
    *,
    pr: PullRequestMeta | None = None,
    candidates: Sequence[CommitMeta] = (),
    paths: Collection[str] | None = None,
) -> RevertInfo | None:
    """Whether `commit` is a revert (or re-apply), of which commits, detected how.

    `pr` is the pull/merge request that brought the commit, when known. `candidates` are
    earlier commits (newest first), used to resolve PR numbers and abbreviated SHAs, to tell a
    re-apply from a revert, and for the content fallback. `paths` limits the content
    comparison to those files or directories (the schema sources); None compares everything.
    """
    found = _from_message(commit) or _from_pr(commit, pr) or _from_branch(commit, pr)
    depth, inner = title_depth(commit.subject)
    if found is None and depth:
        once = _reverted_subject(commit.subject)
        reverts = tuple(c.sha for c in candidates if c.subject == once)[:1]
        found = (DetectedBy.REAPPLY if depth % 2 == 0 else DetectedBy.GIT_MESSAGE, reverts, None)
    if found is None:
        if not _inverse_of(commit, candidates, paths):
            return None
        found = (DetectedBy.CONTENT, (), None)
    detected_by, reverts, reverted_pr = found
    reverted_pr = reverted_pr or _pr_reference(commit, pr)
    if not reverts and reverted_pr:
        reverts = _commits_of_pr(reverted_pr, candidates)
    reverts = tuple(_expand(sha, candidates) for sha in reverts)
    inverse = _inverse_of(commit, candidates, paths)
    if not reverts or set(reverts) < set(inverse):
        # `git revert --no-commit A B` names only the last commit in its message
        reverts = (*reverts, *inverse)
    return RevertInfo(
        commit=commit.sha,
        reverts=_unique(reverts),
        detected_by=detected_by,
        reapply=_is_reapply(commit, reverts, candidates, depth),
        reverted_pr=reverted_pr,
        subject=commit.subject,
        reverted_title=inner if depth else None,
        mainline=_unique(m.group(2) for m in _REVERTS_COMMIT.finditer(commit.body) if m.group(2)),
    )


def _reverted_subject(subject: str) -> str:
    """The subject of the commit a revert title names: one layer of Revert/Reapply removed."""
    m = _TITLE.fullmatch(_SQUASH_SUFFIX.sub("", subject.strip()))
    if m is None:
        return subject
    return m.group(2) if m.group(1) == "Revert" else f'Revert "{m.group(2)}"'


_Found = tuple[DetectedBy, tuple[str, ...], str | None]


def _from_message(commit: CommitMeta) -> _Found | None:
    matches = list(_REVERTS_COMMIT.finditer(commit.body))
    if matches:
        shas = tuple(m.group(1).lower() for m in matches)
        if any(m.group(2) for m in matches):
            return DetectedBy.MERGE_REVERT, shas, None
        # GitLab writes the full SHA and stops there; git ends the sentence with a period
        gitlab = all(
            not m.group(3) and commit.body[m.end() :].split("\n", 1)[0].strip() == ""
            for m in matches
        )
        return (DetectedBy.GITLAB_COMMIT if gitlab else DetectedBy.GIT_MESSAGE), shas, None
    if m := _REVERTS_MR.search(commit.body):
        return DetectedBy.GITLAB_MR, (), m.group(1)
    if m := _GITHUB_REVERTS.search(commit.body):
        return DetectedBy.GITHUB_PR, (), m.group(1)
    return None


def _from_pr(commit: CommitMeta, pr: PullRequestMeta | None) -> _Found | None:
    if pr is None:
        return None
    shas = tuple(m.group(1).lower() for m in _REVERTS_COMMIT.finditer(pr.body))
    gitlab_branch = _GITLAB_BRANCH.fullmatch(pr.head_branch)
    if m := _REVERTS_MR.search(pr.body):
        return DetectedBy.GITLAB_MR, shas, m.group(1)
    if m := _GITHUB_REVERTS.search(pr.body):
        return DetectedBy.GITHUB_PR, shas, m.group(1)
    if shas:
        # GitLab's revert MR carries the revert commit's description
        return DetectedBy.GITLAB_MR, shas, None
    if title_depth(pr.title)[0] % 2 == 1:
        by = DetectedBy.GITLAB_MR if gitlab_branch else DetectedBy.GITHUB_PR
        return by, (), None
    return None


def _from_branch(commit: CommitMeta, pr: PullRequestMeta | None) -> _Found | None:
    branch = (pr.head_branch if pr is not None else "") or _merged_branch(commit)
    if not branch:
        return None
    if m := _GITLAB_BRANCH.fullmatch(branch):
        return DetectedBy.BRANCH_NAME, (m.group(1),), None
    if m := _GITHUB_BRANCH.fullmatch(branch):
        return DetectedBy.BRANCH_NAME, (), f"#{m.group(1)}"
    return None


def _merged_branch(commit: CommitMeta) -> str | None:
    """The head branch a forge's merge commit names in its subject."""
    if m := _GITHUB_MERGE.match(commit.subject):
        return m.group(2)
    if m := _GITLAB_MERGE.match(commit.subject):
        return m.group(1)
    return None


def _pr_reference(commit: CommitMeta, pr: PullRequestMeta | None) -> str | None:
    """The reverted PR, from whatever names it: bodies first, then branch names."""
    for text in (commit.body, pr.body if pr else ""):
        if m := _REVERTS_MR.search(text) or _GITHUB_REVERTS.search(text):
            return m.group(1)
    branch = (pr.head_branch if pr is not None else "") or _merged_branch(commit)
    if branch and (m := _GITHUB_BRANCH.fullmatch(branch)) and not _GITLAB_BRANCH.fullmatch(branch):
        return f"#{m.group(1)}"
    return None


def _commits_of_pr(reference: str, candidates: Sequence[CommitMeta]) -> tuple[str, ...]:
    """The merge (or squash) commit that landed the PR, found in the candidates' messages."""
    number = reference.rsplit("#", 1)[-1] if "#" in reference else None
    iid = "!" + reference.rsplit("!", 1)[-1] if "!" in reference else None
    for c in candidates:
        if number and (
            c.subject.startswith(f"Merge pull request #{number} ")
            or c.subject.endswith(f"(#{number})")
        ):
            return (c.sha,)
        if iid and any(m.group(2) == iid for m in _GITLAB_SEE_MR.finditer(c.body)):
            return (c.sha,)
    return ()


def _expand(sha: str, candidates: Sequence[CommitMeta]) -> str:
    """An abbreviated SHA made full when exactly one candidate has it as a prefix."""
    if len(sha) >= 40:
        return sha
    hits = [c.sha for c in candidates if c.sha.startswith(sha)]
    return hits[0] if len(hits) == 1 else sha


def _is_reapply(
    commit: CommitMeta, reverts: Sequence[str], candidates: Sequence[CommitMeta], depth: int
) -> bool:
    # The reverted commit itself, when known, says more than the title (which people edit).
    for sha in reverts:
        for c in candidates:
            if c.sha.startswith(sha) and c.sha != commit.sha:
                earlier = detect_revert(c)
                if earlier is not None:
                    return not earlier.reapply
                return False
    return depth > 0 and depth % 2 == 0


def _inverse_of(
    commit: CommitMeta, candidates: Sequence[CommitMeta], paths: Collection[str] | None
) -> tuple[str, ...]:
    """Earlier commits whose changes (within `paths`) the commit undoes exactly.

    Several candidates count only when they touch disjoint files and together explain every
    change of the commit; chains of edits to one file reverted at once are not recognised.
    """
    mine = [c for c in commit.changed if _within(c, paths)]
    if not mine:
        return ()
    left = list(mine)
    found: list[str] = []
    for cand in candidates:
        if cand.sha == commit.sha:
            continue
        theirs = [c for c in cand.changed if _within(c, paths)]
        if not theirs:
            continue
        matched = [m for m in left if any(m.inverts(t) for t in theirs)]
        if len(matched) == len(theirs):
            found.append(cand.sha)
            left = [m for m in left if m not in matched]
            if not left:
                return tuple(found)
    return ()


def _within(change: ChangedFile, paths: Collection[str] | None) -> bool:
    if paths is None:
        return True
    for p in (change.before, change.after):
        if p is not None and any(p == q or p.startswith(q.rstrip("/") + "/") for q in paths):
            return True
    return False


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
