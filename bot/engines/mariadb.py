"""MariaDB scratch server: the installed mariadbd on a private datadir, loopback and socket only."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.engines.catalog import Catalog, Json, normalize_sql
from bot.engines.scratch import EngineError, EngineUnavailable, sort_rows

_SEARCH_DIRS = ("/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin", "/usr/libexec")
_READY_TIMEOUT = 30.0
# unix sockets paths are limited to 108 bytes (sun_path); keep a margin
_MAX_SOCKET_PATH = 100

# Throwaway data: durability and binary logs only cost time. Time zone and charset are fixed
# so that results don't depend on the host.
_SERVER_OPTIONS = (
    "--skip-log-bin",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-doublewrite=0",
    "--innodb-buffer-pool-size=32M",
    "--innodb-log-file-size=16M",
    # containers often cap io_setup(2); synchronous I/O is plenty for scratch data
    "--innodb-use-native-aio=0",
    "--performance-schema=OFF",
    "--skip-name-resolve",
    "--character-set-server=utf8mb4",
    "--collation-server=utf8mb4_general_ci",
    "--default-time-zone=+00:00",
)


def start_mariadb(workdir: Path | None = None) -> MariadbServer:
    """Initialize a datadir under ``workdir`` (or the temp dir) and start mariadbd on it."""
    try:
        import pymysql  # noqa: F401  (only checking that the extra is installed)
    except ImportError as err:
        raise EngineUnavailable(f"MariaDB needs the 'engines' extra ({err})") from err
    server_bin = _find_program("mariadbd", "mysqld")
    install_bin = _find_program("mariadb-install-db", "mysql_install_db")
    if server_bin is None or install_bin is None:
        raise EngineUnavailable("MariaDB is not installed (no mariadbd / mariadb-install-db found)")
    base = Path(tempfile.mkdtemp(prefix="rollback-plan-mariadb-", dir=workdir))
    socket_dir = base
    if len(str(base / "mysqld.sock")) > _MAX_SOCKET_PATH:
        socket_dir = Path(tempfile.mkdtemp(prefix="rbp-my-"))
    dirs = (base, socket_dir)
    try:
        _install(install_bin, base)
        process, admin = _launch(server_bin, base, socket_dir / "mysqld.sock")
    except BaseException:
        for path in dirs:
            shutil.rmtree(path, ignore_errors=True)
        raise
    return MariadbServer(process, admin, socket_dir / "mysqld.sock", dirs)


def _find_program(*names: str) -> Path | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    # sbin is often not on PATH for non-root users
    for directory in _SEARCH_DIRS:
        for name in names:
            candidate = Path(directory) / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return candidate
    return None


def _user_options() -> list[str]:
    # mariadbd refuses to run as root unless told to
    return ["--user=root"] if os.geteuid() == 0 else []


def _install(install_bin: Path, base: Path) -> None:
    command = [
        str(install_bin),
        "--no-defaults",  # must come first; never read the host's /etc/mysql
        f"--datadir={base / 'data'}",
        "--auth-root-authentication-method=normal",  # root without password, over our socket
        "--skip-test-db",
        *_user_options(),
        *_SERVER_OPTIONS,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise EngineUnavailable(f"mariadb-install-db failed: {err}") from err
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-2000:]
        raise EngineUnavailable(f"mariadb-install-db failed ({result.returncode}):\n{output}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _launch(server_bin: Path, base: Path, sock: Path) -> tuple[subprocess.Popen[bytes], Any]:
    """Start mariadbd and wait until it accepts connections; retry if the port got taken."""
    log = base / "error.log"
    for _attempt in range(3):
        log_start = log.stat().st_size if log.exists() else 0
        command = [
            str(server_bin),
            "--no-defaults",
            f"--datadir={base / 'data'}",
            f"--socket={sock}",
            f"--port={_free_port()}",
            "--bind-address=127.0.0.1",
            f"--pid-file={base / 'mysqld.pid'}",
            f"--log-error={log}",
            f"--tmpdir={base}",
            *_user_options(),
            *_SERVER_OPTIONS,
        ]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError as err:
            raise EngineUnavailable(f"cannot run {server_bin}: {err}") from err
        admin = _wait_ready(process, sock)
        if admin is not None:
            return process, admin
        _stop(process)
        output = log.read_text(errors="replace")[log_start:] if log.exists() else ""
        # the free port we picked can be taken by someone else before mariadbd binds it
        if "Address already in use" not in output:
            raise EngineUnavailable(f"mariadbd did not start:\n{output[-2000:]}")
    raise EngineUnavailable("mariadbd did not start: no free port after 3 attempts")


def _wait_ready(process: subprocess.Popen[bytes], sock: Path) -> Any:
    """An autocommit root connection once the server answers, None if it exits or times out."""
    import pymysql

    deadline = time.monotonic() + _READY_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        if sock.exists():
            try:
                return _connect(sock, None)
            except pymysql.err.OperationalError:
                pass  # socket is there but the server isn't accepting yet
        time.sleep(0.05)
    return None


def _connect(sock: Path, database: str | None) -> Any:
    import pymysql

    return pymysql.connect(
        unix_socket=str(sock),
        user="root",
        password="",
        database=database,
        autocommit=True,
        charset="utf8mb4",
        connect_timeout=5,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM is mariadbd's clean shutdown
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class MariadbServer:
    """A running private mariadbd; ``close()`` shuts it down and removes its datadir."""

    dialect = "mysql"

    def __init__(
        self, process: subprocess.Popen[bytes], admin: Any, sock: Path, dirs: tuple[Path, ...]
    ) -> None:
        self._process = process
        self._admin = admin
        self._sock = sock
        self._dirs = dirs
        self._count = 0
        self._open: set[MariadbDatabase] = set()
        self._closed = False
        # a crashed test run must not leave a server behind
        atexit.register(self.close)
        with admin.cursor() as cursor:
            cursor.execute("SELECT VERSION()")
            (full,) = cursor.fetchone()
        number, _, flavour = full.partition("-")
        self.version = f"{'MariaDB' if 'MariaDB' in flavour else 'MySQL'} {number}"

    def new_database(self) -> MariadbDatabase:
        """CREATE DATABASE scratch_N and connect to it."""
        self._count += 1
        name = f"scratch_{self._count}"
        with self._admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        db = MariadbDatabase(_connect(self._sock, name), name, lambda: self._drop(db, name))
        self._open.add(db)
        return db

    def _drop(self, db: MariadbDatabase, name: str) -> None:
        self._open.discard(db)
        if not self._closed:
            with self._admin.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")

    def close(self) -> None:
        """Drop open databases, shut the server down, remove its files."""
        if self._closed:
            return
        for db in list(self._open):
            db.close()
        self._closed = True
        atexit.unregister(self.close)
        self._admin.close()
        _stop(self._process)
        for path in self._dirs:
            shutil.rmtree(path, ignore_errors=True)


class MariadbDatabase:
    """One database on the scratch server, autocommit."""

    dialect = "mysql"

    def __init__(self, conn: Any, name: str, on_close: Callable[[], None]) -> None:
        self._conn = conn
        self.name = name
        self._on_close: Callable[[], None] | None = on_close

    def execute(self, statements: Sequence[str]) -> None:
        """Run statements in order; raise EngineError on the first failure."""
        for statement in statements:
            self.query(statement)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one statement (none if it returns no rows)."""
        import pymysql

        try:
            # closing the cursor drains further result sets (CALL), keeping the connection usable
            with self._conn.cursor() as cursor:
                cursor.execute(sql)  # no args: PyMySQL leaves % in the SQL alone
                return [tuple(row) for row in cursor.fetchall()]
        except pymysql.err.MySQLError as err:
            # PyMySQL's server errors carry (errno, message); its own ones may not
            code, message = err.args if len(err.args) == 2 else (None, str(err))
            raise EngineError(sql, str(message), None if code is None else str(code)) from err

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """All rows of a table, sorted by all columns."""
        return sort_rows(self.query(f"SELECT * FROM {quote_ident(table)}"))

    def catalog(self) -> Catalog:
        """The normalized schema of this database."""
        return read_catalog(self.query, self.name)

    def close(self) -> None:
        """Disconnect and drop the database."""
        self._conn.close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


