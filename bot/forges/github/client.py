"""The Forge protocol on GitHub, through PyGithub.

PyGithub's own retry is off (it re-sends a POST after a 5xx); every call goes through
bot.forges.retry with a timeout, and every create first looks for what it would create.
PyGithub objects are made lazy and turned into our values inside the retried call, so no
hidden lazy-loading request escapes the retry policy.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import github
from github import Auth, GithubException, GithubIntegration
from github.InputGitTreeElement import InputGitTreeElement

from bot.forges import Check, CheckState, Comment, ForgeError, Permission, PullRequest, PullState
from bot.forges.retry import DEADLINE_S, TransientHTTP, call_with_retry, is_transient_status

T = TypeVar("T")

DEFAULT_API_URL = "https://api.github.com"
CHECK_TEXT_LIMIT = 65535  # Checks API: output.title/summary "maximum 65535 characters"
STATUS_DESCRIPTION_LIMIT = 140  # commit statuses reject longer descriptions
REACTIONS = frozenset({"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"})

# GitHub's role_name for the collaborator; triage is read plus issue triage, no code.
_ROLES = {
    "admin": Permission.ADMIN,
    "maintain": Permission.MAINTAIN,
    "write": Permission.WRITE,
    "triage": Permission.READ,
    "read": Permission.READ,
    "none": Permission.NONE,
}

_CONCLUSIONS = {
    CheckState.SUCCESS: "success",
    CheckState.ACTION_REQUIRED: "action_required",
    CheckState.FAILURE: "failure",
}

# Commit statuses have no "action required": it blocks the merge like a failure does.
_STATUS_STATES = {
    CheckState.PENDING: "pending",
    CheckState.SUCCESS: "success",
    CheckState.ACTION_REQUIRED: "failure",
    CheckState.FAILURE: "failure",
}


class _NotFound(Exception):
    """A 404 inside a call: reads turn it into None, writes into ForgeError."""


@dataclass(frozen=True)
class GitHubCredentials:
    """How the bot authenticates: a GitHub App (id + private key, a token per installation)
    or a plain token. Secrets stay out of repr so they never reach a log line."""

    api_url: str = DEFAULT_API_URL
    token: str = field(default="", repr=False)
    app_id: str = ""
    private_key: str = field(default="", repr=False)

    @property
    def is_app(self) -> bool:
        return bool(self.app_id and self.private_key)

    def forge(self, installation_id: int | None = None, **options: Any) -> GitHubForge:
        """A client for one job: the App's installation token when there is an installation,
        else the plain token."""
        if self.is_app and installation_id is not None:
            return GitHubForge.for_installation(
                self.app_id, self.private_key, installation_id, api_url=self.api_url, **options
            )
        if self.token:
            return GitHubForge.with_token(self.token, api_url=self.api_url, **options)
        raise ForgeError("no GitHub credentials for this job (App without installation id?)")


def _message(err: GithubException) -> str:
    data = err.data
    if isinstance(data, dict):
        return str(data.get("message", ""))
    return str(data or "")


def _translate(err: GithubException) -> Exception:
    status = err.status
    headers = dict(err.headers or {})
    message = _message(err)
    lowered = {k.lower() for k in headers}
    if status == 403 and "secondary rate limit" in message.lower() and "retry-after" not in lowered:
        headers["Retry-After"] = "60"  # GitHub's advice when it names no wait: one minute
    if is_transient_status(status, headers):
        return TransientHTTP(status, headers, f"GitHub answered {status}: {message}")
    if status == 404:
        return _NotFound(message)
    return ForgeError(f"GitHub answered {status}: {message}", transient=False, status=status)


def _guarded(fn: Callable[[], T]) -> Callable[[], T]:
    """Run `fn` with PyGithub's exceptions turned into ours."""

    def run() -> T:
        try:
            return fn()
        except GithubException as err:
            raise _translate(err) from err

    return run


