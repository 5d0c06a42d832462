"""A synthetic but realistic PostgreSQL migration history for benchmarks.

500 tables created over the first half of the history, then schema evolution over the second
half: columns added, renamed, retyped and dropped, indexes, checks, foreign keys and views.
Deterministic: the same arguments always give the same files.
"""

from __future__ import annotations

import random


def migrations(count: int = 1000, tables: int = 500, seed: int = 7) -> list[tuple[str, str]]:
    """(file name, SQL) pairs, oldest first."""
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    created = 0
    columns: dict[int, list[str]] = {}
    for n in range(1, count + 1):
        stmts: list[str] = []
        if created < tables and (n <= count // 2 or created < tables):
            per = max(1, tables // (count // 2))
            for _ in range(per):
                if created >= tables:
                    break
                created += 1
                t = created
                cols = ["name", "status", "amount", "created_at", "note"]
                columns[t] = list(cols)
                fk = ""
                if t > 1 and rng.random() < 0.6:
                    ref = rng.randint(1, t - 1)
                    fk = f",\n    parent_id bigint REFERENCES t{ref} (id) ON DELETE CASCADE"
                    columns[t].append("parent_id")
                stmts.append(
                    f"CREATE TABLE t{t} (\n"
                    f"    id bigserial PRIMARY KEY,\n"
                    f"    name varchar(120) NOT NULL,\n"
                    f"    status text NOT NULL DEFAULT 'new' CHECK (status <> ''),\n"
                    f"    amount numeric(12, 2) DEFAULT 0,\n"
                    f"    created_at timestamptz NOT NULL DEFAULT now(),\n"
                    f"    note text{fk}\n);\n"
                    f"CREATE INDEX t{t}_name_idx ON t{t} (name);"
                )
                stmts.append(f"INSERT INTO t{t} (name) VALUES ('seed-{t}');")
        else:
            t = rng.randint(1, created)
            cols = columns[t]
            op = rng.choice(
                ["add", "add", "rename", "type", "index", "check", "drop", "view", "default"]
            )
            if op == "add" or len(cols) < 3:
                c = f"c{n}"
                cols.append(c)
                stmts.append(f"ALTER TABLE t{t} ADD COLUMN {c} integer;")
                stmts.append(f"COMMENT ON COLUMN t{t}.{c} IS 'added by migration {n}';")
            elif op == "rename":
                # name, amount and note are altered by later steps: they keep their names
                old = rng.choice(
                    [c for c in cols if c not in {"name", "parent_id", "status", "amount", "note"}]
                    or [""]  # none left: no rename this time
                )
                if old not in cols:
                    continue
                new = f"{old}_r{n}"
                cols[cols.index(old)] = new
                stmts.append(f"ALTER TABLE t{t} RENAME COLUMN {old} TO {new};")
            elif op == "type":
                stmts.append(f"ALTER TABLE t{t} ALTER COLUMN name TYPE varchar({200 + n});")
            elif op == "index":
                c = rng.choice(cols)
                stmts.append(f"CREATE INDEX IF NOT EXISTS t{t}_{c}_i{n} ON t{t} ({c});")
            elif op == "check":
                stmts.append(f"ALTER TABLE t{t} ADD CONSTRAINT t{t}_ck{n} CHECK (id > 0);")
            elif op == "drop":
                extra = [c for c in cols if c.startswith("c")]
                if extra:
                    c = extra[0]
                    cols.remove(c)
                    stmts.append(f"ALTER TABLE t{t} DROP COLUMN {c};")
                else:
                    stmts.append(f"ALTER TABLE t{t} ALTER COLUMN note SET DEFAULT 'n/a';")
            elif op == "view":
                stmts.append(
                    f"CREATE OR REPLACE VIEW v{t} AS SELECT id, status FROM t{t} WHERE id > {n};"
                )
            else:
                stmts.append(f"ALTER TABLE t{t} ALTER COLUMN amount SET DEFAULT {n};")
        out.append((f"{n:04d}_step.sql", "\n".join(stmts) + "\n"))
    return out
