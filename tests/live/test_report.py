"""Live inspection counts what a plan puts at risk, finds drift, never writes, never raises."""

from __future__ import annotations

import secrets
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.core.down import compute_down
from bot.core.model import Dialect, Schema
from bot.core.replay import replay_sql
from bot.engines import ScratchDatabase, ScratchServer
from bot.live import LiveReport, database_url, inspect_live
from bot.live.sessions import open_session as _open
from bot.sources.config import DatabaseRef

OLDER = (
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email VARCHAR(100) NOT NULL,"
    " CONSTRAINT users_email_key UNIQUE (email));\n"
)
ADD = "ALTER TABLE users ADD COLUMN short_bio TEXT;\nCREATE TABLE audit (id INTEGER PRIMARY KEY, what TEXT);\n"
RELAX = {
    Dialect.POSTGRES: "ALTER TABLE users ALTER COLUMN email DROP NOT NULL;\n"
    "ALTER TABLE users DROP CONSTRAINT users_email_key;\n",
    Dialect.MYSQL: "ALTER TABLE users MODIFY email VARCHAR(100) NULL;\n"
    "ALTER TABLE users DROP INDEX users_email_key;\n",
    Dialect.SQLITE: "",
}
DATA = [
    "INSERT INTO users (id, email, short_bio) VALUES (1, 'a@x', 'hi'), (2, 'b@x', NULL), (3, 'c@x', 'yo')",
    "INSERT INTO audit (id, what) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')",
]
# rows the newer schema allows and the down's NOT NULL / UNIQUE reject
BAD_ROWS = [
    "INSERT INTO users (id, email) VALUES (4, NULL), (5, 'dup@x'), (6, 'dup@x'), (7, 'dup@x')",
]


def _schemas(dialect: Dialect) -> tuple[str, Schema, Schema]:
    newer_sql = OLDER + ADD + RELAX[dialect]
    return (
        newer_sql,
        replay_sql(newer_sql, dialect).schema,
        replay_sql(OLDER, dialect).schema,
    )


def _statements(sql: str, dialect: Dialect) -> list[str]:
    from bot.core.split import split_statements

    return [s.text for s in split_statements(sql, dialect.value)]


def _inspect(dialect: Dialect, url: str, **kwargs: float) -> tuple[LiveReport, Schema]:
    _, newer, older = _schemas(dialect)
    down = compute_down(newer, older)
    return inspect_live(dialect, url, down.changes, newer, **kwargs), newer


def _counts(report: LiveReport) -> dict[str, int | None]:
    return {r.object: r.count for r in report.at_risk}


# --- URLs for the scratch engines -------------------------------------------------------


def _pg_url(db: ScratchDatabase, user: str | None = None) -> str:
    ((dirs,),) = db.query("SHOW unix_socket_directories")
    ((port,),) = db.query("SHOW port")
    ((me, name),) = db.query("SELECT current_user, current_database()")
    return (
        f"postgresql://{user or me}:pw@/{name}?host={quote(dirs.split(',')[0].strip())}&port={port}"
    )


def _mysql_tcp(db: ScratchDatabase, user: str, password: str) -> str:
    ((port, name),) = db.query("SELECT @@port, DATABASE()")
    return f"mysql://{user}:{password}@127.0.0.1:{port}/{name}"


def _mysql_root(db: ScratchDatabase) -> str:
    ((sock, name),) = db.query("SELECT @@socket, DATABASE()")
    return f"mysql://root@localhost/{name}?unix_socket={quote(sock)}"


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    newer_sql, _, _ = _schemas(Dialect.SQLITE)
    conn.executescript(newer_sql + ";\n".join(DATA) + ";")
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def pg_db(engine_db: object) -> ScratchDatabase:
    db: ScratchDatabase = engine_db("postgres")  # type: ignore[operator]
    db.execute(_statements(_schemas(Dialect.POSTGRES)[0], Dialect.POSTGRES) + DATA)
    return db


@pytest.fixture
def my_db(engine_db: object) -> ScratchDatabase:
    db: ScratchDatabase = engine_db("mysql")  # type: ignore[operator]
    db.execute(_statements(_schemas(Dialect.MYSQL)[0], Dialect.MYSQL) + DATA)
    return db


