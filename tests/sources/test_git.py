"""Reading a real repository at a commit (never checked out), and revert detection on commits
made by a real `git revert`. Every repository here is built with the git CLI in a tmp dir."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from bot.core.revert import ChangeStatus, DetectedBy, RevertInfo, detect_revert, touched_paths
from bot.sources.git import (
    BlobCache,
    GitSnapshot,
    RepoError,
    commit_info,
    open_repo,
    recent_commits,
    resolve,
)
from bot.sources.model import Snapshot

# Tests must not depend on the machine's git config (signing, hooks, default branch...).
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Ada",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
}


class GitRepo:
    """A real repository in a tmp dir, driven through the git CLI."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, env=GIT_ENV, capture_output=True, text=True
        )
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
        return proc.stdout.strip()

    def write(self, path: str, content: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)

    def commit(self, message: str, files: dict[str, str | bytes] | None = None) -> str:
        for path, content in (files or {}).items():
            self.write(path, content)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")

    def blob(self, ref: str, path: str) -> str:
        return self.git("rev-parse", f"{ref}:{path}")


def git_version() -> tuple[int, ...]:
    out = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"(\d+)\.(\d+)", out)
    assert m is not None
    return int(m.group(1)), int(m.group(2))


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "app")


EMAIL_UP = "ALTER TABLE users ADD COLUMN email text;\nCREATE INDEX users_email ON users (email);\n"


def schema_history(repo: GitRepo) -> tuple[str, str]:
    """A golang-migrate directory, then a commit adding a column and an index: (base, add)."""
    base = repo.commit(
        "Create users",
        {
            "db/migrations/1_users.up.sql": "CREATE TABLE users (id bigint PRIMARY KEY);\n",
            "db/migrations/1_users.down.sql": "DROP TABLE users;\n",
            "app/main.py": "print('hi')\n",
        },
    )
    add = repo.commit(
        "Add email to users",
        {
            "db/migrations/2_email.up.sql": EMAIL_UP,
            "db/migrations/2_email.down.sql": "ALTER TABLE users DROP COLUMN email;\n",
        },
    )
    return base, add


# --- the tree at a commit ----------------------------------------------------------------


def test_entries_list_every_blob_without_checking_out(repo: GitRepo) -> None:
    _, add = schema_history(repo)
    repo.commit("Drop main", {})
    (repo.root / "app" / "main.py").unlink()
    later = repo.commit("Drop main")
    snap: Snapshot = GitSnapshot(open_repo(repo.root), add)  # mypy checks the protocol
    paths = {e.path for e in snap.entries()}
    assert paths == {
        "app/main.py",
        "db/migrations/1_users.up.sql",
        "db/migrations/1_users.down.sql",
        "db/migrations/2_email.up.sql",
        "db/migrations/2_email.down.sql",
    }
    entry = snap.entry("db/migrations/2_email.up.sql")
    assert entry is not None
    assert entry.sha == repo.blob(add, "db/migrations/2_email.up.sql")
    assert entry.size == len(EMAIL_UP)
    assert snap.entry("./db/migrations/../migrations/2_email.up.sql") == entry
    assert snap.read(["db/migrations/2_email.up.sql"]) == {
        "db/migrations/2_email.up.sql": EMAIL_UP.encode()
    }
    # the working tree and HEAD are elsewhere; nothing was checked out or changed
    assert repo.head() == later
    assert not (repo.root / "app" / "main.py").exists()
    assert repo.git("status", "--porcelain") == ""


def test_read_many_files_in_one_batch_with_exact_bytes(repo: GitRepo) -> None:
    # Contents that look like cat-file headers, NUL bytes and no final newline: the batch
    # output is split by the sizes git reports, never by lines.
    binary = bytes(range(256)) * 4 + b"\n" + b"0" * 40 + b" blob 12\n"
    files: dict[str, str | bytes] = {f"db/{n:03d}.sql": f"SELECT {n};\n" * n for n in range(300)}
    files["db/logo.png"] = binary
    files["db/no_newline.sql"] = "SELECT 1"
    files["db/same_as_1.sql"] = "SELECT 1;\n"
    sha = repo.commit("Many files", files)
    snap = GitSnapshot(open_repo(repo.root), sha)
    got = snap.read(files)
    assert got == {p: c.encode() if isinstance(c, str) else c for p, c in files.items()}
    assert snap.problems == ()


