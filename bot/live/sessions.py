"""Read-only connections to a live database, one class per dialect, with short timeouts."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.core.model import Dialect, QName
from bot.engines.catalog import Catalog
from bot.live.schema_sql import postgres_ddl
from bot.live.urls import clean, mysql_message, sqlite_path, uri_path


class Problem(Exception):
    """Something the report should say failed; the message never holds the URL."""


# --- sessions ----------------------------------------------------------------------------


class Session:
    """A read-only connection: run a query, read the schema as DDL."""

    dialect: Dialect
    engine: str | None
    _error: type[Exception]  # the driver's own error class

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def schema_sql(self) -> str:
        raise NotImplementedError

    def catalog(self) -> Catalog:
        """The live schema read the way a scratch engine's is (bot.engines), for comparison."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def quote(self, name: str) -> str:
        if self.dialect is Dialect.MYSQL:
            return "`" + name.replace("`", "``") + "`"
        return '"' + name.replace('"', '""') + '"'

    def table(self, name: QName) -> str:
        parts = [name.schema, name.name] if name.schema else [name.name]
        return ".".join(self.quote(p) for p in parts)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        # a connection the server already dropped may fail to close; nothing is lost then
        with contextlib.suppress(self._error, OSError):
            self.close()


def open_session(dialect: Dialect, url: str, timeout_s: float) -> Session:
    if dialect is Dialect.POSTGRES:
        return _PostgresSession(url, timeout_s)
    if dialect is Dialect.MYSQL:
        return _MysqlSession(url, timeout_s)
    return _SqliteSession(url, timeout_s)


class _PostgresSession(Session):
    dialect = Dialect.POSTGRES

    def __init__(self, url: str, timeout_s: float) -> None:
        try:
            import psycopg
        except ImportError as err:
            raise Problem("PostgreSQL inspection needs the engines extra (psycopg)") from err
        self._error: type[Exception] = psycopg.Error
        ms = max(1, int(timeout_s * 1000))
        try:
            # Read-only is a server-side session default, so every statement's transaction is
            # read-only; the timeouts stop us from holding up the database.
            self._conn: Any = psycopg.connect(
                url,
                autocommit=True,
                connect_timeout=max(1, round(timeout_s)),
                options=(
                    f"-c default_transaction_read_only=on -c statement_timeout={ms}"
                    f" -c lock_timeout={ms} -c idle_in_transaction_session_timeout={ms}"
                ),
            )
        except psycopg.Error as err:
            raise Problem(clean(str(err), url)) from err
        except (ValueError, TypeError) as err:  # a malformed URL (ProgrammingError is above)
            raise Problem(f"cannot use the database URL: {type(err).__name__}") from err
        self._url = url
        if self.query("SHOW transaction_read_only") != [("on",)]:
            self.close()
            raise Problem("the connection is not read-only; refusing to inspect")
        ((version,),) = self.query("SHOW server_version")
        self.engine = f"PostgreSQL {str(version).split()[0]}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            cursor = self._conn.execute(sql)
            return list(cursor.fetchall()) if cursor.description is not None else []
        except self._error as err:
            raise Problem(clean(str(err), self._url)) from err

    def schema_sql(self) -> str:
        return postgres_ddl(self.query)

    def catalog(self) -> Catalog:
        from bot.engines.postgres import read_catalog

        return read_catalog(self.query)

    def close(self) -> None:
        self._conn.close()