@pytest.fixture
def my_reader(my_db: ScratchDatabase) -> Iterator[str]:
    """A MariaDB user with read rights only, over TCP."""
    user, password = "reader_" + secrets.token_hex(3), secrets.token_hex(8)
    ((name,),) = my_db.query("SELECT DATABASE()")
    my_db.execute(
        [
            f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
            f"GRANT SELECT, SHOW VIEW, TRIGGER ON `{name}`.* TO '{user}'@'127.0.0.1'",
        ]
    )
    yield _mysql_tcp(my_db, user, password)
    my_db.execute([f"DROP USER '{user}'@'127.0.0.1'"])


# --- what is at risk, on each engine --------------------------------------------------


def test_sqlite_counts_rows_and_values_the_down_destroys(sqlite_file: Path) -> None:
    report, _ = _inspect(Dialect.SQLITE, f"sqlite:///{sqlite_file}")

    assert report.problems == ()
    assert report.engine is not None and report.engine.startswith("SQLite ")
    assert _counts(report) == {"audit": 5, "users.short_bio": 2}
    assert "users.short_bio: 2 non-null values" in [r.message for r in report.at_risk]
    assert "audit: 5 rows" in [r.message for r in report.at_risk]
    assert report.drift == ()


def test_postgres_counts_losses_and_rows_the_down_would_reject(pg_db: ScratchDatabase) -> None:
    pg_db.execute(BAD_ROWS)

    report, _ = _inspect(Dialect.POSTGRES, _pg_url(pg_db))

    assert report.problems == (), report.problems
    assert report.engine is not None and report.engine.startswith("PostgreSQL ")
    assert _counts(report) == {
        "audit": 5,
        "users.short_bio": 2,
        "users.email": 1,  # one NULL email, which the restored NOT NULL rejects
        "users.users_email_key": 3,  # three rows share dup@x
    }
    messages = [r.message for r in report.at_risk]
    assert "users.email: 1 row with NULL, which the new NOT NULL rejects" in messages
    assert (
        "users.users_email_key: 3 rows with duplicated (email), which the new unique rejects"
        in messages
    )
    assert report.drift == ()


def test_mariadb_counts_with_a_read_only_user(my_db: ScratchDatabase, my_reader: str) -> None:
    my_db.execute(BAD_ROWS)

    report, _ = _inspect(Dialect.MYSQL, my_reader)

    assert report.problems == (), report.problems
    assert report.engine is not None and report.engine.startswith("MariaDB ")
    assert _counts(report) == {
        "audit": 5,
        "users.short_bio": 2,
        "users.email": 1,
        "users.users_email_key": 3,
    }
    assert report.drift == ()
    assert report.live_schema_sql is not None and "CREATE TABLE `audit`" in report.live_schema_sql


# --- never writes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement", ["INSERT INTO audit (id, what) VALUES (99, 'x')", "CREATE TABLE sneaky (x INT)"]
)
def test_postgres_connection_refuses_writes_even_for_a_superuser(
    pg_db: ScratchDatabase, statement: str
) -> None:
    session = _open(Dialect.POSTGRES, _pg_url(pg_db), 5.0)
    try:
        with pytest.raises(Exception, match="read-only transaction"):
            session.query(statement)
    finally:
        session.close()
    assert pg_db.query("SELECT count(*) FROM audit") == [(5,)]
    assert pg_db.query("SELECT to_regclass('sneaky') IS NULL") == [(True,)]


@pytest.mark.parametrize(
    "statement", ["INSERT INTO audit (id, what) VALUES (99, 'x')", "CREATE TABLE sneaky (x INT)"]
)
def test_mariadb_connection_refuses_writes_even_for_root(
    my_db: ScratchDatabase, statement: str
) -> None:
    session = _open(Dialect.MYSQL, _mysql_root(my_db), 5.0)
    try:
        with pytest.raises(Exception, match="READ ONLY"):
            session.query(statement)
    finally:
        session.close()
    assert my_db.query("SELECT count(*) FROM audit") == [(5,)]
    assert my_db.query("SHOW TABLES LIKE 'sneaky'") == []