def quote_ident(name: str) -> str:
    """A name as a backquoted MariaDB identifier."""
    return "`" + name.replace("`", "``") + "`"


# --- catalog --------------------------------------------------------------------------

_IS = "information_schema"
_QUERIES: dict[str, str] = {
    "tables": f"""
SELECT TABLE_NAME, TABLE_TYPE, TABLE_COMMENT, TABLE_COLLATION, CREATE_OPTIONS, ENGINE
FROM {_IS}.TABLES WHERE TABLE_SCHEMA = DATABASE()
""",
    "columns": f"""
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA, COLLATION_NAME,
  COLUMN_COMMENT, GENERATION_EXPRESSION
FROM {_IS}.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION
""",
    "indexes": f"""
SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, COLLATION, INDEX_TYPE,
  INDEX_COMMENT, IGNORED
FROM {_IS}.STATISTICS WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
""",
    "constraints": f"""
SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE
FROM {_IS}.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()
""",
    "key_columns": f"""
SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME,
  REFERENCED_COLUMN_NAME
FROM {_IS}.KEY_COLUMN_USAGE WHERE CONSTRAINT_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION
""",
    "references": f"""
SELECT TABLE_NAME, CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE, MATCH_OPTION
FROM {_IS}.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()
""",
    "checks": f"""
SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE, LEVEL
FROM {_IS}.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, CHECK_CLAUSE
""",
    "partitions": f"""
SELECT TABLE_NAME, PARTITION_NAME, SUBPARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION,
  SUBPARTITION_METHOD, SUBPARTITION_EXPRESSION, PARTITION_DESCRIPTION
FROM {_IS}.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND PARTITION_NAME IS NOT NULL
ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION
""",
    "views": f"""
SELECT TABLE_NAME, VIEW_DEFINITION, CHECK_OPTION, SECURITY_TYPE, ALGORITHM
FROM {_IS}.VIEWS WHERE TABLE_SCHEMA = DATABASE()
""",
    "triggers": f"""
SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER,
  ACTION_STATEMENT
FROM {_IS}.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
""",
    "routines": f"""
SELECT ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, ROUTINE_DEFINITION, IS_DETERMINISTIC,
  SQL_DATA_ACCESS, SECURITY_TYPE, ROUTINE_COMMENT
FROM {_IS}.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
""",
    "parameters": f"""
SELECT SPECIFIC_NAME, ROUTINE_TYPE, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER
FROM {_IS}.PARAMETERS WHERE SPECIFIC_SCHEMA = DATABASE() AND ORDINAL_POSITION > 0
ORDER BY SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION
""",
}


