"""End-to-end worlds: a real git repository pushed to a local bare remote (the worker fetches
it over file://), a fake forge on 127.0.0.1 that knows the same commits, and the bot built by
its composition root. Webhooks are copies of the platforms' published example payloads with
only the fields this scenario needs changed, signed as the forges sign them, and delivered
through the bot's real Flask app.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import itertools
import json
import re
import subprocess
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from bot.app import Bot, build
from bot.approvals import ApprovalPolicy
from bot.executor import BRANCH_PREFIX, CHECK_NAME, COMMENT_MARKER
from bot.forges import CheckState
from bot.jobs.handlers import Workflow
from bot.settings import load_settings
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import Commit, FakeGitLab, Project
from tests.planner.repo import ENV, Repo

DATA = Path(__file__).resolve().parents[1] / "data" / "webhooks"
REPO = "acme/app"
BOT_GITHUB = "rollback-plan[bot]"
BOT_GITLAB = "rollback-bot"
GITHUB_SECRET = "e2e-github-webhook-secret"
GITLAB_SECRET = "e2e-gitlab-webhook-token"
INSTALLATION = 31337
REVERT_BRANCH = "revert-2-add-email"
M = "db/migrations"
CONFIG = f"version: 1\nsources:\n  - path: {M}\n    format: golang-migrate\n    dialect: postgres\n"
NEEDS_APPROVAL = "policy:\n  data_loss: needs-approval\n"
USERS = {
    f"{M}/000001_users.up.sql": "CREATE TABLE users (id integer PRIMARY KEY, name text);\n",
    f"{M}/000001_users.down.sql": "DROP TABLE users;\n",
}
EMAIL_UP = f"{M}/000002_email.up.sql"
EMAIL_DOWN = f"{M}/000002_email.down.sql"
EMAIL = {
    EMAIL_UP: "ALTER TABLE users ADD COLUMN email text;\n"
    "CREATE INDEX users_email ON users (email);\n",
    EMAIL_DOWN: "DROP INDEX users_email;\nALTER TABLE users DROP COLUMN email;\n",
}
# who is who, the same on both forges
WRITER = "wendy"  # write (GitHub) / Maintainer (GitLab)
AUTHOR = "alice"  # writes, and authored the revert
READER = "ruth"  # read (GitHub) / Reporter (GitLab)
TEAM_MEMBER = "tom"  # read on the repository, member of the approving team/group
TEAM = "acme/dba"

_deliveries = itertools.count(1)


def delivery_id(prefix: str = "e2e") -> str:
    return f"{prefix}-{next(_deliveries):04d}-{time.monotonic_ns() % 10**9}"


def template(forge: str, name: str) -> dict[str, Any]:
    """A fresh copy of a published example payload."""
    data: dict[str, Any] = json.loads((DATA / forge / f"{name}.json").read_text())
    return copy.deepcopy(data)


def fast_sleep(seconds: float) -> None:
    """The forge clients' retry waits, shortened: the test proves what is retried, not how
    long a real forge asks us to wait."""
    time.sleep(min(seconds, 0.02))


# -- the real repository -----------------------------------------------------------------


@dataclass(frozen=True)
class GitCommit:
    sha: str
    parents: list[str]
    tree: str
    message: str
    files: dict[str, tuple[str, bytes]]  # path -> (blob sha, content)


class Origin:
    """The repository as its people work on it, and the bare remote the bot fetches from."""

    def __init__(self, root: Path, repo: str = REPO) -> None:
        self.work = Repo(root / "work")
        self.remotes = root / "remotes"
        self.bare = self.remotes / f"{repo}.git"
        self.bare.mkdir(parents=True)
        self.work.git("init", "-q", "--bare", str(self.bare))
        # GitHub and GitLab serve any reachable commit by sha; so does this remote
        self.work.git(
            "--git-dir", str(self.bare), "config", "uploadpack.allowReachableSHA1InWant", "true"
        )

    @property
    def url_template(self) -> str:
        return f"file://{self.remotes}/{{repo}}.git"

    def git(self, *args: str) -> str:
        return self.work.git(*args)

    def sha(self, ref: str) -> str:
        return self.git("rev-parse", ref)

    def branches(self) -> list[str]:
        refs = self.git("for-each-ref", "--format=%(refname)", "refs/heads").split()
        return [r.removeprefix("refs/heads/") for r in refs]

    def push(self, *branches: str) -> None:
        """Push `branches` (all of them by default) to the bare remote."""
        names = branches or tuple(self.branches())
        self.git("push", "-q", "--force", str(self.bare), *(f"{b}:{b}" for b in names))

    def commits(self, *refs: str) -> list[GitCommit]:
        """Every commit reachable from `refs`, parents before children."""
        out = []
        for sha in self.git("rev-list", "--reverse", "--topo-order", *refs).split():
            tree, *parents = self.git("show", "-s", "--format=%T %P", sha).split()
            message = self.git("show", "-s", "--format=%B", sha) + "\n"
            files = {}
            for line in self.git("ls-tree", "-r", sha).splitlines():
                meta, path = line.split("\t", 1)
                blob = meta.split()[2]
                files[path] = (blob, self.blob(blob))
            out.append(GitCommit(sha, parents, tree, message, files))
        return out

    def blob(self, sha: str) -> bytes:
        """A blob's exact bytes (Repo.git strips its output)."""
        return subprocess.run(
            ["git", "cat-file", "blob", sha],
            cwd=self.work.path,
            env=ENV,
            check=True,
            capture_output=True,
        ).stdout


