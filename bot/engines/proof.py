"""Prove what ships on a scratch engine, with data, before anyone approves it.

Database A replays the deployed history, gets rows in every table, then runs what the companion
change carries (the down, or the data-keeping variant of a refused plan) the way the migration
tool runs a file: in one transaction on PostgreSQL and SQLite. Database B replays the history
being reverted to. Proven when A's catalog is B's plus exactly what a variant says it keeps, and
every row and value the plan does not declare lost is still in A. Only scratch engines are used:
SQLite in memory, an embedded PostgreSQL and a private mariadbd started by this process, or a
MySQL/MariaDB server the operator configured as scratch. A configured application database is
never touched.
"""

from __future__ import annotations

import atexit
import contextlib
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.core.model import Dialect
from bot.core.plan import Proof
from bot.core.split import SplitError, split_statements
from bot.engines.extensions import STAND_INS, SUPABASE_ROLES, install_stand_ins
from bot.engines.scratch import EngineError, EngineUnavailable
from bot.engines.seed import lost_values, seed, snapshot
from bot.engines.urls import mask_url
from bot.sources.config import EngineConfig, SqliteFunction
from bot.sources.model import Format

if TYPE_CHECKING:
    from bot.engines.catalog import Catalog
    from bot.engines.scratch import ScratchDatabase, ScratchServer

MYSQL_SCRATCH_ENV = "ROLLBACK_PLAN_MYSQL_SCRATCH_URL"
_NAMES = {Dialect.SQLITE: "SQLite", Dialect.POSTGRES: "PostgreSQL", Dialect.MYSQL: "MySQL/MariaDB"}
DATABASE_PREFIX = "rollback_plan_verify_"
_MYSQL_SCHEMES = frozenset({"mysql", "mariadb", "mysql+pymysql", "mariadb+pymysql"})


@dataclass(frozen=True)
class Script:
    """What the companion change runs, and what the plan claims about it."""

    statements: tuple[str, ...]
    what: str = "the down"  # or "the data-keeping variant"
    # statements removing what a variant keeps: after them the catalog must be the target's
    kept: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()  # "table" or "table.column" whose rows the plan declares lost
    renames: tuple[tuple[str, str], ...] = ()  # deployed name -> target name ("t" or "t.c")
    transaction: bool = True  # the migration tool wraps the file in one transaction


@dataclass(frozen=True)
class EngineSettings:
    """Session settings the project's migration tool runs with (from .rollback-plan.yml)."""

    statements: tuple[str, ...] = ()  # run first in every scratch database
    sqlite_functions: tuple[SqliteFunction, ...] = ()

    @classmethod
    def of(
        cls, config: EngineConfig, dialect: Dialect, tool: Format | None = None
    ) -> EngineSettings:
        """The statements that give a scratch session of `dialect` the configured settings
        (and what the platform behind `tool` provides, e.g. Supabase's roles)."""
        statements: list[str] = []
        if tool is Format.SUPABASE and dialect is Dialect.POSTGRES:
            statements.append(SUPABASE_ROLES)
            # the platform's databases look in `extensions` too (uuid_generate_v4() unqualified)
            statements.append("SET search_path = public, extensions")
        if dialect is Dialect.SQLITE and config.foreign_keys is not None:
            statements.append(f"PRAGMA foreign_keys = {'ON' if config.foreign_keys else 'OFF'}")
        if dialect is Dialect.MYSQL and config.foreign_key_checks is not None:
            statements.append(f"SET SESSION FOREIGN_KEY_CHECKS = {int(config.foreign_key_checks)}")
        if dialect is Dialect.MYSQL and config.sql_mode is not None:
            # validated as comma-separated names, so it can be quoted as it is
            statements.append(f"SET SESSION sql_mode = '{config.sql_mode}'")
        functions = config.sqlite_functions if dialect is Dialect.SQLITE else ()
        return cls(tuple(statements), functions)


