"""Replay time of one table altered n times (ADD COLUMN per statement): must grow linearly.

Run: python bench/many_actions.py [dialect]. Prints seconds per size and the ratio to the
previous size; doubling n should about double the time (a ratio near 4 means quadratic).
"""

from __future__ import annotations

import logging
import sys
import time

from bot.core.model import Dialect
from bot.core.replay import replay_sql


def main(dialect: Dialect) -> None:
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    previous = None
    for n in (2_500, 5_000, 10_000, 20_000):
        sql = "CREATE TABLE t (id int);\n" + "".join(
            f"ALTER TABLE t ADD COLUMN c{i} int;\n" for i in range(n)
        )
        start = time.perf_counter()
        replay_sql(sql, dialect)
        took = time.perf_counter() - start
        ratio = f"x{took / previous:.2f}" if previous else ""
        print(f"{dialect.value:9} {n:>6} ADD COLUMNs  {took:6.2f} s  {ratio}")
        previous = took


if __name__ == "__main__":
    main(Dialect.parse(sys.argv[1] if len(sys.argv) > 1 else "postgres"))
