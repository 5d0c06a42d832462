"""Differential fuzzer: random migration sequences checked against the real engines' catalogs.

Each sequence is generated on a scratch database (a statement is kept only if the engine accepts
it; a few valid rows go into every table as it is created or widened), then checked three ways:

  a  ``schema`` output (create_all of the replayed model) loaded into an empty database gives
     the sequence's catalog;
  b  the down from the full sequence to a random prefix, run on the engine over the rows, gives
     the prefix's catalog (column order aside on PostgreSQL);
  c  that down loses no row or value of a table or column that exists at both ends.

A failure of a down the plan calls complete (no unmodelled statement) is "silent", except a
down that fails at a statement the plan marks as one that may fail on rows (a might-fail
finding): the plan said so there ("flagged", counted apart).

    python bench/fuzz.py --dialect sqlite --count 300 --seed 1 [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import random
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus_engines import transaction_control
from bot.core.changes import DropColumn, DropTable
from bot.core.diff import create_all
from bot.core.down import Down, down_between
from bot.core.model import Dialect, Schema
from bot.core.render import render
from bot.core.replay import Migration, replay
from bot.core.risk import Category
from bot.core.risk.analyse import assess, statement_findings
from bot.engines import Catalog, EngineError, ScratchDatabase, ScratchServer, start_scratch_server
from bot.engines.seed import lost_values, snapshot

# Names that need quoting: keywords, mixed case, spaces. No two equal ignoring case.
TABLE_NAMES = ("t1", "t2", "t3", "t4", "t5", "t6", "order", "User", "my tab", "Group")
COLUMN_NAMES = ("a", "b", "c", "d", "e", "f", "select", "Value", "my col", "key", "desc")
VIEW_NAMES = ("v1", "v2", "v3", "view", "My View")
INDEX_NAMES = ("i1", "i2", "i3", "i4", "index", "Idx Mixed")
ENUM_NAMES = ("mood", "Status")

TYPES = {
    "postgres": ("integer", "bigint", "text", "varchar(20)", "boolean", "numeric(8,2)", "date"),
    "mysql": ("INT", "BIGINT", "TEXT", "VARCHAR(20)", "BOOLEAN", "DECIMAL(8,2)", "DATE"),
    "sqlite": ("INTEGER", "TEXT", "REAL", "NUMERIC", "VARCHAR(20)", "BLOB"),
}
# ALTER COLUMN TYPE targets that keep the generated values as they are
WIDER = {
    "integer": "bigint",
    "bigint": "integer",
    "varchar(20)": "text",
    "text": "varchar(20)",
    "INT": "BIGINT",
    "BIGINT": "INT",
    "VARCHAR(20)": "TEXT",
    "TEXT": "VARCHAR(20)",
}


def quote(dialect: str, name: str) -> str:
    """A name quoted for the dialect, whatever it is."""
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Col:
    """A column as the generator knows it; ``origin`` is its identity across renames."""

    name: str
    type: str
    origin: int
    notnull: bool = False
    enum: tuple[str, ...] = ()


@dataclass
class Tab:
    name: str
    origin: int
    cols: list[Col]


@dataclass
class Model:
    """What the generator believes exists (only changed when the engine accepted a statement)."""

    tables: list[Tab] = field(default_factory=list)
    views: dict[str, str] = field(default_factory=dict)  # view -> table name it reads
    indexes: dict[str, str] = field(default_factory=dict)  # index -> table name
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def copy(self) -> Model:
        return Model(
            [Tab(t.name, t.origin, [Col(**vars(c)) for c in t.cols]) for t in self.tables],
            dict(self.views),
            dict(self.indexes),
            dict(self.enums),
        )

    def table(self, name: str) -> Tab | None:
        return next((t for t in self.tables if t.name == name), None)


@dataclass(frozen=True)
class Failure:
    """One failed check of one sequence."""

    check: str  # "a", "b" or "c"
    signature: str  # short class: check + first differing line / engine error class
    silent: bool  # the down said complete with nothing unmodelled
    detail: str
    flagged: bool = False  # said complete, but failed where the plan says it may fail


@dataclass
class Sequence:
    seed: int
    migrations: list[Migration]
    prefix: int
    failures: list[Failure] = field(default_factory=list)

    def repro(self) -> str:
        """The SQL of the sequence, the prefix marked, for a minimal reproduction by hand."""
        lines = []
        for i, m in enumerate(self.migrations):
            if i == self.prefix:
                lines.append("-- ---- prefix ends here; the down goes back to this point ----")
            lines.append(m.sql.rstrip() + ";")
        return "\n".join(lines)


class Generator:
    """Random migrations for one dialect, each kept only if the engine accepts it."""

    def __init__(self, dialect: str, db: ScratchDatabase, rnd: random.Random) -> None:
        self.dialect = dialect
        self.db = db
        self.rnd = rnd
        self.model = Model()
        self.next_origin = 1
        self.next_value = 1
        self.kept: list[str] = []
        self.states: list[Model] = [self.model.copy()]

    def q(self, name: str) -> str:
        return quote(self.dialect, name)

    def origin(self) -> int:
        self.next_origin += 1
        return self.next_origin

    def run(self, steps: int) -> None:
        for _ in range(steps * 4):
            if len(self.kept) >= steps:
                break
            made = self.step()
            if made is None:
                continue
            statements, update, fill = made
            if not self.apply(statements):
                continue
            update()
            self.kept.append(";\n".join(statements))
            self.states.append(self.model.copy())
            if fill is not None:
                self.insert_rows(fill)

    def apply(self, statements: list[str]) -> bool:
        before = self.db.catalog() if self.dialect == "mysql" and len(statements) > 1 else None
        try:
            if self.dialect != "mysql" and len(statements) > 1:
                self.db.execute(["BEGIN", *statements, "COMMIT"])
            else:
                self.db.execute(statements)
        except EngineError:
            if self.dialect in ("sqlite", "postgres") and len(statements) > 1:
                self.db.execute(["ROLLBACK"])
            if before is not None and self.db.catalog() != before:
                raise
            return False
        return True

    # -- rows ---------------------------------------------------------------------------

    def value(self, col: Col) -> str:
        self.next_value += 1
        n = self.next_value
        t = col.type.lower()
        if col.enum:
            return "'" + self.rnd.choice(col.enum) + "'"
        if t in ("integer", "int", "bigint"):
            return str(n)
        if t.startswith(("numeric", "decimal", "real")):
            return f"{n}.5"
        if t == "boolean":
            return self.rnd.choice(("TRUE", "FALSE")) if self.dialect != "sqlite" else "1"
        if t == "date":
            return f"'2020-01-{1 + n % 28:02d}'"
        if t == "blob":
            return f"X'{n:04x}'"
        return f"'v{n}'"

    def insert_rows(self, table: Tab) -> None:
        for _ in range(self.rnd.randint(1, 3)):
            cols = [c for c in table.cols if c.name != "id"]
            names = ", ".join(self.q(c.name) for c in cols)
            values = ", ".join(self.value(c) for c in cols)
            self.next_value += 1
            sql = (
                f"INSERT INTO {self.q(table.name)} ({self.q('id')}{', ' if cols else ''}{names})"
                f" VALUES ({self.next_value}{', ' if cols else ''}{values})"
            )
            with contextlib.suppress(EngineError):  # a CHECK or UNIQUE refused it: fine
                self.db.execute([sql])

    # -- statements ---------------------------------------------------------------------

    def step(self) -> tuple[list[str], object, Tab | None] | None:
        m = self.model
        choices = ["create_table"] * (4 if len(m.tables) < 2 else 1)
        if m.tables:
            choices += [
                "add_column", "add_column", "drop_column", "rename_column", "rename_table",
                "create_index", "create_view", "alter_type", "alter_default", "alter_null",
                "drop_table",
            ]  # fmt: skip
            if self.dialect == "sqlite":
                choices += ["rebuild"]
        if m.indexes:
            choices.append("drop_index")
        if m.views:
            choices += ["drop_view", "drop_view"]
        if self.dialect == "postgres" and len(m.enums) < len(ENUM_NAMES):
            choices.append("create_enum")
        kind = self.rnd.choice(choices)
        made: tuple[list[str], object, Tab | None] | None = getattr(self, kind)()
        return made

    def new_column(self, taken: set[str], table_name: str) -> tuple[str, Col] | None:
        free = [n for n in COLUMN_NAMES if n.lower() not in taken]
        if not free:
            return None
        name = self.rnd.choice(free)
        enum_names = list(self.model.enums)
        if self.dialect == "postgres" and enum_names and self.rnd.random() < 0.2:
            ename = self.rnd.choice(enum_names)
            col = Col(name, self.q(ename), self.origin(), enum=self.model.enums[ename])
        elif self.dialect == "mysql" and self.rnd.random() < 0.15:
            col = Col(name, "ENUM('a','b','c')", self.origin(), enum=("a", "b", "c"))
        else:
            col = Col(name, self.rnd.choice(TYPES[self.dialect]), self.origin())
        parts = [self.q(name), col.type]
        r = self.rnd.random()
        if r < 0.25:
            parts += ["DEFAULT", self.value(col)]
            if self.rnd.random() < 0.5:
                parts.append("NOT NULL")
                col.notnull = True
        elif r < 0.35:
            parts.append("NOT NULL")
            col.notnull = True
        t = col.type.lower()
        if t in ("integer", "int", "bigint") and self.rnd.random() < 0.2:
            parts.append(f"CHECK ({self.q(name)} > 0)")
        if self.rnd.random() < 0.1:
            parts.append("UNIQUE")
        others = [x for x in self.model.tables if x.name != table_name]
        if t in ("integer", "int", "bigint") and others and self.rnd.random() < 0.2:
            target = self.rnd.choice(others)
            parts.append(f"REFERENCES {self.q(target.name)} ({self.q('id')})")
            col.notnull = False
            parts = [p for p in parts if p != "NOT NULL"]
            if "DEFAULT" in parts:
                i = parts.index("DEFAULT")
                del parts[i : i + 2]
        if self.dialect == "sqlite" and t == "text" and self.rnd.random() < 0.1:
            parts.append("COLLATE NOCASE")
        return " ".join(parts), col

    def create_table(self) -> tuple[list[str], object, Tab | None] | None:
        taken = {t.name.lower() for t in self.model.tables}
        free = [n for n in TABLE_NAMES if n.lower() not in taken]
        if not free:
            return None
        name = self.rnd.choice(free)
        idtype = {"postgres": "integer", "mysql": "INT", "sqlite": "INTEGER"}[self.dialect]
        if self.dialect == "postgres" and self.rnd.random() < 0.3:
            idtype = "serial"
        cols = [Col("id", idtype if idtype != "serial" else "integer", self.origin(), True)]
        defs = [f"{self.q('id')} {idtype} PRIMARY KEY"]
        for _ in range(self.rnd.randint(1, 4)):
            made = self.new_column({c.name.lower() for c in cols}, name)
            if made:
                defs.append(made[0])
                cols.append(made[1])
        if self.rnd.random() < 0.15:
            ints = [c for c in cols if c.type.lower() in ("integer", "int", "bigint")]
            c = self.rnd.choice(ints)
            defs.append(f"CONSTRAINT {self.q(name + '_chk')} CHECK ({self.q(c.name)} >= 0)")
        if len(cols) > 2 and self.rnd.random() < 0.15:
            a, b = self.rnd.sample(cols[1:], 2)
            defs.append(f"UNIQUE ({self.q(a.name)}, {self.q(b.name)})")
        sql = f"CREATE TABLE {self.q(name)} (\n  " + ",\n  ".join(defs) + "\n)"
        if self.dialect == "mysql" and self.rnd.random() < 0.3:
            sql += self.rnd.choice(
                (
                    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                    " DEFAULT CHARSET=latin1",
                    " ENGINE=InnoDB COLLATE=utf8mb4_bin",
                )
            )
        tab = Tab(name, self.origin(), cols)
        return [sql], lambda: self.model.tables.append(tab), tab

    def pick_table(self) -> Tab:
        return self.rnd.choice(self.model.tables)

    def viewed(self, table: str) -> bool:
        return table in self.model.views.values()

    def add_column(self) -> tuple[list[str], object, Tab | None] | None:
        t = self.pick_table()
        made = self.new_column({c.name.lower() for c in t.cols}, t.name)
        if made is None:
            return None
        sql = f"ALTER TABLE {self.q(t.name)} ADD COLUMN {made[0]}"
        return [sql], lambda: t.cols.append(made[1]), t

    def drop_column(self) -> tuple[list[str], object, Tab | None] | None:
        t = self.pick_table()
        cols = [c for c in t.cols if c.name != "id"]
        if not cols or self.viewed(t.name):
            return None
        c = self.rnd.choice(cols)
        sql = f"ALTER TABLE {self.q(t.name)} DROP COLUMN {self.q(c.name)}"
        return [sql], lambda: t.cols.remove(c), None

    def rename_column(self) -> tuple[list[str], object, Tab | None] | None:
        t = self.pick_table()
        cols = [c for c in t.cols if c.name != "id"]
        taken = {c.name.lower() for c in t.cols}
        free = [n for n in COLUMN_NAMES if n.lower() not in taken]
        if not cols or not free or (self.dialect == "mysql" and self.viewed(t.name)):
            return None
        c, new = self.rnd.choice(cols), self.rnd.choice(free)
        sql = f"ALTER TABLE {self.q(t.name)} RENAME COLUMN {self.q(c.name)} TO {self.q(new)}"

        def update() -> None:
            c.name = new

        return [sql], update, None

    def rename_table(self) -> tuple[list[str], object, Tab | None] | None:
        t = self.pick_table()
        taken = {x.name.lower() for x in self.model.tables}
        free = [n for n in TABLE_NAMES if n.lower() not in taken]
        if not free or (self.dialect == "mysql" and self.viewed(t.name)):
            return None
        new = self.rnd.choice(free)
        if self.dialect == "mysql" and self.rnd.random() < 0.5:
            sql = f"RENAME TABLE {self.q(t.name)} TO {self.q(new)}"
        else:
            sql = f"ALTER TABLE {self.q(t.name)} RENAME TO {self.q(new)}"
        old = t.name

        def update() -> None:
            t.name = new
            self.model.views = {v: new if x == old else x for v, x in self.model.views.items()}
            self.model.indexes = {i: new if x == old else x for i, x in self.model.indexes.items()}

        return [sql], update, None

    def drop_table(self) -> tuple[list[str], object, Tab | None] | None:
        t = self.pick_table()
        if self.viewed(t.name):
            return None

        def update() -> None:
            self.model.tables.remove(t)
            self.model.indexes = {i: x for i, x in self.model.indexes.items() if x != t.name}

        return [f"DROP TABLE {self.q(t.name)}"], update, None

    def create_index(self) -> tuple[list[str], object, Tab | None] | None:
        t = self.pick_table()
        free = [n for n in INDEX_NAMES if n not in self.model.indexes]
        cols = [c for c in t.cols]
        if not free:
            return None
        name = self.rnd.choice(free)
        picked = self.rnd.sample(cols, min(len(cols), self.rnd.randint(1, 2)))
        parts = []
        for c in picked:
            part = self.q(c.name)
            texty = c.type.lower() in ("text", "varchar(20)")
            if texty and self.rnd.random() < 0.4:
                if self.dialect == "mysql":
                    part += "(5)"
                else:
                    part = f"(lower({part}))" if self.dialect == "postgres" else f"lower({part})"
            if self.rnd.random() < 0.2:
                part += " DESC"
            parts.append(part)
        unique = "UNIQUE " if self.rnd.random() < 0.2 else ""
        sql = f"CREATE {unique}INDEX {self.q(name)} ON {self.q(t.name)} ({', '.join(parts)})"

        def update() -> None:
            self.model.indexes[name] = t.name

        return [sql], update, None

    def drop_index(self) -> tuple[list[str], object, Tab | None] | None:
        name = self.rnd.choice(sorted(self.model.indexes))
        table = self.model.indexes[name]
        sql = f"DROP INDEX {self.q(name)}"
        if self.dialect == "mysql":
            sql += f" ON {self.q(table)}"

        def update() -> None:
            del self.model.indexes[name]

        return [sql], update, None

    def create_view(self) -> tuple[list[str], object, Tab | None] | None:
        t = self.pick_table()
        free = [n for n in VIEW_NAMES if n not in self.model.views]
        if not free:
            return None
        name = self.rnd.choice(free)
        cols = self.rnd.sample(t.cols, self.rnd.randint(1, len(t.cols)))
        select = ", ".join(self.q(c.name) for c in cols)
        sql = f"CREATE VIEW {self.q(name)} AS SELECT {select} FROM {self.q(t.name)}"

        def update() -> None:
            self.model.views[name] = t.name

        return [sql], update, None

    def drop_view(self) -> tuple[list[str], object, Tab | None] | None:
        name = self.rnd.choice(sorted(self.model.views))

        def update() -> None:
            del self.model.views[name]

        return [f"DROP VIEW {self.q(name)}"], update, None

    def _column(self) -> tuple[Tab, Col] | None:
        t = self.pick_table()
        cols = [c for c in t.cols if c.name != "id"]
        if not cols or (self.dialect == "mysql" and self.viewed(t.name)):
            return None
        return t, self.rnd.choice(cols)

    def alter_type(self) -> tuple[list[str], object, Tab | None] | None:
        picked = self._column()
        if picked is None or self.dialect == "sqlite":
            return None
        t, c = picked
        new = WIDER.get(c.type)
        if new is None:
            return None
        if self.dialect == "postgres":
            sql = f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {self.q(c.name)} TYPE {new}"
        else:
            null = " NOT NULL" if c.notnull else ""
            sql = f"ALTER TABLE {self.q(t.name)} MODIFY COLUMN {self.q(c.name)} {new}{null}"

        def update() -> None:
            c.type = new

        return [sql], update, None

    def alter_default(self) -> tuple[list[str], object, Tab | None] | None:
        picked = self._column()
        if picked is None or self.dialect == "sqlite":
            return None
        t, c = picked
        if c.type.upper() in ("TEXT", "BLOB") and self.dialect == "mysql":
            return None
        action = f"SET DEFAULT {self.value(c)}" if self.rnd.random() < 0.6 else "DROP DEFAULT"
        sql = f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {self.q(c.name)} {action}"
        return [sql], lambda: None, None

    def alter_null(self) -> tuple[list[str], object, Tab | None] | None:
        picked = self._column()
        if picked is None or self.dialect == "sqlite":
            return None
        t, c = picked
        notnull = not c.notnull
        if self.dialect == "postgres":
            action = "SET NOT NULL" if notnull else "DROP NOT NULL"
            sql = f"ALTER TABLE {self.q(t.name)} ALTER COLUMN {self.q(c.name)} {action}"
        else:
            null = " NOT NULL" if notnull else " NULL"
            sql = f"ALTER TABLE {self.q(t.name)} MODIFY COLUMN {self.q(c.name)} {c.type}{null}"

        def update() -> None:
            c.notnull = notnull

        return [sql], update, None

    def create_enum(self) -> tuple[list[str], object, Tab | None] | None:
        name = self.rnd.choice([n for n in ENUM_NAMES if n not in self.model.enums])
        labels = tuple(self.rnd.sample(("happy", "sad", "ok", "Mixed Label"), 3))
        sql = f"CREATE TYPE {self.q(name)} AS ENUM (" + ", ".join(f"'{x}'" for x in labels) + ")"

        def update() -> None:
            self.model.enums[name] = labels

        return [sql], update, None

    def rebuild(self) -> tuple[list[str], object, Tab | None] | None:
        """SQLite's rename-away / create / copy / drop rebuild, dropping or retyping a column."""
        t = self.pick_table()
        if self.viewed(t.name) or len(t.cols) < 2:
            return None
        drop = self.rnd.choice(t.cols[1:])
        keep = [c for c in t.cols if c is not drop]
        old = f"{t.name}_old"
        defs = [f"{self.q('id')} INTEGER PRIMARY KEY"] + [
            f"{self.q(c.name)} {c.type}{' NOT NULL' if c.notnull else ''}" for c in keep[1:]
        ]
        names = ", ".join(self.q(c.name) for c in keep)
        statements = [
            f"ALTER TABLE {self.q(t.name)} RENAME TO {self.q(old)}",
            f"CREATE TABLE {self.q(t.name)} ({', '.join(defs)})",
            f"INSERT INTO {self.q(t.name)} ({names}) SELECT {names} FROM {self.q(old)}",
            f"DROP TABLE {self.q(old)}",
        ]

        def update() -> None:
            t.cols.remove(drop)
            self.model.indexes = {i: x for i, x in self.model.indexes.items() if x != t.name}

        return statements, update, None


