"""Data-preserving alternatives, proven on real PostgreSQL, MariaDB and SQLite.

Each engine test builds the newer schema (history + the migration being reverted), fills it,
runs the down with an alternative, acts as the older app, and then — for archive and rename —
re-applies the migration, runs the restore script and checks every row came back identical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.core import changes as ch
from bot.core.alternatives import (
    Alternative,
    Strategy,
    alternatives,
    apply_alternatives,
    narrows,
    object_name,
    safest,
)
from bot.core.changes import reverse_all
from bot.core.down import Down, compute_down, down_between
from bot.core.model import Column, Dialect, EnumType, QName, Schema
from bot.core.render import render
from bot.core.render.names import literal
from bot.core.replay import Migration, replay, replay_sql
from bot.engines import ScratchDatabase

MakeDb = Callable[[str], ScratchDatabase]
LABEL = "3f9c2a1b"  # the revert's sha8
DIALECTS = ("postgres", "mysql", "sqlite")

# -- the history, and the migration being reverted ----------------------------------------

_UPDATED = {
    # MySQL bumps ON UPDATE columns on any UPDATE: the restore must leave them alone.
    "mysql": ", updated_at TIMESTAMP NOT NULL DEFAULT '2001-01-01 00:00:00' "
    "ON UPDATE CURRENT_TIMESTAMP",
}


def history(dialect: str) -> list[str]:
    return [
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL"
        + _UPDATED.get(dialect, "")
        + ")",
        "CREATE TABLE memberships (org_id INTEGER NOT NULL, user_id INTEGER NOT NULL, "
        "role VARCHAR(20) NOT NULL, PRIMARY KEY (org_id, user_id))",
    ]


def reverted(dialect: str) -> list[str]:
    """Adds two columns and two tables (one referencing the other and an older table)."""
    add_bio = ["ALTER TABLE users ADD COLUMN short_bio VARCHAR(200) NOT NULL DEFAULT 'none'"]
    if dialect != "sqlite":
        # the usual way to add a NOT NULL column the app must fill from now on
        add_bio.append("ALTER TABLE users ALTER COLUMN short_bio DROP DEFAULT")
    return [
        *add_bio,
        "CREATE INDEX ix_users_short_bio ON users (short_bio)",
        "ALTER TABLE memberships ADD COLUMN note TEXT",
        "CREATE TABLE teams (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE)",
        "CREATE TABLE team_members (team_id INTEGER NOT NULL REFERENCES teams (id), "
        "user_id INTEGER NOT NULL REFERENCES users (id), PRIMARY KEY (team_id, user_id))",
    ]


ROWS: dict[str, list[tuple[Any, ...]]] = {
    "users": [(1, "Ann", "Grüße 😀 aus Zürich"), (2, "Bob", ""), (3, "Cy", 'it\'s "quoted"')],
    "memberships": [(1, 1, "owner", "first note"), (1, 2, "member", None), (2, 1, "x", "ünï ✓")],
    "teams": [(1, "Core"), (2, "Ops ✓")],
    "team_members": [(1, 1), (1, 3), (2, 3)],
}
COLUMNS = {
    "users": "id, name, short_bio",
    "memberships": "org_id, user_id, role, note",
    "teams": "id, name",
    "team_members": "team_id, user_id",
}


def _sql_value(value: Any, dialect: Dialect) -> str:
    if value is None:
        return "NULL"
    return str(value) if isinstance(value, int | float) else literal(value, dialect)


def inserts(dialect: Dialect) -> list[str]:
    return [
        f"INSERT INTO {table} ({COLUMNS[table]}) VALUES "
        + ", ".join("(" + ", ".join(_sql_value(v, dialect) for v in row) + ")" for row in rows)
        for table, rows in ROWS.items()
    ]


def snapshot(db: ScratchDatabase, *, older_app: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (the listed columns, plus updated_at on MySQL); the older app's
    own rows (user 10) left out unless asked for."""
    out = {}
    for table, cols in COLUMNS.items():
        if table == "users" and db.dialect == "mysql":
            cols += ", updated_at"
        rows = db.query(f"SELECT {cols} FROM {table} ORDER BY {cols.split(',')[0]}")
        keep = [r for r in rows if older_app or 10 not in (r[:2] if table != "users" else r[:1])]
        out[table] = sorted(keep, key=repr)
    return out


def older_app_writes(db: ScratchDatabase) -> None:
    """What the older app does: inserts naming only the older schema's columns."""
    db.execute(
        [
            "INSERT INTO users (id, name) VALUES (10, 'Old app')",
            "INSERT INTO memberships (org_id, user_id, role) VALUES (3, 10, 'member')",
        ]
    )