def test_binary_and_undecodable_files_are_reported_as_not_text(repo: GitRepo) -> None:
    sha = repo.commit(
        "Assets",
        {
            "db/1.sql": "SELECT 1;\n",
            "db/2.sql": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "db/3.sql": b"SELECT '\xe9t\xe9';\n",
        },
    )
    snap = GitSnapshot(open_repo(repo.root), sha)
    result = snap.read_text(["db/1.sql", "db/2.sql", "db/3.sql"])
    assert result.texts == {"db/1.sql": "SELECT 1;\n"}
    assert result.problems == (
        "db/2.sql: binary file, not SQL text",
        "db/3.sql: not valid UTF-8 (byte 0xe9 at offset 8)",
    )


def test_symlinks_are_listed_never_followed(repo: GitRepo, tmp_path: Path) -> None:
    secret = tmp_path / "outside" / "secret.sql"
    secret.parent.mkdir()
    secret.write_text("DROP DATABASE prod;\n")
    repo.write("db/1.sql", "SELECT 1;\n")
    (repo.root / "db" / "escape.sql").symlink_to(secret)
    (repo.root / "db" / "relative.sql").symlink_to("../../outside/secret.sql")
    (repo.root / "db" / "inside.sql").symlink_to("1.sql")
    sha = repo.commit("Links")
    snap = GitSnapshot(open_repo(repo.root), sha)
    links = {e.path: e for e in snap.entries() if e.symlink}
    assert set(links) == {"db/escape.sql", "db/relative.sql", "db/inside.sql"}
    got = snap.read(["db/1.sql", *links])
    assert got == {"db/1.sql": b"SELECT 1;\n"}
    assert "db/escape.sql: symbolic link, not followed" in snap.problems
    assert "db/inside.sql: symbolic link, not followed" in snap.problems
    # asked for explicitly, a link reads as its target's name, never the target's content
    targets = snap.read_blobs(["db/escape.sql", "db/relative.sql"], symlinks=True).contents
    assert targets == {
        "db/escape.sql": str(secret).encode(),
        "db/relative.sql": b"../../outside/secret.sql",
    }
    assert snap.entry("../outside/secret.sql") is None
    outside = snap.read_blobs(["db/../../outside/secret.sql"])
    assert outside.contents == {}
    assert outside.problems == ("db/../../outside/secret.sql: not a path inside the repository",)


def test_submodules_are_not_files(repo: GitRepo) -> None:
    inner = repo.commit("Inner", {"db/1.sql": "SELECT 1;\n"})
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{inner},vendor/lib")
    sha = repo.commit("Add a submodule")
    snap = GitSnapshot(open_repo(repo.root), sha)
    assert [e.path for e in snap.entries()] == ["db/1.sql"]
    assert snap.read(["vendor/lib"]) == {}
    assert snap.problems == (f"vendor/lib: no such file at {sha[:12]}",)


def test_file_over_the_size_cap_is_reported_not_read(repo: GitRepo) -> None:
    big = b"-- " + b"x" * (64 * 1024 * 1024) + b"\n"  # just over the default 64 MiB
    sha = repo.commit("Dump", {"db/1.sql": "SELECT 1;\n", "db/2_dump.sql": big})
    snap = GitSnapshot(open_repo(repo.root), sha)
    assert snap.entry("db/2_dump.sql").size == len(big)  # type: ignore[union-attr]
    assert snap.read(["db/1.sql", "db/2_dump.sql"]) == {"db/1.sql": b"SELECT 1;\n"}
    assert snap.problems == ("db/2_dump.sql: file too large (64 MB, limit 64 MB)",)
    small_cap = GitSnapshot(open_repo(repo.root), sha, max_bytes=4)
    assert small_cap.read(["db/1.sql"]) == {}
    assert small_cap.problems == ("db/1.sql: file too large (0 MB, limit 0 MB)",)


def test_blob_cache_makes_a_second_read_cost_no_git_read(repo: GitRepo) -> None:
    _, add = schema_history(repo)
    path = "db/migrations/2_email.up.sql"
    cache = BlobCache()
    git_repo = open_repo(repo.root)
    assert GitSnapshot(git_repo, add, cache).read([path]) == {path: EMAIL_UP.encode()}
    # Remove the blob from the object database: only the cache can still answer.
    blob = repo.blob(add, path)
    (repo.root / ".git" / "objects" / blob[:2] / blob[2:]).unlink()
    uncached = GitSnapshot(git_repo, add).read_blobs([path])
    assert uncached.contents == {}
    assert uncached.problems == (f"{path}: blob {blob[:12]} is missing from this clone",)
    # the same blob at a later commit, through the cache the caller kept
    later = repo.commit("Unrelated", {"README.md": "hi\n"})
    assert GitSnapshot(git_repo, later, cache).read([path]) == {path: EMAIL_UP.encode()}
    assert cache.hits == 1


