"""Opt-in live inspection: what a plan would destroy, and whether the live schema drifted.

Only when a source names a database (an environment variable or a mounted secret file, never a
URL in the repo). The connection is read-only at the connection level and has short timeouts;
nothing here runs the plan or writes. Every failure becomes a `problems` entry: the plan still
comes out, without live figures, and says what failed. URLs are never logged or reported; only
their masked form (scheme://host/db) is.

PostgreSQL's live schema is rebuilt from the system catalogs rather than with pg_dump:
pg_dump takes an ACCESS SHARE lock on every table (which queues behind a pending ALTER and can
stall the application), needs SELECT on every table, needs the password on a child process's
command line and a client at least as new as the server. Catalog reads need none of that.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.core import changes as ch
from bot.core.diff import diff
from bot.core.model import (
    AutoKind,
    Column,
    Dialect,
    ForeignKey,
    PrimaryKey,
    QName,
    Schema,
    Unique,
)
from bot.core.replay import replay_sql
from bot.sources.config import DatabaseRef
from bot.verify import mask_url

Query = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class AtRisk:
    """One figure of what the plan would destroy or trip over on the live data."""

    object: str  # "users.short_bio"
    count: int | None  # None: could not be counted (the reason is in `problems`)
    message: str  # "users.short_bio: 312,004 non-null values"


@dataclass(frozen=True)
class LiveReport:
    """What the live database says about a plan."""

    engine: str | None
    at_risk: tuple[AtRisk, ...]
    drift: tuple[str, ...]  # how the live schema differs from the expected pre-revert schema
    live_schema_sql: str | None  # the live schema as DDL, for planning from the live state
    problems: tuple[str, ...]  # what failed; never raised to the caller


def database_url(ref: DatabaseRef, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """The URL a source's `databases` entry points at, or why there is none: (url, problem)."""
    if ref.url_env:
        value = env.get(ref.url_env, "").strip()
        if value:
            return value, None
        if not ref.url_file:
            state = "is empty" if ref.url_env in env else "is not set"
            return None, f"environment variable {ref.url_env} {state}"
    if ref.url_file:
        try:
            value = Path(ref.url_file).read_text(encoding="utf-8").strip()
        except OSError as err:
            return None, f"cannot read the database URL file {ref.url_file}: {err.strerror}"
        if value:
            return value, None
        return None, f"the database URL file {ref.url_file} is empty"
    return None, "no url_env or url_file configured for this database"


def inspect_live(
    dialect: Dialect,
    url: str,
    changes: Sequence[ch.Change],
    expected: Schema,
    *,
    timeout_s: float = 5.0,
) -> LiveReport:
    """Count what `changes` (the down) puts at risk and compare the live schema to `expected`.

    Never raises: whatever fails is a `problems` entry and the rest of the report stands.
    """
    where = mask_url(url)
    try:
        session = _open(dialect, url, timeout_s)
    except _Problem as problem:
        return LiveReport(None, (), (), None, (f"{where}: {problem}",))
    except Exception as err:  # a driver's surprise must not stop the plan
        return LiveReport(None, (), (), None, (f"{where}: {_unexpected(err, url)}",))
    problems: list[str] = []
    at_risk: tuple[AtRisk, ...] = ()
    live_sql: str | None = None
    drift: tuple[str, ...] = ()
    with session:
        try:
            at_risk = tuple(_count_at_risk(session, changes, problems))
        except Exception as err:
            problems.append(f"could not count the data at risk: {_unexpected(err, url)}")
        try:
            live_sql = session.schema_sql()
        except _Problem as problem:
            problems.append(f"could not read the live schema: {problem}")
        except Exception as err:
            problems.append(f"could not read the live schema: {_unexpected(err, url)}")
    if live_sql is not None:
        try:
            drift, unreadable = _drift(live_sql, dialect, expected)
            problems += unreadable
        except Exception as err:
            problems.append(f"could not compare the live schema: {_unexpected(err, url)}")
    return LiveReport(
        session.engine, at_risk, drift, live_sql, tuple(f"{where}: {p}" for p in problems)
    )


