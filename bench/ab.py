"""Benchmark: CLI CPU time of this checkout next to another one (before/after a change).

Prints numbers; asserts nothing. Interleaved so that other load hits both alike: `--help`,
`schema` of an empty directory, and, with NEWER OLDER, a cold `diff` (new replay cache)
followed by a warm one (the cache it left). Checks that both checkouts print the same diff.

    python bench/ab.py --base /tmp/base-checkout [NEWER OLDER] [--rounds 5]

Make the base with e.g. `git archive main | tar -x -C /tmp/base-checkout`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ["-c", "import sys; from bot.cli import main; sys.exit(main())"]
# bytecode cached outside the trees, as an installed package has it (bench/startup.py)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "rollback-plan-bench-pycache")


def run(tree: Path, argv: list[str], cache: str) -> tuple[float, str]:
    """CPU seconds of one CLI process run from `tree`, and what it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [sys.executable, *CLI, *argv],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,  # a failing command is no measurement
        env={**ENV, "ROLLBACK_PLAN_REPLAY_CACHE_DIR": cache},
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("dirs", nargs="*", type=Path, help="NEWER OLDER migration directories")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = {"base": args.base.resolve(), "this": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty"
        empty.mkdir()
        commands = {
            "--help": ["--help"],
            "schema (empty dir)": ["schema", "--dir", str(empty), "--dialect", "postgres"],
        }
        diff = []
        if args.dirs:
            newer, older = args.dirs
            diff = [
                "diff",
                "--dialect",
                "postgres",
                "--from-dir",
                str(newer),
                "--to-dir",
                str(older),
            ]
        times: dict[tuple[str, str], list[float]] = {}
        outputs: set[str] = set()
        for tree in trees.values():  # compiles the bytecode
            for argv in commands.values():
                run(tree, argv, "off")
        for n in range(args.rounds):
            for name, tree in trees.items():
                for label, argv in commands.items():
                    times.setdefault((label, name), []).append(run(tree, argv, "off")[0])
                if diff:
                    cache = str(Path(tmp) / f"{name}{n}")
                    for label in ("diff, cold", "diff, warm"):
                        cpu, out = run(tree, diff, cache)
                        times.setdefault((label, name), []).append(cpu)
                        outputs.add(out)
    print(f"CPU seconds per process, {args.rounds} interleaved rounds: min / median")
    for (label, name), ts in times.items():
        print(f"  {label:20s} {name:5s} {min(ts):.3f} / {statistics.median(ts):.3f}")
    if diff:
        print(f"both checkouts print the same diff: {len(outputs) == 1}")


if __name__ == "__main__":
    main()