def _truncate(text: str, limit: int) -> str:
    """Cut to `limit` characters, closing a Markdown code fence the cut left open."""
    if len(text) <= limit:
        return text
    note = "\n\n… (truncated)"
    cut = text[: limit - len(note) - 4]
    if sum(1 for line in cut.splitlines() if line.lstrip().startswith("```")) % 2:
        cut += "\n```"
    return cut + note


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _marked(body: str, marker: str) -> bool:
    """Carries `marker` outside a quote: a user quoting our comment copies the marker too."""
    return any(marker in line and not line.lstrip().startswith(">") for line in body.splitlines())


def _pull_request(pr: Any) -> PullRequest:
    head_repo = pr.head.repo
    base_repo = pr.base.repo
    is_fork = head_repo is None or head_repo.full_name != base_repo.full_name
    # GitHub says "closed" for a merged PR too: merged_at tells them apart
    state = PullState.MERGED if pr.merged_at is not None else PullState(str(pr.state))
    return PullRequest(
        number=int(pr.number),
        title=str(pr.title or ""),
        body=str(pr.body or ""),
        author=str(pr.user.login) if pr.user is not None else "",
        head_sha=str(pr.head.sha),
        head_branch=str(pr.head.ref),
        base_branch=str(pr.base.ref),
        is_fork=is_fork,
        state=state,
        url=str(pr.html_url or ""),
    )