def _unexpected(err: Exception, url: str) -> str:
    return f"{type(err).__name__}: {_clean(str(err), url)}"


class _Problem(Exception):
    """Something the report should say failed; the message never holds the URL."""


# --- sessions ----------------------------------------------------------------------------


class _Session:
    """A read-only connection: run a query, read the schema as DDL."""

    dialect: Dialect
    engine: str | None

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def schema_sql(self) -> str:
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

    def __enter__(self) -> _Session:
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _open(dialect: Dialect, url: str, timeout_s: float) -> _Session:
    if dialect is Dialect.POSTGRES:
        return _PostgresSession(url, timeout_s)
    if dialect is Dialect.MYSQL:
        return _MysqlSession(url, timeout_s)
    return _SqliteSession(url, timeout_s)


class _PostgresSession(_Session):
    dialect = Dialect.POSTGRES

    def __init__(self, url: str, timeout_s: float) -> None:
        try:
            import psycopg
        except ImportError as err:
            raise _Problem("PostgreSQL inspection needs the engines extra (psycopg)") from err
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
            raise _Problem(_clean(str(err), url)) from err
        except Exception as err:  # a malformed URL is a ProgrammingError or ValueError
            raise _Problem(f"cannot use the database URL: {type(err).__name__}") from err
        self._url = url
        if self.query("SHOW transaction_read_only") != [("on",)]:
            self.close()
            raise _Problem("the connection is not read-only; refusing to inspect")
        ((version,),) = self.query("SHOW server_version")
        self.engine = f"PostgreSQL {str(version).split()[0]}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            cursor = self._conn.execute(sql)
            return list(cursor.fetchall()) if cursor.description is not None else []
        except self._error as err:
            raise _Problem(_clean(str(err), self._url)) from err

    def schema_sql(self) -> str:
        return _postgres_ddl(self.query)

    def close(self) -> None:
        self._conn.close()


class _MysqlSession(_Session):
    dialect = Dialect.MYSQL

    def __init__(self, url: str, timeout_s: float) -> None:
        try:
            import pymysql
        except ImportError as err:
            raise _Problem("MySQL inspection needs the engines extra (pymysql)") from err
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
            raise _Problem(_clean(_mysql_message(err), url)) from err
        except (ValueError, TypeError) as err:
            raise _Problem(f"cannot use the database URL: {type(err).__name__}") from err
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
            raise _Problem("the connection is not read-only; refusing to inspect")
        (database,) = self.query("SELECT DATABASE()")[0]
        if database is None:
            self.close()
            raise _Problem("the database URL names no database")
        self._database = str(database)

    def _read_only(self) -> bool:
        # MySQL 8 and MariaDB 11.1+ call it transaction_read_only, older MariaDB tx_read_only
        for name in ("transaction_read_only", "tx_read_only"):
            try:
                return self.query(f"SELECT @@session.{name}") == [(1,)]
            except _Problem:
                continue
        return False

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cursor:
                cursor.execute(sql)
                return [tuple(row) for row in cursor.fetchall()]
        except self._error as err:
            raise _Problem(_clean(_mysql_message(err), self._url)) from err

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

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.rollback()
        self._conn.close()


_DEFINER = re.compile(r"\s+DEFINER\s*=\s*(?:`[^`]*`|'[^']*'|\S+?)@(?:`[^`]*`|'[^']*'|\S+)", re.I)


def _plain_view(create: str, database: str) -> str:
    """SHOW CREATE VIEW without DEFINER/SQL SECURITY noise and the database qualifier."""
    start = create.upper().find(" VIEW ")
    body = "CREATE VIEW" + create[start + len(" VIEW") :] if start >= 0 else create
    return body.replace(f"`{database}`.", "")


