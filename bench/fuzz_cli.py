"""Second differential fuzzer: constraint-heavy migrations, planned through the CLI on a git repo.

Unlike bench/fuzz.py (which calls the core's ``down_between`` on one statement per step), each
sequence here is a real git repository with a golang-migrate directory, one commit per
migration file of one to four statements: foreign keys (inline, table-level, self-referencing,
composite, with actions), named and unnamed CHECK and UNIQUE constraints, composite primary
keys, multi-action ALTER TABLE, ADD / DROP / RENAME CONSTRAINT, expression defaults, partial,
expression and unique indexes, generated columns, and per dialect: PostgreSQL sequences,
identity columns, trigger functions, comments and ``ALTER COLUMN TYPE ... USING``; MariaDB
``MODIFY`` / ``CHANGE COLUMN`` with ``FIRST`` / ``AFTER``; SQLite table rebuilds that add
constraints and triggers. A statement is kept only if the engine accepts it, and rows go into
the tables after every file. Then the last k migrations are reverted (one revert commit, or
``--from``/``--to``) and ``rollback-plan plan --format json`` runs as a user runs it. Its down
is applied on the engine holding the newer schema and rows, and checked:

  b  the catalog is the older files' catalog (column order aside on PostgreSQL, and on SQLite
     unless ``--exact-column-order`` was passed);
  c  no inserted value (every one is unique, so it is traced wherever it moved) is lost unless
     the plan declares data loss on its column or table;
  x  the CLI exits 0 or 1 with a JSON plan (anything else, a traceback included, is a crash).

A failure of a plan that says complete, nothing unmodelled (and, with ``--verify``, proven) is
silent, except a down failing at a statement the plan marks might-fail ("flagged").

    python bench/fuzz_cli.py --dialect sqlite --count 100 --seed 1 [--shrink] [--subprocess]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fuzz import run_script
from bot.engines import EngineError, ScratchDatabase, ScratchServer, start_scratch_server
from bot.engines.seed import comparable, snapshot

TABLES = ("p1", "p2", "p3", "p4", "p5", "order")
COLUMNS = ("a", "b", "c", "d", "e", "f", "g", "Value")
ACTIONS = ("CASCADE", "SET NULL", "RESTRICT", "NO ACTION", "SET DEFAULT")
MIGRATIONS_DIR = "db/migrations"

Step = tuple[list[str], object]  # statements of one proposal, the model update once accepted


@dataclass
class Col:
    name: str
    kind: str  # int, text, num, ts, bool
    ddl: str  # the definition after the name, for SQLite rebuilds
    notnull: bool = False
    computed: bool = False  # generated or identity ALWAYS: never inserted into
    ref: Tab | None = None  # the table a single-column foreign key points to
    composite_ref: bool = False  # part of a composite foreign key: rows hold NULL


@dataclass
class Tab:
    name: str
    cols: list[Col]
    pk: list[str]
    cons: list[str] = field(default_factory=list)  # names of named constraints
    tdefs: list[str] = field(default_factory=list)  # table constraints, for SQLite rebuilds
    ids: list[int] = field(default_factory=list)  # key values of rows put in

    def col(self, name: str) -> Col | None:
        return next((c for c in self.cols if c.name == name), None)


@dataclass
class Model:
    tables: list[Tab] = field(default_factory=list)
    indexes: dict[str, str] = field(default_factory=dict)  # index -> table
    sequences: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    triggers: dict[str, str] = field(default_factory=dict)  # trigger -> table
    counter: int = 0

    def table(self, name: str) -> Tab | None:
        return next((t for t in self.tables if t.name == name), None)


class Generator:
    """Proposes statements from what it believes exists; the engine has the last word."""

    def __init__(self, dialect: str, rnd: random.Random) -> None:
        self.d = dialect
        self.rnd = rnd
        self.m = Model()
        self.pending_refs: list[tuple[Col, Tab | None]] = []

    # -- helpers ---------------------------------------------------------------------------

    def q(self, name: str) -> str:
        if re.fullmatch(r"[a-z_][a-z0-9_]*", name) and name not in ("order", "key"):
            return name
        return f"`{name}`" if self.d == "mysql" else f'"{name}"'

    def fresh(self, prefix: str) -> str:
        self.m.counter += 1
        return f"{prefix}{self.m.counter}"

    def token(self) -> int:
        """A value no other row or column holds: six digits starting with 1."""
        self.m.counter += 1
        return 100000 + self.m.counter

    def type_of(self, kind: str) -> str:
        return {
            "postgres": {"int": "integer", "text": "text", "num": "numeric(10,2)",
                         "ts": "timestamp", "bool": "boolean"},
            "mysql": {"int": "INT", "text": "VARCHAR(40)", "num": "DECIMAL(10,2)",
                      "ts": "TIMESTAMP", "bool": "BOOLEAN"},
            "sqlite": {"int": "INTEGER", "text": "TEXT", "num": "NUMERIC", "ts": "TEXT",
                       "bool": "BOOLEAN"},
        }[self.d][kind]  # fmt: skip

    def default_expr(self, kind: str) -> str | None:
        r = self.rnd
        if kind == "int":
            return r.choice(("(1 + 2)", "0", "(7 * 6)", "-1"))
        if kind == "ts":
            return {
                "postgres": r.choice(("now()", "CURRENT_TIMESTAMP", "'2020-01-01 00:00:00'")),
                "mysql": r.choice(("CURRENT_TIMESTAMP", "'2020-01-01 00:00:00'")),
                "sqlite": r.choice(("CURRENT_TIMESTAMP", "(datetime('now'))")),
            }[self.d]
        if kind == "text":
            if self.d == "postgres":
                return r.choice(("'x'", "('a' || 'b')", "lower('ABC')", "''"))
            if self.d == "mysql":
                return r.choice(("'x'", "(concat('a','b'))", "''"))
            return r.choice(("'x'", "('a' || 'b')", "(lower('ABC'))"))
        if kind == "num":
            return r.choice(("1.5", "(2.5 * 2)", "0"))
        return None

    def check_expr(self, col: Col) -> str:
        n = self.q(col.name)
        if col.kind in ("int", "num"):
            return self.rnd.choice(
                (f"{n} > 0", f"{n} >= 0", f"{n} <> 7", f"{n} IS NULL OR {n} < 10000000")
            )
        if col.kind == "text":
            length = "char_length" if self.d != "sqlite" else "length"
            return self.rnd.choice((f"{length}({n}) < 50", f"{n} <> ''"))
        return f"{n} IS NOT NULL OR {n} IS NULL"

    def new_col(self, t: Tab | None, taken: set[str], *, in_create: bool) -> Col | None:
        free = [c for c in COLUMNS if c.lower() not in taken]
        if not free:
            return None
        r, name = self.rnd, self.rnd.choice(free)
        kind = r.choice(("int", "int", "int", "text", "text", "num", "ts", "bool"))
        parts = [self.type_of(kind)]
        col = Col(name, kind, "")
        ints = [c for c in (t.cols if t else []) if c.kind == "int" and not c.computed]
        if r.random() < 0.12 and ints and kind in ("int", "num"):
            src = r.choice(ints)
            expr = f"{self.q(src.name)} * 2"
            kw = {
                "postgres": " STORED",
                "mysql": r.choice((" VIRTUAL", " STORED", " PERSISTENT")),
                "sqlite": r.choice((" VIRTUAL", " STORED" if in_create else " VIRTUAL")),
            }
            parts.append(f"GENERATED ALWAYS AS ({expr}){kw[self.d]}")
            col.computed = True
            col.ddl = " ".join(parts)
            return col
        if r.random() < 0.3:
            default = self.default_expr(kind)
            if default is not None:
                if self.d == "mysql" and kind == "text" and default.startswith("("):
                    default = "'x'"
                parts.append(f"DEFAULT {default}")
                if r.random() < 0.5:
                    parts.append("NOT NULL")
                    col.notnull = True
        elif r.random() < 0.15 and (in_create or self.d != "sqlite"):
            parts.append("NOT NULL")
            col.notnull = True
        if r.random() < 0.25:
            named = r.random() < 0.5
            parts.append(
                (f"CONSTRAINT {self.fresh('ck')} " if named else "")
                + f"CHECK ({self.check_expr(col)})"
            )
        if r.random() < 0.12 and (in_create or self.d != "sqlite"):
            parts.append("UNIQUE")
        parents = [x for x in self.m.tables if len(x.pk) == 1]
        own = t if t is not None and len(t.pk) == 1 else None  # a key must name a unique one
        if kind == "int" and r.random() < 0.3 and (parents or own is not None):
            target = r.choice(parents) if parents and (r.random() < 0.7 or own is None) else own
            if target is not None and (target is not t or in_create):
                ref = f"REFERENCES {self.q(target.name)} ({self.q(target.pk[0])})"
                col.ref = target
                if r.random() < 0.6:
                    ref += f" ON DELETE {r.choice(ACTIONS)}"
                if r.random() < 0.3:
                    ref += f" ON UPDATE {r.choice(ACTIONS)}"
                parts.append(ref)
                if "NOT NULL" in parts and r.random() < 0.7:
                    parts.remove("NOT NULL")
                    col.notnull = False
                if self.d == "sqlite" and not in_create:
                    parts = [p for p in parts if not p.startswith("DEFAULT")]
        col.ddl = " ".join(parts)
        return col

    def table_constraint(self, t: Tab, *, alter: bool) -> tuple[str, str | None] | None:
        """A table-level constraint definition and its name (None when unnamed)."""
        r = self.rnd
        kind = r.choice(("check", "unique", "fk", "fk"))
        name = self.fresh(kind[:2]) if r.random() < 0.6 else None
        plain = [c for c in t.cols if not c.computed]
        refs: list[tuple[Col, Tab | None]] = []
        if kind == "check":
            body = f"CHECK ({self.check_expr(r.choice(t.cols))})"
        elif kind == "unique":
            cols = r.sample(plain, min(len(plain), r.randint(1, 2)))
            if not cols:
                return None
            body = "UNIQUE (" + ", ".join(self.q(c.name) for c in cols) + ")"
        else:
            target = r.choice([*self.m.tables, t])  # t itself: self-referencing
            ints = [c for c in plain if c.kind == "int"]
            if len(ints) < len(target.pk) or not target.pk:
                return None
            cols = r.sample(ints, len(target.pk))
            refs = [(c, target if len(cols) == 1 else None) for c in cols]
            body = (
                "FOREIGN KEY ("
                + ", ".join(self.q(c.name) for c in cols)
                + ") REFERENCES "
                + self.q(target.name)
                + " ("
                + ", ".join(self.q(p) for p in target.pk)
                + ")"
            )
            if r.random() < 0.6:
                body += f" ON DELETE {r.choice(ACTIONS)}"
            if r.random() < 0.3:
                body += f" ON UPDATE {r.choice(ACTIONS)}"
        prefix = f"CONSTRAINT {self.q(name)} " if name else ""
        self.pending_refs = refs
        return prefix + body, name

    def take_refs(self) -> Callable[[], None]:
        """The model update telling rows which parent a foreign key column now needs."""
        refs, self.pending_refs = self.pending_refs, []

        def update() -> None:
            for c, target in refs:
                c.ref, c.composite_ref = target, target is None

        return update

    # -- proposals ---------------------------------------------------------------------

    def propose(self) -> Step | None:
        m, d = self.m, self.d
        kinds = ["create_table"] * (5 if len(m.tables) < 2 else 1)
        if m.tables:
            kinds += ["add_column", "add_constraint", "add_constraint", "drop_constraint",
                      "create_index", "create_index", "drop_column", "rename_column",
                      "rename_table", "drop_table"]  # fmt: skip
            if d != "sqlite":
                kinds += ["multi_alter", "multi_alter", "alter_default"]
            if d == "postgres":
                kinds += ["rename_constraint", "alter_type_using", "sequence", "identity",
                          "trigger", "comment", "not_null"]  # fmt: skip
            if d == "mysql":
                kinds += ["modify_position", "change_column", "modify_position"]
            if d == "sqlite":
                kinds += ["rebuild", "rebuild", "trigger"]
        if m.indexes:
            kinds.append("drop_index")
        if m.triggers or m.functions:
            kinds.append("drop_trigger")
        made: Step | None = getattr(self, self.rnd.choice(kinds))()
        return made

    def pick(self) -> Tab:
        return self.rnd.choice(self.m.tables)

    def create_table(self) -> Step | None:
        r = self.rnd
        free = [n for n in TABLES if self.m.table(n) is None]
        if not free:
            return None
        name = r.choice(free)
        t = Tab(name, [], [])
        defs: list[str] = []
        idtype = self.type_of("int")
        composite = r.random() < 0.25
        if self.d == "postgres" and r.random() < 0.3 and not composite:
            idtype = r.choice(("integer GENERATED BY DEFAULT AS IDENTITY", "bigserial"))
        if self.d == "mysql" and r.random() < 0.3 and not composite:
            idtype = "INT AUTO_INCREMENT"
        if composite:
            t.cols = [Col("id", "int", f"{idtype} NOT NULL", True),
                      Col("k", "int", f"{self.type_of('int')} NOT NULL", True)]  # fmt: skip
            t.pk = ["id", "k"]
            defs += [f"id {idtype} NOT NULL", f"k {self.type_of('int')} NOT NULL"]
        else:
            t.cols = [Col("id", "int", f"{idtype} PRIMARY KEY", True)]
            t.pk = ["id"]
            defs.append(f"id {idtype} PRIMARY KEY")
        for _ in range(r.randint(1, 4)):
            c = self.new_col(t, {c.name.lower() for c in t.cols}, in_create=True)
            if c is not None:
                t.cols.append(c)
                defs.append(f"{self.q(c.name)} {c.ddl}")
        if composite:
            pk = "PRIMARY KEY (id, k)"
            if r.random() < 0.4 and self.d != "mysql":
                pk = f"CONSTRAINT {self.fresh('pk')} {pk}"
            t.tdefs.append(pk)
        for _ in range(r.choice((0, 0, 1, 2))):
            made = self.table_constraint(t, alter=False)
            if made:
                self.take_refs()()
                t.tdefs.append(made[0])
                if made[1]:
                    t.cons.append(made[1])
        sql = f"CREATE TABLE {self.q(name)} (\n  " + ",\n  ".join(defs + t.tdefs) + "\n)"
        if self.d == "sqlite" and r.random() < 0.1 and composite:
            sql += " WITHOUT ROWID"
        return [sql], lambda: self.m.tables.append(t)

    def add_column(self) -> Step | None:
        t = self.pick()
        c = self.new_col(t, {x.name.lower() for x in t.cols}, in_create=False)
        if c is None:
            return None
        where = ""
        if self.d == "mysql" and self.rnd.random() < 0.4:
            where = (
                " FIRST"
                if self.rnd.random() < 0.3
                else f" AFTER {self.q(self.rnd.choice(t.cols).name)}"
            )
        sql = f"ALTER TABLE {self.q(t.name)} ADD COLUMN {self.q(c.name)} {c.ddl}{where}"
        return [sql], lambda: self._place(t, c, where)

    def _place(self, t: Tab, c: Col, where: str) -> None:
        if where == " FIRST":
            t.cols.insert(0, c)
        elif where:
            after = where.split("AFTER ", 1)[1].strip("`")
            i = next((i for i, x in enumerate(t.cols) if x.name == after), len(t.cols) - 1)
            t.cols.insert(i + 1, c)
        else:
            t.cols.append(c)

    def add_constraint(self) -> Step | None:
        t = self.pick()
        if self.d == "sqlite":
            return self.rebuild(add=True)
        made = self.table_constraint(t, alter=True)
        if made is None:
            return None
        body, name = made
        refs = self.take_refs()
        suffix = ""
        if self.d == "postgres" and "CHECK" in body and self.rnd.random() < 0.15:
            suffix = " NOT VALID"
        sql = f"ALTER TABLE {self.q(t.name)} ADD {body}{suffix}"

        def update() -> None:
            refs()
            t.tdefs.append(body)
            if name:
                t.cons.append(name)

        return [sql], update

    def guessed_names(self, t: Tab) -> list[str]:
        """Names the engine gives unnamed constraints, as guesses (the engine decides)."""
        cols = [c.name for c in t.cols]
        if self.d == "postgres":
            return [f"{t.name}_{c}_{s}" for c in cols for s in ("check", "fkey", "key")] + [
                f"{t.name}_pkey"
            ]
        if self.d == "mysql":
            return [f"{t.name}_ibfk_1", f"{t.name}_ibfk_2", "CONSTRAINT_1", "CONSTRAINT_2", *cols]
        return []

    def drop_constraint(self) -> Step | None:
        t = self.pick()
        if self.d == "sqlite":
            return self.rebuild(add=False)
        names = t.cons + self.guessed_names(t)
        if not names:
            return None
        name = self.rnd.choice(names)
        if self.d == "mysql":
            how = self.rnd.choice(
                ("DROP CONSTRAINT", "DROP FOREIGN KEY", "DROP CHECK", "DROP INDEX", "DROP KEY")
            )
        else:
            how = "DROP CONSTRAINT"
        sql = f"ALTER TABLE {self.q(t.name)} {how} {self.q(name)}"

        def update() -> None:
            if name in t.cons:
                t.cons.remove(name)

        return [sql], update

    def rename_constraint(self) -> Step | None:
        t = self.pick()
        names = t.cons + self.guessed_names(t)
        old = self.rnd.choice(names)
        new = self.fresh("rn")
        sql = f"ALTER TABLE {self.q(t.name)} RENAME CONSTRAINT {self.q(old)} TO {new}"

        def update() -> None:
            if old in t.cons:
                t.cons.remove(old)
            t.cons.append(new)

        return [sql], update

    def drop_column(self) -> Step | None:
        t = self.pick()
        cols = [c for c in t.cols if c.name not in t.pk]
        if not cols:
            return None
        c = self.rnd.choice(cols)
        return [
            f"ALTER TABLE {self.q(t.name)} DROP COLUMN {self.q(c.name)}"
        ], lambda: t.cols.remove(c)

    def rename_column(self) -> Step | None:
        t = self.pick()
        cols = [c for c in t.cols if c.name not in t.pk]
        free = [n for n in COLUMNS if n.lower() not in {c.name.lower() for c in t.cols}]
        if not cols or not free:
            return None
        c, new = self.rnd.choice(cols), self.rnd.choice(free)
        sql = f"ALTER TABLE {self.q(t.name)} RENAME COLUMN {self.q(c.name)} TO {self.q(new)}"

        def update() -> None:
            c.name = new

        return [sql], update

    def rename_table(self) -> Step | None:
        t = self.pick()
        free = [n for n in TABLES if self.m.table(n) is None]
        if not free:
            return None
        new = self.rnd.choice(free)
        sql = f"ALTER TABLE {self.q(t.name)} RENAME TO {self.q(new)}"
        old = t.name

        def update() -> None:
            t.name = new
            self.m.indexes = {i: new if x == old else x for i, x in self.m.indexes.items()}
            self.m.triggers = {i: new if x == old else x for i, x in self.m.triggers.items()}

        return [sql], update

    def drop_table(self) -> Step | None:
        t = self.pick()

        def update() -> None:
            self.m.tables.remove(t)
            self.m.indexes = {i: x for i, x in self.m.indexes.items() if x != t.name}
            self.m.triggers = {i: x for i, x in self.m.triggers.items() if x != t.name}

        return [f"DROP TABLE {self.q(t.name)}"], update

    def create_index(self) -> Step | None:
        r, t = self.rnd, self.pick()
        name = self.fresh("ix")
        cols = r.sample(t.cols, min(len(t.cols), r.randint(1, 2)))
        parts = []
        for c in cols:
            part = self.q(c.name)
            if c.kind == "text" and r.random() < 0.4:
                part = {"postgres": f"lower({part})", "sqlite": f"lower({part})",
                        "mysql": f"{part}(10)"}[self.d]  # fmt: skip
            elif c.kind == "int" and r.random() < 0.2 and self.d != "mysql":
                part = f"({part} + 1)"
            if r.random() < 0.2:
                part += " DESC"
            parts.append(part)
        unique = "UNIQUE " if r.random() < 0.35 else ""
        sql = f"CREATE {unique}INDEX {name} ON {self.q(t.name)} ({', '.join(parts)})"
        if self.d != "mysql" and r.random() < 0.3:
            c = r.choice(t.cols)
            sql += (
                f" WHERE {self.q(c.name)} IS NOT NULL"
                if r.random() < 0.5
                else f" WHERE {self.check_expr(c)}"
            )

        def update() -> None:
            self.m.indexes[name] = t.name

        return [sql], update

    def drop_index(self) -> Step | None:
        name = self.rnd.choice(sorted(self.m.indexes))
        table = self.m.indexes[name]
        sql = f"DROP INDEX {name}" + (f" ON {self.q(table)}" if self.d == "mysql" else "")
        if self.d == "postgres" and self.rnd.random() < 0.3:
            sql = f"ALTER INDEX {name} RENAME TO {name}r"

            def renamed() -> None:
                self.m.indexes[name + "r"] = self.m.indexes.pop(name)

            return [sql], renamed
        return [sql], lambda: self.m.indexes.pop(name, None)

    def _alter_actions(self, t: Tab) -> list[tuple[str, Callable[[], None]]]:
        """One to three actions of one ALTER TABLE (PostgreSQL, MariaDB)."""
        r = self.rnd
        out: list[tuple[str, Callable[[], None]]] = []
        taken = {c.name.lower() for c in t.cols}
        for _ in range(r.randint(2, 3)):
            choice = r.choice(("add", "drop", "default", "constraint", "dropcons", "null"))
            plain = [c for c in t.cols if c.name not in t.pk and not c.computed]
            if choice == "add":
                c = self.new_col(t, taken, in_create=False)
                if c is None:
                    continue
                taken.add(c.name.lower())
                out.append((f"ADD COLUMN {self.q(c.name)} {c.ddl}", lambda c=c: t.cols.append(c)))  # type: ignore[misc]
            elif choice == "drop" and plain:
                c = r.choice(plain)
                out.append(
                    (
                        f"DROP COLUMN {self.q(c.name)}",
                        lambda c=c: t.cols.remove(c) if c in t.cols else None,
                    )
                )  # type: ignore[misc]
            elif choice == "default" and plain:
                c = r.choice(plain)
                expr = self.default_expr(c.kind)
                action = f"SET DEFAULT {expr}" if expr and r.random() < 0.7 else "DROP DEFAULT"
                out.append((f"ALTER COLUMN {self.q(c.name)} {action}", lambda: None))
            elif choice == "constraint":
                made = self.table_constraint(t, alter=True)
                if made:
                    name, refs = made[1], self.take_refs()

                    def added(name: str | None = name, refs: Callable[[], None] = refs) -> None:
                        refs()
                        if name:
                            t.cons.append(name)

                    out.append((f"ADD {made[0]}", added))
            elif choice == "dropcons" and t.cons:
                name = r.choice(t.cons)
                how = (
                    "DROP CONSTRAINT"
                    if self.d == "postgres" or r.random() < 0.5
                    else "DROP FOREIGN KEY"
                )
                out.append(
                    (
                        f"{how} {self.q(name)}",
                        lambda name=name: t.cons.remove(name) if name in t.cons else None,
                    )
                )  # type: ignore[misc]
            elif choice == "null" and plain and self.d == "postgres":
                c = r.choice(plain)
                action = "DROP NOT NULL" if c.notnull else "SET NOT NULL"
                out.append(
                    (
                        f"ALTER COLUMN {self.q(c.name)} {action}",
                        lambda c=c: setattr(c, "notnull", not c.notnull),
                    )
                )  # type: ignore[misc]
        return out

    def multi_alter(self) -> Step | None:
        t = self.pick()
        actions = self._alter_actions(t)
        if len(actions) < 2:
            return None
        sql = f"ALTER TABLE {self.q(t.name)}\n  " + ",\n  ".join(a for a, _ in actions)

        def update() -> None:
            for _, u in actions:
                u()

        return [sql], update

    def alter_default(self) -> Step | None:
        t = self.pick()
        cols = [c for c in t.cols if not c.computed and c.name not in t.pk]
        if not cols:
            return None
        c = self.rnd.choice(cols)
        expr = self.default_expr(c.kind)
        action = f"SET DEFAULT {expr}" if expr else "DROP DEFAULT"
        return [
            f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {self.q(c.name)} {action}"
        ], lambda: None

    def not_null(self) -> Step | None:
        t = self.pick()
        cols = [c for c in t.cols if not c.computed and c.name not in t.pk]
        if not cols:
            return None
        c = self.rnd.choice(cols)
        action = "DROP NOT NULL" if c.notnull else "SET NOT NULL"
        sql = f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {self.q(c.name)} {action}"
        return [sql], lambda: setattr(c, "notnull", not c.notnull)

    def alter_type_using(self) -> Step | None:
        t = self.pick()
        cols = [c for c in t.cols if not c.computed and c.name not in t.pk]
        if not cols:
            return None
        c = self.rnd.choice(cols)
        n = self.q(c.name)
        if c.kind == "int":
            new, kind, using = self.rnd.choice(
                (("bigint", "int", f"{n}::bigint"), ("text", "text", f"{n}::text"),
                 ("numeric(12,2)", "num", f"{n}::numeric"))
            )  # fmt: skip
        elif c.kind == "text":
            new, kind, using = "varchar(60)", "text", f"{n}::varchar(60)"
        elif c.kind == "num":
            new, kind, using = "numeric(14,3)", "num", f"{n}::numeric(14,3)"
        else:
            return None
        sql = f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {n} TYPE {new} USING {using}"
        return [sql], lambda: setattr(c, "kind", kind)

    def sequence(self) -> Step | None:
        r = self.rnd
        if self.m.sequences and r.random() < 0.6:
            s = r.choice(self.m.sequences)
            t = self.pick()
            ints = [c for c in t.cols if c.kind == "int" and not c.computed and c.name not in t.pk]
            choice = r.random()
            if ints and choice < 0.5:
                c = r.choice(ints)
                return [
                    f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {self.q(c.name)} SET DEFAULT nextval('{s}')"
                ], lambda: None
            if ints and choice < 0.7:
                c = r.choice(ints)
                return [
                    f"ALTER SEQUENCE {s} OWNED BY {self.q(t.name)}.{self.q(c.name)}"
                ], lambda: None
            if choice < 0.85:
                return [f"ALTER SEQUENCE {s} INCREMENT BY {r.randint(2, 9)}"], lambda: None
            return [f"DROP SEQUENCE {s}"], lambda: self.m.sequences.remove(s)
        s = self.fresh("seq")
        return [f"CREATE SEQUENCE {s} START {r.randint(1, 500)}"], lambda: self.m.sequences.append(
            s
        )

    def identity(self) -> Step | None:
        t = self.pick()
        ints = [c for c in t.cols if c.kind == "int" and not c.computed]
        if not ints:
            return None
        c = self.rnd.choice(ints)
        q = f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {self.q(c.name)}"
        action = self.rnd.choice(("ADD GENERATED BY DEFAULT AS IDENTITY", "DROP IDENTITY",
                                  "SET GENERATED BY DEFAULT", "ADD GENERATED ALWAYS AS IDENTITY",
                                  "DROP IDENTITY IF EXISTS"))  # fmt: skip
        stmts = [f"{q} {action}"]
        if action.startswith("ADD") and not c.notnull:
            stmts.insert(0, f"{q} SET NOT NULL")

        def update() -> None:
            c.notnull = True if action.startswith("ADD") else c.notnull
            c.computed = "ALWAYS" in action

        return stmts, update

    def trigger(self) -> Step | None:
        r, t = self.rnd, self.pick()
        targets = [
            c for c in t.cols if c.kind in ("int", "text") and not c.computed and c.name not in t.pk
        ]
        if not targets:
            return None
        c = r.choice(targets)
        value = "42" if c.kind == "int" else "'trg'"
        name = self.fresh("trg")
        if self.d == "sqlite":
            sql = (
                f"CREATE TRIGGER {name} AFTER INSERT ON {self.q(t.name)} WHEN NEW.{self.q(c.name)} IS NULL\n"
                f"BEGIN\n  UPDATE {self.q(t.name)} SET {self.q(c.name)} = {value} WHERE id = NEW.id;\nEND"
            )
            return [sql], lambda: self.m.triggers.__setitem__(name, t.name)
        fn = (
            r.choice(self.m.functions)
            if self.m.functions and r.random() < 0.4
            else self.fresh("fn")
        )
        body = (
            f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"BEGIN\n  IF NEW.{self.q(c.name)} IS NULL THEN NEW.{self.q(c.name)} := {value}; END IF;\n"
            "  RETURN NEW;\nEND\n$$"
        )
        trg = f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON {self.q(t.name)} FOR EACH ROW EXECUTE FUNCTION {fn}()"
        stmts = [body] if r.random() < 0.25 and fn in self.m.functions else [body, trg]

        def update() -> None:
            if fn not in self.m.functions:
                self.m.functions.append(fn)
            if len(stmts) > 1:
                self.m.triggers[name] = t.name

        return stmts, update

    def drop_trigger(self) -> Step | None:
        if self.m.triggers and (self.rnd.random() < 0.7 or not self.m.functions):
            name = self.rnd.choice(sorted(self.m.triggers))
            table = self.m.triggers[name]
            sql = f"DROP TRIGGER {name}" + (f" ON {self.q(table)}" if self.d == "postgres" else "")
            return [sql], lambda: self.m.triggers.pop(name, None)
        fn = self.rnd.choice(self.m.functions)
        return [f"DROP FUNCTION {fn}()"], lambda: self.m.functions.remove(fn)

    def comment(self) -> Step | None:
        t = self.pick()
        text = self.rnd.choice(("'what it holds'", "'it''s quoted'", "NULL"))
        if self.rnd.random() < 0.5:
            return [f"COMMENT ON TABLE {self.q(t.name)} IS {text}"], lambda: None
        c = self.rnd.choice(t.cols)
        return [f"COMMENT ON COLUMN {self.q(t.name)}.{self.q(c.name)} IS {text}"], lambda: None

    def modify_position(self) -> Step | None:
        t = self.pick()
        cols = [c for c in t.cols if not c.computed and c.name not in t.pk]
        if not cols:
            return None
        c = self.rnd.choice(cols)
        others = [x for x in t.cols if x is not c]
        where = (
            " FIRST"
            if self.rnd.random() < 0.3 or not others
            else f" AFTER {self.q(self.rnd.choice(others).name)}"
        )
        kind = c.kind
        ddl = "BIGINT" if kind == "int" and self.rnd.random() < 0.3 else self.type_of(kind)
        null = " NOT NULL" if c.notnull else " NULL"
        default = ""
        if self.rnd.random() < 0.3:
            expr = self.default_expr(kind)
            default = f" DEFAULT {expr}" if expr and not expr.startswith("(concat") else ""
        sql = f"ALTER TABLE {self.q(t.name)} MODIFY COLUMN {self.q(c.name)} {ddl}{null}{default}{where}"

        def update() -> None:
            t.cols.remove(c)
            self._place(t, c, where)

        return [sql], update

    def change_column(self) -> Step | None:
        t = self.pick()
        cols = [c for c in t.cols if not c.computed and c.name not in t.pk]
        free = [n for n in COLUMNS if n.lower() not in {c.name.lower() for c in t.cols}]
        if not cols:
            return None
        c = self.rnd.choice(cols)
        new = self.rnd.choice(free) if free and self.rnd.random() < 0.7 else c.name
        others = [x for x in t.cols if x is not c]
        where = ""
        if self.rnd.random() < 0.6:
            where = (
                " FIRST"
                if self.rnd.random() < 0.3 or not others
                else f" AFTER {self.q(self.rnd.choice(others).name)}"
            )
        null = " NOT NULL" if c.notnull else ""
        sql = f"ALTER TABLE {self.q(t.name)} CHANGE COLUMN {self.q(c.name)} {self.q(new)} {self.type_of(c.kind)}{null}{where}"

        def update() -> None:
            c.name = new
            if where:
                t.cols.remove(c)
                self._place(t, c, where)

        return [sql], update

    def rebuild(self, add: bool = True) -> Step | None:
        """SQLite's documented rebuild (new table, copy, drop, rename) changing constraints."""
        t = self.pick()
        if any(x == t.name for x in self.m.triggers.values()):
            return None
        tdefs = list(t.tdefs)
        cons = list(t.cons)
        if add:
            made = self.table_constraint(t, alter=True)
            if made is None:
                return None
            refs = self.take_refs()
            tdefs.append(made[0])
            if made[1]:
                cons.append(made[1])
        else:
            droppable = [x for x in tdefs if not x.startswith(("PRIMARY", "CONSTRAINT pk"))]
            if not droppable:
                return None
            gone = self.rnd.choice(droppable)
            tdefs.remove(gone)
            cons = [n for n in cons if f"CONSTRAINT {n} " not in gone]
        new = f"{t.name}_new"
        defs = [f"{self.q(c.name)} {c.ddl}" for c in t.cols] + tdefs
        names = ", ".join(self.q(c.name) for c in t.cols if not c.computed)
        indexes = [i for i, x in self.m.indexes.items() if x == t.name]
        stmts = [
            f"CREATE TABLE {self.q(new)} (\n  " + ",\n  ".join(defs) + "\n)",
            f"INSERT INTO {self.q(new)} ({names}) SELECT {names} FROM {self.q(t.name)}",
            f"DROP TABLE {self.q(t.name)}",
            f"ALTER TABLE {self.q(new)} RENAME TO {self.q(t.name)}",
        ]

        def update() -> None:
            if add:
                refs()
            t.tdefs, t.cons = tdefs, cons
            for i in indexes:
                self.m.indexes.pop(i, None)

        return stmts, update

    # -- rows --------------------------------------------------------------------------

    def rows(self) -> list[tuple[Tab, str, int]]:
        """INSERTs of fresh, globally unique values, each with its table and key."""
        out = []
        for t in self.m.tables:
            for _ in range(self.rnd.randint(1, 2)):
                names, values, key = [], [], 0
                for c in t.cols:
                    if c.computed:
                        continue
                    v = self.row_value(t, c)
                    if v is None:
                        continue
                    names.append(self.q(c.name))
                    values.append(v)
                    key = int(v) if c.name == t.pk[0] and v.isdigit() else key
                if names:
                    sql = f"INSERT INTO {self.q(t.name)} ({', '.join(names)}) VALUES ({', '.join(values)})"
                    out.append((t, sql, key))
        return out

    def row_value(self, t: Tab, c: Col) -> str | None:
        r = self.rnd
        if c.composite_ref:
            return None if c.name not in t.pk else str(self.token())
        if c.ref is not None and c.ref in self.m.tables:
            if c.ref.ids and r.random() < 0.8:
                return str(r.choice(c.ref.ids))
            return None if c.name not in t.pk else str(self.token())
        if c.name in t.pk:
            return str(self.token())
        if c.kind == "int":
            return str(self.token())
        if c.kind == "text":
            return f"'r{self.token()}'"
        if c.kind == "num":
            return f"{self.token()}.25"
        if c.kind == "bool":
            return "TRUE" if self.d != "sqlite" else "1"
        if c.kind == "ts":
            return None if r.random() < 0.5 else "'2021-02-03 04:05:06'"
        return None