def build_history(origin: Origin, *, needs_approval: bool = False) -> None:
    """main: users, then "Add email (#2)" (a column and an index)."""
    config = CONFIG + (NEEDS_APPROVAL if needs_approval else "")
    origin.work.commit("Users", {".rollback-plan.yml": config, **USERS})
    origin.work.commit("Add email (#2)", EMAIL)


def revert_on_branch(origin: Origin) -> str:
    """The revert on its own branch, as the forge's Revert button makes it."""
    origin.git("checkout", "-q", "-b", REVERT_BRANCH)
    sha = origin.work.revert("HEAD")
    origin.git("checkout", "-q", "main")
    return sha


# -- webhooks ------------------------------------------------------------------------------


def github_signature(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class CheckView:
    state: CheckState | None
    count: int  # how many check runs / status names exist for the sha (duplicates show here)
    text: str


@dataclass(frozen=True)
class CompanionView:
    number: int
    branch: str
    base: str
    title: str
    body: str


@dataclass(frozen=True)
class CommentView:
    id: int
    body: str
    author: str


class World(ABC):
    """One forge, one repository, one bot. Subclasses speak the forge's dialect."""

    word: str  # "pull request" / "merge request"

    def __init__(self, tmp: Path, origin: Origin, bot: Bot) -> None:
        self.tmp = tmp
        self.origin = origin
        self.bot = bot
        self.client: FlaskClient = bot.web.test_client()

    # -- driving ---------------------------------------------------------------------------

    def drain(self, timeout: float = 30.0) -> None:
        assert self.bot.queue.drain(timeout), "the worker did not finish in time"

    def use_teams(self, *teams: str) -> None:
        """Approvals by team membership. The composition root reads no setting for it (see
        the xfail in the tests): the policy is set on the worker it built."""
        self.bot.worker.settings = Workflow(approval_policy=ApprovalPolicy(teams=teams))

    @abstractmethod
    def sync(self) -> None:
        """Make the fake forge know the origin's branches and commits (a push, for it)."""

    @abstractmethod
    def open_revert(self) -> int:
        """The revert PR/MR, created on the forge (no webhook yet)."""

    @abstractmethod
    def pr_event(
        self,
        number: int,
        action: str,
        *,
        delivery: str | None = None,
        before: str | None = None,
        mutate: Callable[[dict[str, Any]], None] | None = None,
        secret: str | None = None,
    ) -> TestResponse: ...

    @abstractmethod
    def break_number(self, payload: dict[str, Any]) -> None:
        """Give the PR/MR number the wrong JSON type (a string)."""

    @abstractmethod
    def faults_pending(self) -> int:
        """Injected faults not yet taken by a request (0: every fault hit its write)."""

    @abstractmethod
    def write_calls(self, write: str) -> int:
        """How many requests the forge saw for `write` (see fail_write)."""

    @abstractmethod
    def comment(
        self, number: int, body: str, author: str, *, bot: bool = False
    ) -> tuple[int, TestResponse]:
        """Post `body` as `author` on the forge, then deliver its webhook."""

    @abstractmethod
    def push_event(self, branch: str, before: str, after: str) -> TestResponse: ...

    @abstractmethod
    def send(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery: str | None = None,
        secret: str | None = None,
    ) -> TestResponse: ...

    @abstractmethod
    def fail_write(self, write: str, mode: str) -> None:
        """Inject a fault at the next `write` ("pr", "comment", "check", "commit"):
        mode "500" (refused), "500-applied" (done, then 500), "timeout" (done, no answer)."""

    # -- reading the forge back ------------------------------------------------------------

    @abstractmethod
    def companions(self) -> list[CompanionView]: ...

    @abstractmethod
    def files(self, ref: str) -> dict[str, str]: ...

    @abstractmethod
    def branch_head(self, branch: str) -> str | None: ...

    @abstractmethod
    def parents(self, sha: str) -> list[str]: ...

    @abstractmethod
    def comments(self, number: int) -> list[CommentView]: ...

    @abstractmethod
    def check(self, sha: str) -> CheckView: ...

    @abstractmethod
    def commit_comments(self, sha: str) -> list[CommentView]: ...

    @abstractmethod
    def reactions(self, number: int, comment_id: int) -> list[str]: ...

    @abstractmethod
    def request_count(self) -> int: ...

    @abstractmethod
    def assert_clean(self) -> None: ...

    # -- derived ---------------------------------------------------------------------------

    def plan_comments(self, number: int) -> list[CommentView]:
        return [c for c in self.comments(number) if COMMENT_MARKER in c.body]

    def plan_comment(self, number: int) -> CommentView:
        found = self.plan_comments(number)
        assert len(found) == 1, [c.body[:200] for c in self.comments(number)]
        return found[0]

    def replies(self, number: int, comment_id: int) -> list[CommentView]:
        marker = f"<!-- rollback-plan:reply comment-{comment_id} -->"
        return [c for c in self.comments(number) if marker in c.body]

    def companion(self) -> CompanionView:
        found = self.companions()
        assert len(found) == 1, found
        return found[0]

    def migrations(self, ref: str) -> dict[str, str]:
        return {p: t for p, t in self.files(ref).items() if p.startswith(f"{M}/")}


# -- GitHub ------------------------------------------------------------------------------


class GitHubWorld(World):
    word = "pull request"

    def __init__(self, tmp: Path, origin: Origin, fake: FakeGitHub, bot: Bot) -> None:
        super().__init__(tmp, origin, bot)
        self.fake = fake

    @classmethod
    def make(
        cls, tmp: Path, fake: FakeGitHub, *, needs_approval: bool = False, pushed: bool = False
    ) -> GitHubWorld:
        origin = Origin(tmp)
        build_history(origin, needs_approval=needs_approval)
        if not pushed:
            revert_on_branch(origin)
        fake.add_repo(REPO, files={"README.md": "placeholder, replaced by the mirror\n"})
        fake.add_installation(INSTALLATION)
        for login, role in ((WRITER, "write"), (AUTHOR, "write"), (READER, "read")):
            fake.add_collaborator(REPO, login, role)
        fake.add_collaborator(REPO, TEAM_MEMBER, "read")
        fake.add_team("acme", "dba", [TEAM_MEMBER])
        env = {
            "ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET": GITHUB_SECRET,
            "ROLLBACK_PLAN_GITHUB_APP_ID": str(fake.app_id),
            "ROLLBACK_PLAN_GITHUB_PRIVATE_KEY": fake.private_key_pem,
            "ROLLBACK_PLAN_GITHUB_API_URL": fake.api_url,
            "ROLLBACK_PLAN_GIT_URL_TEMPLATE": origin.url_template,
            "ROLLBACK_PLAN_CACHE_DIR": str(tmp / "cache"),
            # each test its own queue: a shared file would let one test's worker take
            # another's jobs (and a deduplicated delivery id would outlive the run)
            "ROLLBACK_PLAN_QUEUE_PATH": str(tmp / "queue.sqlite3"),
            "ROLLBACK_PLAN_BOT_LOGINS": BOT_GITHUB,
        }
        bot = build(
            load_settings(env),
            workers=2,
            forge_options={
                "throttle": False,
                "sleep": fast_sleep,
                "timeout": 1,
                "budget_s": 15,
            },
        )
        world = cls(tmp, origin, fake, bot)
        origin.push()
        world.sync()
        return world

    # -- mirroring ------------------------------------------------------------------------

    def sync(self) -> None:
        r = self.fake.repos[REPO]
        branches = self.origin.branches()
        base = f"{self.fake.api_url}/repos/{REPO}/git"
        for c in self.origin.commits(*branches):
            if c.sha in r.commits:
                continue
            for blob, data in c.files.values():
                r.blobs[blob] = data
            r.trees[c.tree] = {path: blob for path, (blob, _) in c.files.items()}
            person = {"name": "Ada Example", "email": "ada@example.com", "date": _stamp()}
            r.commits[c.sha] = {
                "sha": c.sha,
                "node_id": f"C_{c.sha[:8]}",
                "url": f"{base}/commits/{c.sha}",
                "html_url": f"{self.fake.root}/{REPO}/commit/{c.sha}",
                "author": person,
                "committer": person,
                "message": c.message,
                "tree": {"sha": c.tree, "url": f"{base}/trees/{c.tree}"},
                "parents": [
                    {
                        "sha": p,
                        "url": f"{base}/commits/{p}",
                        "html_url": f"{self.fake.root}/{REPO}/commit/{p}",
                    }
                    for p in c.parents
                ],
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "signature": None,
                    "payload": None,
                },
            }
        for b in branches:
            r.refs[f"refs/heads/{b}"] = self.origin.sha(b)
        # GitHub moves an open PR's head with its branch
        for pr in r.pulls.values():
            if pr["state"] == "open":
                head = r.refs.get(f"refs/heads/{pr['head']['ref']}")
                if head is not None:
                    pr["head"]["sha"] = head

    # -- driving ----------------------------------------------------------------------------

    def open_revert(self) -> int:
        pr = self.fake.add_pull(
            REPO,
            head=REVERT_BRANCH,
            base="main",
            title='Revert "Add email (#2)"',
            body=f"Reverts {REPO}#2",
            author=AUTHOR,
        )
        return int(pr["number"])

    def send(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery: str | None = None,
        secret: str | None = None,
    ) -> TestResponse:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.client.post(
            "/webhooks/github",
            data=raw,
            headers={
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery or delivery_id("gh"),
                "X-Hub-Signature-256": github_signature(raw, secret or GITHUB_SECRET),
                "Content-Type": "application/json",
                "User-Agent": "GitHub-Hookshot/e2e",
            },
        )

    def _repository(self, data: dict[str, Any]) -> None:
        repository = data["repository"]
        repository["full_name"] = REPO
        repository["name"] = REPO.split("/")[1]
        repository["default_branch"] = "main"
        repository["clone_url"] = f"{self.fake.root}/{REPO}.git"
        repository["owner"]["login"] = REPO.split("/")[0]
        data["installation"] = {
            "id": INSTALLATION,
            "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ==",
        }

    def pull_payload(self, number: int, action: str, before: str | None = None) -> dict[str, Any]:
        data = template("github", "pull_request.synchronize")
        pr = self.fake.repos[REPO].pulls[number]
        data["action"] = action
        data["number"] = number
        if action == "synchronize":
            data["before"] = before or data["before"]
            data["after"] = pr["head"]["sha"]
        else:
            data.pop("before", None)
            data.pop("after", None)
        body = data["pull_request"]
        body.update(
            number=number,
            title=pr["title"],
            body=pr["body"],
            state="open",
            html_url=pr["html_url"],
            url=pr["url"],
        )
        body["user"]["login"] = pr["user"]["login"]
        for side in ("head", "base"):
            body[side]["ref"] = pr[side]["ref"]
            body[side]["sha"] = pr[side]["sha"]
            body[side]["label"] = pr[side]["label"]
            body[side]["repo"]["full_name"] = REPO
            body[side]["repo"]["name"] = REPO.split("/")[1]
        self._repository(data)
        return data

    def pr_event(
        self,
        number: int,
        action: str,
        *,
        delivery: str | None = None,
        before: str | None = None,
        mutate: Callable[[dict[str, Any]], None] | None = None,
        secret: str | None = None,
    ) -> TestResponse:
        data = self.pull_payload(number, action, before)
        if mutate is not None:
            mutate(data)
        return self.send("pull_request", data, delivery=delivery, secret=secret)

    def break_number(self, payload: dict[str, Any]) -> None:
        payload["pull_request"]["number"] = str(payload["pull_request"]["number"])

    def write_calls(self, write: str) -> int:
        method, path = self._WRITES[write]
        return len(self.fake.calls_to(method, path))

    def faults_pending(self) -> int:
        return len(self.fake._faults)

    def comment(
        self, number: int, body: str, author: str, *, bot: bool = False
    ) -> tuple[int, TestResponse]:
        made = self.fake.add_comment(REPO, number, body, author)
        data = template("github", "issue_comment.created.on-issue")
        pr = self.fake.repos[REPO].pulls[number]
        issue = data["issue"]
        issue.update(number=number, title=pr["title"], body=pr["body"])
        issue["pull_request"] = {
            "url": pr["url"],
            "html_url": pr["html_url"],
            "diff_url": pr["diff_url"],
            "patch_url": pr["html_url"] + ".patch",
            "merged_at": None,
        }
        c = data["comment"]
        c.update(id=made["id"], body=body, html_url=made["html_url"], url=made["url"])
        c["user"]["login"] = author
        c["user"]["type"] = "Bot" if bot else "User"
        data["sender"]["login"] = author
        data["sender"]["type"] = "Bot" if bot else "User"
        self._repository(data)
        return int(made["id"]), self.send("issue_comment", data)

    def push_event(self, branch: str, before: str, after: str) -> TestResponse:
        data = template("github", "push.tag-deleted")
        shas = self.origin.git("rev-list", "--reverse", f"{before}..{after}").split()
        data.update(
            ref=f"refs/heads/{branch}",
            before=before,
            after=after,
            created=False,
            deleted=False,
            compare=f"{self.fake.root}/{REPO}/compare/{before[:12]}...{after[:12]}",
            commits=[
                {
                    "id": s,
                    "tree_id": self.origin.sha(f"{s}^{{tree}}"),
                    "distinct": True,
                    "message": self.origin.git("show", "-s", "--format=%B", s),
                    "timestamp": "2026-11-02T10:00:00Z",
                    "url": f"{self.fake.root}/{REPO}/commit/{s}",
                    "author": {"name": "Ada Example", "email": "ada@example.com"},
                    "committer": {"name": "Ada Example", "email": "ada@example.com"},
                    "added": [],
                    "removed": [],
                    "modified": [],
                }
                for s in shas
            ],
        )
        data["head_commit"] = data["commits"][-1]
        data["pusher"] = {"name": AUTHOR, "email": "alice@example.com"}
        data["sender"]["login"] = AUTHOR
        self._repository(data)
        return self.send("push", data)

    _WRITES: Mapping[str, tuple[str, str]] = {
        "pr": ("POST", r"/pulls$"),
        "comment": ("POST", r"/issues/\d+/comments$"),
        "check": ("POST", r"/check-runs$"),
        "commit": ("POST", r"/git/commits$"),
        "ref": ("POST", r"/git/refs$"),
        "label": ("POST", r"/issues/\d+/labels$"),
        "commit-comment": ("POST", r"/commits/[0-9a-f]{40}/comments$"),
    }

    def fail_write(self, write: str, mode: str) -> None:
        method, path = self._WRITES[write]
        self.fake.fail_next(
            method, path, status=500, applied=mode == "500-applied", timeout=mode == "timeout"
        )

    # -- reading back ----------------------------------------------------------------------

    def companions(self) -> list[CompanionView]:
        return [
            CompanionView(
                int(p["number"]), p["head"]["ref"], p["base"]["ref"], p["title"], p["body"] or ""
            )
            for p in self.fake.pulls(REPO)
            if p["head"]["ref"].startswith(BRANCH_PREFIX)
        ]

    def files(self, ref: str) -> dict[str, str]:
        return self.fake.files_at(REPO, ref)

    def branch_head(self, branch: str) -> str | None:
        return self.fake.repos[REPO].refs.get(f"refs/heads/{branch}")

    def parents(self, sha: str) -> list[str]:
        return [p["sha"] for p in self.fake.repos[REPO].commits[sha]["parents"]]

    def comments(self, number: int) -> list[CommentView]:
        return [
            CommentView(int(c["id"]), c["body"], c["user"]["login"])
            for c in self.fake.comments(REPO, number)
        ]

    def check(self, sha: str) -> CheckView:
        runs = [c for c in self.fake.check_runs(REPO, sha) if c["name"] == CHECK_NAME]
        if not runs:
            return CheckView(None, 0, "")
        run = max(runs, key=lambda c: int(c["id"]))
        state = {
            "success": CheckState.SUCCESS,
            "action_required": CheckState.ACTION_REQUIRED,
            "failure": CheckState.FAILURE,
        }.get(str(run["conclusion"]), CheckState.PENDING)
        output = run["output"] or {}
        return CheckView(state, len(runs), f"{output.get('title')}\n{output.get('summary')}")

    def commit_comments(self, sha: str) -> list[CommentView]:
        return [
            CommentView(int(c["id"]), c["body"], c["user"]["login"])
            for c in self.fake.commit_comments(REPO, sha)
        ]

    def reactions(self, number: int, comment_id: int) -> list[str]:
        return self.fake.reactions(REPO, comment_id)

    def request_count(self) -> int:
        return len(self.fake.calls)

    def assert_clean(self) -> None:
        assert self.fake.errors == []


