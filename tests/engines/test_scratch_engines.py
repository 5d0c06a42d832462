"""Scratch databases on real PostgreSQL, MariaDB and SQLite: catalogs, errors, rows."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest

from bot.engines import DIALECTS, Catalog, EngineError, ScratchDatabase

MakeDb = Callable[[str], ScratchDatabase]

# One schema using most kinds of object each engine has.
RICH_SCHEMA = {
    "postgres": [
        "CREATE EXTENSION citext",
        "CREATE SCHEMA app",
        "CREATE TYPE app.mood AS ENUM ('sad', 'ok', 'happy')",
        "CREATE DOMAIN app.email AS citext CHECK (VALUE LIKE '%@%')",
        "CREATE SEQUENCE app.ticket_seq START 100 INCREMENT 5",
        """CREATE TABLE app.users (
             id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             email app.email NOT NULL UNIQUE,
             mood app.mood DEFAULT 'ok',
             name text COLLATE "C",
             created timestamptz NOT NULL DEFAULT now(),
             name_len int GENERATED ALWAYS AS (length(name)) STORED)""",
        "COMMENT ON TABLE app.users IS 'people'",
        "COMMENT ON COLUMN app.users.email IS 'login'",
        """CREATE TABLE app.orders (
             id serial PRIMARY KEY,
             user_id bigint NOT NULL REFERENCES app.users (id) ON DELETE CASCADE,
             total numeric(10, 2) CHECK (total >= 0),
             ticket int DEFAULT nextval('app.ticket_seq'))""",
        "CREATE INDEX orders_user_idx ON app.orders (user_id) WHERE total > 0",
        "CREATE VIEW app.big_orders AS SELECT id, total FROM app.orders WHERE total > 100",
        """CREATE MATERIALIZED VIEW app.order_totals AS
             SELECT user_id, sum(total) AS total FROM app.orders GROUP BY user_id""",
        """CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql
             AS $$ BEGIN NEW.created := now(); RETURN NEW; END $$""",
        """CREATE TRIGGER users_touch BEFORE UPDATE ON app.users
             FOR EACH ROW EXECUTE FUNCTION app.touch()""",
        "ALTER TABLE app.orders ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY own_orders ON app.orders USING (user_id > 0)",
        "CREATE RULE no_delete AS ON DELETE TO app.big_orders DO INSTEAD NOTHING",
    ],
    "mysql": [
        """CREATE TABLE users (
             id BIGINT AUTO_INCREMENT PRIMARY KEY,
             email VARCHAR(200) NOT NULL,
             mood ENUM('sad', 'ok', 'happy') DEFAULT 'ok',
             name VARCHAR(50) COLLATE utf8mb4_bin,
             created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
             name_len INT AS (CHAR_LENGTH(name)) VIRTUAL,
             UNIQUE KEY users_email (email(100))
           ) COMMENT = 'people'""",
        """CREATE TABLE orders (
             id INT AUTO_INCREMENT PRIMARY KEY,
             user_id BIGINT NOT NULL,
             total DECIMAL(10, 2) CHECK (total >= 0),
             CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE,
             KEY orders_total_idx (total DESC))""",
        "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100",
        """CREATE TRIGGER users_bi BEFORE INSERT ON users
             FOR EACH ROW SET NEW.name = COALESCE(NEW.name, 'anon')""",
        "CREATE FUNCTION add_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1",
        "CREATE PROCEDURE rename_all(IN prefix VARCHAR(10)) UPDATE users SET name = CONCAT(prefix, name)",
        "CREATE SEQUENCE tickets START WITH 100 INCREMENT BY 5",
    ],
    "sqlite": [
        """CREATE TABLE users (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             email TEXT NOT NULL UNIQUE,
             name TEXT COLLATE NOCASE CHECK (length(name) > 0),
             created TEXT DEFAULT CURRENT_TIMESTAMP,
             name_len INT GENERATED ALWAYS AS (length(name)) VIRTUAL)""",
        """CREATE TABLE orders (
             id INTEGER PRIMARY KEY,
             user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
             total REAL,
             CONSTRAINT positive CHECK (total >= 0))""",
        "CREATE INDEX orders_user_idx ON orders (user_id DESC) WHERE total > 0",
        "CREATE VIEW big_orders AS SELECT id, total FROM orders WHERE total > 100",
        """CREATE TRIGGER users_touch AFTER UPDATE ON users BEGIN
             UPDATE users SET created = CURRENT_TIMESTAMP WHERE id = NEW.id; END""",
    ],
}

# Data that moves counters (identity, serial, AUTO_INCREMENT, sqlite_sequence) but not the schema.
DATA = {
    "postgres": [
        "INSERT INTO app.users (email, name) VALUES ('a@x', 'a'), ('b@x', 'b')",
        "INSERT INTO app.orders (user_id, total) SELECT id, 150 FROM app.users",
        "SELECT nextval('app.ticket_seq')",
        "REFRESH MATERIALIZED VIEW app.order_totals",
    ],
    "mysql": [
        "INSERT INTO users (email, name) VALUES ('a@x', 'a'), ('b@x', 'b')",
        "INSERT INTO orders (user_id, total) SELECT id, 150 FROM users",
        "SELECT NEXTVAL(tickets)",
    ],
    "sqlite": [
        "INSERT INTO users (email, name) VALUES ('a@x', 'a'), ('b@x', 'b')",
        "INSERT INTO orders (user_id, total) SELECT id, 150 FROM users",
    ],
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_same_script_gives_equal_catalogs_in_two_databases(dialect: str, engine_db: MakeDb) -> None:
    first, second = engine_db(dialect), engine_db(dialect)
    first.execute(RICH_SCHEMA[dialect])
    second.execute(RICH_SCHEMA[dialect])

    # the databases have different names: nothing in the catalog may depend on it
    assert first.catalog().diff(second.catalog(), column_order=True) == []
    assert first.catalog() == second.catalog()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_data_and_counters_do_not_change_the_catalog(dialect: str, engine_db: MakeDb) -> None:
    empty, filled = engine_db(dialect), engine_db(dialect)
    empty.execute(RICH_SCHEMA[dialect])
    filled.execute(RICH_SCHEMA[dialect] + DATA[dialect])

    assert filled.catalog().diff(empty.catalog(), column_order=True) == []


def test_postgres_catalog_reads_each_kind_of_object(engine_db: MakeDb) -> None:
    db = engine_db("postgres")
    db.execute(RICH_SCHEMA["postgres"])
    objects = db.catalog().objects

    users = objects["tables"]["app.users"]
    assert users["comment"] == "people"
    email = users["columns"]["email"]
    assert (email["type"], email["nullable"], email["comment"]) == ("app.email", False, "login")
    assert users["columns"]["id"]["identity"] == "always"
    assert users["columns"]["name"]["collation"] == '"C"'
    assert users["columns"]["name_len"]["generated"] == "stored"
    assert users["columns"]["name_len"]["expression"] == "length(name)"
    assert users["triggers"]["users_touch"]["definition"].startswith("CREATE TRIGGER users_touch")
    orders = objects["tables"]["app.orders"]
    assert orders["rls"] is True
    assert set(orders["policies"]) == {"own_orders"}
    assert orders["constraints"]["orders_user_id_fkey"]["definition"] == (
        "FOREIGN KEY (user_id) REFERENCES app.users(id) ON DELETE CASCADE"
    )
    assert objects["enums"]["app.mood"]["labels"] == ["sad", "ok", "happy"]
    assert objects["sequences"]["app.orders_id_seq"]["owned_by"] == "app.orders.id"
    assert objects["sequences"]["app.ticket_seq"]["start"] == 100
    assert set(objects["views"]["app.big_orders"]["rules"]) == {"no_delete"}
    assert set(objects["materialized_views"]) == {"app.order_totals"}
    assert set(objects["domains"]["app.email"]["constraints"]) == {"email_check"}
    # citext's own functions and types belong to the extension, listed by name only
    assert set(objects["functions"]) == {"app.touch()"}
    assert set(objects["extensions"]) == {"citext", "plpgsql"}


def test_mariadb_catalog_reads_each_kind_of_object(engine_db: MakeDb) -> None:
    db = engine_db("mysql")
    db.execute(RICH_SCHEMA["mysql"])
    objects = db.catalog().objects

    users = objects["tables"]["users"]
    assert users["comment"] == "people"
    assert users["columns"]["created"]["extra"] == "on update current_timestamp()"
    assert users["columns"]["name_len"]["expression"] == "char_length(`name`)"
    assert users["indexes"]["users_email"]["columns"] == [
        {"name": "email", "sub_part": 100, "order": "A"}
    ]
    orders = objects["tables"]["orders"]
    assert orders["constraints"]["orders_user_fk"] == {
        "type": "FOREIGN KEY",
        "columns": ["user_id"],
        "references": "users",
        "referenced_columns": ["id"],
        "on_update": "RESTRICT",
        "on_delete": "CASCADE",
        "match": "NONE",
    }
    # a column's own CHECK: known by its clause (its name is not addressable, see mariadb.py)
    assert orders["constraints"]["(column check) `total` >= 0"] == {
        "type": "CHECK",
        "clause": "`total` >= 0",
    }
    assert orders["indexes"]["orders_total_idx"]["columns"][0]["order"] == "D"
    # no `scratch_N`. prefixes: the definition doesn't depend on the database name
    assert objects["views"]["big_orders"]["definition"] == (
        "select `orders`.`id` AS `id`, `orders`.`total` AS `total` from `orders`"
        " where `orders`.`total` > 100"
    )
    trigger = objects["triggers"]["users_bi"]
    assert trigger["statement"] == "SET NEW.name = COALESCE(NEW.name, 'anon')"
    assert (trigger["table"], trigger["timing"], trigger["event"]) == ("users", "BEFORE", "INSERT")
    assert objects["functions"]["add_one"]["parameters"] == ["IN x int(11)"]
    assert objects["procedures"]["rename_all"]["parameters"] == ["IN prefix varchar(10)"]
    assert "start with 100" in objects["sequences"]["tickets"]["definition"]


def test_sqlite_catalog_reads_each_kind_of_object(engine_db: MakeDb) -> None:
    db = engine_db("sqlite")
    db.execute(RICH_SCHEMA["sqlite"])
    objects = db.catalog().objects

    users = objects["tables"]["users"]
    assert users["autoincrement"] is True
    assert users["checks"] == {"length(name) > 0": {"name": None}}
    assert users["columns"]["name"]["collation"] == "nocase"
    name_len = users["columns"]["name_len"]
    assert (name_len["hidden"], name_len["generated"]) == ("virtual", "length(name)")
    assert set(users["indexes"]) == {"unique (email)"}
    orders = objects["tables"]["orders"]
    assert orders["checks"] == {"total >= 0": {"name": "positive"}}
    assert orders["foreign_keys"] == {
        "(user_id) -> users(id)": {
            "on_update": "NO ACTION",
            "on_delete": "CASCADE",
            "match": "NONE",
        }
    }
    assert orders["indexes"]["orders_user_idx"]["partial"] is True
    assert orders["indexes"]["orders_user_idx"]["columns"] == [
        {"name": "user_id", "desc": True, "collation": "BINARY"}
    ]
    assert set(objects["views"]) == {"big_orders"}
    assert objects["triggers"]["users_touch"]["table"] == "users"


@dataclass(frozen=True)
class Change:
    """A schema change: ``setup`` runs in both databases, ``change`` only in the second."""

    dialect: str
    name: str
    change: list[str]
    expected: list[str]  # diff(after, before)
    setup: tuple[str, ...] = ()


BASE = [
    "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100))",
    "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, total INT)",
]


def _sqlite_rebuild(table: str, definition: str) -> list[str]:
    """SQLite's way to alter a column: build the new table, copy, swap."""
    return [
        f"CREATE TABLE {table}_new ({definition})",
        f"INSERT INTO {table}_new SELECT * FROM {table}",
        f"DROP TABLE {table}",
        f"ALTER TABLE {table}_new RENAME TO {table}",
    ]