# -- sequences on the engine ---------------------------------------------------------------


@dataclass
class File:
    statements: list[str]
    rows: list[str] = field(default_factory=list)  # INSERTs run after the file


def _accepted(db: ScratchDatabase, statements: list[str]) -> bool:
    """Run statements; several together in one transaction (no MySQL proposal has several)."""
    try:
        if len(statements) > 1 and db.dialect != "mysql":
            run_script(db, db.dialect, statements)
        else:
            db.execute(statements)
    except EngineError:
        return False
    return True


def generate(
    server: ScratchServer, seed: int, files: int
) -> tuple[ScratchDatabase, list[File], set[str]]:
    """A sequence of engine-accepted files with rows in between; the database holding it."""
    rnd = random.Random(seed)
    gen = Generator(server.dialect, rnd)
    db = server.new_database()
    out: list[File] = []
    for _ in range(files * 6):
        if len(out) >= files:
            break
        kept: list[str] = []
        for _ in range(rnd.choice((1, 1, 2, 2, 3, 4))):
            made = gen.propose()
            if made is None:
                continue
            statements, update = made
            if _accepted(db, statements):
                update()  # type: ignore[operator]
                kept += statements
        if not kept:
            continue
        rows = []
        for t, sql, key in gen.rows():
            if _accepted(db, [sql]):
                rows.append(sql)
                t.ids.append(key)
        out.append(File(kept, rows))
    return db, out, _tokens(out)


