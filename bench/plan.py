"""Benchmark: `plan` on a repository of 2,000 files with 1,000 migrations.

Prints numbers; asserts nothing. Targets (2-core machine): a cold plan of the revert commit
under 2 s; planning again on the same history (caches warm) under 200 ms.

    python bench/plan.py [--files 2000] [--migrations 1000] [--no-verify]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history import migrations

ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env=ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def build(repo: Path, files: int, count: int) -> str:
    """A repository with `count` golang-migrate migrations among `files` files; returns the
    sha of a revert of the newest migration."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    history = migrations(count + 1, 500)
    mig_dir = repo / "db" / "migrations"
    mig_dir.mkdir(parents=True)
    for i, (_, sql) in enumerate(history[:count], start=1):
        (mig_dir / f"{i:06d}_step.up.sql").write_text(sql)
    (repo / ".rollback-plan.yml").write_text(
        "version: 1\nsources:\n  - path: db/migrations\n    dialect: postgres\n"
    )
    src = repo / "src"
    for i in range(files - count - 1):
        sub = src / f"pkg{i % 40}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"module_{i}.py").write_text(f"VALUE = {i}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "history")
    (mig_dir / f"{count + 1:06d}_step.up.sql").write_text(
        "ALTER TABLE t1 ADD COLUMN loyalty integer;\nCREATE INDEX t1_loyalty ON t1 (loyalty);\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add loyalty")
    git(repo, "revert", "--no-edit", "HEAD")
    return git(repo, "rev-parse", "HEAD")


def child(repo: str, sha: str, verify: bool) -> None:
    """Cold plan in a fresh process, then the same plan again with the caches warm."""
    import logging
    from datetime import UTC, datetime

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    from bot.planner import PlanCache, PlanOptions, plan_commit
    from bot.sources.git import open_repo

    t_import = time.perf_counter() - t0
    r = open_repo(repo)
    cache = PlanCache()
    now = datetime.now(UTC)
    t1 = time.perf_counter()
    options = PlanOptions(verify=verify)
    plan = plan_commit(r, sha, cache=cache, now=now, options=options)
    cold = time.perf_counter() - t1
    t2 = time.perf_counter()
    plan_commit(r, sha, cache=cache, now=now, options=options)
    warm = time.perf_counter() - t2
    source = plan.sources[0]
    print(
        json.dumps(
            {
                "import_s": t_import,
                "cold_s": cold,
                "warm_s": warm,
                "sources": len(plan.sources),
                "statements": len(source.down.statements) if source.down else 0,
                "files": len(source.files),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument(
        "--no-verify", action="store_true", help="plan without the engine proof (on by default)"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, verify=not args.no_verify)
        return
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        t0 = time.perf_counter()
        sha = build(repo, args.files, args.migrations)
        built = time.perf_counter() - t0
        tracked = len(git(repo, "ls-files").splitlines())
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(repo), sha]
            + (["--no-verify"] if args.no_verify else []),
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"repository: {tracked} files, {args.migrations + 1} migrations (built in {built:.1f} s)"
        )
        print(f"import:            {r['import_s']:.3f} s")
        print(f"plan, cold:        {r['cold_s']:.3f} s   (target < 2 s)")
        print(f"plan again, warm:  {r['warm_s'] * 1000:.0f} ms  (target < 200 ms)")
        print(f"peak RSS of the planning process: {r['peak_rss_mb']:.0f} MB  (target < 300 MB)")
        print(
            f"plan: {r['sources']} source(s), {r['statements']} down statements, {r['files']} companion files"
        )


if __name__ == "__main__":
    main()
