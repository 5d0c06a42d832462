"""Prove what ships on a scratch engine, with data, before anyone approves it.

Database A replays the deployed history, gets rows in every table, then runs what the companion
change carries (the down, or the data-keeping variant of a refused plan) the way the migration
tool runs a file: in one transaction on PostgreSQL and SQLite. Database B replays the history
being reverted to. Proven when A's catalog is B's plus exactly what a variant says it keeps, and
every row and value the plan does not declare lost is still in A. Only scratch engines are used:
SQLite in memory, an embedded PostgreSQL and a private mariadbd started by this process, or a
MySQL/MariaDB server the operator configured as scratch. A configured application database is
never touched. On PostgreSQL each history is replayed once and kept (bot/engines/templates.py):
the next proof of it copies database A and reads B's catalog from memory.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import secrets
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from bot.core.model import Dialect
from bot.core.plan import Proof
from bot.core.split import SplitError, split_statements
from bot.engines.extensions import STAND_INS, SUPABASE_ROLES, install_stand_ins
from bot.engines.postgres import PostgresServer
from bot.engines.scratch import EngineError, EngineUnavailable
from bot.engines.seed import Seeded, lost_values, seed, snapshot
from bot.engines.templates import KEPT, Deployed, Templates
from bot.engines.urls import mask_url
from bot.sources.config import EngineConfig, SqliteFunction
from bot.sources.model import Format

if TYPE_CHECKING:
    from bot.engines.catalog import Catalog
    from bot.engines.scratch import ScratchDatabase, ScratchServer

MYSQL_SCRATCH_ENV = "ROLLBACK_PLAN_MYSQL_SCRATCH_URL"
_NAMES = {Dialect.SQLITE: "SQLite", Dialect.POSTGRES: "PostgreSQL", Dialect.MYSQL: "MySQL/MariaDB"}
DATABASE_PREFIX = "rollback_plan_verify_"
log = logging.getLogger(__name__)
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
    # rows in every table first (False: the schema alone, to tell a down that fails only on
    # data from one that fails on the schema)
    rows: bool = True


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
    """This process's scratch servers: started on first use, shared, behind one lock; on
    PostgreSQL, up to `templates` replayed histories kept for the next proofs (0: none)."""

    def __init__(self, templates: int = KEPT) -> None:
        self._lock = threading.Lock()
        self._servers: dict[Dialect, ScratchServer] = {}
        self._unavailable: dict[Dialect, str] = {}  # tried once per process, not per plan
        self._extensions: Path | None = None
        self._kept = templates
        self._templates: dict[Dialect, Templates] = {}

    def use(self, dialect: Dialect, server: ScratchServer) -> None:
        """Use an already running server (tests share theirs)."""
        with self._lock:
            self._servers[dialect] = server
            self._templates.pop(dialect, None)

    def new_database(self, dialect: Dialect) -> ScratchDatabase:
        """A fresh database on the dialect's server, which is started if need be."""
        with self._lock:
            server = self._server(dialect)
            if isinstance(server, PostgresServer):
                db: ScratchDatabase = server.new_database(prelude=self._prelude())
            else:
                db = server.new_database()
            return _Locked(db, self._lock)

    def templates(self, dialect: Dialect) -> Templates | None:
        """The replayed histories kept on the dialect's server, if it keeps any."""
        if dialect is not Dialect.POSTGRES or not self._kept:
            return None
        templates = self._templates.get(dialect)
        if templates is not None:  # without the lock: a proof need not wait for the admin link
            return templates
        with self._lock:
            server = self._server(dialect)
            if not isinstance(server, PostgresServer):
                return None
            templates = self._templates.get(dialect)
            if templates is None:
                templates = Templates(server, self._lock, self._prelude(), self._kept)
                self._templates[dialect] = templates
            return templates

    def close(self) -> None:
        """Drop the templates kept on the servers; the servers go on (tests share theirs)."""
        with self._lock:
            templates = list(self._templates.values())
            self._templates.clear()
        for kept in templates:
            kept.close()

    def _server(self, dialect: Dialect) -> ScratchServer:
        """The dialect's server, started if need be (the lock held)."""
        server = self._servers.get(dialect)
        if server is None:
            if dialect in self._unavailable:
                raise EngineUnavailable(self._unavailable[dialect])
            try:
                server = self._servers[dialect] = _start(dialect)
            except EngineUnavailable as err:
                self._unavailable[dialect] = str(err)
                raise
        return server

    def _prelude(self) -> tuple[str, ...]:
        # PostgreSQL 18+; an older server has its own contrib or none, and says so
        return (f"SET extension_control_path = '$system:{self._stand_ins()}'",)

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

    def queries(self, sqls: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        return self._db.queries(sqls)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return self._db.rows(table)

    def catalog(self) -> Catalog:
        return self._db.catalog()

    def fresh_session(self) -> None:
        """Go on in a new session (PostgreSQL's, see PostgresDatabase.fresh_session)."""
        inner: Any = self._db
        inner.fresh_session()

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
    settings = settings or EngineSettings()
    histories: _Histories
    server: ScratchServer | None = None
    if dialect is Dialect.POSTGRES and not postgres:
        return Proof(None, False, "proof on PostgreSQL is switched off")
    if dialect is Dialect.MYSQL and mysql_url:
        refused = _refusal(mysql_url, application_urls)
        if refused:
            return Proof(None, False, refused)
        try:
            server = _UrlServer(mysql_url)
        except EngineUnavailable as err:
            return Proof(None, False, _first_line(str(err)))
        histories = _SameSession(server.new_database, settings)
    elif dialect is Dialect.POSTGRES:
        histories = _FreshSessions(engines, settings)
    else:
        histories = _SameSession(partial(engines.new_database, dialect), settings)
    try:
        result = _prove(dialect, histories, script, shipped, kept, newer_sql, older_sql)
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
    return [s for text in texts for s in _split(text, dialect)]


@lru_cache(maxsize=4096)
def _split(text: str, dialect: Dialect) -> tuple[str, ...]:
    """A file's statements; every proof of a repository splits the same history again."""
    return tuple(s.text for s in split_statements(text, dialect.value))


def _prove(
    dialect: Dialect,
    histories: _Histories,
    script: Script,
    shipped: list[str],
    kept: list[str],
    newer: list[str],
    older: list[str],
) -> Proof:
    """Run the script on the deployed history; compare its catalog and rows with the
    reverted-to history's."""
    try:
        a, deployed = histories.deployed(newer, script.rows)
    except _Failed as failed:
        return _failure(histories.engine, failed)
    except EngineError as err:
        # filling, reading or inspecting the deployed state (a generated column or view that
        # calls a function this engine lacks): the proof could not be made, which is a finding
        return _unreadable(histories.engine, "the deployed state", err)
    engine = histories.engine
    in_transaction = script.transaction and dialect is not Dialect.MYSQL
    try:
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
        reached = a.catalog()
        after = snapshot(a, reached)
        if kept:
            _run(a, "the removal of what the variant keeps", kept)
            reached = a.catalog()
        stand_ins = _stand_ins_used(reached, dialect)
    except _Failed as failed:
        return _failure(engine, failed)
    except EngineError as err:
        return _unreadable(engine, "the deployed state", err)
    finally:
        a.close()
    try:
        expected = histories.reverted_to(older)
    except _Failed as failed:
        return _failure(engine, failed)
    except EngineError as err:
        return _unreadable(engine, "the reverted-to state", err)
    # PostgreSQL can't re-add a column at its old position, so column order is not compared
    differences = reached.diff(expected, column_order=dialect is not Dialect.POSTGRES)
    lost = lost_values(deployed.rows, after, script.lost, dict(script.renames))
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
    return Proof(engine, True, _proven(script, shipped, deployed.seeded, in_transaction, stand_ins))


def _failure(engine: str | None, failed: _Failed) -> Proof:
    return Proof(
        engine,
        False,
        f"{failed.script} failed: {failed.error.message.strip()}"
        f" (in statement: {_short(failed.error.statement)})",
    )


def _unreadable(engine: str | None, state: str, err: EngineError) -> Proof:
    return Proof(
        engine,
        False,
        f"the scratch engine could not read {state}: {err.message.strip()}"
        f" (in statement: {_short(err.statement)})",
    )


class _Histories(Protocol):
    """Where the proof gets its two histories replayed."""

    engine: str | None  # known once a database was had, before any statement runs

    def deployed(self, statements: Sequence[str], rows: bool) -> tuple[ScratchDatabase, Deployed]:
        """A database at the end of the deployed history, with rows if asked; the caller
        closes it."""
        ...

    def reverted_to(self, statements: Sequence[str]) -> Catalog:
        """The catalog at the end of the reverted-to history."""
        ...


class _SameSession:
    """Each history replayed on a new database, everything after it in the same session."""

    def __init__(self, new_database: Callable[[], ScratchDatabase], settings: EngineSettings):
        self._new = new_database
        self._settings = settings
        self.engine: str | None = None

    def deployed(self, statements: Sequence[str], rows: bool) -> tuple[ScratchDatabase, Deployed]:
        db = self._new()
        try:
            self.engine = _version(db)
            _prepare(db, self._settings)
            _run(db, "the pre-revert history", statements)
            return db, _with_rows(db, rows)
        except BaseException:
            db.close()
            raise

    def reverted_to(self, statements: Sequence[str]) -> Catalog:
        db = self._new()
        try:
            _prepare(db, self._settings)
            _run(db, "the reverted-to history", statements)
            return db.catalog()
        finally:
            db.close()


class _FreshSessions:
    """PostgreSQL: each history replayed in a session of its own, the rest in new sessions,
    as on a copy of a kept template; so the proof is the same whether a template served it.
    A template that can't be kept or copied falls back to replaying."""

    def __init__(self, engines: ScratchEngines, settings: EngineSettings) -> None:
        self._engines = engines
        self._settings = settings
        self.engine: str | None = None

    def deployed(self, statements: Sequence[str], rows: bool) -> tuple[ScratchDatabase, Deployed]:
        templates = self._engines.templates(Dialect.POSTGRES)
        if templates is not None:
            kind = "deployed" if rows else "deployed-empty"
            key = templates.key(kind, self._settings.statements, statements)
            try:
                copy, deployed = templates.deployed(key, partial(self._build, statements, rows))
                return self._session(copy), deployed
            except EngineError as err:
                # the history's own failures are _Failed; this is the cache's: do without it
                log.warning("no template for this history, replaying it: %s", err.message)
                templates.discard(key)
        db = self._engines.new_database(Dialect.POSTGRES)
        try:
            deployed = self._build(statements, rows, db)
            _fresh_session(db)
        except BaseException:
            db.close()
            raise
        return self._session(db), deployed

    def reverted_to(self, statements: Sequence[str]) -> Catalog:
        def read() -> Catalog:
            db = self._engines.new_database(Dialect.POSTGRES)
            try:
                self._replay(db, statements, "the reverted-to history")
                return db.catalog()
            finally:
                db.close()

        templates = self._engines.templates(Dialect.POSTGRES)
        if templates is None:
            return read()
        return templates.catalog(
            templates.key("reverted-to", self._settings.statements, statements), read
        )

    def _build(self, statements: Sequence[str], rows: bool, db: ScratchDatabase) -> Deployed:
        self._replay(db, statements, "the pre-revert history")
        return _with_rows(db, rows)

    def _replay(self, db: ScratchDatabase, statements: Sequence[str], name: str) -> None:
        """The history in a session of its own; `db` then in a new prepared session."""
        if self.engine is None:
            self.engine = _version(db)
        _prepare(db, self._settings)
        _run(db, name, statements)
        _fresh_session(db)
        _prepare(db, self._settings)

    def _session(self, db: ScratchDatabase) -> ScratchDatabase:
        try:
            if self.engine is None:
                self.engine = _version(db)
            _prepare(db, self._settings)
        except BaseException:
            db.close()
            raise
        return db


def _fresh_session(db: ScratchDatabase) -> None:
    postgres: Any = db  # a PostgresDatabase, or one _Locked
    postgres.fresh_session()


def _with_rows(db: ScratchDatabase, rows: bool = True) -> Deployed:
    """The deployed catalog, with rows put in every table (if asked) and read back."""
    catalog = db.catalog()
    seeded = seed(db, catalog) if rows else Seeded({}, {})
    return Deployed(catalog, seeded, snapshot(db, catalog))


def _proven(
    script: Script, shipped: list[str], seeded: Seeded, in_transaction: bool, stand_ins: list[str]
) -> str:
    rows = sum(seeded.rows.values())
    how = " in one transaction, as the migration tool runs it" if in_transaction else ""
    text = (
        f"{script.what} ({len(shipped)} statements{how}) takes the deployed schema to the"
        f" reverted-to one{' plus what it keeps' if script.kept else ''}; "
    )
    if not script.rows:
        return text + "judged on empty tables"
    text += (
        f"{rows} rows in {len(seeded.rows)} {'table' if len(seeded.rows) == 1 else 'tables'}"
        " kept every value the plan does not declare lost"
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


def _stand_ins_used(catalog: Catalog, dialect: Dialect) -> list[str]:
    if dialect is not Dialect.POSTGRES:
        return []
    return [name for name in catalog.names("extensions") if name in STAND_INS]


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