def _tokens(files: list[File]) -> set[str]:
    found: set[str] = set()
    for f in files:
        for sql in f.rows:
            values = sql.split(" VALUES ", 1)[1]
            found |= set(re.findall(r"(?<![\w.])(1\d{5})(?![\d.])", values))
            found |= {f"r{n}" for n in re.findall(r"'r(1\d{5})'", values)}
            found |= {f"{n}.25" for n in re.findall(r"(1\d{5})\.25", values)}
    return found


def materialize(
    server: ScratchServer, files: list[File], *, rows: bool = True
) -> tuple[ScratchDatabase, list[File]]:
    """Replay files on a fresh database, each statement kept if the engine still accepts it."""
    db = server.new_database()
    kept = []
    for f in files:
        statements = [s for s in f.statements if _accepted(db, [s])]
        if statements:
            kept.append(File(statements, [s for s in f.rows if rows and _accepted(db, [s])]))
    return db, kept


# -- the repository and the CLI -----------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "fuzz", "GIT_AUTHOR_EMAIL": "fuzz@example.com",
           "GIT_COMMITTER_NAME": "fuzz", "GIT_COMMITTER_EMAIL": "fuzz@example.com",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}  # fmt: skip
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def file_text(statements: list[str]) -> str:
    return "".join(f"{s};\n" for s in statements)