# -- checks -------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d+")


def signature(check: str, line: str) -> str:
    """A failure's class: the check and its first differing line with the names taken out."""
    text = re.sub(r"_rp_new_[^.\s]+", "_rp_new_N", line)  # SQLite rebuild's scratch table
    for name in sorted(
        TABLE_NAMES + COLUMN_NAMES + VIEW_NAMES + INDEX_NAMES + ENUM_NAMES, key=len, reverse=True
    ):
        text = re.sub(rf"(?<![\w]){re.escape(name)}(?![\w])", "N", text)
    text = _NUMBER.sub("n", text)
    return f"{check}: {text[:110]}"


def run_script(db: ScratchDatabase, dialect: str, statements: list[str]) -> None:
    """Run a script the way a migration tool would (SQLite and PostgreSQL in a transaction)."""
    if dialect == "mysql" or any(transaction_control(s) for s in statements):
        db.execute(statements)
        return
    try:
        db.execute(["BEGIN", *statements, "COMMIT"])
    except EngineError:
        db.execute(["ROLLBACK"])
        raise


def _error_class(err: EngineError) -> str:
    message = err.message.splitlines()[0] if err.message else ""
    return f"{err.code or '?'} {message}"


def check_sequence(server: ScratchServer, seed: int, steps: int) -> Sequence:
    """Generate one sequence from ``seed`` and check it three ways."""
    dialect = server.dialect
    rnd = random.Random(seed)
    gen_db = server.new_database()
    try:
        gen = Generator(dialect, gen_db, rnd)
        gen.run(steps)
        migrations = [Migration(f"{i + 1:04d}_fuzz.sql", sql) for i, sql in enumerate(gen.kept)]
        prefix = rnd.randint(0, max(0, len(migrations) - 1))
        seq = Sequence(seed, migrations, prefix)
        full = gen_db.catalog()
        try:
            _check_schema(server, seq, full)
            _check_down(server, seq, gen, gen_db, full)
        except Exception as err:  # a traceback from bot/ is a finding, not the end of the run
            if isinstance(err, EngineError):
                raise
            seq.failures.append(
                Failure("x", f"x: crash {type(err).__name__}", True, repr(err)[:300])
            )
        return seq
    finally:
        gen_db.close()