class ScratchEngines:
    """This process's scratch servers: started on first use, shared, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[Dialect, ScratchServer] = {}
        self._unavailable: dict[Dialect, str] = {}  # tried once per process, not per plan
        self._extensions: Path | None = None

    def use(self, dialect: Dialect, server: ScratchServer) -> None:
        """Use an already running server (tests share theirs)."""
        with self._lock:
            self._servers[dialect] = server

    def new_database(self, dialect: Dialect) -> ScratchDatabase:
        """A fresh database on the dialect's server, which is started if need be."""
        with self._lock:
            server = self._servers.get(dialect)
            if server is None:
                if dialect in self._unavailable:
                    raise EngineUnavailable(self._unavailable[dialect])
                try:
                    server = self._servers[dialect] = _start(dialect)
                except EngineUnavailable as err:
                    self._unavailable[dialect] = str(err)
                    raise
            db = server.new_database()
            if dialect is Dialect.POSTGRES:
                # PostgreSQL 18+; an older server has its own contrib or none, and says so
                with contextlib.suppress(EngineError):
                    db.execute([f"SET extension_control_path = '$system:{self._stand_ins()}'"])
            return _Locked(db, self._lock)

    def _stand_ins(self) -> Path:
        if self._extensions is None:
            share = Path(tempfile.mkdtemp(prefix="rbp-ext-"))
            share.chmod(0o755)  # the server may run as another user than this process
            atexit.register(shutil.rmtree, share, True)
            self._extensions = install_stand_ins(share)
        return self._extensions


def _start(dialect: Dialect) -> ScratchServer:
    from bot.engines import start_scratch_server

    return start_scratch_server(dialect.value)


class _Locked:
    """A scratch database whose close (a DROP DATABASE on the shared admin link) is serialised."""

    def __init__(self, db: ScratchDatabase, lock: threading.Lock) -> None:
        self._db = db
        self._lock = lock
        self.dialect = db.dialect

    def execute(self, statements: Sequence[str]) -> None:
        self._db.execute(statements)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return self._db.query(sql)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return self._db.rows(table)

    def catalog(self) -> Catalog:
        return self._db.catalog()

    def close(self) -> None:
        with self._lock:
            self._db.close()


ENGINES = ScratchEngines()


class _Failed(Exception):
    """A statement of one of the scripts failed on the engine."""

    def __init__(self, script: str, error: EngineError) -> None:
        super().__init__(script)
        self.script = script
        self.error = error


def verify(
    dialect: Dialect,
    newer: Sequence[str],
    down: Sequence[str] | Script,
    older: Sequence[str],
    *,
    mysql_url: str | None = None,
    postgres: bool = True,
    application_urls: Sequence[str] = (),
    engines: ScratchEngines | None = None,
    settings: EngineSettings | None = None,
) -> Proof:
    """Prove `down` (statements, or the Script that ships) between two histories.

    `newer` and `older` are SQL files in order. `application_urls` are the configured
    application databases: a scratch URL pointing at the same server is refused.
    """
    started = time.monotonic()
    script = down if isinstance(down, Script) else Script(tuple(down))
    try:
        newer_sql = _statements(newer, dialect)
        older_sql = _statements(older, dialect)
        shipped = _statements(script.statements, dialect)
        kept = _statements(script.kept, dialect)
    except SplitError as err:
        return Proof(None, False, f"cannot split the SQL ({err})")
    engines = engines or ENGINES
    source: Callable[[], ScratchDatabase]
    if dialect is Dialect.POSTGRES and not postgres:
        return Proof(None, False, "proof on PostgreSQL is switched off")
    if dialect is Dialect.MYSQL and mysql_url:
        refused = _refusal(mysql_url, application_urls)
        if refused:
            return Proof(None, False, refused)
        try:
            server: ScratchServer = _UrlServer(mysql_url)
        except EngineUnavailable as err:
            return Proof(None, False, _first_line(str(err)))
        source = server.new_database
    else:
        server = None  # type: ignore[assignment]

        def source() -> ScratchDatabase:
            return engines.new_database(dialect)

    settings = settings or EngineSettings()
    try:
        result = _prove(dialect, source, newer_sql, script, shipped, kept, older_sql, settings)
    except EngineUnavailable as err:
        return Proof(None, False, f"no scratch {_NAMES[dialect]} here: {_first_line(str(err))}")
    finally:
        if server is not None:
            server.close()
    return Proof(
        result.engine,
        result.verified,
        result.reason,
        result.differences,
        round(time.monotonic() - started, 3),
    )