def build_repo(repo: Path, files: list[File], k: int, mode: str) -> list[str]:
    """One commit per migration file, then the revert of the last k; the CLI's plan arguments."""
    _git(repo, "init", "-q", "-b", "main")
    (repo / MIGRATIONS_DIR).mkdir(parents=True)
    (repo / "README").write_text("app\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "Start")
    for i, f in enumerate(files, 1):
        (repo / MIGRATIONS_DIR / f"{i:06d}_step_{i}.up.sql").write_text(file_text(f.statements))
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", f"Migration {i}")
    if mode == "refs":
        return ["--from", "HEAD", "--to", f"HEAD~{k}"]
    shas = _git(repo, "rev-list", f"-{k}", "HEAD").split()
    _git(repo, "revert", "--no-commit", f"HEAD~{k}..HEAD")
    body = "\n".join(f"This reverts commit {s}." for s in shas)
    _git(repo, "commit", "-qm", f'Revert "the last {k} migrations"\n\n{body}')
    return ["--commit", "HEAD"]


@dataclass(frozen=True)
class CliRun:
    code: int
    stdout: str
    stderr: str


def run_cli(argv: list[str], *, subprocess_run: bool) -> CliRun:
    """``rollback-plan`` as a user runs it: a process, or ``bot.cli.main`` in this one."""
    if subprocess_run:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *argv], capture_output=True, text=True,
            cwd=Path(__file__).resolve().parent.parent, check=False,
        )  # fmt: skip
        return CliRun(done.returncode, done.stdout, done.stderr)
    from bot.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    except Exception as exc:  # a traceback is what the user would see: a crash
        import traceback

        return CliRun(-1, out.getvalue(), "".join(traceback.format_exception(exc))[-1500:])
    return CliRun(code, out.getvalue(), err.getvalue())


