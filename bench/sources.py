"""Benchmark: read a repository's migration directory at the two commits of a revert.

A repository of 2,000 files, 1,000 of them migrations (bench/history.py), a commit adding a
migration and its `git revert`. Times the git side of a plan: resolve the revert, its diff, the
candidates for revert detection, and at both commits the tree listing and a batched read of every
migration blob; cold (new BlobCache) and warm (the cache kept from the first run). For
comparison: the same reads through GitPython's object database (one persistent `cat-file`
process, one round trip per blob) and through one `git show` per file.

Prints numbers; asserts nothing. Target: the whole git side under 2 s cold, reading a small part.

    python bench/sources.py [--files 2000] [--migrations 1000] [--no-show]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history import migrations
from bot.core.revert import detect_revert, touched_paths
from bot.sources.git import BlobCache, GitSnapshot, commit_info, open_repo, recent_commits, resolve

T = TypeVar("T")
MIGRATIONS = "db/migrations"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def build(root: Path, files: int, count: int) -> tuple[str, str]:
    """The repository; returns (migration commit, revert commit)."""
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", "bench@example.com")
    history = migrations(count + 1)
    mig = root / MIGRATIONS
    mig.mkdir(parents=True)
    for n, (name, sql) in enumerate(history[:count], 1):
        (mig / f"{n:05d}_{Path(name).stem}.up.sql").write_text(sql)
    for n in range(files - count):
        app = root / "app" / f"pkg{n % 40}"
        app.mkdir(parents=True, exist_ok=True)
        (app / f"module{n}.py").write_text(f"def f{n}():\n    return {n}\n" * 20)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "history")
    name, sql = history[count]
    (mig / f"{count + 1:05d}_{Path(name).stem}.up.sql").write_text(sql)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Add the last migration")
    added = git(root, "rev-parse", "HEAD")
    git(root, "revert", "--no-edit", "HEAD")
    return added, git(root, "rev-parse", "HEAD")


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def plan_git_side(root: Path, revert: str, cache: BlobCache) -> dict[str, float]:
    """What `rollback-plan plan --commit` asks of git, timed step by step."""
    t: dict[str, float] = {}
    t0 = time.perf_counter()
    repo, t["open_s"] = timed(lambda: open_repo(root))
    meta, t["commit_info_s"] = timed(lambda: commit_info(repo, resolve(repo, revert)))
    cands, t["recent_commits_s"] = timed(
        lambda: recent_commits(repo, meta.sha, sorted(touched_paths(meta)))
    )
    info, t["detect_s"] = timed(lambda: detect_revert(meta, candidates=cands))
    assert info is not None
    total_read = total_list = 0.0
    for sha in (meta.parents[0], meta.sha):
        snap = GitSnapshot(repo, sha, cache)
        entries, dt = timed(snap.entries)
        total_list += dt
        paths = [e.path for e in entries if e.path.startswith(MIGRATIONS + "/")]
        data, dt = timed(lambda s=snap, p=paths: s.read(p))  # type: ignore[misc]
        assert len(data) == len(paths), snap.problems
        total_read += dt
    t["list_two_trees_s"] = total_list
    t["read_two_dirs_s"] = total_read
    t["total_s"] = time.perf_counter() - t0
    repo.close()
    return t


def alternatives(root: Path, revert: str, show: bool) -> dict[str, float]:
    """The same blob reads, one per file: GitPython's odb and `git show`."""
    repo = open_repo(root)
    snap = GitSnapshot(repo, revert)
    entries = [e for e in snap.entries() if e.path.startswith(MIGRATIONS + "/")]
    out: dict[str, float] = {}
    _, out["batched_cat_file_s"] = timed(lambda: snap.read(e.path for e in entries))

    def odb() -> None:
        for e in entries:
            repo.odb.stream(bytes.fromhex(e.sha)).read()

    _, out["gitpython_odb_per_blob_s"] = timed(odb)
    if show:

        def per_file() -> None:
            for e in entries:
                subprocess.run(
                    ["git", "-C", str(root), "show", f"{revert}:{e.path}"],
                    check=True,
                    capture_output=True,
                )

        _, out["git_show_per_file_s"] = timed(per_file)
    repo.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument("--no-show", action="store_true", help="skip the per-file git show run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (_, revert), dt = timed(lambda: build(root, args.files, args.migrations))
        print(
            f"repository: {args.files} files, {args.migrations + 1} migrations (built {dt:.1f} s)"
        )
        # Fresh commits leave loose objects (one zlib file each); a clone is packed.
        for objects in ("loose objects", "packed (git gc, as in a clone)"):
            if objects.startswith("packed"):
                git(root, "gc", "-q")
            print(f"== {objects}")
            cache = BlobCache()
            for label in ("cold", "warm"):
                t = plan_git_side(root, revert, cache)
                print(f"{label}: " + "  ".join(f"{k}={v * 1000:.0f}ms" for k, v in t.items()))
            print(f"cache: {len(cache)} blobs, {cache.hits} hits, {cache.misses} misses")
            alt = alternatives(root, revert, not args.no_show)
            print("one commit, all migration blobs: " + "  ".join(
                f"{k}={v * 1000:.0f}ms" for k, v in alt.items()
            ))  # fmt: skip


if __name__ == "__main__":
    main()