def _statements(texts: Sequence[str], dialect: Dialect) -> list[str]:
    return [s.text for text in texts for s in split_statements(text, dialect.value)]


def _prove(
    dialect: Dialect,
    new_database: Callable[[], ScratchDatabase],
    newer: list[str],
    script: Script,
    shipped: list[str],
    kept: list[str],
    older: list[str],
    settings: EngineSettings,
) -> Proof:
    """Run the histories and the script on two fresh databases; compare catalogs and rows."""
    a = new_database()
    engine = _version(a)
    try:
        _prepare(a, settings)
        _run(a, "the pre-revert history", newer)
        before_catalog = a.catalog()
        seeded = seed(a, before_catalog)
        before = snapshot(a, before_catalog)
        in_transaction = script.transaction and dialect is not Dialect.MYSQL
        try:
            if in_transaction:
                _run(a, script.what, ["BEGIN", *shipped, "COMMIT"])
            else:
                _run(a, script.what, shipped)
        except _Failed:
            if in_transaction:
                # a failed statement leaves the transaction open on both engines
                with contextlib.suppress(EngineError):
                    a.execute(["ROLLBACK"])
            raise
        after = snapshot(a, a.catalog())
        _run(a, "the removal of what the variant keeps", kept)
        reached = a.catalog()
        stand_ins = _stand_ins_used(a, dialect)
    except _Failed as failed:
        return Proof(
            engine,
            False,
            f"{failed.script} failed: {failed.error.message.strip()}"
            f" (in statement: {_short(failed.error.statement)})",
        )
    except EngineError as err:
        # filling, reading or inspecting the deployed state (a generated column or view that
        # calls a function this engine lacks): the proof could not be made, which is a finding
        return Proof(
            engine,
            False,
            f"the scratch engine could not read the deployed state: {err.message.strip()}"
            f" (in statement: {_short(err.statement)})",
        )
    finally:
        a.close()
    b = new_database()
    try:
        _prepare(b, settings)
        _run(b, "the reverted-to history", older)
        expected = b.catalog()
    except _Failed as failed:
        return Proof(
            engine,
            False,
            f"{failed.script} failed: {failed.error.message.strip()}"
            f" (in statement: {_short(failed.error.statement)})",
        )
    except EngineError as err:
        return Proof(
            engine,
            False,
            f"the scratch engine could not read the reverted-to state: {err.message.strip()}"
            f" (in statement: {_short(err.statement)})",
        )
    finally:
        b.close()
    # PostgreSQL can't re-add a column at its old position, so column order is not compared
    differences = reached.diff(expected, column_order=dialect is not Dialect.POSTGRES)
    lost = lost_values(before, after, script.lost, dict(script.renames))
    if differences:
        what = "the target plus what it keeps" if script.kept else "the reverted-to schema"
        return Proof(
            engine,
            False,
            f"the database after {script.what} differs from {what}",
            (*differences, *lost),
        )
    if lost:
        return Proof(engine, False, f"{script.what} loses data it does not declare", tuple(lost))
    return Proof(engine, True, _proven(script, shipped, seeded, in_transaction, stand_ins))