def _check_schema(server: ScratchServer, seq: Sequence, full: Catalog) -> None:
    dialect = Dialect(server.dialect)
    history = replay(seq.migrations, dialect)
    statements = [r.sql for r in render(create_all(history.schema), Schema(dialect))]
    db = server.new_database()
    try:
        try:
            run_script(db, server.dialect, statements)
        except EngineError as err:
            seq.failures.append(
                Failure("a", f"a: error {signature('', _error_class(err))[2:]}", False, str(err))
            )
            return
        lines = db.catalog().diff(full, column_order=server.dialect != "postgres")
        if lines:
            seq.failures.append(Failure("a", signature("a", lines[0]), False, "\n".join(lines)))
    finally:
        db.close()


def _check_down(
    server: ScratchServer, seq: Sequence, gen: Generator, gen_db: ScratchDatabase, full: Catalog
) -> None:
    dialect = server.dialect
    older = seq.migrations[: seq.prefix]
    down = down_between(seq.migrations, older, Dialect(dialect))
    silent = down.complete
    ref = server.new_database()
    try:
        for m in older:
            gen_apply = m.sql.split(";\n")
            run_script(ref, dialect, gen_apply) if len(gen_apply) > 1 else ref.execute(gen_apply)
        want = ref.catalog()
    finally:
        ref.close()
    before = snapshot(gen_db, full)
    try:
        run_script(gen_db, dialect, [s.sql for s in down.statements])
    except EngineError as err:
        cls = _error_class(err)
        flagged = silent and _flagged(seq, down, Dialect(dialect), err.statement)
        seq.failures.append(
            Failure(
                "b",
                f"b: down fails {signature('', cls)[2:]}",
                silent and not flagged,
                str(err),
                flagged,
            )
        )
        return
    got = gen_db.catalog()
    lines = got.diff(want, column_order=dialect != "postgres")
    if lines:
        sig = signature("b", lines[0]) + f" [{down.method}]"
        seq.failures.append(Failure("b", sig, silent, "\n".join(lines)))
    _check_rows(seq, gen, gen_db, down, before, got, silent)