def test_blob_cache_evicts_the_least_recently_used() -> None:
    cache = BlobCache(max_bytes=10)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    assert cache.get("a") == b"12345"
    cache.put("c", b"12345")
    assert cache.get("b") is None
    assert cache.get("a") == b"12345" and cache.get("c") == b"12345"


# --- repositories and refs ---------------------------------------------------------------


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RepoError, match=r"plain: not a git repository$"):
        open_repo(plain)
    with pytest.raises(RepoError, match=r"missing: no such directory$"):
        open_repo(tmp_path / "missing")


def test_resolve_names_branches_tags_and_short_shas(repo: GitRepo) -> None:
    base, add = schema_history(repo)
    repo.git("tag", "-a", "v1", "-m", "release", base)
    git_repo = open_repo(repo.root)
    assert resolve(git_repo, "main") == add
    assert resolve(git_repo, "v1") == base  # an annotated tag peels to its commit
    assert resolve(git_repo, add[:8]) == add
    assert resolve(git_repo, "HEAD~1") == base
    with pytest.raises(RepoError, match=r"unknown ref 'nope' in .*not a branch, tag or commit"):
        resolve(git_repo, "nope")
    with pytest.raises(RepoError, match=r"commit deadbeef0000 not found in "):
        resolve(git_repo, "deadbeef" + "0" * 32)
    with pytest.raises(RepoError, match="not a valid ref"):
        resolve(git_repo, "--output=/tmp/x")


def test_shallow_clone_missing_the_reverted_commit_says_fetch_more(
    repo: GitRepo, tmp_path: Path
) -> None:
    _, add = schema_history(repo)
    repo.git("revert", "--no-edit", add)
    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)],
        env=GIT_ENV,
        check=True,
    )
    shallow = open_repo(clone)
    head = resolve(shallow, "HEAD")
    with pytest.raises(
        RepoError,
        match=rf"^commit {add[:12]} \(parent of {head[:12]}\) is not in this clone "
        r"\(shallow clone\?\): fetch more history$",
    ):
        commit_info(shallow, head)
    with pytest.raises(
        RepoError, match=rf"^commit {add[:7]} is not in this clone \(shallow clone\?\): fetch more"
    ):
        resolve(shallow, add[:7])
    # the tree itself is there and reads fine
    snap = GitSnapshot(shallow, head)
    assert "db/migrations/2_email.up.sql" not in {e.path for e in snap.entries()}
    # one more commit of history: the revert is described, the reverted commit is not there
    subprocess.run(
        ["git", "-C", str(clone), "fetch", "-q", "--depth", "2"], env=GIT_ENV, check=True
    )
    meta = commit_info(shallow, head)
    info = detect_revert(meta)
    assert info is not None and info.reverts == (add,)
    assert recent_commits(shallow, head, ["db"]) == []  # the boundary commit's diff is unknown


# --- commits and their diffs -------------------------------------------------------------