def test_sqlite_connection_refuses_writes(sqlite_file: Path) -> None:
    session = _open(Dialect.SQLITE, str(sqlite_file), 5.0)
    try:
        with pytest.raises(Exception, match=r"readonly|read-only|attempt to write"):
            session.query("INSERT INTO audit (id, what) VALUES (99, 'x')")
    finally:
        session.close()
    conn = sqlite3.connect(sqlite_file)
    assert conn.execute("SELECT count(*) FROM audit").fetchone() == (5,)
    conn.close()


# --- drift and partial migrations -----------------------------------------------------


def test_sqlite_column_added_by_hand_is_drift(sqlite_file: Path) -> None:
    conn = sqlite3.connect(sqlite_file)
    conn.execute("ALTER TABLE users ADD COLUMN nickname TEXT")
    conn.commit()
    conn.close()

    report, _ = _inspect(Dialect.SQLITE, f"sqlite:///{sqlite_file}")

    assert report.drift == (
        "column users.nickname exists on the live database but not in the migration history",
    )
    assert report.live_schema_sql is not None
    live = replay_sql(report.live_schema_sql, Dialect.SQLITE).schema
    assert [c.name for c in live.tables[("", "users")].columns][-1] == "nickname"


def test_postgres_column_added_by_hand_is_drift(pg_db: ScratchDatabase) -> None:
    pg_db.execute(["ALTER TABLE users ADD COLUMN nickname text DEFAULT 'n/a' NOT NULL"])

    report, _ = _inspect(Dialect.POSTGRES, _pg_url(pg_db))

    assert report.drift == (
        "column users.nickname exists on the live database but not in the migration history",
    )
    assert report.problems == ()


def test_postgres_rich_schema_read_back_shows_no_drift(engine_db: object) -> None:
    history = """
    CREATE TYPE mood AS ENUM ('ok', 'sad');
    CREATE SCHEMA billing;
    CREATE TABLE users (id serial PRIMARY KEY, email varchar(200) NOT NULL UNIQUE,
      created timestamptz DEFAULT now(), m mood DEFAULT 'ok', score numeric(10,2) CHECK (score > 0));
    CREATE TABLE billing.orders (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
      user_id int REFERENCES users(id) ON DELETE CASCADE, total int NOT NULL DEFAULT 0);
    CREATE INDEX orders_user ON billing.orders (user_id);
    CREATE UNIQUE INDEX users_lower_email ON users (lower(email));
    CREATE SEQUENCE counter START WITH 10 INCREMENT BY 2;
    CREATE VIEW active AS SELECT id, email FROM users WHERE score > 1;
    COMMENT ON COLUMN users.email IS 'login';
    """
    db: ScratchDatabase = engine_db("postgres")  # type: ignore[operator]
    db.execute(_statements(history, Dialect.POSTGRES))
    expected = replay_sql(history, Dialect.POSTGRES).schema

    report = inspect_live(Dialect.POSTGRES, _pg_url(db), [], expected)

    assert report.drift == ()
    assert report.problems == ()


def test_mariadb_half_applied_migration_is_drift(my_reader: str, my_db: ScratchDatabase) -> None:
    # MySQL DDL commits statement by statement: the first ALTER stays when the second fails
    migration = (
        "ALTER TABLE users ADD COLUMN plan VARCHAR(20);\n"
        "ALTER TABLE users ADD CONSTRAINT users_audit FOREIGN KEY (nope) REFERENCES audit (id);\n"
        "CREATE INDEX users_plan ON users (plan);\n"
    )
    with pytest.raises(Exception, match="nope"):
        my_db.execute(_statements(migration, Dialect.MYSQL))
    newer_sql, _, _ = _schemas(Dialect.MYSQL)
    expected_full = replay_sql(
        newer_sql + migration.replace("(nope)", "(id)"), Dialect.MYSQL
    ).schema

    report = inspect_live(Dialect.MYSQL, my_reader, [], expected_full)

    assert "index users_plan is missing on the live database" in report.drift
    assert any("users_audit" in d and "missing" in d for d in report.drift), report.drift
    assert not any("users.plan" in d for d in report.drift)  # that part did apply
    assert report.live_schema_sql is not None and "`plan`" in report.live_schema_sql


# --- bad input: the report still comes out and says what failed -------------------------