class _SqliteSession(_Session):
    dialect = Dialect.SQLITE

    def __init__(self, url: str, timeout_s: float) -> None:
        path = _sqlite_path(url)
        if not Path(path).exists():
            # mode=ro would say "unable to open database file"; the path is more useful
            raise _Problem(f"no SQLite database at {path}")
        try:
            uri = "file:" + _uri_path(path) + "?mode=ro"
            self._conn = sqlite3.connect(uri, uri=True, timeout=timeout_s, isolation_level=None)
            # belt and braces: mode=ro is the file handle, query_only the statement checker
            self._conn.execute("PRAGMA query_only = ON")
        except sqlite3.Error as err:
            raise _Problem(str(err)) from err
        deadline = time.monotonic() + timeout_s
        # SQLite has no statement timeout: abort any statement running past the deadline
        self._conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        self.engine = f"SQLite {sqlite3.sqlite_version}"

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(row) for row in self._conn.execute(sql).fetchall()]
        except sqlite3.OperationalError as err:
            if "interrupted" in str(err):
                raise _Problem("timed out") from err
            raise _Problem(str(err)) from err
        except sqlite3.Error as err:
            raise _Problem(str(err)) from err

    def schema_sql(self) -> str:
        rows = self.query(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
            " ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid"
        )
        return "".join(f"{sql};\n" for (sql,) in rows)

    def close(self) -> None:
        self._conn.close()


def _sqlite_path(url: str) -> str:
    """sqlite:///relative.db, sqlite:////absolute.db, file:/path.db or a bare path."""
    if url.startswith("sqlite:///"):
        return unquote(url[len("sqlite:///") :].split("?", 1)[0])
    if url.startswith("file:"):
        return unquote(urlsplit(url).path)
    return url


def _uri_path(path: str) -> str:
    from urllib.parse import quote

    return quote(str(Path(path).resolve()))


def _clean(message: str, url: str) -> str:
    """An engine message without the URL, the password or the user name."""
    text = message.strip().splitlines()[0] if message.strip() else "unknown error"
    parts = urlsplit(url)
    text = text.replace(url, "***")
    # (secret, shortest length replaced even unquoted): a short user name like "app" would
    # otherwise be cut out of ordinary words; a password is cut out wherever it appears
    for secret, bare in ((parts.password, 3), (parts.username, 6)):
        for form in {secret, unquote(secret)} if secret else set():
            for quoted in (f"'{form}'", f'"{form}"'):
                text = text.replace(quoted, "'***'")
            if len(form) >= bare:
                text = text.replace(form, "***")
    return text


def _mysql_message(err: BaseException) -> str:
    args: tuple[Any, ...] = tuple(getattr(err, "args", ()))
    return str(args[1]) if len(args) == 2 else str(err) or type(err).__name__


# --- data at risk --------------------------------------------------------------------------


def _count_at_risk(
    session: _Session, changes: Sequence[ch.Change], problems: list[str]
) -> Iterator[AtRisk]:
    """One figure per change of the down that destroys data or may fail on existing rows."""
    for change in changes:
        counted = _risk_query(session, change)
        if counted is None:
            continue
        obj, sql, describe_count = counted
        try:
            ((count,),) = session.query(sql)
        except _Problem as problem:
            problems.append(f"could not count {obj}: {problem}")
            yield AtRisk(obj, None, f"{obj}: not counted ({problem})")
            continue
        yield AtRisk(obj, int(count or 0), f"{obj}: {describe_count(int(count or 0))}")