def test_commit_info_reports_statuses_and_blob_shas(repo: GitRepo) -> None:
    base, add = schema_history(repo)
    repo.git("mv", "db/migrations/1_users.down.sql", "db/migrations/1_users_down.sql")
    repo.write("db/migrations/1_users.up.sql", "CREATE TABLE users (id int PRIMARY KEY);\n")
    (repo.root / "db" / "migrations" / "2_email.down.sql").unlink()
    repo.write("db/migrations/3_x.up.sql", "SELECT 3;\n")
    sha = repo.commit("Reshuffle\n\nA body\nover two lines.")
    meta = commit_info(open_repo(repo.root), sha[:10])
    assert meta.sha == sha
    assert meta.parents == (add,)
    assert (meta.author_name, meta.author_email) == ("Ada", "ada@example.com")
    assert meta.subject == "Reshuffle"
    assert meta.body == "A body\nover two lines."
    by_path = {c.path: c for c in meta.changed}
    assert set(by_path) == {
        "db/migrations/1_users_down.sql",
        "db/migrations/1_users.up.sql",
        "db/migrations/2_email.down.sql",
        "db/migrations/3_x.up.sql",
    }
    renamed = by_path["db/migrations/1_users_down.sql"]
    assert renamed.status is ChangeStatus.RENAMED
    assert renamed.old_path == "db/migrations/1_users.down.sql"
    assert renamed.old_sha == renamed.new_sha == repo.blob(base, "db/migrations/1_users.down.sql")
    up = by_path["db/migrations/1_users.up.sql"]
    assert up.status is ChangeStatus.MODIFIED
    assert (up.old_sha, up.new_sha) == (
        repo.blob(base, "db/migrations/1_users.up.sql"),
        repo.blob(sha, "db/migrations/1_users.up.sql"),
    )
    gone = by_path["db/migrations/2_email.down.sql"]
    assert (gone.status, gone.new_sha) == (ChangeStatus.DELETED, None)
    new = by_path["db/migrations/3_x.up.sql"]
    assert (new.status, new.old_sha) == (ChangeStatus.ADDED, None)
    root = commit_info(open_repo(repo.root), base)
    assert root.parents == ()
    assert {c.status for c in root.changed} == {ChangeStatus.ADDED}


def test_merge_commit_diff_is_against_the_first_parent(repo: GitRepo) -> None:
    base, _ = schema_history(repo)
    repo.git("checkout", "-q", "-b", "feature", base)
    repo.commit("Add orders", {"db/migrations/3_orders.up.sql": "CREATE TABLE orders (id int);\n"})
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "Merge pull request #7 from acme/feature")
    meta = commit_info(open_repo(repo.root), "HEAD")
    assert len(meta.parents) == 2
    assert [(c.path, c.status) for c in meta.changed] == [
        ("db/migrations/3_orders.up.sql", ChangeStatus.ADDED)
    ]


def test_recent_commits_touching_paths_newest_first_with_full_diffs(repo: GitRepo) -> None:
    base, add = schema_history(repo)
    docs = repo.commit("Docs", {"README.md": "hi\n"})
    both = repo.commit(
        "Schema and app", {"db/migrations/3_x.up.sql": "SELECT 3;\n", "app/main.py": "x = 1\n"}
    )
    head = repo.commit("Schema again", {"db/migrations/4_y.up.sql": "SELECT 4;\n"})
    git_repo = open_repo(repo.root)
    commits = recent_commits(git_repo, head, ["db/migrations"])
    assert [c.sha for c in commits] == [both, add, base]
    assert docs not in [c.sha for c in commits]
    # the diff is the whole commit's, not only the asked paths
    assert touched_paths(commits[0]) == {"db/migrations/3_x.up.sql", "app/main.py"}
    assert [c.sha for c in recent_commits(git_repo, head, ["db"], limit=1)] == [both]
    assert recent_commits(git_repo, base, ["db"]) == []  # a root commit has nothing earlier


# --- real reverts ------------------------------------------------------------------------


def detect(repo: GitRepo, ref: str = "HEAD", paths: list[str] | None = None) -> RevertInfo:
    """What the planner does: the commit, earlier commits touching its files, detection."""
    git_repo = open_repo(repo.root)
    meta = commit_info(git_repo, ref)
    candidates = recent_commits(git_repo, meta.sha, sorted(touched_paths(meta)))
    info = detect_revert(meta, candidates=candidates, paths=paths)
    assert info is not None, f"{meta.subject!r} not detected as a revert"
    return info


def test_git_revert_of_a_schema_change(repo: GitRepo) -> None:
    _, add = schema_history(repo)
    repo.git("revert", "--no-edit", add)
    info = detect(repo)
    assert info is not None
    assert info.reverts == (add,)
    assert info.detected_by is DetectedBy.GIT_MESSAGE
    assert info.reapply is False
    assert info.subject == 'Revert "Add email to users"'


def test_reworded_revert_is_found_by_content(repo: GitRepo) -> None:
    _, add = schema_history(repo)
    repo.git("revert", "--no-edit", add)
    repo.git("commit", "-q", "--amend", "-m", "Take the email column out again")
    info = detect(repo, paths=["db/migrations"])
    assert info.detected_by is DetectedBy.CONTENT
    assert info.reverts == (add,)