# -- checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    check: str  # b, c or x
    signature: str
    silent: bool
    detail: str
    flagged: bool = False


@dataclass
class Outcome:
    seed: int
    files: list[File]
    k: int
    mode: str
    options: tuple[str, ...]
    failures: list[Failure] = field(default_factory=list)
    complete: bool = False

    def repro(self) -> str:
        lines = []
        for i, f in enumerate(self.files, 1):
            if i == len(self.files) - self.k + 1:
                lines.append(
                    f"-- ---- reverted from here ({self.mode}, plan {' '.join(self.options)}) ----"
                )
            lines.append(f"-- {i:06d}_step_{i}.up.sql")
            lines.append(file_text(f.statements).rstrip())
            if f.rows:
                lines.append("--   rows: " + "; ".join(f.rows))
        return "\n".join(lines)


_NUM = re.compile(r"\d+")


def signature(check: str, line: str) -> str:
    text = line
    for name in sorted((*TABLES, *COLUMNS), key=len, reverse=True):
        text = re.sub(rf"(?<![\w]){re.escape(name)}(?![\w])", "N", text)
    text = re.sub(r"\b(ck|uq|fk|pk|ix|rn|seq|fn|trg)\d+r?\b", r"\1", text)
    return f"{check}: {_NUM.sub('n', text)[:120]}"