CHANGES = [
    # -- PostgreSQL
    Change("postgres", "add column", ["ALTER TABLE users ADD COLUMN nickname text"],
           ["table public.users: extra column nickname"]),
    Change("postgres", "drop column", ["ALTER TABLE users DROP COLUMN email"],
           ["table public.users: missing column email"]),
    Change("postgres", "set not null", ["ALTER TABLE users ALTER COLUMN email SET NOT NULL"],
           ["table public.users: column email: nullable False != True"]),
    Change("postgres", "set default", ["ALTER TABLE users ALTER COLUMN email SET DEFAULT 'x'"],
           ["table public.users: column email: default \"'x'::character varying\" != None"]),
    Change("postgres", "change type", ["ALTER TABLE orders ALTER COLUMN total TYPE bigint"],
           ["table public.orders: column total: type 'bigint' != 'integer'"]),
    Change("postgres", "add index", ["CREATE INDEX orders_user_idx ON orders (user_id)"],
           ["table public.orders: extra index orders_user_idx"]),
    Change("postgres", "add foreign key",
           ["ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)"],
           ["table public.orders: extra constraint orders_user_fk"]),
    Change("postgres", "add check", ["ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0)"],
           ["table public.orders: extra constraint total_positive"]),
    Change("postgres", "add view", ["CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100"],
           ["extra view public.big_orders"]),
    Change("postgres", "change view", ["CREATE OR REPLACE VIEW big AS SELECT id FROM orders WHERE total > 50"],
           ["view public.big: definition 'SELECT id FROM orders WHERE (total > 50)'"
            " != 'SELECT id FROM orders WHERE (total > 100)'"],
           setup=("CREATE VIEW big AS SELECT id FROM orders WHERE total > 100",)),
    Change("postgres", "add enum label", ["ALTER TYPE mood ADD VALUE 'ok' BEFORE 'happy'"],
           ["enum public.mood: labels ['sad', 'ok', 'happy'] != ['sad', 'happy']"],
           setup=("CREATE TYPE mood AS ENUM ('sad', 'happy')",)),
    Change("postgres", "add trigger",
           ["CREATE TRIGGER orders_stamp BEFORE INSERT ON orders FOR EACH ROW EXECUTE FUNCTION stamp()"],
           ["table public.orders: extra trigger orders_stamp"],
           setup=("CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",)),
    # -- MariaDB
    Change("mysql", "add column", ["ALTER TABLE users ADD COLUMN nickname TEXT"],
           ["table users: extra column nickname"]),
    Change("mysql", "drop column", ["ALTER TABLE users DROP COLUMN email"],
           ["table users: missing column email"]),
    # MariaDB reports the implicit DEFAULT NULL of a nullable column as the text 'NULL'
    Change("mysql", "set not null", ["ALTER TABLE users MODIFY email VARCHAR(100) NOT NULL"],
           ["table users: column email: default None != 'NULL'",
            "table users: column email: nullable False != True"]),
    Change("mysql", "set default", ["ALTER TABLE users ALTER COLUMN email SET DEFAULT 'x'"],
           ["table users: column email: default \"'x'\" != 'NULL'"]),
    Change("mysql", "change type", ["ALTER TABLE orders MODIFY total BIGINT"],
           ["table orders: column total: type 'bigint(20)' != 'int(11)'"]),
    Change("mysql", "add index", ["CREATE INDEX orders_user_idx ON orders (user_id)"],
           ["table orders: extra index orders_user_idx"]),
    # the foreign key brings its own index
    Change("mysql", "add foreign key",
           ["ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id)"],
           ["table orders: extra constraint orders_user_fk",
            "table orders: extra index orders_user_fk"]),
    Change("mysql", "add check", ["ALTER TABLE orders ADD CONSTRAINT total_positive CHECK (total >= 0)"],
           ["table orders: extra constraint total_positive"]),
    Change("mysql", "add view", ["CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100"],
           ["extra view big_orders"]),
    Change("mysql", "add enum label", ["ALTER TABLE users MODIFY mood ENUM('sad', 'ok', 'happy')"],
           ["table users: column mood: type \"enum('sad','ok','happy')\" != \"enum('sad','happy')\""],
           setup=("ALTER TABLE users ADD COLUMN mood ENUM('sad', 'happy')",)),
    Change("mysql", "add trigger",
           ["CREATE TRIGGER orders_bi BEFORE INSERT ON orders FOR EACH ROW SET NEW.total = COALESCE(NEW.total, 0)"],
           ["extra trigger orders_bi"]),
    # -- SQLite: anything beyond ADD/DROP COLUMN is a table rebuild
    Change("sqlite", "add column", ["ALTER TABLE users ADD COLUMN nickname TEXT"],
           ["table users: extra column nickname"]),
    Change("sqlite", "drop column", ["ALTER TABLE users DROP COLUMN email"],
           ["table users: missing column email"]),
    Change("sqlite", "set not null", _sqlite_rebuild("users", "id INT PRIMARY KEY, email VARCHAR(100) NOT NULL"),
           ["table users: column email: nullable False != True"]),
    Change("sqlite", "set default", _sqlite_rebuild("users", "id INT PRIMARY KEY, email VARCHAR(100) DEFAULT 'x'"),
           ["table users: column email: default \"'x'\" != None"]),
    Change("sqlite", "change type", _sqlite_rebuild("orders", "id INT PRIMARY KEY, user_id INT, total BIGINT"),
           ["table orders: column total: type 'BIGINT' != 'INT'"]),
    Change("sqlite", "add index", ["CREATE INDEX orders_user_idx ON orders (user_id)"],
           ["table orders: extra index orders_user_idx"]),
    Change("sqlite", "add foreign key",
           _sqlite_rebuild("orders", "id INT PRIMARY KEY, user_id INT REFERENCES users (id), total INT"),
           ["table orders: extra foreign key (user_id) -> users(id)"]),
    Change("sqlite", "add check",
           _sqlite_rebuild("orders", "id INT PRIMARY KEY, user_id INT, total INT CHECK (total >= 0)"),
           ["table orders: extra check total >= 0"]),
    Change("sqlite", "add view", ["CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100"],
           ["extra view big_orders"]),
    # SQLite has no enum type; a CHECK ... IN list plays its part
    Change("sqlite", "add enum label",
           _sqlite_rebuild("users", "id INT PRIMARY KEY, email VARCHAR(100),"
                           " mood TEXT CHECK (mood IN ('sad', 'ok', 'happy'))"),
           ["table users: missing check mood in ('sad', 'happy')",
            "table users: extra check mood in ('sad', 'ok', 'happy')"],
           setup=("ALTER TABLE users ADD COLUMN mood TEXT CHECK (mood IN ('sad', 'happy'))",)),
    Change("sqlite", "add trigger",
           ["CREATE TRIGGER orders_ai AFTER INSERT ON orders BEGIN"
            " UPDATE orders SET total = 0 WHERE id = NEW.id AND total IS NULL; END"],
           ["extra trigger orders_ai"]),
]  # fmt: skip