def _risk_query(
    session: _Session, change: ch.Change
) -> tuple[str, str, Callable[[int], str]] | None:
    """(object, counting SELECT, how to say the count) for a change that puts rows at risk."""
    q = session.quote
    match change:
        case ch.DropTable(table):
            return (
                str(table.name),
                f"SELECT count(*) FROM {session.table(table.name)}",
                lambda n: f"{n:,} {_plural(n, 'row')}",
            )
        case ch.DropColumn(table, column):
            return (
                f"{table}.{column.name}",
                f"SELECT count({q(column.name)}) FROM {session.table(table)}",
                lambda n: f"{n:,} non-null {_plural(n, 'value')}",
            )
        case ch.AlterColumn(table, before, after) if before.nullable and not after.nullable:
            return (
                f"{table}.{before.name}",
                f"SELECT count(*) FROM {session.table(table)} WHERE {q(before.name)} IS NULL",
                lambda n: f"{n:,} {_plural(n, 'row')} with NULL, which the new NOT NULL rejects",
            )
        case ch.AddColumn(table, column) if _required_without_default(column):
            return (
                f"{table}.{column.name}",
                f"SELECT count(*) FROM {session.table(table)}",
                lambda n: (
                    f"{n:,} existing {_plural(n, 'row')} without a value for the new NOT NULL column"
                ),
            )
        case ch.AddConstraint(table, PrimaryKey(columns=cols) | Unique(columns=cols) as key):
            return _duplicates(
                session, ch.change_object(change), table, cols, key.kind, key.kind == "primary key"
            )
        case ch.CreateIndex(index) if (
            index.unique and index.where is None and all(p.is_column for p in index.parts)
        ):
            cols = tuple(p.expression for p in index.parts)
            return _duplicates(session, index.name, index.table, cols, "unique index", False)
        case ch.AddConstraint(table, ForeignKey() as fk):
            child = " AND ".join(f"c.{q(c)} IS NOT NULL" for c in fk.columns)
            match_ = " AND ".join(
                f"p.{q(rc)} = c.{q(c)}" for c, rc in zip(fk.columns, fk.ref_columns, strict=False)
            )
            return (
                f"{table}.{fk.name or 'foreign key'}",
                f"SELECT count(*) FROM {session.table(table)} c WHERE {child} AND NOT EXISTS"
                f" (SELECT 1 FROM {session.table(fk.ref_table)} p WHERE {match_})",
                lambda n: f"{n:,} {_plural(n, 'row')} referencing a missing {fk.ref_table} row",
            )
    return None


def _duplicates(
    session: _Session, obj: str, table: QName, columns: Sequence[str], kind: str, pk: bool
) -> tuple[str, str, Callable[[int], str]]:
    cols = ", ".join(session.quote(c) for c in columns)
    # NULLs never collide in a unique key; in a primary key they are violations themselves
    not_null = " AND ".join(f"{session.quote(c)} IS NOT NULL" for c in columns)
    nulls = " OR ".join(f"{session.quote(c)} IS NULL" for c in columns)
    sql = (
        f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {session.table(table)}"
        f" WHERE {not_null} GROUP BY {cols} HAVING count(*) > 1) d"
    )
    if pk:
        sql = f"SELECT ({sql}) + (SELECT count(*) FROM {session.table(table)} WHERE {nulls})"
    what = "duplicated or NULL" if pk else "duplicated"
    return (
        obj,
        sql,
        lambda n: (
            f"{n:,} {_plural(n, 'row')} with {what} ({', '.join(columns)}),"
            f" which the new {kind} rejects"
        ),
    )


def _required_without_default(column: Any) -> bool:
    return (
        not column.nullable
        and column.default is None
        and column.generated is None
        and column.auto is None
    )


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


# --- drift ------------------------------------------------------------------------------


def _drift(live_sql: str, dialect: Dialect, expected: Schema) -> tuple[tuple[str, ...], list[str]]:
    """How the live schema differs from `expected`, in plain words; and what could not be read."""
    history = replay_sql(live_sql, dialect, path="<live schema>")
    problems = [
        f"part of the live schema could not be analysed (line {u.line}: {u.reason})"
        for u in history.unmodelled
    ]
    changes = _real_differences(diff(history.schema, expected))
    return tuple(dict.fromkeys(_drift_sentence(c) for c in changes)), problems


# Casts the engine adds when it prints an expression back ('x'::text, (0)::numeric)
_CAST = re.compile(
    r"::\s*(?:\"[^\"]+\"|[a-z_][\w.]*)(?:\s+(?:varying|precision|with(?:out)?\s+time\s+zone))*"
    r"(?:\s*\(\d+(?:\s*,\s*\d+)?\))?(?:\[\])*",
    re.IGNORECASE,
)
# MariaDB prints display widths (int(11)) that a migration rarely writes and that change nothing
_INT_WIDTH = re.compile(r"\b((?:tiny|small|medium|big)?int)\(\d+\)", re.IGNORECASE)


