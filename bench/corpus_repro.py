"""Check a golden case through `rollback-plan diff` on the real engine, as a user would meet it.

Writes the case's history and history + migration as two migration directories, runs the
`rollback-plan diff` command on them, then on a scratch database runs history, migration and
the printed down (after the case's rows, when it has some) and compares the catalog with history alone's (column order aside). Prints
the down, whether `diff` called it complete, and what the engine made of it.

    python bench/corpus_repro.py tests/golden/fixtures/postgres/some_gap.sql.pending [...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import engine_statements
from bot.cli import main as cli
from bot.core.model import Dialect
from bot.engines import EngineError, ScratchServer, start_scratch_server
from tests.golden.test_golden import load


def diff_output(history: str, migration: str, dialect: Dialect) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `rollback-plan diff` from history+migration to history."""
    with tempfile.TemporaryDirectory() as tmp:
        older, newer = Path(tmp, "older"), Path(tmp, "newer")
        for d in (older, newer):
            d.mkdir()
            (d / "1_history.up.sql").write_text(history + "\n")
        (newer / "2_migration.up.sql").write_text(migration + "\n")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli(
                ["diff", "--from-dir", str(newer), "--to-dir", str(older), "--dialect", dialect]
            )
        return code, out.getvalue(), err.getvalue()


def check(path: Path, server: ScratchServer, *, expect: bool = False) -> str:
    """One line: complete or not, and restored / wrong / fails on the engine."""
    case = load(path)
    if expect:
        down = case.expect or ""  # the case's own expected down, to check the case itself
    else:
        code, down, err = diff_output(case.history, case.migration, case.dialect)
        if code != 0:
            return f"diff exit {code}: {err.strip()}"
    complete = "INCOMPLETE" not in down
    print(down)
    expected_db = server.new_database()
    db = server.new_database()
    try:
        try:
            expected_db.execute(engine_statements(case.history, case.dialect, None))
            db.execute(engine_statements(case.history, case.dialect, None))
            db.execute(engine_statements(case.data, case.dialect, None))
            db.execute(engine_statements(case.migration, case.dialect, None))
        except EngineError as error:
            return f"the case itself fails on the engine: {error.message.strip()}"
        try:
            db.execute(engine_statements(down, case.dialect, None))
        except EngineError as error:
            return f"complete={complete}; down fails: {error.message.strip().splitlines()[0]}"
        differences = db.catalog().diff(expected_db.catalog())
    finally:
        db.close()
        expected_db.close()
    if differences:
        return f"complete={complete}; wrong: " + "; ".join(differences[:4])
    return f"complete={complete}; restored"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cases", nargs="+", type=Path)
    p.add_argument(
        "--expect", action="store_true", help="run the case's expected down instead of diff's"
    )
    args = p.parse_args(argv)
    servers: dict[str, ScratchServer] = {}
    try:
        for path in args.cases:
            dialect = path.parent.name
            server = servers.get(dialect) or start_scratch_server(dialect)
            servers[dialect] = server
            print(f"== {path}: {check(path, server, expect=args.expect)}")
    finally:
        for server in servers.values():
            server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
