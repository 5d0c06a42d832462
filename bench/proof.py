"""Benchmark: one proof on PostgreSQL replayed, building its template, and copying it.

Prints numbers; checks only that the three proofs say the same. On one warm embedded PostgreSQL, `--rounds` interleaved
triples of the proof of the history's newest file (the down that drops what it added is not
needed: the proof runs an empty script and reports the difference, which costs the same):

- replayed: no templates (both histories replayed, as before bot/engines/templates.py);
- built: the first proof of the history, which replays it once more to keep it as a template;
- copied: the next proof, a copy of the template (made ahead while the process was idle).

    python bench/proof.py [DIR] [--rounds 5] [--migrations 1000]

DIR holds a real history's `*.sql` migrations (never committed); without it, a synthetic one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.history import migrations
from bench.plan import real_history


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dir", nargs="?", type=Path, help="a real PostgreSQL history")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--migrations", type=int, default=1000)
    args = parser.parse_args()
    from bot.core.model import Dialect
    from bot.engines import start_postgres
    from bot.engines.proof import ScratchEngines, Script, verify

    history = (
        real_history(args.dir)
        if args.dir
        else [sql for _, sql in migrations(args.migrations + 1, 500)]
    )
    newer, older = history, history[:-1]
    server = start_postgres()
    times: dict[str, list[float]] = {"replayed": [], "built": [], "copied": []}
    try:
        for _ in range(args.rounds):
            plain = ScratchEngines(templates=0)
            plain.use(Dialect.POSTGRES, server)
            kept = ScratchEngines()
            kept.use(Dialect.POSTGRES, server)
            runs = (("replayed", plain), ("built", kept), ("copied", kept))
            outcomes = set()
            for name, engines in runs:
                templates = engines.templates(Dialect.POSTGRES)
                if templates is not None:
                    templates.settle()  # the copy made ahead is ready, as between two plans
                t = time.perf_counter()
                proof = verify(Dialect.POSTGRES, newer, Script(()), older, engines=engines)
                times[name].append(time.perf_counter() - t)
                outcomes.add((proof.verified, proof.reason, proof.differences))
            assert len(outcomes) == 1, outcomes  # the same proof whichever way
            kept.close()
    finally:
        server.close()
    print(f"{len(newer)} migrations; {args.rounds} interleaved rounds; s min / median")
    for name, ts in times.items():
        print(f"  {name:9s} {min(ts):8.3f} / {statistics.median(ts):8.3f}")
    base = times["replayed"]
    for name in ("built", "copied"):
        ts = times[name]
        print(
            f"{name} / replayed: {min(ts) / min(base):.2f}x (min),"
            f" {statistics.median(ts) / statistics.median(base):.2f}x (median)"
        )


if __name__ == "__main__":
    main()