def _canon(value: object) -> str:
    """A value's text with the engine's way of printing it taken out (casts, parentheses,
    quotes, case, whitespace), so a schema read back compares equal to the one written."""
    text = _INT_WIDTH.sub(r"\1", _CAST.sub("", repr(value)))
    return re.sub(r"[\s()`\"]", "", text).lower()


def _pair_key(change: ch.Change) -> tuple[str, str, str] | None:
    """(family, object, comparable form) of a change that removes or adds one object."""
    match change:
        case ch.DropConstraint(_, con) | ch.AddConstraint(_, con):
            return ("constraint", ch.change_object(change), _canon(con))
        case ch.DropIndex(idx) | ch.CreateIndex(idx):
            return ("index", idx.name.lower(), _canon(idx))
        # The engine's own text of a view, trigger or function (pg_get_viewdef, SHOW CREATE)
        # never matches the text a migration was written in: only their presence is compared.
        case ch.DropView(v) | ch.CreateView(v):
            return ("view", str(v.name).lower(), "")
        case ch.DropOpaque(o) | ch.CreateOpaque(o):
            return ("opaque", f"{o.kind} {o.identity}".lower(), "")
    return None


_REMOVES = (ch.DropConstraint, ch.DropIndex, ch.DropView, ch.DropOpaque)


def _real_differences(changes: Sequence[ch.Change]) -> list[ch.Change]:
    """The diff without what only the engine's printing explains (a drop and re-create of the
    same object, a column whose attributes differ only in how they are written)."""
    removed = {k for c in changes if isinstance(c, _REMOVES) and (k := _pair_key(c))}
    added = {k for c in changes if not isinstance(c, _REMOVES) and (k := _pair_key(c))}
    same = removed & added
    out: list[ch.Change] = []
    for change in changes:
        if isinstance(change, ch.ReplaceView | ch.ReplaceOpaque):
            continue
        if isinstance(change, ch.AlterColumn) and _canon(change.before) == _canon(change.after):
            continue
        if _pair_key(change) in same:
            continue
        out.append(change)
    return out


def _drift_sentence(change: ch.Change) -> str:
    """One plain sentence for a change that would take the live schema to the expected one.

    verdict.describe words a down's result ("leaves X in place"); drift needs the live
    database as the subject, hence these sentences.
    """
    extra = "exists on the live database but not in the migration history"
    missing = "is missing on the live database"
    match change:
        case ch.DropTable(t):
            return f"table {t.name} {extra}"
        case ch.CreateTable(t):
            return f"table {t.name} {missing}"
        case ch.DropColumn(t, col):
            return f"column {t}.{col.name} {extra}"
        case ch.AddColumn(t, col):
            return f"column {t}.{col.name} {missing}"
        case ch.AlterColumn(t, live, wanted):
            return f"column {t}.{live.name} differs on the live database: {_column_drift(live, wanted)}"
        case ch.DropIndex(idx):
            return f"index {idx.name} {extra}"
        case ch.CreateIndex(idx):
            return f"index {idx.name} {missing}"
        case ch.DropConstraint(t, con):
            return f"{con.kind} {con.name or ''} on {t} {extra}".replace("  ", " ")
        case ch.AddConstraint(t, con):
            return f"{con.kind} {con.name or ''} on {t} {missing}".replace("  ", " ")
        case ch.DropView(v):
            return f"view {v.name} {extra}"
        case ch.CreateView(v):
            return f"view {v.name} {missing}"
        case ch.DropEnum(e):
            return f"type {e.name} {extra}"
        case ch.CreateEnum(e):
            return f"type {e.name} {missing}"
        case ch.AlterEnum(live_enum, wanted_enum):
            return (
                f"type {live_enum.name} has values {list(live_enum.values)} on the live database"
                f" (migration history: {list(wanted_enum.values)})"
            )
        case ch.DropSequence(s):
            return f"sequence {s.name} {extra}"
        case ch.CreateSequence(s):
            return f"sequence {s.name} {missing}"
        case ch.DropOpaque(o):
            return f"{o.kind} {o.identity} {extra}"
        case ch.CreateOpaque(o):
            return f"{o.kind} {o.identity} {missing}"
        case ch.DropNamespace(n):
            return f"schema {n} {extra}"
        case ch.CreateNamespace(n):
            return f"schema {n} {missing}"
    what = ch.change_kind(change).replace("_", " ")
    return f"{ch.change_object(change)} differs on the live database (the history needs: {what})"