def _proven(
    script: Script, shipped: list[str], seeded: Any, in_transaction: bool, stand_ins: list[str]
) -> str:
    rows = sum(seeded.rows.values())
    how = " in one transaction, as the migration tool runs it" if in_transaction else ""
    text = (
        f"{script.what} ({len(shipped)} statements{how}) takes the deployed schema to the"
        f" reverted-to one{' plus what it keeps' if script.kept else ''}; {rows} rows in"
        f" {len(seeded.rows)} {'table' if len(seeded.rows) == 1 else 'tables'} kept every value"
        " the plan does not declare lost"
    )
    if seeded.unfilled:
        text += "; not filled: " + ", ".join(f"{t} ({why})" for t, why in seeded.unfilled.items())
    if stand_ins:
        text += f"; stand-in extensions (same functions, not the real ones): {', '.join(stand_ins)}"
    return text


def _prepare(db: ScratchDatabase, settings: EngineSettings) -> None:
    if settings.sqlite_functions and db.dialect == "sqlite":
        for function in settings.sqlite_functions:
            _register(db, function)
    try:
        db.execute(list(settings.statements))
    except EngineError as err:
        raise _Failed("the engine settings from .rollback-plan.yml", err) from err


def _register(db: ScratchDatabase, function: SqliteFunction) -> None:
    """An application-provided SQLite function, computed as its configured SQL expression."""
    inner: Any = getattr(db, "_db", db)
    conn: sqlite3.Connection = inner._conn

    def call(*args: Any) -> Any:
        return conn.execute(f"SELECT {function.sql}", args).fetchone()[0]

    # deterministic: SQLite only lets such functions into index expressions and CHECKs
    conn.create_function(function.name, function.args, call, deterministic=True)


def _run(db: ScratchDatabase, name: str, statements: Sequence[str]) -> None:
    try:
        db.execute(statements)
    except EngineError as err:
        raise _Failed(name, err) from err


def _stand_ins_used(db: ScratchDatabase, dialect: Dialect) -> list[str]:
    if dialect is not Dialect.POSTGRES:
        return []
    names = ", ".join(f"'{n}'" for n in STAND_INS)
    return [
        str(r[0])
        for r in db.query(f"SELECT extname FROM pg_extension WHERE extname IN ({names}) ORDER BY 1")
    ]


def _version(db: ScratchDatabase) -> str:
    if db.dialect == "sqlite":
        ((v,),) = db.query("SELECT sqlite_version()")
        return f"SQLite {v}"
    if db.dialect == "postgres":
        ((v,),) = db.query("SHOW server_version")
        return f"PostgreSQL {str(v).split()[0]}"
    ((full,),) = db.query("SELECT VERSION()")
    number, _, flavour = str(full).partition("-")
    return f"{'MariaDB' if 'MariaDB' in flavour else 'MySQL'} {number}"


def _short(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= 200 else text[:197] + "..."


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "unknown error"


# --- MySQL / MariaDB: a scratch server the operator configured ------------------------


class _UrlServer:
    """Databases we create on the operator's scratch server; each dropped on close."""

    dialect = "mysql"

    def __init__(self, url: str) -> None:
        try:
            import pymysql
        except ImportError as err:
            raise EngineUnavailable("the engines extra is not installed") from err
        self._url = url
        try:
            self._admin = pymysql.connect(autocommit=True, charset="utf8mb4", **_mysql_args(url))
        except pymysql.err.MySQLError as err:
            raise EngineUnavailable(
                f"cannot connect to the scratch server {mask_url(url)}: {_message(err)}"
            ) from err
        self.version = ""

    def new_database(self) -> ScratchDatabase:
        import pymysql

        from bot.engines.mariadb import MariadbDatabase, quote_ident

        name = DATABASE_PREFIX + secrets.token_hex(6)
        try:
            with self._admin.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {quote_ident(name)}")
            conn = pymysql.connect(
                autocommit=True, charset="utf8mb4", **(_mysql_args(self._url) | {"database": name})
            )
        except pymysql.err.MySQLError as err:
            raise EngineUnavailable(f"the scratch server refused: {_message(err)}") from err

        def drop() -> None:
            with self._admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")

        return MariadbDatabase(conn, name, drop)

    def close(self) -> None:
        self._admin.close()


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


def _message(err: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    return str(args[1]) if len(args) == 2 else str(err)