def _flagged(seq: Sequence, down: Down, dialect: Dialect, failed: str) -> bool:
    """Whether the plan marks the statement the down failed at as one that may fail on rows."""
    newer = replay(seq.migrations, dialect).schema
    assessment = assess(down.changes, newer, unmodelled=down.unmodelled, statements=down.statements)
    return any(
        f.category is Category.MIGHT_FAIL
        for r, findings in statement_findings(assessment, down.statements)
        if r.sql.strip() == failed.strip()
        for f in findings
    )


def _check_rows(
    seq: Sequence,
    gen: Generator,
    db: ScratchDatabase,
    down: Down,
    before: dict[str, tuple[list[str], list[tuple[object, ...]]]],
    got: Catalog,
    silent: bool,
) -> None:
    now, then = gen.states[-1], gen.states[seq.prefix]
    old_tables = {t.origin: t for t in then.tables}
    renames: dict[str, str] = {}
    created: list[str] = []  # what exists now but not at the prefix: the down may drop it
    for t in now.tables:
        o = old_tables.get(t.origin)
        if o is None:
            created.append(t.name)
            continue
        renames[t.name] = o.name
        old_cols = {c.origin: c for c in o.cols}
        for c in t.cols:
            oc = old_cols.get(c.origin)
            if oc is None:
                created.append(f"{t.name}.{c.name}")
            else:
                renames[f"{t.name}.{c.name}"] = oc.name
    after = snapshot(db, got)
    declared = [str(c.table.name) for c in down.changes if isinstance(c, DropTable)] + [
        f"{c.table}.{c.column.name}" for c in down.changes if isinstance(c, DropColumn)
    ]
    wrong = lost_values(before, after, created, renames)
    if not wrong:
        return
    undeclared = lost_values(before, after, created + declared, renames)
    kind = "lost, not declared" if undeclared else "lost by a declared drop"
    first = (undeclared or wrong)[0]
    sig = signature(f"c {kind}", first) + f" [{down.method}]"
    seq.failures.append(Failure("c", sig, silent, "\n".join(undeclared or wrong)))