def check_files(
    server: ScratchServer,
    files: list[File],
    k: int,
    mode: str,
    options: tuple[str, ...],
    seed: int,
    *,
    subprocess_run: bool,
    db: ScratchDatabase | None = None,
) -> Outcome:
    """Plan the revert of the last k files through the CLI and run its down on the engine."""
    dialect = server.dialect
    outcome = Outcome(seed, files, k, mode, options)
    if db is None:
        db, kept = materialize(server, files)
        if len(kept) != len(files):
            db.close()
            outcome.failures.append(Failure("-", "shrunk away", False, ""))
            return outcome
    tokens = _tokens(files)
    try:
        with tempfile.TemporaryDirectory(prefix="fuzzcli-") as tmp:
            repo = Path(tmp)
            what = build_repo(repo, files, k, mode)
            run = run_cli(["plan", "--repo", str(repo), *what, "--format", "json",
                           "--dialect", dialect, *options], subprocess_run=subprocess_run)  # fmt: skip
        plan = _parse(run, outcome)
        if plan is None:
            return outcome
        ref, _ = materialize(server, files[: len(files) - k], rows=False)
        try:
            want = ref.catalog()
        finally:
            ref.close()
        _check_down(db, dialect, plan, want, tokens, outcome, options)
    finally:
        db.close()
    return outcome