@pytest.mark.parametrize("case", CHANGES, ids=lambda case: f"{case.dialect}-{case.name}")
def test_catalog_diff_names_each_kind_of_change(case: Change, engine_db: MakeDb) -> None:
    before, after = engine_db(case.dialect), engine_db(case.dialect)
    before.execute([*BASE, *case.setup])
    after.execute([*BASE, *case.setup, *case.change])

    assert after.catalog().diff(before.catalog()) == case.expected


@pytest.mark.parametrize("dialect", DIALECTS)
def test_readded_column_differs_only_in_column_order(dialect: str, engine_db: MakeDb) -> None:
    """What the down migration of a DROP COLUMN achieves: the same column, at the end."""
    create = "CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(100), name VARCHAR(100))"
    original, restored = engine_db(dialect), engine_db(dialect)
    original.execute([create])
    restored.execute(
        [
            create,
            "ALTER TABLE people DROP COLUMN email",
            "ALTER TABLE people ADD COLUMN email VARCHAR(100)",
        ]
    )

    people = "public.people" if dialect == "postgres" else "people"
    assert restored.catalog().diff(original.catalog()) == []
    assert restored.catalog().diff(original.catalog(), column_order=True) == [
        f"table {people}: column_order ['id', 'name', 'email'] != ['id', 'email', 'name']"
    ]