def test_git_revert_of_two_commits(repo: GitRepo) -> None:
    _, add = schema_history(repo)
    idx = repo.commit(
        "Add index", {"db/migrations/3_idx.up.sql": "CREATE INDEX i ON users (id);\n"}
    )
    repo.git("revert", "--no-edit", idx, add)
    first, second = repo.git("log", "-2", "--format=%H").split()[::-1]
    assert detect(repo, first).reverts == (idx,)
    assert detect(repo, second).reverts == (add,)
    # squashed into one commit, both messages kept
    repo.git("reset", "-q", "--soft", "HEAD~2")
    repo.git(
        "commit",
        "-q",
        "-m",
        f"Revert schema\n\nThis reverts commit {idx}.\nThis reverts commit {add}.",
    )
    assert detect(repo).reverts == (idx, add)
    # --no-commit: git keeps only the last message; the content names the other one
    repo.git("reset", "-q", "--hard", "HEAD~1")
    repo.git("revert", "--no-commit", idx, add)
    repo.git("commit", "-q", "--no-edit")
    info = detect(repo)
    assert set(info.reverts) == {idx, add}


def test_git_revert_of_a_merge(repo: GitRepo) -> None:
    base, _ = schema_history(repo)
    repo.git("checkout", "-q", "-b", "orders", base)
    repo.commit("Add orders", {"db/migrations/3_orders.up.sql": "CREATE TABLE orders (id int);\n"})
    repo.git("checkout", "-q", "main")
    first_parent = repo.head()
    repo.git("merge", "-q", "--no-ff", "orders", "-m", "Merge pull request #7 from acme/orders")
    merge = repo.head()
    repo.git("revert", "--no-edit", "-m", "1", merge)
    info = detect(repo)
    assert info.detected_by is DetectedBy.MERGE_REVERT
    assert info.reverts == (merge,)
    assert info.mainline == (first_parent,)
    changed = commit_info(open_repo(repo.root), "HEAD").changed
    assert [(c.path, c.status) for c in changed] == [
        ("db/migrations/3_orders.up.sql", ChangeStatus.DELETED)
    ]


def test_revert_of_a_revert_is_a_reapply(repo: GitRepo) -> None:
    _, add = schema_history(repo)
    repo.git("revert", "--no-edit", add)
    revert = repo.head()
    repo.git("revert", "--no-edit", revert)
    info = detect(repo)
    assert info.reapply is True
    assert info.reverts == (revert,)
    subject = repo.git("log", "-1", "--format=%s")
    if git_version() >= (2, 43):
        assert subject == 'Reapply "Add email to users"'
    else:
        assert subject == 'Revert "Revert "Add email to users""'
    assert info.reverted_title == "Add email to users"


def test_github_revert_pr_merged_with_a_merge_commit(repo: GitRepo) -> None:
    base, _ = schema_history(repo)
    repo.git("reset", "-q", "--hard", base)
    repo.git("checkout", "-q", "-b", "add-email")
    feature = repo.commit("Add email to users", {"db/migrations/2_email.up.sql": EMAIL_UP})
    repo.git("checkout", "-q", "main")
    repo.git(
        "merge", "-q", "--no-ff", "add-email",
        "-m", "Merge pull request #12 from acme/add-email\n\nAdd email to users",
    )  # fmt: skip
    merged = repo.head()
    # GitHub's revert button: a branch revert-12-add-email with `git revert -m 1`
    repo.git("checkout", "-q", "-b", "revert-12-add-email")
    repo.git("revert", "--no-edit", "-m", "1", merged)
    repo.git("checkout", "-q", "main")
    repo.git(
        "merge", "-q", "--no-ff", "revert-12-add-email",
        "-m", 'Merge pull request #13 from acme/revert-12-add-email\n\nRevert "Add email to users"',
    )  # fmt: skip
    info = detect(repo)
    assert info.detected_by is DetectedBy.BRANCH_NAME
    assert info.reverted_pr == "#12"
    assert info.reverts == (merged,)
    assert feature != merged


def test_gitlab_revert_commit(repo: GitRepo) -> None:
    _, add = schema_history(repo)
    repo.git("revert", "--no-commit", add)
    # GitLab writes its own message: no final period after the SHA
    repo.git("commit", "-q", "-m", f'Revert "Add email to users"\n\nThis reverts commit {add}')
    info = detect(repo)
    assert info.detected_by is DetectedBy.GITLAB_COMMIT
    assert info.reverts == (add,)