def _parse(run: CliRun, outcome: Outcome) -> dict[str, Any] | None:
    if run.code not in (0, 1):
        last = (run.stderr.strip().splitlines() or ["(no output)"])[-1]
        outcome.failures.append(
            Failure("x", signature("x", f"exit {run.code}: {last}"), True, run.stderr[-1500:])
        )
        return None
    try:
        data = json.loads(run.stdout)
    except json.JSONDecodeError as err:
        outcome.failures.append(
            Failure("x", "x: output is not JSON", True, f"{err}: {run.stdout[:300]}")
        )
        return None
    sources = [s for s in data.get("sources", []) if s.get("path") == MIGRATIONS_DIR]
    if len(sources) != 1:
        outcome.failures.append(
            Failure("x", "x: no plan for the directory", True, json.dumps(data)[:600])
        )
        return None
    plan: dict[str, Any] = sources[0]
    return plan


def _check_down(
    db: ScratchDatabase,
    dialect: str,
    plan: dict[str, Any],
    want: Any,
    tokens: set[str],
    outcome: Outcome,
    options: tuple[str, ...],
) -> None:
    verification = plan.get("verification")
    proven = verification is None or bool(verification.get("verified"))
    complete = bool(plan.get("complete")) and not plan.get("unmodelled") and proven
    outcome.complete = complete
    tag = f" [{plan.get('method')}{', proven' if verification and proven else ''}]"
    statements = [s["sql"] for s in plan.get("statements", [])]
    declared = {
        r["object"].lower()
        for s in plan.get("statements", [])
        for r in s.get("risks", [])
        if r.get("category") == "data-loss" and r.get("object")
    }
    declared |= _renamed_back(statements, declared)
    before = snapshot(db, db.catalog())
    try:
        run_script(db, dialect, statements)
    except EngineError as err:
        risky = any(
            r.get("category") == "might-fail"
            for s in _failed_step(plan.get("statements", []), err.statement)
            for r in s.get("risks", [])
        )
        message = (err.message or "").splitlines()[0] if err.message else ""
        sig = signature("b", f"down fails: {err.code} {message}") + tag
        outcome.failures.append(
            Failure("b", sig, complete and not risky, str(err)[:800], complete and risky)
        )
        return
    got = db.catalog()
    order = dialect == "mysql" or "--exact-column-order" in options
    lines = got.diff(want, column_order=order)
    if lines:
        outcome.failures.append(
            Failure("b", signature("b", lines[0]) + tag, complete, "\n".join(lines)[:1500])
        )
    after = snapshot(db, got)
    lost = lost_tokens(before, after, tokens, declared)
    if lost:
        outcome.failures.append(
            Failure("c", signature("c", lost[0]) + tag, complete, "\n".join(lost)[:1500])
        )


def _failed_step(statements: list[dict[str, Any]], failed: str) -> list[dict[str, Any]]:
    """The statement a down failed at, and in a SQLite rebuild the CREATE TABLE of its new
    table too: the plan puts the risks of the rebuilt shape there, the copy is what fails."""
    at = next((i for i, s in enumerate(statements) if s["sql"].strip() == failed.strip()), None)
    if at is None:
        return []
    start = at
    rebuild = re.match(r"(?is)\s*(INSERT INTO|DROP TABLE|ALTER TABLE|PRAGMA)\b", failed)
    while (
        rebuild and start > 0 and not statements[start]["sql"].startswith("CREATE TABLE _rp_new_")
    ):
        start -= 1
    return (
        statements[start : at + 1]
        if statements[start]["sql"].startswith("CREATE TABLE _rp_new_")
        else [statements[at]]
    )


_NAME = r"(`[^`]+`|\"[^\"]+\"|[\w.]+)"
_RENAME_TABLE = re.compile(
    rf"(?is)^\s*(?:ALTER TABLE {_NAME} RENAME TO|RENAME TABLE {_NAME} TO) {_NAME}"
)
_RENAME_COLUMN = re.compile(
    rf"(?is)^\s*ALTER TABLE {_NAME} (?:RENAME COLUMN {_NAME} TO|CHANGE COLUMN {_NAME}) {_NAME}"
)


def _bare(name: str) -> str:
    return name.strip('`"').lower()


def _renamed_back(statements: list[str], declared: set[str]) -> set[str]:
    """Declared objects under the names they had before the down renamed them."""
    out = set(declared)
    for sql in reversed(statements):
        if m := _RENAME_TABLE.match(sql):
            old, new = _bare(m[1] or m[2]), _bare(m[3])
            out |= {old + x[len(new) :] for x in out if x == new or x.startswith(new + ".")}
        elif m := _RENAME_COLUMN.match(sql):
            table, old, new = _bare(m[1]), _bare(m[2] or m[3]), _bare(m[4])
            if f"{table}.{new}" in out:
                out.add(f"{table}.{old}")
    return out - declared