def _column_drift(live: Column, wanted: Column) -> str:
    parts = []
    if live.type != wanted.type:
        parts.append(f"type {live.type} (history: {wanted.type})")
    if live.nullable != wanted.nullable:
        parts.append(
            "nullable (history: NOT NULL)" if live.nullable else "NOT NULL (history: nullable)"
        )
    if live.default != wanted.default:
        parts.append(f"default {live.default} (history: {wanted.default})")
    if live.auto != wanted.auto:
        parts.append(f"generated values {live.auto or 'none'} (history: {wanted.auto or 'none'})")
    return ", ".join(parts) or "attributes differ"


# --- PostgreSQL: the schema as DDL, from the catalogs ----------------------------------

_USER_SCHEMA = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'"
)
_NOT_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{cat}'::regclass"
    " AND x.objid = {oid} AND x.deptype = 'e')"
)
_SERIAL = {
    "integer": AutoKind.SERIAL,
    "bigint": AutoKind.BIGSERIAL,
    "smallint": AutoKind.SMALLSERIAL,
}


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qn(schema: str, name: str) -> str:
    return _qi(name) if schema == "public" else f"{_qi(schema)}.{_qi(name)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _postgres_ddl(query: Query) -> str:
    """The user schemas of a PostgreSQL database as CREATE statements, rebuilt from catalogs."""
    out: list[str] = []
    for (name,) in query(
        f"SELECT n.nspname FROM pg_namespace n WHERE {_USER_SCHEMA} AND n.nspname <> 'public'"
        f" AND {_NOT_EXTENSION.format(cat='pg_namespace', oid='n.oid')} ORDER BY 1"
    ):
        out.append(f"CREATE SCHEMA {_qi(name)};")
    for (name,) in query(
        "SELECT e.extname FROM pg_extension e WHERE e.extname <> 'plpgsql' ORDER BY 1"
    ):
        out.append(f"CREATE EXTENSION IF NOT EXISTS {_qi(name)};")
    for schema, name, labels in query(
        "SELECT n.nspname, t.typname, ARRAY(SELECT e.enumlabel::text FROM pg_enum e"
        " WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)"
        " FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        f" WHERE t.typtype = 'e' AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_type', oid='t.oid')} ORDER BY 1, 2"
    ):
        values = ", ".join(_literal(v) for v in labels)
        out.append(f"CREATE TYPE {_qn(schema, name)} AS ENUM ({values});")

    # sequences a serial column owns come back as that serial column, not as sequences
    owned: dict[str, str] = {}  # "schema.table.column" -> sequence oid text
    for seq_oid, owner in query(
        "SELECT d.objid::text, rn.nspname || '.' || rc.relname || '.' || ra.attname"
        " FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
        " JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace"
        " JOIN pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid"
        " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
        " AND d.deptype = 'a'"
    ):
        owned[str(owner)] = str(seq_oid)
    for schema, name, oid, typ, start, inc, _min, smax, cache, cycle in query(
        "SELECT n.nspname, c.relname, c.oid::text, format_type(s.seqtypid, NULL), s.seqstart,"
        " s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle"
        " FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid"
        f" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMA}"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.objid = c.oid AND i.deptype = 'i')"
        " ORDER BY 1, 2"
    ):
        if str(oid) in owned.values():
            continue
        options = []
        if typ != "bigint":
            options.append(f"AS {typ}")
        if start != (1 if inc > 0 else smax):
            options.append(f"START WITH {start}")
        if inc != 1:
            options.append(f"INCREMENT BY {inc}")
        if cache != 1:
            options.append(f"CACHE {cache}")
        if cycle:
            options.append("CYCLE")
        out.append(f"CREATE SEQUENCE {_qn(schema, name)}{''.join(' ' + o for o in options)};")

    columns: dict[str, list[str]] = {}
    comments: list[str] = []
    for (
        schema,
        table,
        column,
        typ,
        notnull,
        default,
        identity,
        generated,
        collation,
        comment,
    ) in query(
        "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
        " a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,"
        " CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,"
        " col_description(c.oid, a.attnum)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " JOIN pg_type t ON t.oid = a.atttypid"
        " LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum"
        f" WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}"
        " ORDER BY 1, 2, a.attnum"
    ):
        key = _qn(schema, table)
        parts = [_qi(column)]
        serial = _SERIAL.get(typ)
        if (
            serial is not None
            and default is not None
            and str(default).startswith("nextval(")
            and f"{schema}.{table}.{column}" in owned
        ):
            parts.append(serial.value)
            default = None
        else:
            parts.append(typ)
        if collation:
            parts.append(f"COLLATE {collation}")
        if identity:
            parts.append(
                "GENERATED ALWAYS AS IDENTITY"
                if identity == "a"
                else "GENERATED BY DEFAULT AS IDENTITY"
            )
        if generated:
            parts.append(
                f"GENERATED ALWAYS AS ({default}) {'STORED' if generated == 's' else 'VIRTUAL'}"
            )
        elif default is not None:
            parts.append(f"DEFAULT {default}")
        if notnull and not identity:
            parts.append("NOT NULL")
        columns.setdefault(key, []).append(" ".join(parts))
        if comment is not None:
            comments.append(f"COMMENT ON COLUMN {key}.{_qi(column)} IS {_literal(comment)};")

    constraints: dict[str, list[str]] = {}
    foreign: list[str] = []
    for schema, table, name, contype, definition in query(
        "SELECT n.nspname, c.relname, co.conname, co.contype, pg_get_constraintdef(co.oid)"
        " FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE co.contype IN ('p', 'u', 'c', 'f', 'x') AND {_USER_SCHEMA}"
        " ORDER BY 1, 2, co.contype, co.conname"
    ):
        text = f"CONSTRAINT {_qi(name)} {definition}"
        if contype == "f":
            # after every table exists, so a reference never points forward
            foreign.append(f"ALTER TABLE {_qn(schema, table)} ADD {text};")
        else:
            constraints.setdefault(_qn(schema, table), []).append(text)

    for schema, table, comment in query(
        "SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')} ORDER BY 1, 2"
    ):
        key = _qn(schema, table)
        body = ",\n  ".join([*columns.get(key, []), *constraints.get(key, [])])
        out.append(f"CREATE TABLE {key} (\n  {body}\n);")
        if comment is not None:
            comments.append(f"COMMENT ON TABLE {key} IS {_literal(comment)};")
    out += foreign

    for (definition,) in query(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE {_USER_SCHEMA} AND c.relkind IN ('r', 'p', 'm')"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid"
        "   AND co.conrelid = i.indrelid)"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}"
        " ORDER BY 1"
    ):
        out.append(f"{_unpublic(str(definition))};")

    for schema, name, kind, definition in query(
        "SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('v', 'm') AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')} ORDER BY c.oid"
    ):
        what = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
        out.append(f"CREATE {what} {_qn(schema, name)} AS\n{str(definition).strip().rstrip(';')};")

    for (definition,) in query(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        f" WHERE {_USER_SCHEMA} AND p.prokind IN ('f', 'p')"
        f" AND {_NOT_EXTENSION.format(cat='pg_proc', oid='p.oid')} ORDER BY p.oid"
    ):
        out.append(f"{str(definition).strip()};")
    for (definition,) in query(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE NOT t.tgisinternal AND {_USER_SCHEMA} ORDER BY t.oid"
    ):
        out.append(f"{definition};")
    out += comments
    return "\n\n".join(out) + ("\n" if out else "")


def _unpublic(definition: str) -> str:
    # pg_get_indexdef qualifies the table (ON public.users); history files usually don't
    return definition.replace(" ON public.", " ON ", 1).replace(" ON ONLY public.", " ON ONLY ", 1)
