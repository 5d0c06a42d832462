"""Benchmark: `plan` on a repository of 2,000 files with 1,000 migrations.

Prints numbers; asserts nothing. Targets (2-core machine): a cold plan of the revert commit
under 2 s; planning again on the same history (caches warm) under 200 ms; peak RSS of the
planning process under 300 MB. Then, with the scratch server warm (started by the first
plan), `--rounds` interleaved pairs of the same plan proven and unproven, each with new plan
caches (a new revert: the history is parsed again) and with warm ones (a re-plan); the target
is a proven plan at most 2x the unproven one. The first plan's proof replays the history and keeps
it as a template (bot/engines/templates.py); the proofs timed in pairs copy it.

    python bench/plan.py [DIR] [--files 2000] [--migrations 1000] [--no-verify] [--rounds 5]

DIR holds a real history's `*.sql` migrations (never committed): the repository gets its up
files, and the revert undoes the newest one. Without it, a synthetic history is used.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
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


def real_history(directory: Path) -> list[str]:
    """The up files' SQL of a migration directory, oldest first."""
    from bot.sources.dirs import read_dir

    return [m.up for m in read_dir(directory)[1]]


def build(repo: Path, files: int, count: int, real: list[str] | None = None) -> str:
    """A repository with `count` golang-migrate migrations among `files` files; returns the
    sha of a revert of the newest migration (of `real`'s last one, when given)."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    history = [sql for _, sql in migrations(count + 1, 500)] if real is None else real[:-1]
    mig_dir = repo / "db" / "migrations"
    mig_dir.mkdir(parents=True)
    for i, sql in enumerate(history[:count], start=1):
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
        if real is None
        else real[-1]
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add loyalty")
    git(repo, "revert", "--no-edit", "HEAD")
    return git(repo, "rev-parse", "HEAD")


def child(repo: str, sha: str, verify: bool, rounds: int) -> None:
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
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # proven next to unproven, the scratch server warm; pairs interleaved against noise
    pairs: dict[str, list[float]] = {k: [] for k in ("new", "new+proof", "warm", "warm+proof")}
    caches = {False: PlanCache(), True: PlanCache()}
    for _ in range(rounds if verify else 0):
        for proof in (False, True):
            opts = PlanOptions(verify=proof)
            t = time.perf_counter()
            plan_commit(r, sha, cache=PlanCache(), now=now, options=opts)
            pairs["new+proof" if proof else "new"].append(time.perf_counter() - t)
            t = time.perf_counter()
            plan_commit(r, sha, cache=caches[proof], now=now, options=opts)
            pairs["warm+proof" if proof else "warm"].append(time.perf_counter() - t)
    source = plan.sources[0]
    templates = None
    if verify:
        from bot.core.model import Dialect
        from bot.engines.proof import ENGINES

        kept = ENGINES.templates(Dialect.POSTGRES)
        templates = None if kept is None else kept.counts
    print(
        json.dumps(
            {
                "import_s": t_import,
                "cold_s": cold,
                "warm_s": warm,
                "sources": len(plan.sources),
                "statements": len(source.down.statements) if source.down else 0,
                "files": len(source.files),
                "peak_rss_mb": peak,
                "pairs": pairs,
                "templates": None
                if templates is None
                else [templates.built, templates.served, templates.spares],
                "proof": None
                if source.proof is None
                else [source.proof.verified, source.proof.reason],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?", type=Path, help="a real PostgreSQL history")
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="proven/unproven pairs")
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument(
        "--no-verify", action="store_true", help="plan without the engine proof (on by default)"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child, verify=not args.no_verify, rounds=args.rounds)
        return
    real = real_history(args.dir) if args.dir else None
    if real is not None:
        args.migrations = len(real) - 1
        args.files = max(args.files, len(real))
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"
        t0 = time.perf_counter()
        sha = build(repo, args.files, args.migrations, real)
        built = time.perf_counter() - t0
        tracked = len(git(repo, "ls-files").splitlines())
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(repo), sha, "--rounds", str(args.rounds)]
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
        print(f"proof of the plan: {r['proof']}")
        if r["templates"]:
            built, served, spares = r["templates"]
            print(
                f"templates of replayed histories: {built} built, {served} copies served"
                f" ({spares} made ahead)"
            )
        pairs = r["pairs"]
        if pairs["new"]:
            print(
                f"{args.rounds} interleaved proven/unproven pairs, scratch server warm; s min / median"
            )
            for name, ts in pairs.items():
                print(f"  {name:12s} {min(ts):8.3f} / {statistics.median(ts):8.3f}")
            for kind in ("new", "warm"):
                a, b = pairs[kind], pairs[kind + "+proof"]
                print(
                    f"proven / unproven ({kind} caches): {min(b) / min(a):.2f}x (min), "
                    f"{statistics.median(b) / statistics.median(a):.2f}x (median); target <= 2x"
                )


if __name__ == "__main__":
    main()