def test_postgres_user_without_read_rights_gets_problems_and_a_report(
    pg_db: ScratchDatabase,
) -> None:
    role = "noread_" + secrets.token_hex(3)
    pg_db.execute([f"CREATE ROLE {role} LOGIN", f"GRANT SELECT ON audit TO {role}"])
    try:
        report, _ = _inspect(Dialect.POSTGRES, _pg_url(pg_db, role))
    finally:
        pg_db.execute([f"DROP OWNED BY {role}", f"DROP ROLE {role}"])

    assert _counts(report)["audit"] == 5  # what it may read is still counted
    assert _counts(report)["users.short_bio"] is None
    assert any("permission denied for table users" in p for p in report.problems), report.problems
    assert report.drift == ()  # the catalogs are readable without table rights


def test_mariadb_user_without_rights_gets_a_problem_not_an_exception(
    my_db: ScratchDatabase,
) -> None:
    user, password = "nobody_" + secrets.token_hex(3), secrets.token_hex(8)
    my_db.execute([f"CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'"])
    try:
        report, _ = _inspect(Dialect.MYSQL, _mysql_tcp(my_db, user, password))
    finally:
        my_db.execute([f"DROP USER '{user}'@'127.0.0.1'"])

    assert report.engine is None and report.at_risk == () and report.live_schema_sql is None
    (problem,) = report.problems
    assert "Access denied" in problem
    assert password not in problem and user not in problem


@pytest.mark.parametrize(
    ("dialect", "url"),
    [
        (Dialect.POSTGRES, "postgresql://app:hunter2@127.0.0.1:9/shop"),
        (Dialect.MYSQL, "mysql://app:hunter2@127.0.0.1:9/shop"),
        (Dialect.SQLITE, "sqlite:////nonexistent/dir/app.db"),
    ],
)
def test_unreachable_database_is_a_masked_problem(dialect: Dialect, url: str) -> None:
    report, _ = _inspect(dialect, url, timeout_s=2.0)

    assert report.engine is None and report.at_risk == () and report.drift == ()
    (problem,) = report.problems
    assert "hunter2" not in problem and "app:" not in problem
    if dialect is Dialect.SQLITE:
        assert problem == f"{url}: no SQLite database at /nonexistent/dir/app.db"
    else:
        assert problem.startswith(f"{url.split(':')[0]}://127.0.0.1/shop: ")


def test_server_that_never_answers_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the TCP connection in the kernel, never says a word
    port = listener.getsockname()[1]
    started = time.monotonic()
    try:
        report, _ = _inspect(Dialect.MYSQL, f"mysql://app:pw@127.0.0.1:{port}/shop", timeout_s=1.0)
    finally:
        listener.close()
    waited = time.monotonic() - started

    (problem,) = report.problems
    assert "timed out" in problem or "Lost connection" in problem, problem
    # the server never answers, so only the 1 s timeout ends the wait; 4 s is far above any
    # scheduling delay and far below the driver's own defaults (10 s and more)
    assert waited < 4.0, waited


def test_mysql_session_gets_the_configured_timeouts(my_reader: str) -> None:
    with _open(Dialect.MYSQL, my_reader, 1.0) as session:
        ((statement_limit, lock_wait),) = session.query(
            "SELECT @@session.max_statement_time, @@session.lock_wait_timeout"
        )
        conn = session._conn  # type: ignore[attr-defined]

    assert (float(statement_limit), int(lock_wait)) == (1.0, 1)
    assert (conn.connect_timeout, conn._read_timeout, conn._write_timeout) == (1, 1, 1)


def test_postgres_lock_held_by_the_application_times_out_the_count(
    pg_db: ScratchDatabase, postgres_server: ScratchServer
) -> None:
    import psycopg

    locker = psycopg.connect(_pg_url(pg_db))
    locker.execute("LOCK TABLE audit IN ACCESS EXCLUSIVE MODE")  # open transaction holds it
    try:
        report, _ = _inspect(Dialect.POSTGRES, _pg_url(pg_db), timeout_s=0.5)
    finally:
        locker.rollback()
        locker.close()

    assert _counts(report)["audit"] is None
    assert _counts(report)["users.short_bio"] == 2
    assert any("audit" in p and "timeout" in p for p in report.problems), report.problems