def newer(db: MakeDb, dialect: str) -> tuple[ScratchDatabase, tuple[Down, Schema]]:
    """A database at the newer schema, filled; the down to the older one; the newer schema."""
    d = Dialect.parse(dialect)
    older = [Migration("001.sql", ";\n".join(history(dialect)) + ";")]
    both = [*older, Migration("002.sql", ";\n".join(reverted(dialect)) + ";")]
    down = down_between(both, older, d)
    database = db(dialect)
    database.execute([*history(dialect), *reverted(dialect), *inserts(d)])
    return database, (down, replay(both, d).schema)


# -- drop column / drop table, each strategy, each engine ---------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("strategy", [Strategy.ARCHIVE, Strategy.RENAME])
def test_archive_and_rename_bring_every_row_back(
    engine_db: MakeDb, dialect: str, strategy: Strategy
) -> None:
    db, (down, schema) = newer(engine_db, dialect)
    before = snapshot(db)
    statements, restore, chosen = apply_alternatives(down.changes, schema, LABEL, only=strategy)

    # every data-losing step (2 columns, 2 tables) was replaced by this strategy
    assert sorted(ch.change_object(a.replaces) for a in chosen) == [
        "memberships.note",
        "team_members",
        "teams",
        "users.short_bio",
    ]
    assert {a.strategy for a in chosen} == {strategy}
    db.execute(statements)
    older_app_writes(db)

    db.execute(reverted(dialect))  # the day the change is re-applied
    db.execute(restore)
    assert snapshot(db) == before
    # the restore cleans up after itself: no archive or deprecated table or column is left
    leftovers = db.query(
        _names_like(dialect, "_rollback_") + " UNION ALL " + _names_like(dialect, "_deprecated_")
    )
    assert leftovers == []