# -- GitLab ------------------------------------------------------------------------------


class GitLabWorld(World):
    word = "merge request"

    def __init__(self, tmp: Path, origin: Origin, fake: FakeGitLab, bot: Bot) -> None:
        super().__init__(tmp, origin, bot)
        self.fake = fake

    @classmethod
    def make(
        cls, tmp: Path, fake: FakeGitLab, *, needs_approval: bool = False, pushed: bool = False
    ) -> GitLabWorld:
        origin = Origin(tmp)
        build_history(origin, needs_approval=needs_approval)
        if not pushed:
            revert_on_branch(origin)
        fake.add_user(BOT_GITLAB, token="glpat-e2e-bot", bot=True)
        for user in (WRITER, AUTHOR, READER, TEAM_MEMBER):
            fake.add_user(user, token=f"glpat-{user}")
        fake.add_group("acme")
        fake.add_group(TEAM, members={TEAM_MEMBER: 30})
        fake.add_project(
            REPO,
            files={"README.md": "placeholder, replaced by the mirror\n"},
            members={WRITER: 40, AUTHOR: 30, READER: 20, TEAM_MEMBER: 20, BOT_GITLAB: 40},
        )
        env = {
            "ROLLBACK_PLAN_GITLAB_WEBHOOK_SECRET": GITLAB_SECRET,
            "ROLLBACK_PLAN_GITLAB_TOKEN": "glpat-e2e-bot",
            "ROLLBACK_PLAN_GITLAB_URL": fake.url,
            "ROLLBACK_PLAN_GIT_URL_TEMPLATE": origin.url_template,
            "ROLLBACK_PLAN_CACHE_DIR": str(tmp / "cache"),
            # each test its own queue: a shared file would let one test's worker take
            # another's jobs (and a deduplicated delivery id would outlive the run)
            "ROLLBACK_PLAN_QUEUE_PATH": str(tmp / "queue.sqlite3"),
            "ROLLBACK_PLAN_BOT_LOGINS": BOT_GITLAB,
        }
        bot = build(
            load_settings(env),
            workers=2,
            forge_options={"sleep": fast_sleep, "timeout": 0.5, "budget_s": 15},
        )
        world = cls(tmp, origin, fake, bot)
        origin.push()
        world.sync()
        return world

    @property
    def project(self) -> Project:
        return next(p for p in self.fake.projects.values() if p.path == REPO)

    def sync(self) -> None:
        branches = self.origin.branches()
        # only between jobs (the queue is drained): the fake reads these without our help
        for c in self.origin.commits(*branches):
            if c.sha not in self.fake.commits:
                self.fake.commits[c.sha] = Commit(
                    c.sha,
                    c.message,
                    c.parents,
                    {p: data.decode() for p, (_, data) in c.files.items()},
                    AUTHOR,
                    _stamp(),
                )
        for b in branches:
            self.project.branches[b] = self.origin.sha(b)

    def open_revert(self) -> int:
        reverted = self.origin.sha("main")
        return self.fake.add_merge_request(
            REPO,
            source_branch=REVERT_BRANCH,
            target_branch="main",
            title='Revert "Add email (#2)"',
            description=f"This reverts commit {reverted}.",
            author=AUTHOR,
        )

    def send(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        delivery: str | None = None,
        secret: str | None = None,
    ) -> TestResponse:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.client.post(
            "/webhooks/gitlab",
            data=raw,
            headers={
                "X-Gitlab-Event": event,
                "X-Gitlab-Event-UUID": delivery or delivery_id("gl"),
                "X-Gitlab-Token": secret or GITLAB_SECRET,
                "Content-Type": "application/json",
                "User-Agent": "GitLab/17.5.0",
            },
        )

    def _project_fields(self, project: dict[str, Any]) -> None:
        project.update(
            id=self.project.id,
            name=REPO.split("/")[1],
            path_with_namespace=REPO,
            default_branch="main",
            web_url=f"{self.fake.url}/{REPO}",
            git_http_url=f"{self.fake.url}/{REPO}.git",
            http_url=f"{self.fake.url}/{REPO}.git",
        )

    def _user(self, data: dict[str, Any], username: str) -> None:
        user = self.fake.users[username]
        data["user"].update(id=user["id"], name=user["name"], username=username)

    def pr_event(
        self,
        number: int,
        action: str,
        *,
        delivery: str | None = None,
        before: str | None = None,
        mutate: Callable[[dict[str, Any]], None] | None = None,
        secret: str | None = None,
    ) -> TestResponse:
        data = template("gitlab", "merge_request.open")
        mr = self.fake.mrs[(self.project.id, number)]
        head = self.project.branches[mr["source_branch"]]
        attrs = data["object_attributes"]
        attrs.update(
            id=mr["id"],
            iid=number,
            title=mr["title"],
            description=mr["description"],
            source_branch=mr["source_branch"],
            target_branch=mr["target_branch"],
            source_project_id=self.project.id,
            target_project_id=self.project.id,
            url=f"{self.fake.url}/{REPO}/-/merge_requests/{number}",
            action={"opened": "open", "reopened": "reopen", "synchronize": "update"}.get(
                action, action
            ),
        )
        attrs["last_commit"].update(
            id=head,
            message=self.fake.commits[head].message,
            title=self.fake.commits[head].message.split("\n", 1)[0],
        )
        if action == "synchronize":
            attrs["oldrev"] = before
        for side in ("source", "target"):
            self._project_fields(attrs[side])
        self._project_fields(data["project"])
        self._user(data, AUTHOR)
        if mutate is not None:
            mutate(data)
        return self.send("Merge Request Hook", data, delivery=delivery, secret=secret)

    def break_number(self, payload: dict[str, Any]) -> None:
        payload["object_attributes"]["iid"] = str(payload["object_attributes"]["iid"])

    def write_calls(self, write: str) -> int:
        method, path = self._WRITES[write]
        return sum(1 for c in self.fake.calls if c.method == method and re.search(path, c.path))

    def faults_pending(self) -> int:
        return len(self.fake._faults)

    def comment(
        self, number: int, body: str, author: str, *, bot: bool = False
    ) -> tuple[int, TestResponse]:
        note_id = self.fake.add_note(REPO, number, body, author=author)
        data = template("gitlab", "note.merge_request")
        mr = self.fake.mrs[(self.project.id, number)]
        head = self.project.branches[mr["source_branch"]]
        data["project_id"] = self.project.id
        self._project_fields(data["project"])
        self._user(data, author)
        if bot:
            data["user"]["bot"] = True
        attrs = data["object_attributes"]
        attrs.update(
            id=note_id,
            note=body,
            project_id=self.project.id,
            noteable_id=mr["id"],
            url=f"{self.fake.url}/{REPO}/-/merge_requests/{number}#note_{note_id}",
        )
        m = data["merge_request"]
        m.update(
            id=mr["id"],
            iid=number,
            title=mr["title"],
            description=mr["description"],
            source_branch=mr["source_branch"],
            target_branch=mr["target_branch"],
            source_project_id=self.project.id,
            target_project_id=self.project.id,
        )
        m["last_commit"]["id"] = head
        for side in ("source", "target"):
            self._project_fields(m[side])
        return note_id, self.send("Note Hook", data)

    def push_event(self, branch: str, before: str, after: str) -> TestResponse:
        data = template("gitlab", "push")
        shas = self.origin.git("rev-list", "--reverse", f"{before}..{after}").split()
        user = self.fake.users[AUTHOR]
        data.update(
            before=before,
            after=after,
            ref=f"refs/heads/{branch}",
            checkout_sha=after,
            user_id=user["id"],
            user_name=user["name"],
            user_username=AUTHOR,
            project_id=self.project.id,
            total_commits_count=len(shas),
            commits=[
                {
                    "id": s,
                    "message": self.origin.git("show", "-s", "--format=%B", s),
                    "title": self.origin.git("show", "-s", "--format=%s", s),
                    "timestamp": "2026-11-02T10:00:00+00:00",
                    "url": f"{self.fake.url}/{REPO}/-/commit/{s}",
                    "author": {"name": "Ada Example", "email": "ada@example.com"},
                    "added": [],
                    "modified": [],
                    "removed": [],
                }
                for s in shas
            ],
        )
        self._project_fields(data["project"])
        return self.send("Push Hook", data)

    _WRITES: Mapping[str, tuple[str, str]] = {
        "pr": ("POST", r"/merge_requests$"),
        "comment": ("POST", r"/merge_requests/\d+/notes$"),
        "check": ("POST", r"/statuses/[0-9a-f]{40}$"),
        "commit": ("POST", r"/repository/commits$"),
        "award": ("POST", r"/award_emoji$"),
        "commit-comment": ("POST", r"/discussions$"),
    }

    def fail_write(self, write: str, mode: str) -> None:
        method, path = self._WRITES[write]
        self.fake.fail_next(
            method, path, 500, apply=mode == "500-applied", timeout=mode == "timeout"
        )

    def companions(self) -> list[CompanionView]:
        return [
            CompanionView(
                int(m["iid"]), m["source_branch"], m["target_branch"], m["title"], m["description"]
            )
            for m in self.fake.merge_requests(REPO)
            if m["source_branch"].startswith(BRANCH_PREFIX) and m["state"] == "opened"
        ]

    def files(self, ref: str) -> dict[str, str]:
        sha = self.fake.branch_head(REPO, ref) or ref
        return dict(self.fake.commits[sha].tree)

    def branch_head(self, branch: str) -> str | None:
        return self.fake.branch_head(REPO, branch)

    def parents(self, sha: str) -> list[str]:
        return list(self.fake.commits[sha].parent_ids)

    def comments(self, number: int) -> list[CommentView]:
        return [
            CommentView(int(n["id"]), n["body"], n["author"]["username"])
            for n in self.fake.mr_notes(REPO, number)
            if not n["system"]
        ]

    def check(self, sha: str) -> CheckView:
        statuses = [s for s in self.fake.commit_statuses(REPO, sha) if s["name"] == CHECK_NAME]
        if not statuses:
            return CheckView(None, 0, "")
        latest = max(statuses, key=lambda s: int(s["id"]))
        text = str(latest["description"] or "")
        if latest["status"] == "success":
            state = CheckState.SUCCESS
        elif latest["status"] == "failed":
            approval = text.startswith("Approval required: ")
            state = CheckState.ACTION_REQUIRED if approval else CheckState.FAILURE
        else:
            state = CheckState.PENDING
        # GitLab keeps one status per state change (a pipeline job each); one name, one ref
        names = {(s["name"], s["ref"]) for s in statuses}
        return CheckView(state, len(names), text)

    def commit_comments(self, sha: str) -> list[CommentView]:
        return [
            CommentView(int(n["id"]), n["body"], n["author"]["username"])
            for d in self.fake.commit_discussions(REPO, sha)
            for n in d["notes"]
        ]

    def reactions(self, number: int, comment_id: int) -> list[str]:
        for note in self.fake.mr_notes(REPO, number):
            if int(note["id"]) == comment_id:
                return [a["name"] for a in note["award_emoji"]]
        return []

    def request_count(self) -> int:
        return len(self.fake.calls)

    def assert_clean(self) -> None:
        self.fake.assert_clean()


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