def _text(value: Any) -> str | None:
    """Empty strings (MariaDB's "no comment") as None."""
    return None if value in (None, "") else str(value)


def _normalize(sql: str | None) -> str | None:
    return None if sql is None else normalize_sql(sql, dialect="mysql")


def read_catalog(query: Callable[[str], list[tuple[Any, ...]]], database: str) -> Catalog:
    """Read the scratch database's objects from information_schema into a Catalog."""
    rows = {name: query(sql) for name, sql in _QUERIES.items()}
    objects: dict[str, dict[str, Json]] = {
        kind: {}
        for kind in (
            "tables",
            "views",
            "sequences",
            "triggers",
            "functions",
            "procedures",
            "routines",
        )
    }
    relations: dict[str, dict[str, Json]] = {}
    for name, table_type, comment, collation, options, engine in rows["tables"]:
        if table_type == "SEQUENCE":
            # MariaDB sequences are tables of one row; SHOW CREATE gives their options only
            ((_, definition),) = query(f"SHOW CREATE SEQUENCE {quote_ident(name)}")
            objects["sequences"][name] = {"definition": definition}
        elif table_type != "VIEW":
            relations[name] = objects["tables"][name] = {
                "type": table_type,
                "comment": _text(comment),
                "collation": collation,
                "options": _text(options),
                "engine": engine,
                "columns": {},
                "column_order": [],
                "indexes": {},
                "constraints": {},
                "partitions": [],
            }

    for name, definition, check_option, security, algorithm in rows["views"]:
        # VIEW_DEFINITION qualifies every table with the database name, which differs per scratch database
        definition = definition.replace(f"{quote_ident(database)}.", "")
        relations[name] = objects["views"][name] = {
            "definition": _normalize(definition),
            "check_option": check_option,
            "security": security,
            "algorithm": algorithm,
            "columns": {},
            "column_order": [],
        }

    for table, column, type_, nullable, default, extra, collation, comment, expression in rows[
        "columns"
    ]:
        if table not in relations:
            continue  # a sequence's internal columns
        relations[table]["columns"][column] = {
            "type": type_,
            "nullable": nullable == "YES",
            "default": default,
            "extra": _text(extra),
            "collation": collation,
            "comment": _text(comment),
            "expression": expression,
        }
        relations[table]["column_order"].append(column)

    for table, index, non_unique, column, sub_part, order, index_type, comment, ignored in rows[
        "indexes"
    ]:
        indexes = relations[table]["indexes"]
        record = indexes.setdefault(
            index,
            {
                "unique": not int(non_unique),
                "type": index_type,
                "comment": _text(comment),
                "ignored": ignored == "YES",
                "columns": [],
            },
        )
        record["columns"].append({"name": column, "sub_part": sub_part, "order": order})

    constraints: dict[tuple[str, str], dict[str, Json]] = {}
    for table, name, constraint_type in rows["constraints"]:
        if constraint_type != "CHECK":  # read from CHECK_CONSTRAINTS below
            constraints[table, name] = relations[table]["constraints"][name] = {
                "type": constraint_type
            }
    for table, name, column, ref_schema, ref_table, ref_column in rows["key_columns"]:
        record = constraints[table, name]
        record.setdefault("columns", []).append(column)
        if ref_table is not None:
            target = ref_table if ref_schema == database else f"{ref_schema}.{ref_table}"
            record["references"] = target
            record.setdefault("referenced_columns", []).append(ref_column)
    for table, name, on_update, on_delete, match in rows["references"]:
        constraints[table, name] |= {"on_update": on_update, "on_delete": on_delete, "match": match}
    for table, name, clause, level in rows["checks"]:
        if level == "Column":
            # A column's own CHECK keeps the name its column had when it was defined through
            # RENAME COLUMN, but no statement can name it (DROP CONSTRAINT refuses it, a new
            # CHECK may take the name) and re-defining the column names it anew: compared by
            # its clause, which names the column as it is now.
            name = f"(column check) {clause}"
            while name in relations[table]["constraints"]:  # two columns, one clause
                name += "'"
        relations[table]["constraints"][name] = {"type": "CHECK", "clause": clause}

    for table, name, subname, method, expression, submethod, subexpression, values in rows[
        "partitions"
    ]:
        relations[table]["partitions"].append(
            {
                "name": name,
                "subpartition": subname,
                "method": method,
                "expression": expression,
                "submethod": submethod,
                "subexpression": subexpression,
                "values": values,
            }
        )

    for name, table, timing, event, order, statement in rows["triggers"]:
        objects["triggers"][name] = {
            "table": table,
            "timing": timing,
            "event": event,
            "order": order,  # FOLLOWS / PRECEDES position among same-event triggers
            "statement": _normalize(statement),
        }

    parameters: dict[tuple[str, str], list[str]] = {}
    for routine, routine_type, mode, name, type_ in rows["parameters"]:
        parameters.setdefault((routine, routine_type), []).append(
            " ".join(filter(None, (mode, name, type_)))
        )
    for name, routine_type, returns, body, deterministic, access, security, comment in rows[
        "routines"
    ]:
        kind = {"FUNCTION": "functions", "PROCEDURE": "procedures"}.get(routine_type)
        key = name if kind else f"{routine_type} {name}"
        objects[kind or "routines"][key] = {
            "parameters": parameters.get((name, routine_type), []),
            "returns": returns,
            "body": _normalize(body),
            "deterministic": deterministic == "YES",
            "data_access": access,
            "security": security,
            "comment": _text(comment),
        }
    return Catalog.build("mysql", objects)