class _MysqlSession(Session):
    dialect = Dialect.MYSQL

    def __init__(self, url: str, timeout_s: float) -> None:
        try:
            import pymysql
        except ImportError as err:
            raise Problem("MySQL inspection needs the engines extra (pymysql)") from err
        self._error: type[Exception] = pymysql.err.MySQLError
        self._url = url
        parts = urlsplit(url)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        seconds = max(1, round(timeout_s))
        try:
            self._conn: Any = pymysql.connect(
                host=parts.hostname or "localhost",
                port=parts.port or 3306,
                user=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else "",
                database=unquote(parts.path.strip("/")) or None,
                unix_socket=query.get("unix_socket"),
                connect_timeout=seconds,
                read_timeout=seconds,
                write_timeout=seconds,
                autocommit=False,
                charset="utf8mb4",
            )
        except pymysql.err.MySQLError as err:
            raise Problem(clean(mysql_message(err), url)) from err
        except (ValueError, TypeError) as err:
            raise Problem(f"cannot use the database URL: {type(err).__name__}") from err
        ((version,),) = self.query("SELECT VERSION()")
        number, _, flavour = str(version).partition("-")
        mariadb = "MariaDB" in flavour
        self.engine = f"{'MariaDB' if mariadb else 'MySQL'} {number}"
        ms = max(1, int(timeout_s * 1000))
        # MariaDB's statement limit is max_statement_time (seconds), MySQL's max_execution_time (ms)
        limit = f"max_statement_time = {ms / 1000}" if mariadb else f"max_execution_time = {ms}"
        self.query(f"SET SESSION {limit}, SESSION lock_wait_timeout = {seconds}")
        self.query("SET SESSION TRANSACTION READ ONLY")
        self.query("START TRANSACTION READ ONLY")
        if not self._read_only():
            self.close()
            raise Problem("the connection is not read-only; refusing to inspect")
        (database,) = self.query("SELECT DATABASE()")[0]
        if database is None:
            self.close()
            raise Problem("the database URL names no database")
        self._database = str(database)

    def _read_only(self) -> bool:
        # MySQL 8 and MariaDB 11.1+ call it transaction_read_only, older MariaDB tx_read_only
        for name in ("transaction_read_only", "tx_read_only"):
            try:
                return self.query(f"SELECT @@session.{name}") == [(1,)]
            except Problem:
                continue
        return False

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(sql)
                return [tuple(row) for row in cursor.fetchall()]
        except self._error as err:
            raise Problem(clean(mysql_message(err), self._url)) from err

    def schema_sql(self) -> str:
        parts: list[str] = []
        relations = self.query("SHOW FULL TABLES")
        for name, kind in relations:
            if kind != "VIEW":
                ((_, create),) = self.query(f"SHOW CREATE TABLE {self.quote(name)}")
                parts.append(f"{create};")
        # views after every table, since a view's definition names them
        for name, kind in relations:
            if kind == "VIEW":
                row = self.query(f"SHOW CREATE VIEW {self.quote(name)}")[0]
                parts.append(f"{_plain_view(str(row[1]), self._database)};")
        for row in self.query("SHOW TRIGGERS"):
            create = self.query(f"SHOW CREATE TRIGGER {self.quote(str(row[0]))}")[0][2]
            create = _DEFINER.sub("", str(create), count=1)
            parts.append(f"DELIMITER ;;\n{create};;\nDELIMITER ;")
        return "\n\n".join(parts) + ("\n" if parts else "")

    def catalog(self) -> Catalog:
        from bot.engines.mariadb import read_catalog

        return read_catalog(self.query, self._database)

    def close(self) -> None:
        with contextlib.suppress(self._error, OSError):
            self._conn.rollback()
        self._conn.close()


_DEFINER = re.compile(r"\s+DEFINER\s*=\s*(?:`[^`]*`|'[^']*'|\S+?)@(?:`[^`]*`|'[^']*'|\S+)", re.I)


def _plain_view(create: str, database: str) -> str:
    """SHOW CREATE VIEW without DEFINER/SQL SECURITY noise and the database qualifier."""
    start = create.upper().find(" VIEW ")
    body = "CREATE VIEW" + create[start + len(" VIEW") :] if start >= 0 else create
    return body.replace(f"`{database}`.", "")


class _SqliteSession(Session):
    dialect = Dialect.SQLITE
    _error = sqlite3.Error

    def __init__(self, url: str, timeout_s: float) -> None:
        path = sqlite_path(url)
        if not Path(path).exists():
            # mode=ro would say "unable to open database file"; the path is more useful
            raise Problem(f"no SQLite database at {path}")
        try:
            uri = "file:" + uri_path(path) + "?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None)
            # belt and braces: mode=ro is the file handle, query_only the statement checker
            self._conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as err:
            raise Problem(str(err)) from err
        deadline = time.monotonic() + timeout_s
        # SQLite has no statement timeout: abort any statement running past the deadline
        self._conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        self.engine = f"SQLite {sqlite3.sqlite_version}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self._conn.execute(sql).fetchall()]
        except sqlite3.OperationalError as err:
            if "interrupted" in str(err):
                raise Problem("timed out") from err
            raise Problem(str(err)) from err
        except sqlite3.Error as err:
            raise Problem(str(err)) from err

    def schema_sql(self) -> str:
        rows = self.query(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid"
        )
        return "".join(f"{sql};\n" for (sql,) in rows)

    def catalog(self) -> Catalog:
        from bot.engines.sqlite import read_catalog

        try:
            return read_catalog(self._conn)
        except sqlite3.Error as err:
            raise Problem(str(err)) from err

    def close(self) -> None:
        self._conn.close()