class GitHubForge:
    """One job's view of GitHub. Build it with `with_token` or `for_installation`."""

    def __init__(
        self,
        auth: Auth.Token | Auth.AppInstallationAuth,
        *,
        app_auth: Auth.AppAuth | None = None,
        api_url: str = DEFAULT_API_URL,
        timeout: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 4,
        budget_s: float = DEADLINE_S,
        throttle: bool = True,
    ) -> None:
        self._app_auth = app_auth
        self._api_url = api_url.rstrip("/")
        self._timeout = timeout
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._budget_s = budget_s
        self._own_login: str | None = None
        self._client_options: dict[str, Any] = {
            "base_url": self._api_url,
            "timeout": timeout,
            # PyGithub's default retry re-sends POSTs on 5xx: duplicate PRs and comments
            "retry": None,
            # PyGithub spaces requests (0.25 s, writes 1 s) to stay under secondary limits
            "seconds_between_requests": None if not throttle else 0.25,
            "seconds_between_writes": None if not throttle else 1.0,
        }
        self._auth = auth
        self._gh = github.Github(auth=auth, lazy=True, **self._client_options)

    @classmethod
    def with_token(cls, token: str, **options: Any) -> GitHubForge:
        """Plain token auth (a PAT or a token handed over by Actions)."""
        return cls(Auth.Token(token), **options)

    @classmethod
    def for_installation(
        cls, app_id: str | int, private_key: str, installation_id: int, **options: Any
    ) -> GitHubForge:
        """GitHub App auth: a JWT signed with the App's key buys an installation token."""
        app_auth = Auth.AppAuth(app_id, private_key)
        return cls(app_auth.get_installation_auth(installation_id), app_auth=app_auth, **options)

    # -- plumbing ---------------------------------------------------------------------------

    def _retry(
        self,
        fn: Callable[[], T],
        *,
        write: bool,
        check: Callable[[], T | None] | None = None,
    ) -> T:
        self._ensure_token()
        return call_with_retry(
            _guarded(fn),
            write=write,
            idempotency_check=_guarded(check) if check is not None else None,
            sleep=self._sleep,
            max_attempts=self._max_attempts,
            budget_s=self._budget_s,
            attempt_timeout_s=self._timeout,
        )

    def _read(self, fn: Callable[[], T]) -> T | None:
        try:
            return self._retry(fn, write=False)
        except _NotFound:
            return None

    def _write(
        self,
        fn: Callable[[], T],
        *,
        create: bool = False,
        check: Callable[[], T | None] | None = None,
    ) -> T:
        try:
            return self._retry(fn, write=create, check=check)
        except _NotFound as err:
            raise ForgeError(f"not found on GitHub: {err}", status=404) from err

    def _ensure_token(self) -> None:
        """Fetch the installation token up front, so its 404 (App uninstalled) is an error
        rather than a read answering "not found"."""
        if not isinstance(self._auth, Auth.AppInstallationAuth):
            return
        auth = self._auth

        def fetch() -> str:
            try:
                return auth.token
            except GithubException as err:
                if err.status == 404:
                    raise ForgeError("GitHub App installation not found", status=404) from err
                raise

        call_with_retry(
            _guarded(fetch),
            write=False,
            sleep=self._sleep,
            max_attempts=self._max_attempts,
            budget_s=self._budget_s,
            attempt_timeout_s=self._timeout,
        )

    def _repo(self, repo: str) -> Any:
        return self._gh.get_repo(repo)

    @property
    def uses_checks_api(self) -> bool:
        """The Checks API is only open to GitHub Apps; token auth falls back to statuses."""
        return self._app_auth is not None

    def access_token(self) -> str:
        """The token for git over HTTPS (clone/fetch/push), fetched for this job."""
        self._ensure_token()
        return str(self._auth.token)

    def own_login(self) -> str | None:
        """The login our comments carry: `<app-slug>[bot]` for an App, else the token's user."""
        if self._own_login is None:
            app_auth = self._app_auth
            if app_auth is not None:

                def login() -> str:
                    integration = GithubIntegration(auth=app_auth, **self._client_options)
                    return f"{integration.get_app().slug}[bot]"

            else:

                def login() -> str:
                    return str(self._gh.get_user().login)

            try:
                self._own_login = self._read(login)
            except ForgeError:
                return None  # a token without user scope: fall back to the marker alone
        return self._own_login

    # -- repositories and pull requests ---------------------------------------------------------

    def default_branch(self, repo: str) -> str:
        found = self._read(lambda: str(self._repo(repo).default_branch))
        if found is None:
            raise ForgeError(f"repository {repo} not found", status=404)
        return found

    def pull_request(self, repo: str, number: int) -> PullRequest | None:
        return self._read(lambda: _pull_request(self._repo(repo).get_pull(number)))

    def _open_pull_for(self, repo: str, branch: str) -> PullRequest | None:
        owner = repo.split("/", 1)[0]
        pulls = self._repo(repo).get_pulls(state="open", head=f"{owner}:{branch}")
        for pr in pulls:
            found = _pull_request(pr)
            if not found.is_fork and found.head_branch == branch:
                return found
        return None

    def pull_request_for_branch(self, repo: str, branch: str) -> PullRequest | None:
        return self._read(lambda: self._open_pull_for(repo, branch))

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str, labels: tuple[str, ...]
    ) -> PullRequest:
        def create() -> PullRequest:
            try:
                pr = self._repo(repo).create_pull(base=base, head=head, title=title, body=body)
            except GithubException as err:
                # 422 "A pull request already exists": an earlier attempt (or job) made it
                if err.status == 422:
                    existing = self._open_pull_for(repo, head)
                    if existing is not None:
                        return existing
                raise
            return _pull_request(pr)

        created = self._write(create, create=True, check=lambda: self._open_pull_for(repo, head))
        if labels:
            # adding a label twice is harmless, so this write may simply be repeated
            self._write(lambda: self._repo(repo).get_issue(created.number).add_to_labels(*labels))
        return created

    def update_pull_request(self, repo: str, number: int, *, title: str, body: str) -> None:
        self._write(lambda: self._repo(repo).get_pull(number).edit(title=title, body=body))

    # -- git data -------------------------------------------------------------------------------

    def _ref_sha(self, repo: str, branch: str) -> str:
        return str(self._repo(repo).get_git_ref(f"heads/{branch}").object.sha)

    def branch_sha(self, repo: str, branch: str) -> str | None:
        return self._read(lambda: self._ref_sha(repo, branch))

    def commit_files(
        self,
        repo: str,
        *,
        branch: str,
        start_sha: str,
        files: Mapping[str, str],
        message: str,
    ) -> str:
        """Blobs, a tree on the start commit's tree, a commit, then the ref. Git objects are
        content-addressed, so re-sending them after a failure only leaves unreachable objects."""

        def make_commit() -> str:
            gh_repo = self._repo(repo)
            start = gh_repo.get_git_commit(start_sha)
            elements = [
                InputGitTreeElement(
                    path, "100644", "blob", sha=gh_repo.create_git_blob(text, "utf-8").sha
                )
                for path, text in sorted(files.items())
            ]
            tree = gh_repo.create_git_tree(elements, base_tree=start.tree)
            return str(gh_repo.create_git_commit(message, tree, [start]).sha)

        sha = self._write(make_commit)
        current = self.branch_sha(repo, branch)
        if current == sha:
            return sha
        if current is None:

            def create_ref() -> str:
                try:
                    self._repo(repo).create_git_ref(f"refs/heads/{branch}", sha)
                except GithubException as err:
                    if err.status != 422:  # 422: the ref appeared meanwhile; move it below
                        raise
                    return ""
                return sha

            def landed() -> str | None:
                try:
                    return sha if self._ref_sha(repo, branch) == sha else None
                except GithubException as err:
                    if err.status == 404:
                        return None
                    raise

            if self._write(create_ref, create=True, check=landed) == sha:
                return sha

        def move_ref() -> None:
            ref = self._repo(repo).get_git_ref(f"heads/{branch}")
            _ = ref.object  # completes the ref, so edit() PATCHes git/refs/, not git/ref/
            ref.edit(sha, force=True)

        self._write(move_ref)
        return sha

    # -- comments and reactions ---------------------------------------------------------------

    def _is_ours(self, body: str, author: str, marker: str) -> bool:
        me = self.own_login()
        return _marked(body, marker) and (me is None or author == me)

    def find_comment(self, repo: str, number: int, marker: str) -> Comment | None:
        def scan() -> Comment | None:
            for item in self._repo(repo).get_issue(number).get_comments():
                author = str(item.user.login) if item.user is not None else ""
                body = str(item.body or "")
                if self._is_ours(body, author, marker):
                    return Comment(id=int(item.id), body=body, author=author)
            return None

        self.own_login()  # resolved outside the scan: its own failures are not the scan's
        return self._read(scan)

    def create_comment(self, repo: str, number: int, body: str) -> Comment:
        self.own_login()  # needed by the look-before-resend below; resolved once, up front

        def post() -> Comment:
            item = self._repo(repo).get_issue(number).create_comment(body)
            return Comment(id=int(item.id), body=str(item.body), author=str(item.user.login))

        def posted() -> Comment | None:
            # the same text from us is the comment the failed attempt made
            me = self.own_login()
            for item in self._repo(repo).get_issue(number).get_comments():
                author = str(item.user.login) if item.user is not None else ""
                if item.body == body and (me is None or author == me):
                    return Comment(id=int(item.id), body=body, author=author)
            return None

        return self._write(post, create=True, check=posted)

    def edit_comment(self, repo: str, number: int, comment_id: int, body: str) -> None:
        self._write(lambda: self._repo(repo).get_issue(number).get_comment(comment_id).edit(body))

    def comment_on_commit(self, repo: str, sha: str, body: str, marker: str) -> None:
        if marker not in body:
            body = f"{marker}\n{body}"
        self.own_login()

        def find() -> Any | None:
            for item in self._repo(repo).get_commit(sha).get_comments():
                author = str(item.user.login) if item.user is not None else ""
                if self._is_ours(str(item.body or ""), author, marker):
                    return item
            return None

        existing = self._read(find)
        if existing is not None:
            if existing.body != body:
                self._write(lambda: existing.edit(body))
            return

        def post() -> Any:
            return self._repo(repo).get_commit(sha).create_comment(body)

        self._write(post, create=True, check=find)

    def react(self, repo: str, number: int, comment_id: int, reaction: str) -> None:
        if reaction not in REACTIONS:
            raise ForgeError(f"GitHub has no reaction {reaction!r}")
        # GitHub answers 200 with the existing reaction when it is already there
        self._write(
            lambda: (
                self._repo(repo).get_issue(number).get_comment(comment_id).create_reaction(reaction)
            )
        )

    # -- checks ---------------------------------------------------------------------------------

    def _check_run(self, repo: str, sha: str, name: str) -> Any | None:
        runs = list(self._repo(repo).get_commit(sha).get_check_runs(check_name=name))
        runs = [run for run in runs if run.name == name]
        return max(runs, key=lambda run: run.id) if runs else None  # the newest one counts

    def get_check(self, repo: str, sha: str, name: str) -> Check | None:
        if self.uses_checks_api:

            def read_run() -> Check | None:
                run = self._check_run(repo, sha, name)
                if run is None:
                    return None
                output = run.output
                title = str(output.title or "") if output is not None else ""
                summary = str(output.summary or "") if output is not None else ""
                if run.status != "completed":
                    state = CheckState.PENDING
                elif run.conclusion in ("success", "neutral", "skipped"):
                    state = CheckState.SUCCESS
                elif run.conclusion == "action_required":
                    state = CheckState.ACTION_REQUIRED
                else:
                    state = CheckState.FAILURE
                external = run.external_id
                return Check(state, title, summary, external if isinstance(external, str) else "")

            return self._read(read_run) or None

        def read_status() -> Check | None:
            for status in self._repo(repo).get_commit(sha).get_statuses():  # newest first
                if status.context == name:
                    state = {
                        "pending": CheckState.PENDING,
                        "success": CheckState.SUCCESS,
                    }.get(str(status.state), CheckState.FAILURE)
                    text = str(status.description or "")
                    return Check(state=state, title=text, summary=text)
            return None

        return self._read(read_status) or None

    def set_check(
        self, repo: str, sha: str, name: str, check: Check, details_url: str = ""
    ) -> None:
        if not self.uses_checks_api:
            # The Checks API only accepts GitHub Apps; a token gets a commit status, which
            # branch protection can require just the same. Statuses upsert by context.
            self._write(
                lambda: (
                    self._repo(repo)
                    .get_commit(sha)
                    .create_status(
                        _STATUS_STATES[check.state],
                        target_url=details_url or github.GithubObject.NotSet,
                        description=_short(check.title, STATUS_DESCRIPTION_LIMIT),
                        context=name,
                    )
                )
            )
            return
        fields: dict[str, Any] = {
            "output": {
                "title": _truncate(check.title or name, 1000),  # GitHub requires a title
                "summary": _truncate(check.summary, CHECK_TEXT_LIMIT),
            }
        }
        if details_url:
            fields["details_url"] = details_url
        if check.external_id:
            fields["external_id"] = check.external_id
        if check.state is CheckState.PENDING:
            fields["status"] = "in_progress"
        else:
            fields["status"] = "completed"
            fields["conclusion"] = _CONCLUSIONS[check.state]

        def upsert() -> bool:
            run = self._check_run(repo, sha, name)
            if run is None:
                return False
            run.edit(**fields)
            return True

        if self._write(upsert):
            return

        def create() -> bool:
            self._repo(repo).create_check_run(name=name, head_sha=sha, **fields)
            return True

        def created() -> bool | None:
            return True if self._check_run(repo, sha, name) is not None else None

        self._write(create, create=True, check=created)

    # -- people ---------------------------------------------------------------------------------

    def permission(self, repo: str, user: str) -> Permission:
        def read() -> Permission:
            gh_repo = self._repo(repo)
            _, data = gh_repo.requester.requestJsonAndCheck(
                "GET",
                f"{gh_repo.url}/collaborators/{urllib.parse.quote(user, safe='')}/permission",
            )
            # role_name knows maintain and triage; custom roles fall back to `permission`
            role = _ROLES.get(str(data.get("role_name", "")))
            return (
                role
                if role is not None
                else _ROLES.get(str(data.get("permission")), Permission.NONE)
            )

        return self._read(read) or Permission.NONE

    def team_members(self, repo: str, team: str) -> frozenset[str]:
        org, _, slug = team.rpartition("/")
        org = org or repo.split("/", 1)[0]

        def read() -> frozenset[str]:
            members = self._gh.get_organization(org).get_team_by_slug(slug).get_members()
            return frozenset(str(member.login) for member in members)

        return self._read(read) or frozenset()