def lost_tokens(
    before: dict[str, tuple[list[str], list[tuple[Any, ...]]]],
    after: dict[str, tuple[list[str], list[tuple[Any, ...]]]],
    tokens: set[str],
    declared: set[str],
) -> list[str]:
    """Columns whose inserted values are no longer all found together in any one column."""
    pools: list[Counter[str]] = []
    for columns, rows in after.values():
        for i in range(len(columns)):
            pools.append(Counter(str(comparable(r[i])) for r in rows))
    problems = []
    for table, (columns, rows) in before.items():
        plain = table.removeprefix("public.")
        if plain.lower() in declared:
            continue
        for i, column in enumerate(columns):
            if f"{plain}.{column}".lower() in declared:
                continue
            mine = Counter(v for r in rows if (v := str(comparable(r[i]))) in tokens)
            if mine and not any(all(pool[v] >= n for v, n in mine.items()) for pool in pools):
                problems.append(f"{plain}.{column}: {sum(mine.values())} values lost, not declared")
    return problems


def check_sequence(
    server: ScratchServer, seed: int, files: int, *, subprocess_run: bool, verify: bool
) -> Outcome:
    """Generate one sequence from ``seed``, plan the revert of its last files, check the down."""
    db, made, _ = generate(server, seed, files)
    rnd = random.Random(seed * 7919)
    if not made:
        db.close()
        return Outcome(seed, made, 0, "-", ())
    k = rnd.randint(1, min(3, len(made)))
    mode = rnd.choice(("revert", "refs"))
    options: tuple[str, ...] = ("--verify",) if verify else ()
    if server.dialect == "sqlite" and rnd.random() < 0.3:
        options += ("--exact-column-order",)
    return check_files(server, made, k, mode, options, seed, subprocess_run=subprocess_run, db=db)


def shrink(
    server: ScratchServer, outcome: Outcome, failure: Failure, *, subprocess_run: bool
) -> Outcome:
    """Drop files, statements and rows one at a time while the same class still fails."""

    def same(files: list[File], k: int) -> Outcome | None:
        if k < 1 or k > len(files):
            return None
        o = check_files(
            server,
            files,
            k,
            outcome.mode,
            outcome.options,
            outcome.seed,
            subprocess_run=subprocess_run,
        )
        hit = any(
            f.signature == failure.signature and f.silent == failure.silent for f in o.failures
        )
        return o if hit else None

    best, files, k = (
        outcome,
        [File(list(f.statements), list(f.rows)) for f in outcome.files],
        outcome.k,
    )
    changed = True
    while changed:
        changed = False
        for i in range(len(files) - 1, -1, -1):  # whole files
            trial = files[:i] + files[i + 1 :]
            nk = k - (1 if i >= len(files) - k else 0)
            found = same(trial, nk)
            if found:
                best, files, k, changed = found, trial, nk, True
                break
        if changed:
            continue
        for i in range(len(files)):
            for attr in ("statements", "rows"):
                items = getattr(files[i], attr)
                for j in range(len(items) - 1, -1, -1):
                    if attr == "statements" and len(items) == 1:
                        continue
                    trial = [File(list(f.statements), list(f.rows)) for f in files]
                    del getattr(trial[i], attr)[j]
                    found = same(trial, k)
                    if found:
                        best, files, changed = found, trial, True
                        break
                if changed:
                    break
            if changed:
                break
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=("postgres", "mysql", "sqlite"), required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--files", type=int, default=7, help="migration files per sequence")
    parser.add_argument("--verify", action="store_true", help="pass --verify to the CLI")
    parser.add_argument(
        "--subprocess", action="store_true", help="run the CLI as a new process each time"
    )
    parser.add_argument(
        "--shrink", action="store_true", help="shrink one example of each silent or crash class"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    server = start_scratch_server(args.dialect)
    started = time.perf_counter()
    per_check: Counter[str] = Counter()
    silent_per_check: Counter[str] = Counter()
    flagged_per_check: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    silent_classes: Counter[str] = Counter()
    examples: dict[str, tuple[Outcome, Failure]] = {}
    statements = complete = 0
    try:
        for seed in range(args.seed, args.seed + args.count):
            out = check_sequence(
                server, seed, args.files, subprocess_run=args.subprocess, verify=args.verify
            )
            statements += sum(len(f.statements) for f in out.files)
            complete += out.complete
            for check in sorted({f.check for f in out.failures}):
                per_check[check] += 1
                if any(f.silent for f in out.failures if f.check == check):
                    silent_per_check[check] += 1
                elif any(f.flagged for f in out.failures if f.check == check):
                    flagged_per_check[check] += 1
            for f in {f.signature: f for f in out.failures}.values():
                classes[f.signature] += 1
                silent_classes[f.signature] += f.silent
                if f.signature not in examples or (
                    f.silent and not examples[f.signature][1].silent
                ):
                    examples[f.signature] = (out, f)
        shown: dict[str, str] = {}
        for sig, (out, f) in examples.items():
            if args.shrink and f.silent:
                out = shrink(server, out, f, subprocess_run=args.subprocess)
                f = next((x for x in out.failures if x.signature == sig), f)
            shown[sig] = f"seed {out.seed}:\n{out.repro()}\n-- {f.detail[:600]}"
    finally:
        server.close()
    seconds = time.perf_counter() - started
    result = {
        "dialect": args.dialect, "sequences": args.count, "seed": args.seed,
        "statements": statements, "complete_plans": complete, "seconds": round(seconds, 1),
        "failed_sequences_per_check": dict(sorted(per_check.items())),
        "silent_sequences_per_check": dict(sorted(silent_per_check.items())),
        "flagged_sequences_per_check": dict(sorted(flagged_per_check.items())),
        "classes": {k: [v, silent_classes[k]] for k, v in classes.most_common()},
    }  # fmt: skip
    if args.json:
        result["examples"] = shown
        print(json.dumps(result, indent=2))
        return
    print(
        f"{args.dialect}: {args.count} sequences, {statements} statements kept,"
        f" {complete} plans complete, seeds {args.seed}..{args.seed + args.count - 1}, {seconds:.0f} s"
    )
    names = {"b": "down schema", "c": "down rows", "x": "crash"}
    for check, label in names.items():
        n, s, fl = per_check[check], silent_per_check[check], flagged_per_check[check]
        print(f"  {check} {label:12} failed {n:5}  silent {s:5}  flagged {fl:5}")
    print("classes (sequences, of them silent):")
    for sig, n in classes.most_common():
        print(f"  {n:5} {silent_classes[sig]:5}  {sig}")
    for sig, text in shown.items():
        if silent_classes[sig]:
            print(f"\n== {sig}\n{text}")


if __name__ == "__main__":
    main()
