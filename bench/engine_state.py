"""What the engine path costs a plan: the static down alone, then checked on a scratch engine.

A history of N migrations (tables with indexes and foreign keys) holds one statement the
model can't read (a PostgreSQL DO block, SQLite CREATE TABLE AS, MariaDB PREPARE/EXECUTE), and
the last migration is reverted. Per dialect: the static down (`down_between`), the first engine
check in this process (cold: the scratch server starts), then the median of later ones (warm),
and the catalog import alone.

    python bench/engine_state.py [--dialects postgres,mysql,sqlite] [--tables 20] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.down import down_between
from bot.core.model import Dialect
from bot.core.replay import Migration
from bot.core.split import split_statements
from bot.engines import EngineUnavailable
from bot.engines.engine_state import engine_checked
from bot.engines.model_import import import_schema
from bot.engines.proof import ENGINES

_UNREAD = {
    Dialect.POSTGRES: "DO $$ BEGIN EXECUTE 'CREATE TABLE dyn (id int PRIMARY KEY, t0 int)'; END $$;\n",
    Dialect.SQLITE: "CREATE TABLE dyn AS SELECT id, id AS t0 FROM t0;\n",
    Dialect.MYSQL: "SET @s = 'CREATE TABLE dyn (id int PRIMARY KEY, t0 int)';\n"
    "PREPARE st FROM @s;\nEXECUTE st;\nDEALLOCATE PREPARE st;\n",
}


def history(dialect: Dialect, tables: int) -> list[Migration]:
    """`tables` migrations of one table each, the unreadable statement, then one to revert."""
    migrations = []
    for i in range(tables):
        ref = f", parent int REFERENCES t{i - 1} (id)" if i else ""
        migrations.append(
            Migration(
                f"{i:03d}_t{i}.sql",
                f"CREATE TABLE t{i} (id int PRIMARY KEY, name varchar(50) NOT NULL,"
                f" note text{ref});\nCREATE INDEX t{i}_name ON t{i} (name);\n",
            )
        )
    migrations.append(Migration(f"{tables:03d}_unread.sql", _UNREAD[dialect]))
    migrations.append(
        Migration(
            f"{tables + 1:03d}_add.sql",
            "ALTER TABLE t0 ADD COLUMN status varchar(20);\nALTER TABLE dyn ADD COLUMN extra int;\n",
        )
    )
    return migrations


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(dialect: Dialect, tables: int, runs: int) -> str:
    """One row of the table."""
    newer = history(dialect, tables)
    older = newer[:-1]
    static = [timed(lambda: down_between(newer, older, dialect)) for _ in range(runs)]
    down = down_between(newer, older, dialect)

    def check() -> object:
        return engine_checked(down, newer, older, dialect, undone=[newer[-1].path])

    try:
        cold = timed(check)
    except EngineUnavailable as err:
        return f"{dialect.value:<9} engine unavailable: {err}"
    warm = [timed(check) for _ in range(runs)]
    settled = engine_checked(down, newer, older, dialect, undone=[newer[-1].path]).down
    db = ENGINES.new_database(dialect)
    try:
        db.execute([s.text for m in newer for s in split_statements(m.sql, dialect.value)])
        imports = [timed(lambda: import_schema(db.query, dialect)) for _ in range(runs)]
    finally:
        db.close()
    s, w = statistics.median(static) * 1000, statistics.median(warm) * 1000
    return (
        f"{dialect.value:<9} {s:>10.1f} {cold * 1000:>10.1f} {w:>10.1f}"
        f" {statistics.median(imports) * 1000:>10.1f} {w / s:>11.0f}x  {settled.complete}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialects", default="sqlite,postgres,mysql")
    parser.add_argument("--tables", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(
        f"{'dialect':<9} {'static ms':>10} {'cold ms':>10} {'warm ms':>10} {'import ms':>10}"
        f" {'warm/static':>12}  settled"
    )
    for name in args.dialects.split(","):
        print(measure(Dialect.parse(name), args.tables, args.runs), flush=True)


if __name__ == "__main__":
    main()