def test_sqlite_locked_database_times_out(sqlite_file: Path) -> None:
    locker = sqlite3.connect(sqlite_file, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        report, _ = _inspect(Dialect.SQLITE, str(sqlite_file), timeout_s=0.3)
    finally:
        locker.execute("ROLLBACK")
        locker.close()

    assert report.problems and all("locked" in p for p in report.problems), report.problems


def test_mariadb_metadata_lock_times_out(my_db: ScratchDatabase, my_reader: str) -> None:
    my_db.execute(["LOCK TABLES audit WRITE"])
    try:
        report, _ = _inspect(Dialect.MYSQL, my_reader, timeout_s=1.0)
    finally:
        my_db.execute(["UNLOCK TABLES"])

    assert _counts(report)["audit"] is None
    assert any("audit" in p for p in report.problems), report.problems


# --- where the URL comes from ---------------------------------------------------------


def test_url_from_environment_variable() -> None:
    assert database_url(DatabaseRef(url_env="DB_URL"), {"DB_URL": " postgres://x/y \n"}) == (
        "postgres://x/y",
        None,
    )


def test_missing_environment_variable_is_a_problem() -> None:
    assert database_url(DatabaseRef(url_env="DB_URL"), {}) == (
        None,
        "environment variable DB_URL is not set",
    )
    assert database_url(DatabaseRef(url_env="DB_URL"), {"DB_URL": ""}) == (
        None,
        "environment variable DB_URL is empty",
    )


def test_url_from_secret_file_and_missing_file(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("mysql://r:pw@db/shop\n")

    assert database_url(DatabaseRef(url_file=str(secret)), {}) == ("mysql://r:pw@db/shop", None)
    url, problem = database_url(DatabaseRef(url_file=str(tmp_path / "gone")), {})
    assert url is None and problem is not None and "gone" in problem


def test_env_var_falls_back_to_the_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "url"
    secret.write_text("sqlite:///app.db")

    assert database_url(DatabaseRef(url_env="UNSET", url_file=str(secret)), {}) == (
        "sqlite:///app.db",
        None,
    )


def test_sqlite_counts_rows_a_new_key_index_column_or_reference_would_reject(
    tmp_path: Path,
) -> None:
    from bot.core import changes as ch
    from bot.core.model import Column, ForeignKey, Index, IndexPart, PrimaryKey, QName

    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE teams (id INTEGER PRIMARY KEY);"
        "CREATE TABLE people (id INTEGER, team INTEGER, code TEXT);"
        "INSERT INTO teams VALUES (1);"
        "INSERT INTO people VALUES (1, 1, 'a'), (1, 2, 'b'), (NULL, 3, 'b'), (4, NULL, 'c');"
    )
    conn.close()
    people = QName("people")
    down: list[ch.Change] = [
        ch.AddConstraint(people, PrimaryKey("people_pk", ("id",))),
        ch.CreateIndex(Index("people_code", people, (IndexPart("code"),), unique=True)),
        ch.AddColumn(people, Column("tenant", "INTEGER", nullable=False)),
        ch.AddColumn(people, Column("plan", "TEXT", nullable=False, default="'free'")),
        ch.AddConstraint(people, ForeignKey("people_team", ("team",), QName("teams"), ("id",))),
    ]

    report = inspect_live(Dialect.SQLITE, str(path), down, replay_sql("", Dialect.SQLITE).schema)

    assert report.problems == ()
    assert [r.message for r in report.at_risk] == [
        "people.people_pk: 3 rows with duplicated or NULL (id), which the new primary key rejects",
        "people_code: 2 rows with duplicated (code), which the new unique index rejects",
        "people.tenant: 4 existing rows without a value for the new NOT NULL column",
        "people.people_team: 2 rows referencing a missing teams row",
    ]


def test_our_own_bug_raises_instead_of_becoming_a_problem_line(
    sqlite_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.live.report as report_module

    def broken(*_args: object) -> list[str]:
        raise TypeError("a bug in the drift code")

    monkeypatch.setattr(report_module, "live_drift", broken)
    with pytest.raises(TypeError, match="a bug in the drift code"):
        _inspect(Dialect.SQLITE, str(sqlite_file))