def _names_like(dialect: str, prefix: str) -> str:
    pattern = prefix.replace("_", "\\_") + "%"
    if dialect == "sqlite":
        return (
            "SELECT m.name FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) c "
            f"WHERE m.name LIKE '{pattern}' ESCAPE '\\' OR c.name LIKE '{pattern}' ESCAPE '\\'"
        )
    schema = "current_schema()" if dialect == "postgres" else "DATABASE()"
    pattern = pattern.replace("\\", "\\\\") if dialect == "mysql" else pattern
    return (
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_schema = {schema} AND (table_name LIKE '{pattern}' "
        f"OR column_name LIKE '{pattern}')"
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_archive_leaves_the_older_schema_plus_archives(engine_db: MakeDb, dialect: str) -> None:
    db, (down, schema) = newer(engine_db, dialect)
    statements, _, _ = apply_alternatives(down.changes, schema, LABEL, only=Strategy.ARCHIVE)
    db.execute(statements)
    older = engine_db(dialect)
    older.execute(history(dialect))
    added = set(db.catalog().names("tables")) - set(older.catalog().names("tables"))
    assert {name.rsplit(".", 1)[-1] for name in added} == {
        f"_rollback_{LABEL}_users_short_bio",
        f"_rollback_{LABEL}_memberships_note",
        f"_rollback_{LABEL}_teams",
        f"_rollback_{LABEL}_team_members",
    }
    assert [line for line in db.catalog().diff(older.catalog()) if "_rollback_" not in line] == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_keep_loses_nothing_and_the_older_app_works(engine_db: MakeDb, dialect: str) -> None:
    db, (down, schema) = newer(engine_db, dialect)
    before = snapshot(db)
    statements, restore, chosen = apply_alternatives(down.changes, schema, LABEL)

    assert {a.strategy for a in chosen} == {Strategy.KEEP}  # the safest, by default
    assert restore == []
    db.execute(statements)
    older_app_writes(db)
    assert snapshot(db) == before
    # the kept team_members must not block the older app deleting a user it references
    db.execute(["DELETE FROM users WHERE id = 3"])
    assert db.query("SELECT user_id FROM team_members WHERE user_id = 3") == [(3,), (3,)]


# -- a NOT NULL column without default, kept: SQLite needs its table rebuild ----------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_keep_drops_not_null_the_older_app_does_not_fill(engine_db: MakeDb, dialect: str) -> None:
    d = Dialect.parse(dialect)
    create = "CREATE TABLE accounts (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL"
    older = replay_sql(create + ")", d).schema
    newer_sql = create + ", plan VARCHAR(20) NOT NULL)"
    newer_schema = replay_sql(newer_sql, d).schema
    down = compute_down(newer_schema, older)
    db = engine_db(dialect)
    db.execute([newer_sql, "INSERT INTO accounts VALUES (1, 'a@x', 'pro ✓'), (2, 'b@x', 'free')"])

    statements, _, chosen = apply_alternatives(down.changes, newer_schema, LABEL)
    assert [a.strategy for a in chosen] == [Strategy.KEEP]
    assert "NOT NULL" in chosen[0].explanation
    db.execute(statements)
    db.execute(["INSERT INTO accounts (id, email) VALUES (3, 'old@x')"])
    assert db.rows("accounts") == [(1, "a@x", "pro ✓"), (2, "b@x", "free"), (3, "old@x", None)]


# -- narrowing a type --------------------------------------------------------------------

AMOUNTS = [(1, "1.2345"), (2, None), (3, "-12345678.9876"), (4, "0.0001")]


def _amounts(db: ScratchDatabase) -> list[tuple[Any, ...]]:
    return [
        (i, None if v is None else str(v))
        for i, v in db.query(
            "SELECT id, CAST(amount AS CHAR(40)) FROM prices ORDER BY id"
            if db.dialect == "mysql"
            else "SELECT id, CAST(amount AS TEXT) FROM prices ORDER BY id"
        )
    ]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("strategy", [Strategy.KEEP, Strategy.ARCHIVE])
def test_narrowing_a_type(engine_db: MakeDb, dialect: str, strategy: Strategy) -> None:
    d = Dialect.parse(dialect)
    table = "CREATE TABLE prices (id INTEGER PRIMARY KEY, amount NUMERIC({}))"
    older = replay_sql(table.format("10, 2"), d).schema
    newer_schema = replay_sql(table.format("12, 4"), d).schema
    down = compute_down(newer_schema, older)
    assert [type(c) for c in down.changes] == [ch.AlterColumn]
    db = engine_db(dialect)
    values = ", ".join(f"({i}, {v or 'NULL'})" for i, v in AMOUNTS)
    db.execute([table.format("12, 4"), f"INSERT INTO prices (id, amount) VALUES {values}"])
    before = _amounts(db)

    statements, restore, chosen = apply_alternatives(
        down.changes, newer_schema, LABEL, only=strategy
    )
    assert [a.strategy for a in chosen] == [strategy]
    db.execute(statements)
    db.execute(["INSERT INTO prices (id, amount) VALUES (5, 2.5)"])  # the older app
    if strategy is Strategy.KEEP:
        assert statements == [] and restore == []
        assert _amounts(db)[:4] == before
        return
    if dialect != "sqlite":  # SQLite stores the value as given, whatever the declared type
        assert _amounts(db)[:4] != before, "the narrowing should have rounded the values"
    up = render(reverse_all(list(down.changes)), older)
    db.execute([r.sql for r in up])
    db.execute(restore)
    assert _amounts(db)[:4] == before


# -- pure behaviour ----------------------------------------------------------------------


def test_long_names_are_shortened_within_each_limit_and_stay_distinct() -> None:
    long_table, long_col = "customer_subscription_billing_events", "previous_invoice_reference_x"
    pg = object_name("_rollback", LABEL, (long_table, long_col), Dialect.POSTGRES)
    pg2 = object_name("_rollback", LABEL, (long_table, long_col + "y"), Dialect.POSTGRES)
    my = object_name("_rollback", LABEL, (long_table, long_col), Dialect.MYSQL)
    assert len(pg.encode()) <= 63 and len(my.encode()) <= 64
    assert pg != pg2 and pg.startswith(f"_rollback_{LABEL}_customer")
    assert pg == object_name("_rollback", LABEL, (long_table, long_col), Dialect.POSTGRES)
    assert len(object_name("_rollback", LABEL, ("ü" * 40,), Dialect.POSTGRES).encode()) <= 63
    short = object_name("_rollback", LABEL, ("users", "short_bio"), Dialect.POSTGRES)
    assert short == f"_rollback_{LABEL}_users_short_bio"


def test_archive_is_not_offered_without_a_key_to_match_rows_back() -> None:
    schema = replay_sql(
        "CREATE TABLE logs (at TEXT, message TEXT, code TEXT UNIQUE)", Dialect.POSTGRES
    ).schema
    table = schema.table(QName("logs"))
    assert table is not None
    message = table.column("message", Dialect.POSTGRES)
    assert message is not None
    offered = alternatives(ch.DropColumn(QName("logs"), message), schema, LABEL)
    # a nullable unique column can't identify rows: only keep and rename remain
    assert [a.strategy for a in offered] == [Strategy.KEEP, Strategy.RENAME]
    whole = alternatives(ch.DropTable(table), schema, LABEL)
    assert Strategy.ARCHIVE in [a.strategy for a in whole]  # a full copy needs no key


def test_a_table_with_two_equal_unnamed_uniques_gets_its_alternatives() -> None:
    """SQLite keeps `d UNIQUE` and `UNIQUE (d)` both; renaming d away drops each once (fuzz_cli)."""
    schema = replay_sql(
        "CREATE TABLE p3 (id INTEGER PRIMARY KEY, d TEXT UNIQUE, b TEXT, UNIQUE (d))",
        Dialect.SQLITE,
    ).schema
    table = schema.table(QName("p3"))
    assert table is not None and len(table.uniques) == 2
    d = table.column("d", Dialect.SQLITE)
    assert d is not None
    offered = alternatives(ch.DropColumn(QName("p3"), d), schema, LABEL)
    rename = next(a for a in offered if a.strategy is Strategy.RENAME)
    # the column goes to its deprecated name without either unique constraint
    assert any("_deprecated_" in sql for sql in rename.statements)
    assert not any("UNIQUE" in sql for sql in rename.statements)


def test_a_primary_key_column_without_default_cannot_be_kept_for_the_older_app() -> None:
    schema = replay_sql(
        "CREATE TABLE m (a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (a, b))",
        Dialect.POSTGRES,
    ).schema
    col = Column("b", "INT", nullable=False)
    offered = alternatives(ch.DropColumn(QName("m"), col), schema, LABEL)
    assert [(a.strategy, a.keeps_older_app_working) for a in offered] == [(Strategy.KEEP, False)]
    assert "primary key" in offered[0].explanation
    assert safest(offered) is None


def _alt(strategy: Strategy, works: bool = True) -> Alternative:
    step = ch.DropTable(
        replay_sql("CREATE TABLE t (a INT)", Dialect.SQLITE).schema.tables[("", "t")]
    )
    return Alternative(strategy, step, (), (), "", works)


def test_safest_prefers_keep_then_archive_then_rename_among_working_ones() -> None:
    keep, archive, rename = (_alt(s) for s in (Strategy.KEEP, Strategy.ARCHIVE, Strategy.RENAME))
    assert safest([rename, archive, keep]) is keep
    assert safest([rename, archive, _alt(Strategy.KEEP, works=False)]) is archive
    assert safest([rename]) is rename
    assert safest([]) is None


def test_keep_is_passed_over_when_a_later_step_adds_the_column_again() -> None:
    schema = replay_sql("CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", Dialect.POSTGRES).schema
    table = schema.tables[("", "t")]
    v = table.columns[1]
    steps: list[ch.Change] = [
        ch.DropColumn(QName("t"), v),
        ch.AddColumn(QName("t"), replace(v, type="INT")),
    ]
    statements, restore, chosen = apply_alternatives(steps, schema, LABEL)
    assert [a.strategy for a in chosen] == [Strategy.ARCHIVE]
    assert statements[0].startswith(f"CREATE TABLE _rollback_{LABEL}_t_v AS SELECT id, v")
    assert statements[-1].startswith("ALTER TABLE t ADD COLUMN v ")
    assert restore[-1] == f"DROP TABLE _rollback_{LABEL}_t_v"


def test_enum_values_removed_are_kept_in_the_type() -> None:
    schema = replay_sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')", Dialect.POSTGRES).schema
    mood = schema.enums[("", "mood")]
    step = ch.AlterEnum(mood, EnumType(mood.name, ("sad", "ok")))
    statements, restore, chosen = apply_alternatives([step], schema, LABEL)
    assert statements == [] and restore == []
    assert [a.strategy for a in chosen] == [Strategy.KEEP]
    assert "happy" in chosen[0].explanation


@pytest.mark.parametrize(
    ("before", "after", "lossy"),
    [
        ("VARCHAR(200)", "VARCHAR(50)", True),
        ("VARCHAR(50)", "VARCHAR(200)", False),
        ("TEXT", "VARCHAR(10)", True),
        ("BIGINT", "INT", True),
        ("INT", "BIGINT", False),
        ("NUMERIC(12, 4)", "NUMERIC(10, 2)", True),
        ("NUMERIC(10, 2)", "NUMERIC(10, 4)", True),  # fewer digits before the point
        ("NUMERIC(10, 2)", "NUMERIC(12, 2)", False),
        ("TIMESTAMPTZ", "TIMESTAMP", True),
        ("TIMESTAMP", "TIMESTAMPTZ", False),
        ("ENUM('a', 'b', 'c')", "ENUM('a', 'b')", True),
        ("ENUM('a', 'b')", "ENUM('a', 'b', 'c')", False),
    ],
)
def test_narrowing_is_recognised(before: str, after: str, lossy: bool) -> None:
    assert narrows(before, after) is lossy


# -- generated ids and generated columns survive a table's archive ------------------------

AUTO_TABLES = {
    "postgres": [
        "CREATE TABLE events (id serial PRIMARY KEY, kind text)",
        "CREATE TABLE tickets (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text, "
        "title_len int GENERATED ALWAYS AS (length(title)) STORED)",
    ],
    "mysql": [
        "CREATE TABLE events (id INT AUTO_INCREMENT PRIMARY KEY, kind TEXT)",
        "CREATE TABLE tickets (id INT AUTO_INCREMENT PRIMARY KEY, title TEXT, "
        "title_len INT AS (CHAR_LENGTH(title)) STORED)",
    ],
    "sqlite": [
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT)",
        "CREATE TABLE tickets (id INTEGER PRIMARY KEY, title TEXT, "
        "title_len INT GENERATED ALWAYS AS (length(title)) STORED)",
    ],
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_archived_tables_with_generated_ids_restore_and_keep_counting(
    engine_db: MakeDb, dialect: str
) -> None:
    d = Dialect.parse(dialect)
    up = AUTO_TABLES[dialect]
    down = down_between([Migration("001.sql", ";\n".join(up) + ";")], [], d)
    schema = replay_sql(";\n".join(up) + ";", d).schema
    db = engine_db(dialect)
    db.execute(
        [
            *up,
            "INSERT INTO events (kind) VALUES ('a'), ('b ✓'), (NULL)",
            "INSERT INTO tickets (title) VALUES ('x'), ('Größe'), (NULL)",
        ]
    )
    before = {t: db.rows(t) for t in ("events", "tickets")}
    statements, restore, chosen = apply_alternatives(
        down.changes, schema, LABEL, only=Strategy.ARCHIVE
    )
    assert len(chosen) == 2
    db.execute(statements)
    db.execute(up)
    db.execute(restore)
    assert {t: db.rows(t) for t in ("events", "tickets")} == before
    # the ids go on after the restored ones: the newer app's next insert doesn't collide
    db.execute(
        ["INSERT INTO events (kind) VALUES ('next')", "INSERT INTO tickets (title) VALUES ('n')"]
    )
    assert db.query("SELECT MAX(id) FROM events") == [(4,)]
    assert db.query("SELECT MAX(id) FROM tickets") == [(4,)]


# The shape that broke on formbricks and Dokploy: the migration adds an enum type with the
# tables and columns that use it; the down drops them all, the type last.
ENUM_UP = [
    "CREATE TYPE \"Role\" AS ENUM ('owner', 'member')",
    'CREATE TABLE membership (id INTEGER PRIMARY KEY, role "Role" NOT NULL)',
    'ALTER TABLE users ADD COLUMN kind "Role"',
]


def test_what_keeps_data_does_not_keep_a_type_the_down_drops(engine_db: MakeDb) -> None:
    d = Dialect.POSTGRES
    base = ["CREATE TABLE users (id INTEGER PRIMARY KEY)"]
    older = [Migration("001.sql", ";\n".join(base) + ";")]
    both = [*older, Migration("002.sql", ";\n".join(ENUM_UP) + ";")]
    down = down_between(both, older, d)
    assert isinstance(down.changes[-1], ch.DropEnum)
    db = engine_db("postgres")
    rows = [
        "INSERT INTO users (id, kind) VALUES (1, 'owner'), (2, NULL)",
        "INSERT INTO membership (id, role) VALUES (1, 'member'), (2, 'owner')",
    ]
    db.execute([*base, *ENUM_UP, *rows])
    before = {t: db.rows(t) for t in ("users", "membership")}
    statements, restore, chosen = apply_alternatives(down.changes, replay(both, d).schema, LABEL)
    # keeping the table or the column would keep the type alive, and DROP TYPE would fail
    assert [a.strategy for a in chosen] == [Strategy.ARCHIVE, Strategy.ARCHIVE]
    db.execute(statements)  # raises if the type is still in use
    assert db.query("SELECT count(*) FROM pg_type WHERE typname = 'Role'") == [(0,)]
    db.execute(ENUM_UP)
    db.execute(restore)
    assert {t: db.rows(t) for t in ("users", "membership")} == before
