"""A fake GitLab REST API v4 on 127.0.0.1, for driving the real python-gitlab client.

It answers exactly the endpoints bot/forges/gitlab uses, with the field names and shapes of
GitLab's REST documentation (projects, merge requests, notes, award emoji, commit statuses,
commits with `actions`, repository files, branches, commit discussions, members/all, groups,
version, user). URLs in answers point at the fake. Anything else is answered 501 and recorded
in `errors`, so a test that strays off the map fails loudly (`assert_clean()`).

State is in memory and readable by tests: projects with branches whose commits carry whole
file trees, merge requests, notes, statuses. `fail_next()` injects 5xx/429 answers or a
timeout (the request is applied, then the answer never arrives in time); `calls` logs every
request.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

Json = Any
STATE_EVENTS = {
    "pending": "enqueue",
    "running": "run",
    "success": "success",
    "failed": "drop",
    "canceled": "cancel",
}
# From GitLab's commit status state machine: which states each event may leave from.
ALLOWED_FROM = {
    "enqueue": {"created", "manual", "skipped"},
    "run": {"pending"},
    "success": {"pending", "running"},
    "drop": {"pending", "running"},
    "cancel": {"pending", "running"},
}
DEFAULT_PER_PAGE = 20


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # decoded, without /api/v4
    query: dict[str, str]
    body: Json


@dataclass
class Fault:
    method: str
    path_re: re.Pattern[str]
    status: int
    timeout: bool
    apply: bool
    headers: dict[str, str]
    times: int


@dataclass
class Commit:
    sha: str
    message: str
    parent_ids: list[str]
    tree: dict[str, str]
    author: str
    created_at: str


@dataclass
class Project:
    id: int
    path: str  # "group/sub/name"
    default_branch: str
    forked_from: int | None = None
    branches: dict[str, str] = field(default_factory=dict)  # name -> sha
    members: dict[str, int] = field(default_factory=dict)  # username -> access level
    discussions: dict[str, list[dict[str, Json]]] = field(default_factory=dict)  # sha -> list


@dataclass
class Group:
    id: int
    path: str
    members: dict[str, int] = field(default_factory=dict)


class FakeGitLabError(AssertionError):
    """The fake saw a request it does not implement, or broke while answering one."""


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class HTTPError(Exception):
    def __init__(self, status: int, message: Json) -> None:
        super().__init__(str(message))
        self.status = status
        self.message = message


class FakeGitLab:
    """In-memory GitLab; `url` is the base URL to give python-gitlab."""

    def __init__(self, *, per_page: int = DEFAULT_PER_PAGE, hang_s: float = 2.0) -> None:
        self.per_page = per_page
        self.hang_s = hang_s
        self.calls: list[Call] = []
        self.errors: list[str] = []
        self.users: dict[str, dict[str, Json]] = {}
        self.tokens: dict[str, str] = {}
        self.projects: dict[int, Project] = {}
        self.groups: dict[str, Group] = {}
        self.commits: dict[str, Commit] = {}
        self.mrs: dict[tuple[int, int], dict[str, Json]] = {}  # (project id, iid) -> MR
        self.notes: dict[tuple[int, int], list[dict[str, Json]]] = {}
        self.statuses: list[dict[str, Json]] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # lifecycle

    def start(self) -> FakeGitLab:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeGitLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def assert_clean(self) -> None:
        """Fail the test when the client made a request the fake does not implement."""
        if self.errors:
            raise FakeGitLabError("fake GitLab errors:\n" + "\n".join(self.errors))

    # test set-up

    def add_user(self, username: str, *, token: str | None = None, bot: bool = False) -> None:
        with self._lock:
            uid = next(self._ids)
            self.users[username] = {
                "id": uid,
                "username": username,
                "name": username.replace("_", " ").title(),
                "state": "active",
                "locked": False,
                "avatar_url": f"{self.url}/uploads/-/system/user/avatar/{uid}/avatar.png",
                "web_url": f"{self.url}/{username}",
                "bot": bot,
            }
            if token is not None:
                self.tokens[token] = username

    def add_group(self, path: str, members: dict[str, int] | None = None) -> None:
        with self._lock:
            self.groups[path] = Group(next(self._ids), path, dict(members or {}))

    def add_project(
        self,
        path: str,
        *,
        files: dict[str, str] | None = None,
        default_branch: str = "main",
        members: dict[str, int] | None = None,
        forked_from: str | None = None,
    ) -> int:
        """A project whose default branch has one commit holding `files`."""
        with self._lock:
            parent = self._project_by_path(forked_from).id if forked_from else None
            project = Project(next(self._ids), path, default_branch, parent)
            project.members.update(members or {})
            self.projects[project.id] = project
            sha = self._new_commit("Initial commit", [], dict(files or {}), "root")
            project.branches[default_branch] = sha
            return project.id

    def push(
        self,
        project_path: str,
        branch: str,
        files: dict[str, str | None],
        message: str,
        *,
        author: str = "root",
        parent: str | None = None,
    ) -> str:
        """Commit on `branch` (created from `parent` or the default branch); None deletes."""
        with self._lock:
            project = self._project_by_path(project_path)
            base = (
                parent or project.branches.get(branch) or project.branches[project.default_branch]
            )
            tree = dict(self.commits[base].tree)
            for path, content in files.items():
                if content is None:
                    tree.pop(path, None)
                else:
                    tree[path] = content
            sha = self._new_commit(message, [base], tree, author)
            project.branches[branch] = sha
            return sha

    def add_merge_request(
        self,
        project_path: str,
        *,
        source_branch: str,
        target_branch: str = "main",
        title: str = "Revert something",
        description: str = "",
        author: str = "root",
        source_project: str | None = None,
    ) -> int:
        """An open MR; `source_project` names a fork the branch lives in."""
        with self._lock:
            target = self._project_by_path(project_path)
            source = self._project_by_path(source_project) if source_project else target
            return self._create_mr(
                target, source, source_branch, target_branch, title, description, author, []
            )

    def add_note(
        self, project_path: str, iid: int, body: str, *, author: str, system: bool = False
    ) -> int:
        with self._lock:
            project = self._project_by_path(project_path)
            return int(self._create_note(project, iid, body, author, system)["id"])

    # test read-back

    def file_at(self, project_path: str, ref: str, path: str) -> str | None:
        with self._lock:
            sha = self._resolve(self._project_by_path(project_path), ref)
            return None if sha is None else self.commits[sha].tree.get(path)

    def branch_head(self, project_path: str, branch: str) -> str | None:
        with self._lock:
            return self._project_by_path(project_path).branches.get(branch)

    def merge_requests(self, project_path: str) -> list[dict[str, Json]]:
        with self._lock:
            project = self._project_by_path(project_path)
            return [
                self._mr_json(mr) for (pid, _), mr in sorted(self.mrs.items()) if pid == project.id
            ]

    def mr_notes(self, project_path: str, iid: int) -> list[dict[str, Json]]:
        with self._lock:
            return list(self.notes.get((self._project_by_path(project_path).id, iid), []))

    def commit_statuses(self, project_path: str, sha: str) -> list[dict[str, Json]]:
        with self._lock:
            pid = self._project_by_path(project_path).id
            return [s for s in self.statuses if s["project_id"] == pid and s["sha"] == sha]

    def commit_discussions(self, project_path: str, sha: str) -> list[dict[str, Json]]:
        with self._lock:
            return list(self._project_by_path(project_path).discussions.get(sha, []))

    # fault injection

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int = 500,
        *,
        timeout: bool = False,
        apply: bool = False,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """The next `times` matching requests fail: answered `status` (applied first when
        `apply`), or with `timeout` applied and then left unanswered for `hang_s`.
        `path_regex` is searched in the decoded path without /api/v4."""
        with self._lock:
            self._faults.append(
                Fault(
                    method.upper(),
                    re.compile(path_regex),
                    status,
                    timeout,
                    apply or timeout,
                    dict(headers or {}),
                    times,
                )
            )

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method == method and fault.path_re.search(path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # internals: model

    def _new_commit(
        self, message: str, parents: list[str], tree: dict[str, str], author: str
    ) -> str:
        sha = hashlib.sha1(f"{next(self._ids)}\0{message}".encode()).hexdigest()
        self.commits[sha] = Commit(sha, message, parents, tree, author, _now())
        return sha

    def _project_by_path(self, path: str | None) -> Project:
        for project in self.projects.values():
            if project.path == path:
                return project
        raise KeyError(path)

    def _project(self, ident: str) -> Project:
        if ident.isdigit() and int(ident) in self.projects:
            return self.projects[int(ident)]
        for project in self.projects.values():
            if project.path == ident:
                return project
        raise HTTPError(404, "404 Project Not Found")

    def _resolve(self, project: Project, ref: str) -> str | None:
        if ref in project.branches:
            return project.branches[ref]
        if ref in self.commits:
            return ref
        return None

    def _user(self, username: str) -> dict[str, Json]:
        user = self.users[username]
        return {
            k: user[k]
            for k in ("id", "username", "name", "state", "locked", "avatar_url", "web_url")
        }

    def _namespace(self, project: Project) -> dict[str, Json]:
        ns_path = project.path.rsplit("/", 1)[0] if "/" in project.path else ""
        group = self.groups.get(ns_path)
        return {
            "id": group.id if group else 1,
            "name": ns_path.rsplit("/", 1)[-1],
            "path": ns_path.rsplit("/", 1)[-1],
            "kind": "group" if group else "user",
            "full_path": ns_path,
            "web_url": f"{self.url}/groups/{ns_path}",
        }

    def _project_json(self, project: Project) -> dict[str, Json]:
        name = project.path.rsplit("/", 1)[-1]
        data: dict[str, Json] = {
            "id": project.id,
            "description": None,
            "name": name,
            "name_with_namespace": project.path.replace("/", " / "),
            "path": name,
            "path_with_namespace": project.path,
            "created_at": _now(),
            "default_branch": project.default_branch,
            "visibility": "private",
            "ssh_url_to_repo": f"git@127.0.0.1:{project.path}.git",
            "http_url_to_repo": f"{self.url}/{project.path}.git",
            "web_url": f"{self.url}/{project.path}",
            "namespace": self._namespace(project),
            "archived": False,
            "empty_repo": False,
        }
        if project.forked_from is not None:
            data["forked_from_project"] = {
                "id": project.forked_from,
                "path_with_namespace": self.projects[project.forked_from].path,
            }
        return data

    def _commit_json(self, project: Project, commit: Commit) -> dict[str, Json]:
        title = commit.message.split("\n", 1)[0]
        email = f"{commit.author}@example.com"
        return {
            "id": commit.sha,
            "short_id": commit.sha[:8],
            "title": title,
            "message": commit.message,
            "author_name": commit.author,
            "author_email": email,
            "authored_date": commit.created_at,
            "committer_name": commit.author,
            "committer_email": email,
            "committed_date": commit.created_at,
            "created_at": commit.created_at,
            "parent_ids": list(commit.parent_ids),
            "web_url": f"{self.url}/{project.path}/-/commit/{commit.sha}",
            "trailers": {},
            "extended_trailers": {},
        }

    def _create_mr(
        self,
        target: Project,
        source: Project,
        source_branch: str,
        target_branch: str,
        title: str,
        description: str,
        author: str,
        labels: list[str],
    ) -> int:
        if source_branch not in source.branches:
            raise HTTPError(400, {"source_branch": ["does not exist"]})
        if target_branch not in target.branches:
            raise HTTPError(400, {"target_branch": ["does not exist"]})
        for mr in self.mrs.values():
            if (
                mr["target_project_id"] == target.id
                and mr["source_project_id"] == source.id
                and mr["source_branch"] == source_branch
                and mr["state"] == "opened"
            ):
                raise HTTPError(
                    409,
                    [
                        "Another open merge request already exists for this source branch: "
                        f"!{mr['iid']}"
                    ],
                )
        iid = 1 + max([i for (pid, i) in self.mrs if pid == target.id], default=0)
        self.mrs[(target.id, iid)] = {
            "id": next(self._ids),
            "iid": iid,
            "project_id": target.id,
            "title": title,
            "description": description,
            "state": "opened",
            "created_at": _now(),
            "updated_at": _now(),
            "target_branch": target_branch,
            "source_branch": source_branch,
            "author": author,
            "source_project_id": source.id,
            "target_project_id": target.id,
            "labels": labels,
        }
        return iid

    def _mr_json(self, mr: dict[str, Json]) -> dict[str, Json]:
        target = self.projects[mr["target_project_id"]]
        source = self.projects[mr["source_project_id"]]
        head = source.branches.get(mr["source_branch"])
        base = target.branches.get(mr["target_branch"])
        ref = f"!{mr['iid']}"
        data = {k: v for k, v in mr.items() if k != "author"}
        data.update(
            {
                "merged_by": None,
                "merged_at": None,
                "closed_by": None,
                "closed_at": None,
                "author": self._user(mr["author"]),
                "assignees": [],
                "reviewers": [],
                "draft": False,
                "work_in_progress": False,
                "merge_when_pipeline_succeeds": False,
                "merge_status": "can_be_merged",
                "detailed_merge_status": "mergeable",
                "sha": head,
                "merge_commit_sha": None,
                "squash_commit_sha": None,
                "user_notes_count": sum(
                    1 for n in self.notes.get((target.id, mr["iid"]), []) if not n["system"]
                ),
                "upvotes": 0,
                "downvotes": 0,
                "references": {"short": ref, "relative": ref, "full": f"{target.path}{ref}"},
                "web_url": f"{self.url}/{target.path}/-/merge_requests/{mr['iid']}",
                "diff_refs": {"base_sha": base, "head_sha": head, "start_sha": base},
                "has_conflicts": False,
                "blocking_discussions_resolved": True,
            }
        )
        return data

    def _mr(self, project: Project, iid: str) -> dict[str, Json]:
        mr = self.mrs.get((project.id, int(iid))) if iid.isdigit() else None
        if mr is None:
            raise HTTPError(404, "404 Not found")
        return mr

    def _create_note(
        self, project: Project, iid: int, body: str, author: str, system: bool
    ) -> dict[str, Json]:
        self._mr(project, str(iid))
        note = {
            "id": next(self._ids),
            "type": None,
            "body": body,
            "attachment": None,
            "author": self._user(author),
            "created_at": _now(),
            "updated_at": _now(),
            "system": system,
            "noteable_id": self.mrs[(project.id, iid)]["id"],
            "noteable_type": "MergeRequest",
            "project_id": project.id,
            "noteable_iid": iid,
            "resolvable": False,
            "confidential": False,
            "internal": False,
            "award_emoji": [],  # ours, not GitLab's: served by the award_emoji endpoint
        }
        self.notes.setdefault((project.id, iid), []).append(note)
        return note

    def _note(self, project: Project, iid: str, note_id: str) -> dict[str, Json]:
        for note in self.notes.get((project.id, int(self._mr(project, iid)["iid"])), []):
            if str(note["id"]) == note_id:
                return note
        raise HTTPError(404, "404 Note Not Found")

    def _access(self, members_chain: list[dict[str, int]]) -> dict[str, int]:
        """members/all: direct and inherited, the highest level per user."""
        levels: dict[str, int] = {}
        for members in members_chain:
            for username, level in members.items():
                levels[username] = max(level, levels.get(username, 0))
        return levels

    def _ancestors(self, path: str) -> list[Group]:
        parts = path.split("/")
        return [
            self.groups[p]
            for p in ("/".join(parts[:i]) for i in range(1, len(parts) + 1))
            if p in self.groups
        ]

    def _member_json(self, username: str, level: int) -> dict[str, Json]:
        data = self._user(username)
        data.update(
            {
                "access_level": level,
                "created_at": _now(),
                "expires_at": None,
                "membership_state": "active",
            }
        )
        return data

    # internals: HTTP

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self, "GET")

            def do_HEAD(self) -> None:
                fake._serve(self, "HEAD")

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_PUT(self) -> None:
                fake._serve(self, "PUT")

            def do_DELETE(self) -> None:
                fake._serve(self, "DELETE")

            def do_PATCH(self) -> None:
                fake._serve(self, "PATCH")

        return Handler

    def _serve(self, req: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(req.path)
        raw = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(req.headers.get("Content-Length") or 0)
        raw_body = req.rfile.read(length) if length else b""
        body: Json = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError:
                body = parse_qs(raw_body.decode())
        segments = [unquote(s) for s in raw.split("/")]
        decoded = "/".join(segments)
        if decoded.startswith("/api/v4"):
            decoded = decoded[len("/api/v4") :]
        with self._lock:
            self.calls.append(Call(method, decoded, query, body))
        fault = self._take_fault(method, decoded)
        if fault is not None and not fault.apply:
            self._send(req, fault.status, {"message": f"{fault.status} injected"}, fault.headers)
            return
        status, payload, headers = self._dispatch(method, raw, query, body or {}, req)
        if fault is not None and fault.timeout:
            self._stop.wait(self.hang_s)  # applied; the client gives up before we answer
            return
        if fault is not None:
            self._send(req, fault.status, {"message": f"{fault.status} injected"}, fault.headers)
            return
        self._send(req, status, payload, headers, head=method == "HEAD")

    def _send(
        self,
        req: BaseHTTPRequestHandler,
        status: int,
        payload: Json,
        headers: dict[str, str],
        *,
        head: bool = False,
    ) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", "0" if head else str(len(data)))
            for key, value in headers.items():
                req.send_header(key, value)
            req.end_headers()
            if not head:
                req.wfile.write(data)
        except OSError:
            pass  # the client gave up (injected timeout)

    def _dispatch(
        self,
        method: str,
        raw_path: str,
        query: dict[str, str],
        body: Json,
        req: BaseHTTPRequestHandler,
    ) -> tuple[int, Json, dict[str, str]]:
        if not raw_path.startswith("/api/v4/"):
            return self._unimplemented(method, raw_path)
        rest = raw_path[len("/api/v4") :]
        token = req.headers.get("PRIVATE-TOKEN")
        if token is None or token not in self.tokens:
            return 401, {"message": "401 Unauthorized"}, {}
        caller = self.tokens[token]
        for route_method, pattern, handler in self._routes():
            if route_method != method:
                continue
            match = pattern.fullmatch(rest)
            if match is None:
                continue
            args = [unquote(g) for g in match.groups()]
            try:
                with self._lock:
                    result = handler(caller, query, body, *args)
            except HTTPError as err:
                return err.status, {"message": err.message}, {}
            except Exception as err:  # the fake itself broke: loud, never silent
                self.errors.append(f"{method} {rest}: fake crashed: {err!r}")
                return 500, {"message": "500 fake crashed"}, {}
            if isinstance(result, Headers):
                return 200, None, dict(result)
            if isinstance(result, Page):
                return 200, *self._paginate(result.items, rest, query)
            status, payload = result if isinstance(result, tuple) else (200, result)
            return status, payload, {}
        return self._unimplemented(method, rest)

    def _unimplemented(self, method: str, path: str) -> tuple[int, Json, dict[str, str]]:
        self.errors.append(f"not implemented: {method} {path}")
        return 501, {"message": f"fake GitLab does not implement {method} {path}"}, {}

    def _paginate(
        self, items: list[Json], raw_rest: str, query: dict[str, str]
    ) -> tuple[Json, dict[str, str]]:
        per_page = min(int(query.get("per_page") or self.per_page), 100)
        page = max(int(query.get("page") or 1), 1)
        total_pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(p: int) -> str:
            q = dict(query, page=str(p), per_page=str(per_page))
            return f"{self.url}/api/v4{raw_rest}?{urlencode(q)}"

        headers = {
            "X-Page": str(page),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(total_pages),
            "X-Next-Page": str(page + 1) if page < total_pages else "",
            "X-Prev-Page": str(page - 1) if page > 1 else "",
        }
        links = []
        if page < total_pages:
            links.append(f'<{link(page + 1)}>; rel="next"')
        if page > 1:
            links.append(f'<{link(page - 1)}>; rel="prev"')
        links.append(f'<{link(1)}>; rel="first"')
        links.append(f'<{link(total_pages)}>; rel="last"')
        headers["Link"] = ", ".join(links)
        return chunk, headers

    def _routes(self) -> Iterator[tuple[str, re.Pattern[str], Callable[..., Json]]]:
        seg = "([^/]+)"
        p = f"/projects/{seg}"
        mr = f"{p}/merge_requests/{seg}"
        table: list[tuple[str, str, Callable[..., Json]]] = [
            ("GET", "/version", self._get_version),
            ("GET", "/user", self._get_user),
            ("GET", p, self._get_project),
            ("GET", f"{p}/merge_requests", self._list_mrs),
            ("POST", f"{p}/merge_requests", self._post_mr),
            ("GET", mr, self._get_mr),
            ("PUT", mr, self._put_mr),
            ("GET", f"{mr}/notes", self._list_notes),
            ("POST", f"{mr}/notes", self._post_note),
            ("GET", f"{mr}/notes/{seg}", self._get_note),
            ("PUT", f"{mr}/notes/{seg}", self._put_note),
            ("GET", f"{mr}/notes/{seg}/award_emoji", self._list_awards),
            ("POST", f"{mr}/notes/{seg}/award_emoji", self._post_award),
            ("GET", f"{p}/repository/commits/{seg}/statuses", self._list_statuses),
            ("POST", f"{p}/statuses/{seg}", self._post_status),
            ("POST", f"{p}/repository/commits", self._post_commit),
            ("GET", f"{p}/repository/commits/{seg}", self._get_commit),
            ("GET", f"{p}/repository/commits/{seg}/discussions", self._list_discussions),
            ("POST", f"{p}/repository/commits/{seg}/discussions", self._post_discussion),
            (
                "PUT",
                f"{p}/repository/commits/{seg}/discussions/{seg}/notes/{seg}",
                self._put_discussion_note,
            ),
            ("GET", f"{p}/repository/files/{seg}", self._get_file),
            ("HEAD", f"{p}/repository/files/{seg}", self._head_file),
            ("GET", f"{p}/repository/branches/{seg}", self._get_branch),
            ("GET", f"{p}/members/all", self._list_project_members),
            ("GET", f"/groups/{seg}/members/all", self._list_group_members),
        ]
        for method, pattern, handler in table:
            yield method, re.compile(pattern), handler

    # handlers: (caller, query, body, *path args) -> payload | (status, payload) | Page

    def _get_version(self, caller: str, q: dict[str, str], b: Json) -> Json:
        return {"version": "17.5.0-ee", "revision": "fake0001", "enterprise": True}

    def _get_user(self, caller: str, q: dict[str, str], b: Json) -> Json:
        data = self._user(caller)
        data.update({"bot": self.users[caller]["bot"], "is_admin": False})
        return data

    def _get_project(self, caller: str, q: dict[str, str], b: Json, pid: str) -> Json:
        return self._project_json(self._project(pid))

    def _list_mrs(self, caller: str, q: dict[str, str], b: Json, pid: str) -> Page:
        project = self._project(pid)
        state = q.get("state", "all")
        found = []
        for (tid, _), mr in sorted(self.mrs.items()):
            if tid != project.id:
                continue
            if state != "all" and mr["state"] != state:
                continue
            if "source_branch" in q and mr["source_branch"] != q["source_branch"]:
                continue
            if "target_branch" in q and mr["target_branch"] != q["target_branch"]:
                continue
            found.append(self._mr_json(mr))
        found.sort(key=lambda m: -int(m["iid"]))  # created_at desc, GitLab's default
        return Page(found)

    def _post_mr(self, caller: str, q: dict[str, str], b: Json, pid: str) -> Json:
        project = self._project(pid)
        for key in ("source_branch", "target_branch", "title"):
            if not b.get(key):
                raise HTTPError(400, f"400 Bad request - {key} is missing")
        source = project
        if b.get("target_project_id") not in (None, project.id):
            raise HTTPError(400, "fake: target_project_id is not supported")
        labels = b.get("labels") or []
        if isinstance(labels, str):
            labels = [x for x in labels.split(",") if x]
        iid = self._create_mr(
            project,
            source,
            b["source_branch"],
            b["target_branch"],
            b["title"],
            b.get("description") or "",
            caller,
            labels,
        )
        return 201, self._mr_json(self.mrs[(project.id, iid)])

    def _get_mr(self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str) -> Json:
        return self._mr_json(self._mr(self._project(pid), iid))

    def _put_mr(self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str) -> Json:
        mr = self._mr(self._project(pid), iid)
        for key in ("title", "description"):
            if key in b:
                mr[key] = b[key]
        if "labels" in b:
            labels = b["labels"]
            mr["labels"] = labels.split(",") if isinstance(labels, str) else list(labels)
        mr["updated_at"] = _now()
        return self._mr_json(mr)

    def _list_notes(self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str) -> Page:
        project = self._project(pid)
        notes = list(self.notes.get((project.id, int(self._mr(project, iid)["iid"])), []))
        if q.get("sort", "desc") == "desc":  # GitLab: created_at descending unless told
            notes.reverse()
        return Page([self._note_json(n) for n in notes])

    def _note_json(self, note: dict[str, Json]) -> dict[str, Json]:
        return {k: v for k, v in note.items() if k != "award_emoji"}

    def _post_note(self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str) -> Json:
        project = self._project(pid)
        if not b.get("body"):
            raise HTTPError(400, "400 Bad request - body is missing")
        if len(b["body"]) > 1_000_000:
            raise HTTPError(400, {"note": ["is too long (maximum is 1000000 characters)"]})
        mr = self._mr(project, iid)
        return 201, self._note_json(
            self._create_note(project, int(mr["iid"]), b["body"], caller, False)
        )

    def _get_note(
        self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str, nid: str
    ) -> Json:
        return self._note_json(self._note(self._project(pid), iid, nid))

    def _put_note(
        self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str, nid: str
    ) -> Json:
        note = self._note(self._project(pid), iid, nid)
        if note["author"]["username"] != caller:
            raise HTTPError(403, "403 Forbidden")
        note["body"] = b["body"]
        note["updated_at"] = _now()
        return self._note_json(note)

    def _list_awards(
        self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str, nid: str
    ) -> Page:
        return Page(list(self._note(self._project(pid), iid, nid)["award_emoji"]))

    def _post_award(
        self, caller: str, q: dict[str, str], b: Json, pid: str, iid: str, nid: str
    ) -> Json:
        note = self._note(self._project(pid), iid, nid)
        name = b.get("name")
        if not name:
            raise HTTPError(400, "400 Bad request - name is missing")
        if any(a["name"] == name and a["user"]["username"] == caller for a in note["award_emoji"]):
            raise HTTPError(404, "404 Award Emoji Name has already been taken Not Found")
        award = {
            "id": next(self._ids),
            "name": name,
            "user": self._user(caller),
            "created_at": _now(),
            "updated_at": _now(),
            "awardable_id": note["id"],
            "awardable_type": "Note",
        }
        note["award_emoji"].append(award)
        return 201, award

    def _list_statuses(self, caller: str, q: dict[str, str], b: Json, pid: str, sha: str) -> Page:
        project = self._project(pid)
        if sha not in self.commits:
            raise HTTPError(404, "404 Commit Not Found")
        found = [s for s in self.statuses if s["project_id"] == project.id and s["sha"] == sha]
        if "name" in q:
            found = [s for s in found if s["name"] == q["name"]]
        if "ref" in q:
            found = [s for s in found if s["ref"] == q["ref"]]
        if q.get("all") not in ("true", "1"):
            latest: dict[tuple[str, str], dict[str, Json]] = {}
            for s in found:
                latest[(s["name"], s["ref"] or "")] = s
            found = list(latest.values())
        return Page([{k: v for k, v in s.items() if k != "project_id"} for s in found])

    def _post_status(self, caller: str, q: dict[str, str], b: Json, pid: str, sha: str) -> Json:
        project = self._project(pid)
        if sha not in self.commits:
            raise HTTPError(404, "404 Commit Not Found")
        state = b.get("state")
        if state not in STATE_EVENTS:
            raise HTTPError(400, "400 Bad request - state does not have a valid value")
        name = b.get("name") or b.get("context") or "default"
        description = b.get("description")
        if description is not None and len(description) > 255:
            raise HTTPError(400, {"description": ["is too long (maximum is 255 characters)"]})
        ref = b.get("ref") or next(
            (n for n, h in sorted(project.branches.items()) if h == sha), None
        )
        # GitLab reuses the running-or-pending status of that name, else builds a new one.
        current = next(
            (
                s
                for s in reversed(self.statuses)
                if s["project_id"] == project.id
                and s["sha"] == sha
                and s["name"] == name
                and s["ref"] == ref
                and s["status"] in ("pending", "running")
            ),
            None,
        )
        event = STATE_EVENTS[state]
        if current is None:
            current = {
                "id": next(self._ids),
                "project_id": project.id,
                "sha": sha,
                "ref": ref,
                "status": "created",
                "name": name,
                "target_url": None,
                "description": None,
                "created_at": _now(),
                "started_at": None,
                "finished_at": None,
                "allow_failure": False,
                "coverage": None,
                "pipeline_id": next(self._ids),
                "author": self._user(caller),
            }
            if event in ALLOWED_FROM and "created" not in ALLOWED_FROM[event]:
                current["status"] = "pending"  # a new external status starts pending
            self.statuses.append(current)
        elif current["status"] not in ALLOWED_FROM[event]:
            raise HTTPError(
                400,
                f"Cannot transition status via :{event} from "
                f":{current['status']} (Reason(s): Status cannot transition "
                f'via "{event}")',
            )
        current["status"] = state
        if "target_url" in b:
            current["target_url"] = b["target_url"]
        if description is not None:
            current["description"] = description
        if state == "running":
            current["started_at"] = _now()
        if state in ("success", "failed", "canceled"):
            current["finished_at"] = _now()
        return 201, {k: v for k, v in current.items() if k != "project_id"}

    def _post_commit(self, caller: str, q: dict[str, str], b: Json, pid: str) -> Json:
        project = self._project(pid)
        branch = b.get("branch")
        if not branch or not b.get("commit_message") or not isinstance(b.get("actions"), list):
            raise HTTPError(400, "400 Bad request - branch, commit_message, actions required")
        start = b.get("start_sha") or (
            project.branches.get(b["start_branch"]) if b.get("start_branch") else None
        )
        if b.get("start_branch") and start is None:
            raise HTTPError(400, f"Invalid reference name: {b['start_branch']}")
        if b.get("start_sha") and b["start_sha"] not in self.commits:
            raise HTTPError(400, f"Invalid reference name: {b['start_sha']}")
        if branch in project.branches:
            if start is not None and not b.get("force"):
                raise HTTPError(
                    400,
                    f"A branch called '{branch}' already exists. Switch to "
                    "that branch in order to make changes",
                )
            base = start or project.branches[branch]
        elif start is None:
            raise HTTPError(400, "You can only create or edit files when you are on a branch")
        else:
            base = start
        tree = dict(self.commits[base].tree)
        for action in b["actions"]:
            kind, path = action.get("action"), action.get("file_path")
            content = action.get("content") or ""
            if action.get("encoding") == "base64":
                content = base64.b64decode(content).decode()
            if kind == "create":
                if path in tree:
                    raise HTTPError(400, "A file with this name already exists")
                tree[path] = content
            elif kind == "update":
                if path not in tree:
                    raise HTTPError(400, "A file with this name doesn't exist")
                tree[path] = content
            elif kind == "delete":
                if path not in tree:
                    raise HTTPError(400, "A file with this name doesn't exist")
                del tree[path]
            else:
                raise HTTPError(400, f"fake: action {kind!r} is not supported")
        sha = self._new_commit(b["commit_message"], [base], tree, caller)
        project.branches[branch] = sha
        data = self._commit_json(project, self.commits[sha])
        data.update(
            {
                "stats": {"additions": 0, "deletions": 0, "total": 0},
                "status": None,
                "project_id": project.id,
                "last_pipeline": None,
            }
        )
        return 201, data

    def _get_commit(self, caller: str, q: dict[str, str], b: Json, pid: str, ref: str) -> Json:
        project = self._project(pid)
        sha = self._resolve(project, ref)
        if sha is None:
            raise HTTPError(404, "404 Commit Not Found")
        data = self._commit_json(project, self.commits[sha])
        data.update(
            {
                "stats": {"additions": 0, "deletions": 0, "total": 0},
                "status": None,
                "project_id": project.id,
                "last_pipeline": None,
            }
        )
        return data

    def _list_discussions(
        self, caller: str, q: dict[str, str], b: Json, pid: str, sha: str
    ) -> Page:
        project = self._project(pid)
        if sha not in self.commits:
            raise HTTPError(404, "404 Commit Not Found")
        return Page(list(project.discussions.get(sha, [])))

    def _post_discussion(self, caller: str, q: dict[str, str], b: Json, pid: str, sha: str) -> Json:
        project = self._project(pid)
        if sha not in self.commits:
            raise HTTPError(404, "404 Commit Not Found")
        if not b.get("body"):
            raise HTTPError(400, "400 Bad request - body is missing")
        note = {
            "id": next(self._ids),
            "type": "DiscussionNote",
            "body": b["body"],
            "attachment": None,
            "author": self._user(caller),
            "created_at": _now(),
            "updated_at": _now(),
            "system": False,
            "noteable_id": None,
            "noteable_type": "Commit",
            "project_id": project.id,
            "commit_id": sha,
            "resolvable": False,
            "noteable_iid": None,
        }
        discussion = {
            "id": hashlib.sha1(str(note["id"]).encode()).hexdigest(),
            "individual_note": False,
            "notes": [note],
        }
        project.discussions.setdefault(sha, []).append(discussion)
        return 201, discussion

    def _put_discussion_note(
        self, caller: str, q: dict[str, str], b: Json, pid: str, sha: str, did: str, nid: str
    ) -> Json:
        project = self._project(pid)
        for discussion in project.discussions.get(sha, []):
            if discussion["id"] != did:
                continue
            for note in discussion["notes"]:
                if str(note["id"]) == nid:
                    if note["author"]["username"] != caller:
                        raise HTTPError(403, "403 Forbidden")
                    note["body"] = b["body"]
                    note["updated_at"] = _now()
                    return note
        raise HTTPError(404, "404 Not found")

    def _file(self, project: Project, path: str, q: dict[str, str]) -> tuple[str, str]:
        if not q.get("ref"):
            raise HTTPError(400, "400 Bad request - ref is missing")
        sha = self._resolve(project, q["ref"])
        if sha is None or path not in self.commits[sha].tree:
            raise HTTPError(404, "404 File Not Found")
        return sha, self.commits[sha].tree[path]

    def _file_json(self, project: Project, path: str, q: dict[str, str]) -> dict[str, Json]:
        sha, content = self._file(project, path, q)
        raw = content.encode()
        return {
            "file_name": path.rsplit("/", 1)[-1],
            "file_path": path,
            "size": len(raw),
            "encoding": "base64",
            "content": base64.b64encode(raw).decode(),
            "content_sha256": hashlib.sha256(raw).hexdigest(),
            "ref": q["ref"],
            "blob_id": hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest(),
            "commit_id": sha,
            "last_commit_id": sha,
            "execute_filemode": False,
        }

    def _get_file(self, caller: str, q: dict[str, str], b: Json, pid: str, path: str) -> Json:
        return self._file_json(self._project(pid), path, q)

    def _head_file(self, caller: str, q: dict[str, str], b: Json, pid: str, path: str) -> Json:
        data = self._file_json(self._project(pid), path, q)
        return Headers(
            {
                "X-Gitlab-File-Name": data["file_name"],
                "X-Gitlab-File-Path": quote(path),
                "X-Gitlab-Size": str(data["size"]),
                "X-Gitlab-Encoding": "base64",
                "X-Gitlab-Blob-Id": data["blob_id"],
                "X-Gitlab-Commit-Id": data["commit_id"],
                "X-Gitlab-Last-Commit-Id": data["last_commit_id"],
                "X-Gitlab-Content-Sha256": data["content_sha256"],
                "X-Gitlab-Ref": data["ref"],
                "X-Gitlab-Execute-Filemode": "false",
            }
        )

    def _get_branch(self, caller: str, q: dict[str, str], b: Json, pid: str, name: str) -> Json:
        project = self._project(pid)
        if name not in project.branches:
            raise HTTPError(404, "404 Branch Not Found")
        return {
            "name": name,
            "merged": False,
            "protected": name == project.default_branch,
            "default": name == project.default_branch,
            "developers_can_push": False,
            "developers_can_merge": False,
            "can_push": True,
            "web_url": f"{self.url}/{project.path}/-/tree/{name}",
            "commit": self._commit_json(project, self.commits[project.branches[name]]),
        }

    def _list_project_members(self, caller: str, q: dict[str, str], b: Json, pid: str) -> Page:
        project = self._project(pid)
        ns = project.path.rsplit("/", 1)[0] if "/" in project.path else ""
        chain = [g.members for g in self._ancestors(ns)] + [project.members]
        return self._members_page(self._access(chain), q)

    def _list_group_members(self, caller: str, q: dict[str, str], b: Json, gid: str) -> Page:
        group = self.groups.get(gid) or next(
            (g for g in self.groups.values() if str(g.id) == gid), None
        )
        if group is None:
            raise HTTPError(404, "404 Group Not Found")
        return self._members_page(self._access([g.members for g in self._ancestors(group.path)]), q)

    def _members_page(self, levels: dict[str, int], q: dict[str, str]) -> Page:
        needle = q.get("query", "").lower()
        members = [self._member_json(u, lvl) for u, lvl in sorted(levels.items())]
        if needle:
            members = [
                m for m in members if needle in m["username"].lower() or needle in m["name"].lower()
            ]
        return Page(members)


@dataclass(frozen=True)
class Page:
    """A list answer the fake paginates like GitLab (X-Next-Page, Link)."""

    items: list[Json]


class Headers(dict[str, str]):
    """A header-only answer (HEAD)."""
