"""Benchmark: CPU time of CLI start-up, as a whole process.

Prints numbers; asserts nothing. Target (2-core machine): `--help` and `schema` of an empty
directory under 0.15 s CPU (user + system of the child process), next to a bare interpreter.
Runs are interleaved so that noise from other processes hits every command alike.

    python bench/startup.py [--repeats 7]
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
# What the `rollback-plan` console script runs.
CLI = ["-c", "import sys; from bot.cli import main; sys.exit(main())"]
# Like an installed package, whose modules pip byte-compiles: bytecode is cached (outside
# the tree) and the first, compiling run is not counted.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "rollback-plan-bench-pycache")


def child_cpu(argv: list[str], cached: bool = True) -> float:
    """User + system CPU seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, *argv],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**(ENV if cached else os.environ), "ROLLBACK_PLAN_REPLAY_CACHE_DIR": "off"},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="compile every module on every start (as with PYTHONDONTWRITEBYTECODE=1)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as empty:
        commands = {
            "python -c pass": ["-c", "pass"],
            "rollback-plan --help": [*CLI, "--help"],
            "rollback-plan schema (empty dir)": [
                *CLI,
                "schema",
                "--dir",
                empty,
                "--dialect",
                "postgres",
            ],
            "rollback-plan ci --help": [*CLI, "ci", "--help"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():
            child_cpu(argv)  # compiles the bytecode
        for _ in range(args.repeats):
            for name, argv in commands.items():
                times[name].append(child_cpu(argv, not args.no_bytecode_cache))
    print(f"CPU seconds per process, {args.repeats} interleaved runs (target < 0.15 s)")
    for name, ts in times.items():
        print(f"  {name:34s} min {min(ts):.3f}  median {statistics.median(ts):.3f}")


if __name__ == "__main__":
    main()
