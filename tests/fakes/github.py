"""A fake GitHub REST API on 127.0.0.1 for the real PyGithub client.

It answers exactly the endpoints bot/forges/github uses, with the shapes and field names of
GitHub's REST documentation, URLs pointing back at itself (under /api/v3, like GitHub
Enterprise Server, so the configurable base URL is exercised), state in memory, Link-header
pagination, and App auth (JWT checked against the App's public key). Anything else answers
501 and is recorded in `errors`, which tests assert empty. `fail_next` injects 5xx, rate
limits and timeouts.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt

API_PREFIX = "/api/v3"
JSON = dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git_sha(kind: str, data: bytes) -> str:
    return hashlib.sha1(f"{kind} {len(data)}\0".encode() + data).hexdigest()


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    timeout: bool
    applied: bool
    headers: dict[str, str]
    body: JSON
    times: int


@dataclass
class FakeRepo:
    full_name: str
    id: int
    default_branch: str
    owner_id: int
    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, dict[str, str]] = field(default_factory=dict)  # sha -> {path: blob sha}
    commits: dict[str, JSON] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/x" -> sha
    pulls: dict[int, JSON] = field(default_factory=dict)
    issue_comments: dict[int, JSON] = field(default_factory=dict)  # id -> comment
    commit_comments: dict[int, JSON] = field(default_factory=dict)
    reactions: dict[int, list[JSON]] = field(default_factory=dict)  # comment id -> reactions
    check_runs: dict[int, JSON] = field(default_factory=dict)
    statuses: list[JSON] = field(default_factory=list)  # oldest first
    collaborators: dict[str, str] = field(default_factory=dict)  # login -> role_name
    next_number: int = 1


class _Answer(Exception):
    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def _error(status: int, message: str) -> _Answer:
    return _Answer(
        status,
        {"message": message, "documentation_url": "https://docs.github.com/rest"},
    )


_LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}


@functools.cache
def _app_key_pair() -> tuple[str, str]:
    """One RSA key per test session: generating one per test costs more than the test."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class FakeGitHub:
    """In-memory GitHub. Use as a context manager; `api_url` is the base URL for clients."""

    def __init__(self, *, app_id: int = 4242, app_slug: str = "rollback-plan") -> None:
        self.private_key_pem, self.public_key_pem = _app_key_pair()
        self.app_id = app_id
        self.app_slug = app_slug
        self.installations: set[int] = set()
        self.tokens: dict[str, tuple[str, bool]] = {}  # token -> (login, is installation)
        self.jwts_seen: list[JSON] = []
        self.repos: dict[str, FakeRepo] = {}
        self.users: dict[str, int] = {}
        self.orgs: dict[str, int] = {}
        self.teams: dict[tuple[str, str], list[str]] = {}
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._route_table()

    # -- lifecycle ------------------------------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out in two writes: without this, Nagle's algorithm adds
            # ~40 ms to every request.
            disable_nagle_algorithm = True
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                fake._handle(self)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def root(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.root + API_PREFIX

    # -- test setup -----------------------------------------------------------------------------

    def add_user(self, login: str) -> JSON:
        with self._lock:
            self.users.setdefault(login, next(self._ids))
            return self._user(login)

    def add_token(self, token: str, login: str) -> None:
        """A personal access token for `login`."""
        self.add_user(login)
        self.tokens[token] = (login, False)

    def add_installation(self, installation_id: int) -> None:
        self.installations.add(installation_id)

    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str] | None = None,
    ) -> str:
        """A repository whose default branch has one commit with `files`; returns its sha."""
        owner = full_name.split("/")[0]
        self.add_user(owner)
        with self._lock:
            repo = FakeRepo(full_name, next(self._ids), default_branch, self.users[owner])
            self.repos[full_name] = repo
            tree = self._store_tree(
                repo,
                {
                    p: self._store_blob(repo, t.encode())
                    for p, t in (files or {"README.md": "hello\n"}).items()
                },
            )
            sha = self._store_commit(repo, "initial commit", tree, [])
            repo.refs[f"refs/heads/{default_branch}"] = sha
            return sha

    def add_commit(self, repo: str, branch: str, files: Mapping[str, str], message: str) -> str:
        """Another commit on `branch` writing `files` over its parent's tree."""
        with self._lock:
            r = self.repos[repo]
            parent = r.refs[f"refs/heads/{branch}"]
            entries = dict(r.trees[r.commits[parent]["tree"]["sha"]])
            entries.update({p: self._store_blob(r, t.encode()) for p, t in files.items()})
            sha = self._store_commit(r, message, self._store_tree(r, entries), [parent])
            r.refs[f"refs/heads/{branch}"] = sha
            return sha

    def add_pull(
        self,
        repo: str,
        *,
        head: str,
        base: str,
        title: str = "a change",
        body: str = "",
        author: str = "alice",
        fork: str | None = None,
    ) -> JSON:
        """A PR from `head` (in `fork` when given) into `base`."""
        with self._lock:
            r = self.repos[repo]
            head_repo = self.repos[fork] if fork else r
            return self._new_pull(r, head_repo, head, base, title, body, author)

    def add_comment(self, repo: str, number: int, body: str, author: str = "alice") -> JSON:
        with self._lock:
            return self._new_issue_comment(self.repos[repo], number, body, author)

    def add_collaborator(self, repo: str, login: str, role_name: str) -> None:
        self.add_user(login)
        self.repos[repo].collaborators[login] = role_name

    def add_team(self, org: str, slug: str, members: list[str]) -> None:
        self.orgs.setdefault(org, next(self._ids))
        for member in members:
            self.add_user(member)
        self.teams[(org, slug)] = list(members)

    def fail_next(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 500,
        timeout: bool = False,
        applied: bool = False,
        headers: Mapping[str, str] | None = None,
        body: JSON | None = None,
        times: int = 1,
    ) -> None:
        """Make the next `times` requests matching `method` and `path_regex` (searched in the
        path without /api/v3) fail with `status`, or hang 3 s (`timeout`; the request is then
        applied first, as when GitHub acted but the answer never arrived). `applied=True` also
        applies the request before a failing status."""
        self._faults.append(
            _Fault(
                method.upper(),
                re.compile(path_regex),
                status,
                timeout,
                applied or timeout,
                dict(headers or {}),
                body or {"message": "Server Error"},
                times,
            )
        )

    # -- reading state --------------------------------------------------------------------------

    def files_at(self, repo: str, ref: str) -> dict[str, str]:
        """The files of a branch (or commit sha), as text."""
        r = self.repos[repo]
        sha = r.refs.get(f"refs/heads/{ref}", ref)
        tree = r.trees[r.commits[sha]["tree"]["sha"]]
        return {path: r.blobs[blob].decode() for path, blob in tree.items()}

    def pulls(self, repo: str) -> list[JSON]:
        return list(self.repos[repo].pulls.values())

    def comments(self, repo: str, number: int) -> list[JSON]:
        return [c for c in self.repos[repo].issue_comments.values() if c["_number"] == number]

    def check_runs(self, repo: str, sha: str) -> list[JSON]:
        return [c for c in self.repos[repo].check_runs.values() if c["head_sha"] == sha]

    def calls_to(self, method: str, path_regex: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and re.search(path_regex, c.path)]

    # -- JSON shapes ----------------------------------------------------------------------------

    def _user(self, login: str) -> JSON:
        uid = self.users.get(login, 0)
        bot = login.endswith("[bot]")
        return {
            "login": login,
            "id": uid,
            "node_id": f"U_{uid}",
            "avatar_url": f"{self.root}/avatars/{login}",
            "url": f"{self.api_url}/users/{login}",
            "html_url": f"{self.root}/{login}",
            "type": "Bot" if bot else "User",
            "site_admin": False,
        }

    def _repo_json(self, r: FakeRepo) -> JSON:
        owner, name = r.full_name.split("/")
        url = f"{self.api_url}/repos/{r.full_name}"
        return {
            "id": r.id,
            "node_id": f"R_{r.id}",
            "name": name,
            "full_name": r.full_name,
            "private": False,
            "owner": self._user(owner),
            "html_url": f"{self.root}/{r.full_name}",
            "url": url,
            "clone_url": f"{self.root}/{r.full_name}.git",
            "default_branch": r.default_branch,
            "fork": False,
            "pulls_url": url + "/pulls{/number}",
            "issues_url": url + "/issues{/number}",
            "git_refs_url": url + "/git/refs{/sha}",
        }

    def _label(self, r: FakeRepo, name: str) -> JSON:
        return {
            "id": abs(hash((r.full_name, name))) % 10**9,
            "node_id": f"LA_{name}",
            "url": f"{self.api_url}/repos/{r.full_name}/labels/{urllib.parse.quote(name)}",
            "name": name,
            "color": "ededed",
            "default": False,
            "description": None,
        }

    def _branch_json(self, r: FakeRepo, branch: str, sha: str) -> JSON:
        owner = r.full_name.split("/")[0]
        return {
            "label": f"{owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self._user(owner),
            "repo": self._repo_json(r),
        }

    # -- storage --------------------------------------------------------------------------------

    def _store_blob(self, r: FakeRepo, data: bytes) -> str:
        sha = _git_sha("blob", data)
        r.blobs[sha] = data
        return sha

    def _store_tree(self, r: FakeRepo, entries: dict[str, str]) -> str:
        sha = _git_sha("tree", json.dumps(sorted(entries.items())).encode())
        r.trees[sha] = dict(entries)
        return sha

    def _tree_json(self, r: FakeRepo, sha: str) -> JSON:
        base = f"{self.api_url}/repos/{r.full_name}/git"
        return {
            "sha": sha,
            "url": f"{base}/trees/{sha}",
            "truncated": False,
            "tree": [
                {
                    "path": path,
                    "mode": "100644",
                    "type": "blob",
                    "sha": blob,
                    "size": len(r.blobs[blob]),
                    "url": f"{base}/blobs/{blob}",
                }
                for path, blob in sorted(r.trees[sha].items())
            ],
        }

    def _store_commit(self, r: FakeRepo, message: str, tree: str, parents: list[str]) -> str:
        stamp = _now()
        sha = _git_sha("commit", f"{tree}{parents}{message}{time.time_ns()}".encode())
        base = f"{self.api_url}/repos/{r.full_name}/git"
        person = {"name": "Fake", "email": "fake@example.com", "date": stamp}
        r.commits[sha] = {
            "sha": sha,
            "node_id": f"C_{sha[:8]}",
            "url": f"{base}/commits/{sha}",
            "html_url": f"{self.root}/{r.full_name}/commit/{sha}",
            "author": person,
            "committer": person,
            "message": message,
            "tree": {"sha": tree, "url": f"{base}/trees/{tree}"},
            "parents": [
                {
                    "sha": p,
                    "url": f"{base}/commits/{p}",
                    "html_url": f"{self.root}/{r.full_name}/commit/{p}",
                }
                for p in parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
            },
        }
        return sha

    def _ref_json(self, r: FakeRepo, ref: str) -> JSON:
        sha = r.refs[ref]
        base = f"{self.api_url}/repos/{r.full_name}/git"
        return {
            "ref": ref,
            "node_id": f"REF_{ref}",
            "url": f"{base}/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{base}/commits/{sha}"},
        }

    def _new_pull(
        self,
        r: FakeRepo,
        head_repo: FakeRepo,
        head: str,
        base: str,
        title: str,
        body: str,
        author: str,
    ) -> JSON:
        self.add_user(author)
        number = r.next_number
        r.next_number += 1
        url = f"{self.api_url}/repos/{r.full_name}"
        stamp = _now()
        pr = {
            "url": f"{url}/pulls/{number}",
            "id": next(self._ids),
            "node_id": f"PR_{number}",
            "html_url": f"{self.root}/{r.full_name}/pull/{number}",
            "diff_url": f"{self.root}/{r.full_name}/pull/{number}.diff",
            "issue_url": f"{url}/issues/{number}",
            "comments_url": f"{url}/issues/{number}/comments",
            "number": number,
            "state": "open",
            "locked": False,
            "title": title,
            "user": self._user(author),
            "body": body or None,
            "labels": [],
            "created_at": stamp,
            "updated_at": stamp,
            "closed_at": None,
            "merged_at": None,
            "merge_commit_sha": None,
            "draft": False,
            "head": self._branch_json(head_repo, head, head_repo.refs[f"refs/heads/{head}"]),
            "base": self._branch_json(r, base, r.refs[f"refs/heads/{base}"]),
            "author_association": "OWNER",
        }
        r.pulls[number] = pr
        return pr

    def _full_pull(self, pr: JSON) -> JSON:
        merged = pr["merged_at"] is not None
        return pr | {"merged": merged, "mergeable": True, "comments": 0, "commits": 1}

    def _new_issue_comment(self, r: FakeRepo, number: int, body: str, author: str) -> JSON:
        if number not in r.pulls:
            raise _error(404, "Not Found")
        self.add_user(author)
        cid = next(self._ids)
        url = f"{self.api_url}/repos/{r.full_name}"
        stamp = _now()
        comment = {
            "id": cid,
            "node_id": f"IC_{cid}",
            "url": f"{url}/issues/comments/{cid}",
            "html_url": f"{self.root}/{r.full_name}/pull/{number}#issuecomment-{cid}",
            "issue_url": f"{url}/issues/{number}",
            "body": body,
            "user": self._user(author),
            "created_at": stamp,
            "updated_at": stamp,
            "author_association": "NONE",
            "_number": number,
        }
        r.issue_comments[cid] = comment
        return comment

    # -- request handling -----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(handler.path)
        path = parsed.path
        query = dict(urllib.parse.parse_qsl(parsed.query))
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        method = handler.command
        with self._lock:
            self.calls.append(Call(method, path.removeprefix(API_PREFIX), query, body))
        fault = self._take_fault(method, path.removeprefix(API_PREFIX))
        status, payload = 200, None
        headers: dict[str, str] = {}
        if fault is None or fault.applied:
            try:
                status, payload, headers = self._dispatch(handler, method, path, query, body)
            except Exception as err:  # a bug in the fake must fail the test, not hang it
                self.errors.append(f"fake GitHub crashed on {method} {path}: {err!r}")
                status, payload, headers = 500, {"message": "fake crashed"}, {}
        if fault is not None:
            if fault.timeout:
                time.sleep(3)  # longer than the client's timeout: the answer never arrives
            else:
                status, payload, headers = fault.status, fault.body, fault.headers
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (an injected timeout)

    def _take_fault(self, method: str, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.pattern.search(path) and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _dispatch(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
    ) -> tuple[int, Any, dict[str, str]]:
        if not path.startswith(API_PREFIX + "/") and path != API_PREFIX:
            return self._unimplemented(method, path)
        sub = path.removeprefix(API_PREFIX)
        for route_method, pattern, action, auth in self._routes:
            if route_method != method:
                continue
            match = pattern.fullmatch(sub)
            if match is None:
                continue
            try:
                caller = self._authenticate(handler.headers.get("Authorization", ""), auth)
                with self._lock:
                    result = action(caller, query, body or {}, *match.groups())
            except _Answer as answer:
                return answer.status, answer.body, answer.headers
            if isinstance(result, tuple):
                return result
            return 200, result, {}
        return self._unimplemented(method, path)

    def _unimplemented(self, method: str, path: str) -> tuple[int, Any, dict[str, str]]:
        message = f"fake GitHub does not implement {method} {path}"
        self.errors.append(message)
        return 501, {"message": message}, {}

    def _authenticate(self, header: str, kind: str) -> tuple[str, bool]:
        """(login, is installation token); `kind` is "token", "jwt" or "none"."""
        if kind == "none":
            return ("", False)
        scheme, _, credential = header.partition(" ")
        if kind == "jwt":
            if scheme.lower() != "bearer":
                raise _error(401, "A JSON web token could not be decoded")
            try:
                claims = jwt.decode(
                    credential, self.public_key_pem, algorithms=["RS256"], leeway=120
                )
            except jwt.PyJWTError as err:
                raise _error(401, f"A JSON web token could not be decoded: {err}") from err
            if str(claims.get("iss")) != str(self.app_id):
                raise _error(401, "'Issuer' claim ('iss') must be the App's id")
            self.jwts_seen.append(claims)
            return (f"{self.app_slug}[bot]", False)
        if scheme.lower() not in ("token", "bearer") or credential not in self.tokens:
            raise _error(401, "Bad credentials")
        return self.tokens[credential]

    def _paginate(
        self, sub_url: str, query: dict[str, str], items: list[JSON]
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []

        def link(number: int, rel: str) -> str:
            params = dict(query, page=str(number), per_page=str(per_page))
            return f'<{self.api_url}{sub_url}?{urllib.parse.urlencode(params)}>; rel="{rel}"'

        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links += [link(1, "first"), link(page - 1, "prev")]
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def _repo(self, owner: str, name: str) -> FakeRepo:
        repo = self.repos.get(f"{owner}/{name}")
        if repo is None:
            raise _error(404, "Not Found")
        return repo

    # -- routes ---------------------------------------------------------------------------------

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any], str]]:
        repo = r"/repos/([^/]+)/([^/]+)"
        table: list[tuple[str, str, Callable[..., Any], str]] = [
            ("POST", r"/app/installations/(\d+)/access_tokens", self._access_token, "jwt"),
            ("GET", r"/app", self._get_app, "jwt"),
            ("GET", r"/user", self._get_user, "token"),
            ("GET", repo, self._get_repo, "token"),
            ("GET", repo + r"/pulls", self._list_pulls, "token"),
            ("POST", repo + r"/pulls", self._create_pull, "token"),
            ("GET", repo + r"/pulls/(\d+)", self._get_pull, "token"),
            ("PATCH", repo + r"/pulls/(\d+)", self._edit_pull, "token"),
            ("POST", repo + r"/issues/(\d+)/labels", self._add_labels, "token"),
            ("GET", repo + r"/issues/(\d+)/comments", self._list_comments, "token"),
            ("POST", repo + r"/issues/(\d+)/comments", self._create_comment, "token"),
            ("PATCH", repo + r"/issues/comments/(\d+)", self._edit_comment, "token"),
            ("POST", repo + r"/issues/comments/(\d+)/reactions", self._react, "token"),
            (
                "GET",
                repo + r"/commits/([0-9a-f]{40})/comments",
                self._list_commit_comments,
                "token",
            ),
            (
                "POST",
                repo + r"/commits/([0-9a-f]{40})/comments",
                self._create_commit_comment,
                "token",
            ),
            ("PATCH", repo + r"/comments/(\d+)", self._edit_commit_comment, "token"),
            ("GET", repo + r"/commits/([^/]+)/check-runs", self._list_check_runs, "token"),
            ("POST", repo + r"/check-runs", self._create_check_run, "token"),
            ("PATCH", repo + r"/check-runs/(\d+)", self._edit_check_run, "token"),
            ("GET", repo + r"/commits/([^/]+)/statuses", self._list_statuses, "token"),
            ("GET", repo + r"/statuses/([^/]+)", self._list_statuses, "token"),
            ("POST", repo + r"/statuses/([0-9a-f]{40})", self._create_status, "token"),
            ("POST", repo + r"/git/blobs", self._create_blob, "token"),
            ("POST", repo + r"/git/trees", self._create_tree, "token"),
            ("GET", repo + r"/git/commits/([0-9a-f]{40})", self._get_git_commit, "token"),
            ("POST", repo + r"/git/commits", self._create_git_commit, "token"),
            ("GET", repo + r"/git/ref/(heads/.+)", self._get_ref, "token"),
            ("POST", repo + r"/git/refs", self._create_ref, "token"),
            ("PATCH", repo + r"/git/refs/(heads/.+)", self._update_ref, "token"),
            ("GET", repo + r"/collaborators/([^/]+)/permission", self._permission, "token"),
            ("GET", r"/orgs/([^/]+)/teams/([^/]+)/members", self._team_members, "token"),
        ]
        return [(m, re.compile(p), a, k) for m, p, a, k in table]

    def _access_token(self, caller: Any, query: Any, body: JSON, installation: str) -> Any:
        if int(installation) not in self.installations:
            raise _error(404, "Not Found")
        token = f"ghs_{hashlib.sha1(str(next(self._ids)).encode()).hexdigest()[:36]}"
        self.tokens[token] = (f"{self.app_slug}[bot]", True)
        self.add_user(f"{self.app_slug}[bot]")
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (
            201,
            {
                "token": token,
                "expires_at": expires,
                "permissions": {"checks": "write", "contents": "write", "pull_requests": "write"},
                "repository_selection": "all",
            },
            {},
        )

    def _get_app(self, caller: Any, query: Any, body: Any) -> JSON:
        return {
            "id": self.app_id,
            "slug": self.app_slug,
            "node_id": f"A_{self.app_id}",
            "name": "Rollback plan",
            "owner": self._user("acme"),
            "html_url": f"{self.root}/apps/{self.app_slug}",
            "created_at": _now(),
            "updated_at": _now(),
            "permissions": {"checks": "write"},
            "events": ["push", "pull_request"],
        }

    def _get_user(self, caller: tuple[str, bool], query: Any, body: Any) -> JSON:
        login, installation = caller
        if installation:
            raise _error(403, "Resource not accessible by integration")
        return self._user(login)

    def _get_repo(self, caller: Any, query: Any, body: Any, owner: str, name: str) -> JSON:
        return self._repo_json(self._repo(owner, name))

    def _list_pulls(
        self, caller: Any, query: dict[str, str], body: Any, owner: str, name: str
    ) -> Any:
        r = self._repo(owner, name)
        state = query.get("state", "open")
        pulls = [p for p in r.pulls.values() if state == "all" or p["state"] == state]
        if "head" in query:
            pulls = [p for p in pulls if p["head"]["label"] == query["head"]]
        if "base" in query:
            pulls = [p for p in pulls if p["base"]["ref"] == query["base"]]
        pulls.sort(key=lambda p: -int(p["number"]))
        return self._paginate(f"/repos/{owner}/{name}/pulls", query, pulls)

    def _create_pull(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str
    ) -> Any:
        r = self._repo(owner, name)
        head, base = str(body.get("head", "")), str(body.get("base", ""))
        if not body.get("title") or not head or not base:
            raise _error(422, "Validation Failed")
        head_owner, _, head_branch = head.rpartition(":")
        head_repo = r if head_owner in ("", owner) else self.repos.get(f"{head_owner}/{name}")
        if head_repo is None or f"refs/heads/{head_branch}" not in head_repo.refs:
            raise _error(422, "Validation Failed: head invalid")
        if f"refs/heads/{base}" not in r.refs:
            raise _error(422, "Validation Failed: base invalid")
        label = f"{head_owner or owner}:{head_branch}"
        if any(p["head"]["label"] == label and p["state"] == "open" for p in r.pulls.values()):
            raise _error(422, f"Validation Failed: A pull request already exists for {label}.")
        pr = self._new_pull(
            r,
            head_repo,
            head_branch,
            base,
            str(body["title"]),
            str(body.get("body") or ""),
            caller[0],
        )
        return 201, self._full_pull(pr), {}

    def _pull(self, r: FakeRepo, number: str) -> JSON:
        pr = r.pulls.get(int(number))
        if pr is None:
            raise _error(404, "Not Found")
        return pr

    def _get_pull(
        self, caller: Any, query: Any, body: Any, owner: str, name: str, number: str
    ) -> JSON:
        return self._full_pull(self._pull(self._repo(owner, name), number))

    def _edit_pull(
        self, caller: Any, query: Any, body: JSON, owner: str, name: str, number: str
    ) -> JSON:
        pr = self._pull(self._repo(owner, name), number)
        for key in ("title", "body", "state"):
            if key in body:
                pr[key] = body[key]
        pr["updated_at"] = _now()
        return self._full_pull(pr)

    def _add_labels(
        self, caller: Any, query: Any, body: JSON, owner: str, name: str, number: str
    ) -> Any:
        r = self._repo(owner, name)
        pr = self._pull(r, number)
        names = [label["name"] for label in pr["labels"]]
        # GitHub takes {"labels": [...]} or a bare list (PyGithub sends the list)
        wanted = body if isinstance(body, list) else body.get("labels", [])
        for label in wanted:
            if label not in names:
                names.append(label)
        pr["labels"] = [self._label(r, n) for n in names]
        return pr["labels"]

    def _list_comments(
        self, caller: Any, query: dict[str, str], body: Any, owner: str, name: str, number: str
    ) -> Any:
        r = self._repo(owner, name)
        self._pull(r, number)
        items = [self._public(c) for c in r.issue_comments.values() if c["_number"] == int(number)]
        return self._paginate(f"/repos/{owner}/{name}/issues/{number}/comments", query, items)

    @staticmethod
    def _public(item: JSON) -> JSON:
        return {k: v for k, v in item.items() if not k.startswith("_")}

    def _create_comment(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str, number: str
    ) -> Any:
        if not body.get("body"):
            raise _error(422, "Validation Failed")
        comment = self._new_issue_comment(
            self._repo(owner, name), int(number), str(body["body"]), caller[0]
        )
        return 201, self._public(comment), {}

    def _edit_comment(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str, cid: str
    ) -> JSON:
        comment = self._repo(owner, name).issue_comments.get(int(cid))
        if comment is None:
            raise _error(404, "Not Found")
        if comment["user"]["login"] != caller[0]:
            raise _error(403, "Resource not accessible by integration")
        comment["body"] = body["body"]
        comment["updated_at"] = _now()
        return self._public(comment)

    def _react(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str, cid: str
    ) -> Any:
        r = self._repo(owner, name)
        if int(cid) not in r.issue_comments:
            raise _error(404, "Not Found")
        content = body.get("content")
        if content not in ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"):
            raise _error(422, "Validation Failed")
        existing = r.reactions.setdefault(int(cid), [])
        for reaction in existing:
            if reaction["content"] == content and reaction["user"]["login"] == caller[0]:
                return 200, reaction, {}
        reaction = {
            "id": next(self._ids),
            "node_id": "RE_1",
            "user": self._user(caller[0]),
            "content": content,
            "created_at": _now(),
        }
        existing.append(reaction)
        return 201, reaction, {}

    def reactions(self, repo: str, comment_id: int) -> list[str]:
        return [r["content"] for r in self.repos[repo].reactions.get(comment_id, [])]

    def _list_commit_comments(
        self, caller: Any, query: dict[str, str], body: Any, owner: str, name: str, sha: str
    ) -> Any:
        r = self._repo(owner, name)
        if sha not in r.commits:
            raise _error(404, "No commit found for SHA")
        items = [self._public(c) for c in r.commit_comments.values() if c["commit_id"] == sha]
        return self._paginate(f"/repos/{owner}/{name}/commits/{sha}/comments", query, items)

    def _create_commit_comment(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str, sha: str
    ) -> Any:
        r = self._repo(owner, name)
        if sha not in r.commits:
            raise _error(422, "Validation Failed: sha")
        self.add_user(caller[0])
        cid = next(self._ids)
        stamp = _now()
        comment = {
            "id": cid,
            "node_id": f"CC_{cid}",
            "url": f"{self.api_url}/repos/{r.full_name}/comments/{cid}",
            "html_url": f"{self.root}/{r.full_name}/commit/{sha}#commitcomment-{cid}",
            "body": body.get("body", ""),
            "path": None,
            "position": None,
            "line": None,
            "commit_id": sha,
            "user": self._user(caller[0]),
            "created_at": stamp,
            "updated_at": stamp,
            "author_association": "NONE",
        }
        r.commit_comments[cid] = comment
        return 201, comment, {}

    def commit_comments(self, repo: str, sha: str) -> list[JSON]:
        return [c for c in self.repos[repo].commit_comments.values() if c["commit_id"] == sha]

    def _edit_commit_comment(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str, cid: str
    ) -> JSON:
        comment = self._repo(owner, name).commit_comments.get(int(cid))
        if comment is None:
            raise _error(404, "Not Found")
        if comment["user"]["login"] != caller[0]:
            raise _error(403, "Resource not accessible by integration")
        comment["body"] = body["body"]
        comment["updated_at"] = _now()
        return comment

    def _resolve(self, r: FakeRepo, ref: str) -> str:
        if ref in r.commits:
            return ref
        sha = r.refs.get(f"refs/heads/{ref}")
        if sha is None:
            raise _error(422, f"No commit found for SHA: {ref}")
        return sha

    def _list_check_runs(
        self, caller: Any, query: dict[str, str], body: Any, owner: str, name: str, ref: str
    ) -> Any:
        r = self._repo(owner, name)
        sha = self._resolve(r, ref)
        runs = [c for c in r.check_runs.values() if c["head_sha"] == sha]
        if "check_name" in query:
            runs = [c for c in runs if c["name"] == query["check_name"]]
        runs.sort(key=lambda c: -int(c["id"]))
        status, page, headers = self._paginate(
            f"/repos/{owner}/{name}/commits/{ref}/check-runs", query, runs
        )
        return status, {"total_count": len(runs), "check_runs": page}, headers

    def _require_app(self, caller: tuple[str, bool]) -> None:
        if not caller[1]:
            raise _error(403, "You must authenticate via a GitHub App.")

    def _check_fields(self, run: JSON, body: JSON) -> None:
        if "status" in body and body["status"] not in ("queued", "in_progress", "completed"):
            raise _error(422, "Validation Failed: status")
        conclusions = (
            "action_required",
            "cancelled",
            "failure",
            "neutral",
            "success",
            "skipped",
            "timed_out",
        )
        if "conclusion" in body and body["conclusion"] not in conclusions:
            raise _error(422, "Validation Failed: conclusion")
        if body.get("status") == "completed" and "conclusion" not in body:
            raise _error(422, "Validation Failed: conclusion is required when status is completed")
        output = body.get("output")
        if output is not None:
            if not output.get("title") or "summary" not in output:
                raise _error(422, "Validation Failed: output needs title and summary")
            if len(output["summary"]) > 65535 or len(output["title"]) > 65535:
                raise _error(422, "Validation Failed: output is too long")
            run["output"] = {
                "title": output["title"],
                "summary": output["summary"],
                "text": output.get("text"),
                "annotations_count": 0,
                "annotations_url": run["url"] + "/annotations",
            }
        if "details_url" in body:
            run["details_url"] = body["details_url"]
        if "external_id" in body:
            if not isinstance(body["external_id"], str):
                raise _error(422, "Validation Failed: external_id is not a string")
            run["external_id"] = body["external_id"]
        if "conclusion" in body:
            run["conclusion"] = body["conclusion"]
            run["status"] = "completed"
            run["completed_at"] = _now()
        elif "status" in body:
            run["status"] = body["status"]
            if body["status"] != "completed":
                run["conclusion"] = None  # back to in progress
                run["completed_at"] = None

    def _create_check_run(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str
    ) -> Any:
        self._require_app(caller)
        r = self._repo(owner, name)
        if not body.get("name") or body.get("head_sha") not in r.commits:
            raise _error(422, "Validation Failed: name and an existing head_sha are required")
        cid = next(self._ids)
        run: JSON = {
            "id": cid,
            "node_id": f"CR_{cid}",
            "head_sha": body["head_sha"],
            "external_id": "",
            "url": f"{self.api_url}/repos/{r.full_name}/check-runs/{cid}",
            "html_url": f"{self.root}/{r.full_name}/runs/{cid}",
            "details_url": f"{self.root}/apps/{self.app_slug}",
            "status": "queued",
            "conclusion": None,
            "started_at": _now(),
            "completed_at": None,
            "output": {
                "title": None,
                "summary": None,
                "text": None,
                "annotations_count": 0,
                "annotations_url": "",
            },
            "name": body["name"],
            "check_suite": {"id": 1},
            "app": {"id": self.app_id, "slug": self.app_slug, "name": "Rollback plan"},
            "pull_requests": [],
        }
        self._check_fields(run, body)
        r.check_runs[cid] = run
        return 201, run, {}

    def _edit_check_run(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str, cid: str
    ) -> JSON:
        self._require_app(caller)
        run = self._repo(owner, name).check_runs.get(int(cid))
        if run is None:
            raise _error(404, "Not Found")
        self._check_fields(run, body)
        return run

    def _list_statuses(
        self, caller: Any, query: dict[str, str], body: Any, owner: str, name: str, ref: str
    ) -> Any:
        r = self._repo(owner, name)
        sha = self._resolve(r, ref)
        items = [s for s in reversed(r.statuses) if s["_sha"] == sha]
        return self._paginate(
            f"/repos/{owner}/{name}/commits/{ref}/statuses", query, [self._public(s) for s in items]
        )

    def _create_status(
        self, caller: tuple[str, bool], query: Any, body: JSON, owner: str, name: str, sha: str
    ) -> Any:
        r = self._repo(owner, name)
        if sha not in r.commits:
            raise _error(422, "No commit found for SHA")
        if body.get("state") not in ("error", "failure", "pending", "success"):
            raise _error(422, "Validation Failed: state")
        if len(body.get("description") or "") > 140:
            raise _error(
                422, "Validation Failed: description is too long (maximum is 140 characters)"
            )
        sid = next(self._ids)
        status = {
            "url": f"{self.api_url}/repos/{r.full_name}/statuses/{sha}",
            "id": sid,
            "node_id": f"SC_{sid}",
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": body.get("context", "default"),
            "created_at": _now(),
            "updated_at": _now(),
            "creator": self._user(caller[0]),
            "_sha": sha,
        }
        r.statuses.append(status)
        return 201, self._public(status), {}

    def statuses(self, repo: str, sha: str) -> list[JSON]:
        """Every status posted on `sha`, oldest first."""
        return [s for s in self.repos[repo].statuses if s["_sha"] == sha]

    def _create_blob(self, caller: Any, query: Any, body: JSON, owner: str, name: str) -> Any:
        r = self._repo(owner, name)
        content = str(body.get("content", ""))
        if body.get("encoding", "utf-8") == "base64":
            import base64

            data = base64.b64decode(content)
        else:
            data = content.encode()
        sha = self._store_blob(r, data)
        return 201, {"url": f"{self.api_url}/repos/{r.full_name}/git/blobs/{sha}", "sha": sha}, {}

    def _create_tree(self, caller: Any, query: Any, body: JSON, owner: str, name: str) -> Any:
        r = self._repo(owner, name)
        base = body.get("base_tree")
        if base is not None and base not in r.trees:
            raise _error(422, "Invalid base_tree")
        entries = dict(r.trees[base]) if base else {}
        for item in body.get("tree", []):
            if item.get("type") != "blob" or item.get("mode") not in ("100644", "100755"):
                raise _error(422, "Validation Failed: only file blobs are supported by the fake")
            if item.get("sha") is None and "content" not in item:
                entries.pop(item["path"], None)
            elif "content" in item:
                entries[item["path"]] = self._store_blob(r, str(item["content"]).encode())
            elif item["sha"] in r.blobs:
                entries[item["path"]] = item["sha"]
            else:
                raise _error(422, "Validation Failed: unknown blob sha")
        sha = self._store_tree(r, entries)
        return 201, self._tree_json(r, sha), {}

    def _get_git_commit(
        self, caller: Any, query: Any, body: Any, owner: str, name: str, sha: str
    ) -> JSON:
        commit = self._repo(owner, name).commits.get(sha)
        if commit is None:
            raise _error(404, "Not Found")
        return commit

    def _create_git_commit(self, caller: Any, query: Any, body: JSON, owner: str, name: str) -> Any:
        r = self._repo(owner, name)
        tree, parents = body.get("tree"), list(body.get("parents", []))
        if (
            tree not in r.trees
            or any(p not in r.commits for p in parents)
            or not body.get("message")
        ):
            raise _error(422, "Validation Failed")
        sha = self._store_commit(r, str(body["message"]), str(tree), parents)
        return 201, r.commits[sha], {}

    def _get_ref(self, caller: Any, query: Any, body: Any, owner: str, name: str, ref: str) -> JSON:
        r = self._repo(owner, name)
        if f"refs/{ref}" not in r.refs:
            raise _error(404, "Not Found")
        return self._ref_json(r, f"refs/{ref}")

    def _create_ref(self, caller: Any, query: Any, body: JSON, owner: str, name: str) -> Any:
        r = self._repo(owner, name)
        ref, sha = str(body.get("ref", "")), body.get("sha")
        if not ref.startswith("refs/") or ref.count("/") < 2 or sha not in r.commits:
            raise _error(422, "Validation Failed")
        if ref in r.refs:
            raise _error(422, "Reference already exists")
        r.refs[ref] = str(sha)
        return 201, self._ref_json(r, ref), {}

    def _update_ref(
        self, caller: Any, query: Any, body: JSON, owner: str, name: str, ref: str
    ) -> JSON:
        r = self._repo(owner, name)
        full = f"refs/{ref}"
        sha = body.get("sha")
        if full not in r.refs:
            raise _error(422, "Reference does not exist")
        if sha not in r.commits:
            raise _error(422, "Object does not exist")
        if not body.get("force") and not self._descends(r, str(sha), r.refs[full]):
            raise _error(422, "Update is not a fast forward")
        r.refs[full] = str(sha)
        return self._ref_json(r, full)

    def _descends(self, r: FakeRepo, sha: str, ancestor: str) -> bool:
        todo = [sha]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            todo += [p["sha"] for p in r.commits[current]["parents"]]
        return False

    def _permission(
        self, caller: Any, query: Any, body: Any, owner: str, name: str, login: str
    ) -> JSON:
        r = self._repo(owner, name)
        login = urllib.parse.unquote(login)
        if login not in self.users:
            raise _error(404, "Not Found")
        role = r.collaborators.get(login)
        return {
            "permission": _LEGACY_PERMISSION.get(role or "", "none" if role is None else "read"),
            "role_name": role or "none",
            "user": self._user(login),
        }

    def _team_members(
        self, caller: Any, query: dict[str, str], body: Any, org: str, slug: str
    ) -> Any:
        members = self.teams.get((org, slug))
        if members is None:
            raise _error(404, "Not Found")
        return self._paginate(
            f"/orgs/{org}/teams/{slug}/members", query, [self._user(m) for m in members]
        )