ERRORS = {
    "postgres": ('relation "nosuch" does not exist', "42P01"),
    "mysql": ("nosuch' doesn't exist", "1146"),
    "sqlite": ("no such table: nosuch", "SQLITE_ERROR"),
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_execute_stops_at_the_first_failure_with_the_engines_message(
    dialect: str, engine_db: MakeDb
) -> None:
    db = engine_db(dialect)
    bad = "INSERT INTO nosuch VALUES (1)"

    with pytest.raises(EngineError) as raised:
        db.execute(["CREATE TABLE a (x INT)", bad, "CREATE TABLE b (x INT)"])

    message, code = ERRORS[dialect]
    assert raised.value.statement == bad
    assert message in raised.value.message
    assert raised.value.code == code
    # autocommit: what ran before the failure stays, nothing after it ran
    tables = db.catalog().names("tables")
    assert tables == (["public.a"] if dialect == "postgres" else ["a"])


ROWS = {
    "postgres": (
        "CREATE TABLE t (id int, name text, amount numeric(6, 2), at timestamp, doc jsonb)",
        "INSERT INTO t VALUES (3, NULL, 2.5, '2024-01-02 03:04:05', '{\"k\": [1, 2]}'),"
        " (1, 'Zoë', NULL, NULL, NULL), (2, 'a''b', -1, '1999-12-31 23:59:59', '[]'),"
        " (NULL, 'no id', 0, NULL, 'null')",
        [
            (None, "no id", Decimal("0.00"), None, None),
            (1, "Zoë", None, None, None),
            (2, "a'b", Decimal("-1.00"), datetime.datetime(1999, 12, 31, 23, 59, 59), []),
            (3, None, Decimal("2.50"), datetime.datetime(2024, 1, 2, 3, 4, 5), {"k": [1, 2]}),
        ],
    ),
    "mysql": (
        "CREATE TABLE t (id INT, name VARCHAR(20), amount DECIMAL(6, 2), at DATETIME, doc BLOB)",
        "INSERT INTO t VALUES (3, NULL, 2.5, '2024-01-02 03:04:05', x'00ff'),"
        " (1, 'Zoë', NULL, NULL, NULL), (2, 'a''b', -1, '1999-12-31 23:59:59', ''),"
        " (NULL, 'no id', 0, NULL, NULL)",
        [
            (None, "no id", Decimal("0.00"), None, None),
            (1, "Zoë", None, None, None),
            (2, "a'b", Decimal("-1.00"), datetime.datetime(1999, 12, 31, 23, 59, 59), b""),
            (3, None, Decimal("2.50"), datetime.datetime(2024, 1, 2, 3, 4, 5), b"\x00\xff"),
        ],
    ),
    "sqlite": (
        "CREATE TABLE t (id INT, name TEXT, amount REAL, at TEXT, doc BLOB)",
        "INSERT INTO t VALUES (3, NULL, 2.5, '2024-01-02 03:04:05', x'00ff'),"
        " (1, 'Zoë', NULL, NULL, NULL), (2, 'a''b', -1, '1999-12-31 23:59:59', x''),"
        " (NULL, 'no id', 0, NULL, NULL)",
        [
            (None, "no id", 0.0, None, None),
            (1, "Zoë", None, None, None),
            (2, "a'b", -1.0, "1999-12-31 23:59:59", b""),
            (3, None, 2.5, "2024-01-02 03:04:05", b"\x00\xff"),
        ],
    ),
}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_rows_returns_inserted_data_sorted_nulls_first(dialect: str, engine_db: MakeDb) -> None:
    create, insert, expected = ROWS[dialect]
    db = engine_db(dialect)
    db.execute([create, insert])

    assert db.rows("t") == expected


@pytest.mark.parametrize("dialect", DIALECTS)
def test_new_database_is_empty_after_another_was_used(dialect: str, engine_db: MakeDb) -> None:
    engine_db(dialect).execute(BASE)
    fresh = engine_db(dialect).catalog()

    assert fresh.names("tables") == []
    assert fresh.names("views") == []


def test_catalog_survives_json_round_trip_on_a_real_engine(engine_db: MakeDb) -> None:
    db = engine_db("postgres")
    db.execute(RICH_SCHEMA["postgres"])
    catalog = db.catalog()

    assert Catalog.from_json(catalog.to_json()) == catalog


def test_sqlite_table_rebuild_equals_the_original(engine_db: MakeDb) -> None:
    """SQLite re-quotes names in the DDL it rewrites on RENAME; that is not a schema change."""
    original, rebuilt = engine_db("sqlite"), engine_db("sqlite")
    original.execute(
        [
            "CREATE TABLE users (id INT PRIMARY KEY, email TEXT CHECK (email LIKE '%@%'))",
            "CREATE INDEX users_email ON users (email)",
            "CREATE TRIGGER users_ai AFTER INSERT ON users BEGIN SELECT 1; END",
        ]
    )
    rebuilt.execute(
        [
            "CREATE TABLE users (id INT PRIMARY KEY, email TEXT)",
            "CREATE TABLE \"users_new\" (id int primary key, email text check(email like '%@%'))",
            "CREATE INDEX users_email ON users_new(email)",
            "CREATE TRIGGER users_ai AFTER INSERT ON users_new BEGIN SELECT 1; END",
            "INSERT INTO users_new SELECT * FROM users",
            "DROP TABLE users",
            "ALTER TABLE users_new RENAME TO users",
        ]
    )

    assert rebuilt.catalog().diff(original.catalog(), column_order=True) == []