# -- driver ---------------------------------------------------------------------------------


def fuzz(server: ScratchServer, seed: int, count: int, steps: int = 12) -> Iterator[Sequence]:
    """``count`` sequences from consecutive seeds starting at ``seed``."""
    for i in range(count):
        yield check_sequence(server, seed + i, steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialect", choices=("postgres", "mysql", "sqlite"), required=True)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=12, help="statements per sequence")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--examples", type=int, default=1, help="reproductions shown per class")
    args = parser.parse_args()
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    server = start_scratch_server(args.dialect)
    started = time.perf_counter()
    per_check: Counter[str] = Counter()
    silent_per_check: Counter[str] = Counter()
    flagged_per_check: Counter[str] = Counter()
    classes: Counter[str] = Counter()
    silent_classes: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    silent_seeds: dict[str, list[int]] = {}  # per class: every silent sequence's seed
    statements = 0
    try:
        for seq in fuzz(server, args.seed, args.count, args.steps):
            statements += len(seq.migrations)
            for check in sorted({f.check for f in seq.failures}):
                per_check[check] += 1
                if any(f.silent for f in seq.failures if f.check == check):
                    silent_per_check[check] += 1
                elif any(f.flagged for f in seq.failures if f.check == check):
                    flagged_per_check[check] += 1
            for f in {f.signature: f for f in seq.failures}.values():
                classes[f.signature] += 1
                silent_classes[f.signature] += f.silent
                shown = examples.setdefault(f.signature, [])
                entry = f"seed {seq.seed}:\n{seq.repro()}\n-- {f.detail[:400]}"
                if f.silent:
                    silent_seeds.setdefault(f.signature, []).append(seq.seed)
                if f.silent and len(silent_seeds[f.signature]) == 1:
                    # a class's first silent member is shown first: the one to chase
                    shown.insert(0, entry)
                    del shown[max(args.examples, 1) :]
                elif len(shown) < args.examples:
                    shown.append(entry)
    finally:
        server.close()
    seconds = time.perf_counter() - started
    result = {
        "dialect": args.dialect,
        "sequences": args.count,
        "seed": args.seed,
        "statements": statements,
        "seconds": round(seconds, 1),
        "failed_sequences_per_check": dict(sorted(per_check.items())),
        "silent_sequences_per_check": dict(sorted(silent_per_check.items())),
        "flagged_sequences_per_check": dict(sorted(flagged_per_check.items())),
        "classes": {k: [v, silent_classes[k]] for k, v in classes.most_common()},
        "silent_seeds": silent_seeds,
    }
    if args.json:
        result["examples"] = examples
        print(json.dumps(result, indent=2))
        return
    print(
        f"{args.dialect}: {args.count} sequences, {statements} statements kept,"
        f" seeds {args.seed}..{args.seed + args.count - 1}, {seconds:.0f} s"
    )
    names = {"a": "schema output", "b": "down schema", "c": "down rows", "x": "crash"}
    for check, label in names.items():
        n, s, f = per_check[check], silent_per_check[check], flagged_per_check[check]
        print(
            f"  {check} {label:14} failed {n:5} ({100 * n / args.count:5.1f}%)  silent {s:5}"
            f"  flagged {f:5}"
        )
    print("classes (sequences, of them silent):")
    for sig, n in classes.most_common():
        print(f"  {n:5} {silent_classes[sig]:5}  {sig}")
        if sig in silent_seeds:
            print(f"               silent seeds: {', '.join(map(str, silent_seeds[sig]))}")
    for sig, shown in examples.items():
        for example in shown if args.examples else ():
            print(f"\n== {sig}\n{example}")


if __name__ == "__main__":
    main()
