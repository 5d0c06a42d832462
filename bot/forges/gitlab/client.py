"""`GitLabForge`: the Forge protocol on python-gitlab (gitlab.com or self-managed).

Mapping, and why:
- PR = merge request, number = iid. A fork MR has source_project_id != target_project_id.
- Comments are MR notes (system notes ignored); ours are found by hidden marker *and* by our own
  username, because a user can paste a marker but cannot let us edit their note.
- A comment on a pushed commit is a commit *discussion* note: plain commit comments
  (`/repository/commits/:sha/comments`) cannot be edited, discussion notes can.
- The check is a commit status. GitLab has no "action required": ACTION_REQUIRED is written as
  `failed` with a description that starts "Approval required: ", and read back from it.
  A status carries one description (<= 255 chars): we write the title there; the summary is
  not stored (it lives in the plan comment, which `details_url` should point at). PENDING is
  written as `running` (the bot is working on it).
- Setting the state a status already has is answered 400 "Cannot transition status" by GitLab;
  that means the state is already what we want, so it counts as success.
- commit_files writes one commit on `start_sha` with the Commits API and `force: true`: the
  companion branch is the bot's own, so it is re-pointed (earlier bot commits dropped) rather
  than piled on. A re-run whose branch already holds exactly that commit writes nothing.

Retries: python-gitlab's own retries never run. `retry_transient_errors=False` stops its
5xx/timeout loop, and the backend below raises TransientHTTP for 429/5xx before python-gitlab's
loop sees the status (it would otherwise re-send any request, POSTs included, on 429). Every call
goes through bot.forges.retry.call_with_retry; creates pass an idempotency check that looks
for the object before anything is re-sent.

Idempotency checks, per write: an MR is found again as the open MR from that source branch
(and GitLab's 409 "Another open merge request already exists" is answered with that MR); a
note as our newest note with that body; a commit as the branch head on start_sha with that
message and those files; a status as the latest status of that name in that state; an award
emoji as ours on the note (GitLab's 404 "has already been taken" also counts as done).

Not supported: statuses for fork MRs go to the target project on the head SHA (which GitLab
keeps under refs/merge-requests); a fork's own pipeline does not see them. Instance
administrators who are not project members read as Permission.NONE;
group-level custom roles are read by their base access level only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import gitlab
from gitlab._backends.requests_backend import RequestsBackend, RequestsResponse
from gitlab.exceptions import GitlabError
from gitlab.v4.objects import Project, ProjectCommit, ProjectMergeRequest

from bot.forges import Check, CheckState, Comment, ForgeError, Permission, PullRequest, PullState
from bot.forges.retry import DEADLINE_S, TransientHTTP, call_with_retry

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 10.0
DESCRIPTION_MAX = 255  # GitLab rejects longer commit status descriptions
COMMENT_MAX = 1_000_000  # GitLab's note body limit
APPROVAL_PREFIX = "Approval required: "

_STATE_OUT = {
    CheckState.PENDING: "running",
    CheckState.SUCCESS: "success",
    CheckState.ACTION_REQUIRED: "failed",
    CheckState.FAILURE: "failed",
}
# "locked" is the short-lived state while GitLab merges: still open for our purposes.
_MR_STATE = {
    "opened": PullState.OPEN,
    "locked": PullState.OPEN,  # a discussion lock; the MR is still open
    "closed": PullState.CLOSED,
    "merged": PullState.MERGED,
}
# GitHub reaction names (what the workflow speaks) -> GitLab award emoji names.
_REACTIONS = {
    "+1": "thumbsup",
    "-1": "thumbsdown",
    "laugh": "laughing",
    "confused": "confused",
    "heart": "heart",
    "hooray": "tada",
    "rocket": "rocket",
    "eyes": "eyes",
}


def permission_for_level(access_level: int) -> Permission:
    """GitLab access levels: 10 guest, 15 planner, 20 reporter, 30 developer, 40 maintainer,
    50 owner (5 minimal access and 0 no access give nothing)."""
    if access_level >= 50:
        return Permission.ADMIN
    if access_level >= 40:
        return Permission.MAINTAIN
    if access_level >= 30:
        return Permission.WRITE
    if access_level >= 10:
        return Permission.READ
    return Permission.NONE


def _status_description(check: Check) -> str:
    text = check.title.strip() or check.summary.strip().split("\n", 1)[0]
    if check.state is CheckState.ACTION_REQUIRED:
        text = APPROVAL_PREFIX + text
    if len(text) > DESCRIPTION_MAX:
        text = text[: DESCRIPTION_MAX - 1] + "…"
    return text


def _check_from_status(status: str, description: str) -> Check:
    if status == "success":
        return Check(CheckState.SUCCESS, description, "")
    if status == "failed" and description.startswith(APPROVAL_PREFIX):
        return Check(CheckState.ACTION_REQUIRED, description[len(APPROVAL_PREFIX) :], "")
    if status in ("created", "pending", "running", "waiting_for_resource", "preparing"):
        return Check(CheckState.PENDING, description, "")
    return Check(CheckState.FAILURE, description, "")  # failed, canceled, skipped, manual


class _NoRetryBackend(RequestsBackend):
    """Turns 429 and 5xx into TransientHTTP (with headers) before python-gitlab's retry loop
    can re-send the request; our retry policy decides instead."""

    def http_request(self, method: str, url: str, *args: Any, **kwargs: Any) -> RequestsResponse:
        result = super().http_request(method, url, *args, **kwargs)
        status = result.status_code
        if status == 429 or status == 408 or status >= 500:
            headers = dict(result.headers)
            low = {k.lower(): v for k, v in headers.items()}
            # GitLab names its rate-limit headers without the X- GitHub uses.
            if "ratelimit-reset" in low and "x-ratelimit-reset" not in low:
                headers["X-RateLimit-Reset"] = low["ratelimit-reset"]
                headers["X-RateLimit-Remaining"] = low.get("ratelimit-remaining", "0")
            raise TransientHTTP(status, headers, f"GitLab answered {status} to {method.upper()}")
        return result


class GitLabForge:
    """The Forge protocol for one GitLab instance and one token (personal, group or
    project access token)."""

    comment_limit = COMMENT_MAX

    def __init__(
        self,
        *,
        url: str,
        token: str,
        timeout: float = DEFAULT_TIMEOUT_S,
        per_page: int = 100,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 4,
        budget_s: float = DEADLINE_S,
    ) -> None:
        self._gl = gitlab.Gitlab(
            url,
            private_token=token,
            timeout=timeout,
            per_page=per_page,
            retry_transient_errors=False,
            keep_base_url=True,  # self-managed behind a proxy may advertise another host
            user_agent="rollback-plan",
            backend=_NoRetryBackend,
        )
        self._timeout = timeout
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._budget_s = budget_s
        self._me: str | None = None

    def __repr__(self) -> str:
        return f"GitLabForge(url={self._gl.url!r})"  # never the token

    # plumbing

    def _call(
        self,
        fn: Callable[[], T],
        *,
        write: bool = False,
        check: Callable[[], T | None] | None = None,
    ) -> T:
        try:
            return call_with_retry(
                fn,
                write=write,
                idempotency_check=check,
                sleep=self._sleep,
                max_attempts=self._max_attempts,
                budget_s=self._budget_s,
                attempt_timeout_s=self._timeout,
            )
        except GitlabError as err:
            status = err.response_code
            raise ForgeError(
                f"GitLab answered {status}: {err.error_message}",
                transient=status is not None and status >= 500,
                status=status,
            ) from err

    def _optional(self, fn: Callable[[], T]) -> T | None:
        """A read where 404 means "there is none"."""
        try:
            return self._call(fn)
        except ForgeError as err:
            if err.status == 404:
                return None
            raise

    def _project(self, repo: str) -> Project:
        return self._gl.projects.get(repo, lazy=True)

    def _mr(self, repo: str, number: int) -> ProjectMergeRequest:
        return self._project(repo).mergerequests.get(number, lazy=True)

    def _commit(self, repo: str, sha: str) -> ProjectCommit:
        return self._project(repo).commits.get(sha, lazy=True)

    def _username(self) -> str:
        """Who the token acts as (the project/group bot user for those tokens)."""
        if self._me is None:

            def auth() -> str:
                self._gl.auth()
                assert self._gl.user is not None
                return str(self._gl.user.username)

            self._me = self._call(auth)
        return self._me

    # pull requests

    def default_branch(self, repo: str) -> str:
        project = self._call(lambda: self._gl.projects.get(repo))
        if not project.default_branch:
            raise ForgeError(f"{repo} has no default branch (empty repository?)")
        return str(project.default_branch)

    def pull_request(self, repo: str, number: int) -> PullRequest | None:
        mr = self._optional(lambda: self._project(repo).mergerequests.get(number))
        return None if mr is None else _pull_request(mr.attributes)

    def pull_request_for_branch(self, repo: str, branch: str) -> PullRequest | None:
        found = self._optional(lambda: self._open_mr_for_branch(repo, branch))
        return None if found is None else _pull_request(found)

    def _open_mr_for_branch(self, repo: str, branch: str) -> dict[str, Any] | None:
        mrs = self._project(repo).mergerequests.list(
            state="opened", source_branch=branch, get_all=True
        )
        own = [m.attributes for m in mrs if m.source_project_id == m.target_project_id]
        return min(own, key=lambda m: int(m["iid"])) if own else None

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str, labels: tuple[str, ...]
    ) -> PullRequest:
        project = self._project(repo)
        data = {
            "source_branch": head,
            "target_branch": base,
            "title": title,
            "description": body,
            "labels": ",".join(labels),
            "remove_source_branch": True,
        }

        def create() -> dict[str, Any]:
            return dict(project.mergerequests.create(data).attributes)

        def existing() -> dict[str, Any] | None:
            return self._open_mr_for_branch(repo, head)

        try:
            return _pull_request(self._call(create, write=True, check=existing))
        except ForgeError as err:
            if err.status != 409:  # "Another open merge request already exists"
                raise
        found = self._call(existing)
        if found is None:
            raise ForgeError(f"GitLab refused the MR for {head} and none is open", status=409)
        pr = _pull_request(found)
        if (pr.title, pr.body) != (title, body):
            self.update_pull_request(repo, pr.number, title=title, body=body)
            pr = dataclasses.replace(pr, title=title, body=body)
        return pr

    def update_pull_request(self, repo: str, number: int, *, title: str, body: str) -> None:
        project = self._project(repo)
        self._call(
            lambda: project.mergerequests.update(number, {"title": title, "description": body})
        )

    # branches and commits

    def branch_sha(self, repo: str, branch: str) -> str | None:
        found = self._optional(lambda: self._project(repo).branches.get(branch))
        return None if found is None else str(found.commit["id"])

    def commit_files(
        self,
        repo: str,
        *,
        branch: str,
        start_sha: str,
        files: Mapping[str, str],
        message: str,
    ) -> str:
        if not files:
            raise ValueError("commit_files needs at least one file")
        project = self._project(repo)

        def same_commit() -> str | None:
            return self._same_commit(repo, branch, start_sha, files, message)

        current = same_commit()
        if current is not None:
            return current  # a re-run: the branch already holds exactly this commit
        actions = [
            {
                "action": "update" if self._file_exists(repo, path, start_sha) else "create",
                "file_path": path,
                "content": content,
            }
            for path, content in sorted(files.items())
        ]
        data = {
            "branch": branch,
            "commit_message": message,
            "actions": actions,
            "start_sha": start_sha,
            "force": True,  # re-point our own branch onto start_sha instead of stacking
        }

        def create() -> str:
            return str(project.commits.create(data).id)

        return self._call(create, write=True, check=same_commit)

    def _file_exists(self, repo: str, path: str, ref: str) -> bool:
        project = self._project(repo)
        return self._optional(lambda: project.files.head(path, ref=ref)) is not None

    def _file_bytes(self, repo: str, path: str, ref: str) -> bytes | None:
        project = self._project(repo)
        found = self._optional(lambda: project.files.get(path, ref=ref))
        return None if found is None else bytes(found.decode())

    def _same_commit(
        self, repo: str, branch: str, start_sha: str, files: Mapping[str, str], message: str
    ) -> str | None:
        """The branch head, when it is one commit on start_sha with this message and files."""
        head = self._optional(lambda: self._project(repo).commits.get(branch))
        if head is None or list(head.parent_ids) != [start_sha]:
            return None
        if str(head.message).rstrip("\n") != message.rstrip("\n"):
            return None
        for path, content in files.items():
            if self._file_bytes(repo, path, str(head.id)) != content.encode():
                return None
        return str(head.id)

    # comments

    def find_comment(self, repo: str, number: int, marker: str) -> Comment | None:
        me = self._username()
        return self._optional(lambda: self._find_note(repo, number, me, lambda b: marker in b))

    def _our_notes(self, repo: str, number: int, author: str) -> Iterator[Comment]:
        """Our own non-system notes on the MR, oldest first, across all pages."""
        notes = self._mr(repo, number).notes.list(iterator=True, sort="asc", order_by="created_at")
        for note in notes:
            if not note.system and note.author["username"] == author:
                yield Comment(int(note.id), str(note.body), author)

    def _find_note(
        self, repo: str, number: int, author: str, matches: Callable[[str], bool]
    ) -> Comment | None:
        return next((c for c in self._our_notes(repo, number, author) if matches(c.body)), None)

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        me = self._username()
        mr = self._mr(repo, number)

        def create() -> Comment:
            note = mr.notes.create({"body": body})
            return Comment(int(note.id), str(note.body), me)

        def landed() -> Comment | None:
            # Only our newest note can be the lost answer; an older twin is a real earlier reply.
            ours = list(self._our_notes(repo, number, me))
            newest = ours[-1] if ours else None
            return newest if newest is not None and newest.body.strip() == body.strip() else None

        return self._call(create, write=True, check=landed)

    def edit_comment(self, repo: str, number: int, comment_id: int, body: str) -> None:
        mr = self._mr(repo, number)
        self._call(lambda: mr.notes.update(comment_id, {"body": body}))

    def comment_on_commit(self, repo: str, sha: str, body: str, marker: str) -> None:
        me = self._username()
        commit = self._commit(repo, sha)

        def find(matches: Callable[[str], bool]) -> tuple[str, int, str] | None:
            for discussion in commit.discussions.list(iterator=True):
                for note in discussion.attributes.get("notes") or []:
                    if note.get("system") or (note.get("author") or {}).get("username") != me:
                        continue
                    if matches(str(note.get("body") or "")):
                        return str(discussion.id), int(note["id"]), str(note["body"])
            return None

        found = self._call(lambda: find(lambda b: marker in b))
        if found is not None:
            discussion_id, note_id, current = found
            if current != body:
                notes = commit.discussions.get(discussion_id, lazy=True).notes
                self._call(lambda: notes.update(note_id, {"body": body}))
            return

        def create() -> bool:
            commit.discussions.create({"body": body})
            return True

        def existing() -> bool | None:
            return True if find(lambda b: b.strip() == body.strip()) else None

        self._call(create, write=True, check=existing)

    def react(self, repo: str, number: int, comment_id: int, reaction: str) -> None:
        name = _REACTIONS.get(reaction, reaction)
        me = self._username()
        awards = self._mr(repo, number).notes.get(comment_id, lazy=True).awardemojis

        def mine() -> bool | None:
            for award in awards.list(iterator=True):
                if award.name == name and award.user["username"] == me:
                    return True
            return None

        if self._call(mine):
            return

        def create() -> bool:
            awards.create({"name": name})
            return True

        try:
            self._call(create, write=True, check=mine)
        except ForgeError as err:
            # GitLab answers a repeated award with 404 "has already been taken".
            if err.status != 404 or "already been taken" not in str(err):
                raise

    # checks

    def _latest_status(self, repo: str, sha: str, name: str) -> dict[str, Any] | None:
        statuses = self._commit(repo, sha).statuses.list(name=name, get_all=True)
        ours = [s.attributes for s in statuses if s.name == name]
        return max(ours, key=lambda s: int(s["id"])) if ours else None

    def get_check(self, repo: str, sha: str, name: str) -> Check | None:
        status = self._optional(lambda: self._latest_status(repo, sha, name))
        if status is None:
            return None
        return _check_from_status(str(status["status"]), str(status.get("description") or ""))

    def set_check(
        self, repo: str, sha: str, name: str, check: Check, details_url: str = ""
    ) -> None:
        state = _STATE_OUT[check.state]
        description = _status_description(check)
        data = {"state": state, "name": name, "description": description}
        if details_url:
            data["target_url"] = details_url
        statuses = self._commit(repo, sha).statuses

        def already() -> bool | None:
            current = self._latest_status(repo, sha, name)
            if current is None or current["status"] != state:
                return None
            if (current.get("description") or "") != description:
                return None
            if details_url and (current.get("target_url") or "") != details_url:
                return None
            return True

        if self._call(already):
            return  # read before write: nothing to change

        def create() -> bool:
            try:
                statuses.create(data)
            except GitlabError as err:
                # Already in that state (pending/running): what we wanted.
                if err.response_code == 400 and "Cannot transition status" in str(
                    err.error_message
                ):
                    return True
                raise
            return True

        self._call(create, write=True, check=already)

    # people

    def permission(self, repo: str, user: str) -> Permission:
        """Highest access level among the user's direct and inherited memberships."""
        members = self._optional(
            lambda: self._project(repo).members_all.list(query=user, get_all=True)
        )
        levels = [
            int(m.access_level)
            for m in members or []
            if str(m.username).lower() == user.lower() and _active(m.attributes)
        ]
        return permission_for_level(max(levels, default=0))

    def team_members(self, repo: str, team: str) -> frozenset[str]:
        """Active members of the GitLab group `team` (a full path), inherited ones included;
        `repo` is not needed on GitLab, where groups are instance-wide."""
        group = self._gl.groups.get(team, lazy=True)
        members = self._optional(lambda: group.members_all.list(get_all=True))
        return frozenset(str(m.username) for m in members or [] if _active(m.attributes))


def _active(member: Mapping[str, Any]) -> bool:
    """Blocked users and invitations still awaiting a seat get no say."""
    return member.get("state", "active") == "active" and member.get(
        "membership_state", "active"
    ) in ("active", None)


def _pull_request(mr: Mapping[str, Any]) -> PullRequest:
    author = mr.get("author") or {}
    diff_refs = mr.get("diff_refs") or {}
    return PullRequest(
        number=int(mr["iid"]),
        title=str(mr.get("title") or ""),
        body=str(mr.get("description") or ""),
        author=str(author.get("username") or ""),
        head_sha=str(mr.get("sha") or diff_refs.get("head_sha") or ""),
        head_branch=str(mr.get("source_branch") or ""),
        base_branch=str(mr.get("target_branch") or ""),
        is_fork=mr.get("source_project_id") != mr.get("target_project_id"),
        state=_MR_STATE.get(str(mr.get("state")), PullState.CLOSED),
        url=str(mr.get("web_url") or ""),
    )
