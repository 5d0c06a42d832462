"""A repository at one commit, read from git's object database: never checked out, never written.

GitPython opens the repository; the reads are git plumbing: listing a tree is one
`git ls-tree`, reading any number of files one `git cat-file --batch --buffer` process, so a
plan does not pay a process (or a round trip) per file. bench/sources.py measures it: 1,000
packed migration blobs in ~6 ms, ~14 ms through GitPython's object database (one round trip per
blob), ~2.3 s with one `git show` per file. Symlinks are listed, never followed.
"""

from __future__ import annotations

import os
import posixpath
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from bot.core.revert import ChangedFile, ChangeStatus, CommitMeta
from bot.sources.dirs import MAX_BYTES, SourceError
from bot.sources.model import FileEntry

_SYMLINK = "120000"
_SUBMODULE = "160000"


class RepoError(SourceError):
    """The repository, a ref or a commit can't be used; the message says which and why."""


class BlobCache:
    """File contents by blob SHA, kept by the caller between plans (least recently used go)."""

    def __init__(self, max_bytes: int = 256 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # the bot's workers may share one cache

    def get(self, sha: str) -> bytes | None:
        with self._lock:
            data = self._data.get(sha)
            if data is None:
                self.misses += 1
                return None
            self.hits += 1
            self._data.move_to_end(sha)
            return data

    def put(self, sha: str, data: bytes) -> None:
        if len(data) > self.max_bytes:
            return
        with self._lock:
            if sha in self._data:
                return
            self._data[sha] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, old = self._data.popitem(last=False)
                self._size -= len(old)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class BlobRead:
    """Contents of the files that could be read, and why the others could not."""

    contents: Mapping[str, bytes]
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class TextRead:
    """UTF-8 text of the files that are text, and why the others are not."""

    texts: Mapping[str, str]
    problems: tuple[str, ...] = ()


def open_repo(path: str | os.PathLike[str]) -> git.Repo:
    """The git repository at `path` (its top level, or a bare repository)."""
    try:
        return git.Repo(path)
    except git.NoSuchPathError:
        raise RepoError(f"{path}: no such directory") from None
    except git.InvalidGitRepositoryError:
        raise RepoError(f"{path}: not a git repository") from None


def resolve(repo: git.Repo, ref: str) -> str:
    """The full SHA of the commit `ref` names (branch, tag, SHA or abbreviation, HEAD~2...)."""
    if not ref or ref.startswith("-"):
        raise RepoError(f"{ref!r}: not a valid ref")
    out = _run(repo, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"])
    if out is not None:
        return out.decode().strip()
    if _is_hex(ref) and is_shallow(repo):
        raise RepoError(
            f"commit {ref[:12]} is not in this clone (shallow clone?): fetch more history"
        )
    if _is_hex(ref):
        raise RepoError(f"commit {ref[:12]} not found in {repo_name(repo)}")
    raise RepoError(f"unknown ref {ref!r} in {repo_name(repo)} (not a branch, tag or commit)")


def is_shallow(repo: git.Repo) -> bool:
    return bool(_shallow_commits(repo))


def commit_info(repo: git.Repo, sha: str) -> CommitMeta:
    """The commit's metadata and its diff against its first parent."""
    full = resolve(repo, sha)
    raw = _git(repo, ["cat-file", "commit", full]).decode("utf-8", "replace")
    parents = tuple(
        line.split()[1]
        for line in raw.split("\n\n", 1)[0].splitlines()
        if line.startswith("parent ")
    )
    # A shallow clone's boundary commit looks parentless to git: its diff would be wrong.
    if parents and _run(repo, ["cat-file", "-e", f"{parents[0]}^{{commit}}"]) is None:
        raise RepoError(
            f"commit {parents[0][:12]} (parent of {full[:12]}) is not in this clone "
            "(shallow clone?): fetch more history"
        )
    metas = _log(repo, [full, "--no-walk", "-1"], ())
    if not metas:
        raise RepoError(f"commit {full[:12]}: git log shows nothing")
    return metas[0]


def recent_commits(
    repo: git.Repo, sha: str, paths: Iterable[str], limit: int = 200
) -> list[CommitMeta]:
    """Earlier commits (ancestors of `sha`, newest first) that touched `paths`, with full diffs.

    A shallow clone's boundary commits are left out: git can't tell what they changed.
    """
    full = resolve(repo, sha)
    parents = _git(repo, ["rev-parse", f"{full}^@"]).decode().split()
    if not parents or limit <= 0:
        return []
    specs = [p for p in paths if p]
    args = [*parents, f"--max-count={limit}"]
    metas = _log(repo, args, specs)
    boundary = _shallow_commits(repo)
    return [m for m in metas if m.sha not in boundary]


def repo_name(repo: git.Repo) -> str:
    return str(repo.working_tree_dir or repo.git_dir)


class GitSnapshot:
    """The tree of one commit (implements `bot.sources.model.Snapshot`)."""

    def __init__(
        self,
        repo: git.Repo,
        sha: str,
        cache: BlobCache | None = None,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.repo = repo
        self.sha = sha
        self.cache = cache
        self.max_bytes = max_bytes
        self._entries: dict[str, FileEntry] | None = None
        self._problems: dict[str, None] = {}

    @classmethod
    def at(cls, repo: git.Repo, ref: str, cache: BlobCache | None = None) -> GitSnapshot:
        """The snapshot of the commit `ref` names."""
        return cls(repo, resolve(repo, ref), cache)

    @property
    def ref(self) -> str:
        return self.sha

    @property
    def problems(self) -> tuple[str, ...]:
        """Everything reads so far could not read, and why ("path: reason")."""
        return tuple(self._problems)

    def entries(self) -> Sequence[FileEntry]:
        return tuple(self._index().values())

    def entry(self, path: str) -> FileEntry | None:
        key = normalize(path)
        return None if key is None else self._index().get(key)

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Contents of many files in one batch; missing, oversized files and symlinks are left
        out (see `problems`)."""
        return dict(self.read_blobs(paths).contents)

    def read_blobs(self, paths: Iterable[str], *, symlinks: bool = False) -> BlobRead:
        """Contents by path; with `symlinks`, a symlink's content is its target path."""
        index = self._index()
        wanted: dict[str, FileEntry] = {}
        problems: list[str] = []
        for path in dict.fromkeys(paths):
            key = normalize(path)
            found = index.get(key) if key is not None else None
            if key is None:
                problems.append(f"{path}: not a path inside the repository")
            elif found is None:
                problems.append(f"{path}: no such file at {self.sha[:12]}")
            elif found.symlink and not symlinks:
                problems.append(f"{path}: symbolic link, not followed")
            elif found.size > self.max_bytes:
                problems.append(
                    f"{path}: file too large ({found.size / 1024 / 1024:.0f} MB, "
                    f"limit {self.max_bytes / 1024 / 1024:.0f} MB)"
                )
            else:
                wanted[path] = found
        blobs: dict[str, bytes] = {}
        todo: list[str] = []
        for found in wanted.values():
            cached = self.cache.get(found.sha) if self.cache is not None else None
            if cached is not None:
                blobs[found.sha] = cached
            elif found.sha not in blobs:
                todo.append(found.sha)
        fetched = cat_blobs(self.repo, todo)
        for sha, data in fetched.items():
            blobs[sha] = data
            if self.cache is not None:
                self.cache.put(sha, data)
        contents: dict[str, bytes] = {}
        for path, found in wanted.items():
            blob = blobs.get(found.sha)
            if blob is None:
                problems.append(f"{path}: blob {found.sha[:12]} is missing from this clone")
            else:
                contents[path] = blob
        self._problems.update(dict.fromkeys(problems))
        return BlobRead(contents, tuple(problems))

    def read_text(self, paths: Iterable[str]) -> TextRead:
        """UTF-8 text by path; binary and undecodable files become problems."""
        blobs = self.read_blobs(paths)
        texts: dict[str, str] = {}
        problems = list(blobs.problems)
        for path, data in blobs.contents.items():
            text, problem = decode_text(path, data)
            if text is None:
                problems.append(problem)
            else:
                texts[path] = text
        self._problems.update(dict.fromkeys(problems))
        return TextRead(texts, tuple(problems))

    def _index(self) -> dict[str, FileEntry]:
        if self._entries is None:
            self._entries = list_tree(self.repo, self.sha)
        return self._entries


def decode_text(path: str, data: bytes) -> tuple[str | None, str]:
    """(text, "") for UTF-8 text, else (None, "path: why it is not text")."""
    if b"\x00" in data[:8192]:
        return None, f"{path}: binary file, not SQL text"
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as err:
        return None, (
            f"{path}: not valid UTF-8 (byte 0x{data[err.start]:02x} at offset {err.start})"
        )


def normalize(path: str) -> str | None:
    """A repo-relative path in the tree's spelling; None when it leaves the repository."""
    if not path or "\x00" in path:
        return None
    norm = posixpath.normpath(path.replace("\\", "/")).lstrip("/")
    if norm in ("", ".") or norm == ".." or norm.startswith("../"):
        return None
    return norm


def list_tree(repo: git.Repo, sha: str) -> dict[str, FileEntry]:
    """Every blob of the commit's tree by path; submodules are not files and are skipped."""
    out = _git(repo, ["ls-tree", "-r", "-l", "-z", "--full-tree", sha])
    entries: dict[str, FileEntry] = {}
    for record in out.split(b"\x00"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, blob, size = meta.decode().split()
        if kind != "blob" or mode == _SUBMODULE:
            continue
        path = raw_path.decode("utf-8", "surrogateescape")
        # a blob missing from the clone has no size ("BAD"); reading it reports it missing
        length = int(size) if size.isdigit() else 0
        entries[path] = FileEntry(path, blob, length, symlink=mode == _SYMLINK)
    return entries


def cat_blobs(repo: git.Repo, shas: Sequence[str]) -> dict[str, bytes]:
    """Many objects' contents through one `git cat-file --batch`; missing ones are left out."""
    unique = list(dict.fromkeys(shas))
    if not unique:
        return {}
    # --buffer: one flush at the end instead of one per object
    out = _git(repo, ["cat-file", "--batch", "--buffer"], ("\n".join(unique) + "\n").encode())
    found: dict[str, bytes] = {}
    pos = 0
    while pos < len(out):
        eol = out.index(b"\n", pos)
        header = out[pos:eol].decode().split()
        pos = eol + 1
        if len(header) != 3:  # "<sha> missing" or "<sha> ambiguous"
            continue
        size = int(header[2])
        found[header[0]] = out[pos : pos + size]
        pos += size + 1
    return found


def _log(repo: git.Repo, args: list[str], paths: Sequence[str]) -> list[CommitMeta]:
    """Commits with their first-parent diffs, from one `git log` (NUL-separated fields)."""
    marker = "\x01rollback-plan\x01"
    fmt = "%x00".join(["%x01rollback-plan%x01", "%H", "%P", "%an", "%ae", "%B", ""])
    cmd = [
        "log", "-z", "--raw", "-M", "--no-abbrev", "--no-color", "--no-ext-diff",
        "--diff-merges=first-parent", "--full-diff", "--root", f"--format={fmt}",
        *args, "--", *paths,
    ]  # fmt: skip
    tokens = _git(repo, cmd).decode("utf-8", "surrogateescape").split("\x00")
    metas: list[CommitMeta] = []
    i = 0
    while i < len(tokens):
        if tokens[i] != marker:
            i += 1
            continue
        sha, parents, name, email, message = tokens[i + 1 : i + 6]
        i += 6
        changed: list[ChangedFile] = []
        while i < len(tokens) and tokens[i] != marker:
            token = tokens[i].lstrip("\n")
            i += 1
            if not token.startswith(":"):
                continue
            old_mode, new_mode, old_sha, new_sha, status = token[1:].split()
            npaths = 2 if status[0] in "RC" else 1
            names = tokens[i : i + npaths]
            i += npaths
            if _SUBMODULE in (old_mode, new_mode):
                continue
            changed.append(_changed(status[0], names, old_sha, new_sha))
        subject, _, body = message.strip("\n").partition("\n")
        metas.append(
            CommitMeta(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=name,
                author_email=email,
                subject=subject.strip(),
                body=body.strip("\n"),
                changed=tuple(changed),
            )
        )
    return metas


def _changed(status: str, names: list[str], old_sha: str, new_sha: str) -> ChangedFile:
    absent = "0" * len(old_sha)
    old = None if old_sha == absent else old_sha
    new = None if new_sha == absent else new_sha
    if status == "A":
        return ChangedFile(names[0], ChangeStatus.ADDED, None, new)
    if status == "D":
        return ChangedFile(names[0], ChangeStatus.DELETED, old, None)
    if status == "R":
        return ChangedFile(names[1], ChangeStatus.RENAMED, old, new, old_path=names[0])
    if status == "C":  # copies are not asked for (-C); if git reports one, it added a file
        return ChangedFile(names[1], ChangeStatus.ADDED, None, new)
    return ChangedFile(names[0], ChangeStatus.MODIFIED, old, new)  # M, T (type change)


def _shallow_commits(repo: git.Repo) -> frozenset[str]:
    shallow = Path(repo.common_dir) / "shallow"
    try:
        return frozenset(shallow.read_text().split())
    except FileNotFoundError:
        return frozenset()


def _is_hex(ref: str) -> bool:
    return 4 <= len(ref) <= 64 and all(c in "0123456789abcdefABCDEF" for c in ref)


def _git(repo: git.Repo, args: list[str], stdin: bytes | None = None) -> bytes:
    proc = _proc(repo, args, stdin)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RepoError(
            f"{repo_name(repo)}: git {args[0]} failed: {err[-1] if err else proc.returncode}"
        )
    return proc.stdout


def _run(repo: git.Repo, args: list[str]) -> bytes | None:
    """Output of a git command, None when it fails (for questions like "does X exist?")."""
    proc = _proc(repo, args, None)
    return proc.stdout if proc.returncode == 0 else None


def _proc(
    repo: git.Repo, args: list[str], stdin: bytes | None
) -> subprocess.CompletedProcess[bytes]:
    cmd = [git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git", "--git-dir", repo.git_dir, *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, env=_env(), check=False)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        # a partial clone would otherwise fetch each missing blob from the remote, one by one
        "GIT_NO_LAZY_FETCH": "1",
        "GIT_TERMINAL_PROMPT": "0",
        # the commit objects as written: what the diff and the parents say must agree
        "GIT_NO_REPLACE_OBJECTS": "1",
        "LC_ALL": "C",
    }
