"""SQLite scratch databases: in memory, foreign keys enforced."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.engines.catalog import (
    Catalog,
    Json,
    Token,
    join_tokens,
    normalize_sql,
    tokenize,
    unquote_plain,
)
from bot.engines.scratch import EngineError, sort_rows


def start_sqlite() -> SqliteServer:
    """A 'server' that hands out in-memory databases (nothing to start)."""
    return SqliteServer()


class SqliteServer:
    """Factory of in-memory databases; closing it closes those still open."""

    dialect = "sqlite"

    def __init__(self) -> None:
        self.version = f"SQLite {sqlite3.sqlite_version}"
        self._open: set[SqliteDatabase] = set()

    def new_database(self) -> SqliteDatabase:
        """A fresh, empty in-memory database."""
        db = SqliteDatabase(self._open.discard)
        self._open.add(db)
        return db

    def close(self) -> None:
        """Close every database still open."""
        for db in list(self._open):
            db.close()


def _truthy(value: Any) -> bool:
    """SQLite's truth of a value: its numeric value is not zero (NULL and 'abc' are false)."""
    if value is None:
        return False
    if isinstance(value, int | float):
        return value != 0
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    match = re.match(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text)
    return match is not None and float(match.group(0)) != 0


def _if(*args: Any) -> Any:
    """if(B1, V1, B2, V2, ..., E): iif() under the name SQLite 3.48 gave it."""
    for i in range(0, len(args) - 1, 2):
        if _truthy(args[i]):
            return args[i + 1]
    return args[-1] if len(args) % 2 else None


def _unhex(text: Any, ignore: Any = None) -> bytes | None:
    if text is None:
        return None
    chars = str(text)
    if ignore is not None:
        chars = "".join(c for c in chars if c not in str(ignore))
    try:
        return bytes.fromhex(chars) if len(chars) % 2 == 0 and " " not in chars else None
    except ValueError:
        return None


def _concat(*args: Any) -> str:
    return "".join(_text(a) for a in args if a is not None)


def _concat_ws(sep: Any, *args: Any) -> str | None:
    if sep is None:
        return None
    return _text(sep).join(_text(a) for a in args if a is not None)


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


# Built-in functions of newer SQLite releases than the scratch engine may be (version that
# added them): migrations written for the application's SQLite call them, and ALTER TABLE
# ADD COLUMN accepts a generated column calling a function only reading its rows needs.
_NEWER_BUILTINS: tuple[tuple[tuple[int, int], str, int, Callable[..., Any]], ...] = (
    ((3, 41), "unhex", 1, _unhex),
    ((3, 41), "unhex", 2, _unhex),
    ((3, 44), "concat", -1, _concat),
    ((3, 44), "concat_ws", -1, _concat_ws),
    ((3, 48), "if", -1, _if),
)


def _add_newer_builtins(conn: sqlite3.Connection) -> None:
    for since, name, args, func in _NEWER_BUILTINS:
        if sqlite3.sqlite_version_info[:2] < since:
            conn.create_function(name, args, func, deterministic=True)


class SqliteDatabase:
    """One in-memory database in autocommit mode with ``PRAGMA foreign_keys=ON``."""

    dialect = "sqlite"

    def __init__(self, on_close: Callable[[SqliteDatabase], None] | None = None) -> None:
        # isolation_level=None: no implicit BEGIN, so a migration's own BEGIN/COMMIT and
        # PRAGMA foreign_keys (a no-op inside a transaction) behave as in the sqlite3 shell
        self._conn = sqlite3.connect(":memory:", isolation_level=None)
        self._conn.execute("PRAGMA foreign_keys=ON")
        _add_newer_builtins(self._conn)
        self._on_close = on_close

    def execute(self, statements: Sequence[str]) -> None:
        """Run statements in order; raise EngineError on the first failure."""
        for statement in statements:
            self._run(statement)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one query."""
        return [tuple(row) for row in self._run(sql).fetchall()]

    def queries(self, sqls: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        """Rows of each query, in order."""
        return [self.query(sql) for sql in sqls]

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """All rows of a table, sorted by all columns."""
        return sort_rows(self.query(f"SELECT * FROM {quote_ident(table)}"))

    def catalog(self) -> Catalog:
        """The normalized schema, read from sqlite_master and pragmas."""
        return read_catalog(self._conn)

    def close(self) -> None:
        """Discard the database."""
        self._conn.close()
        if self._on_close is not None:
            self._on_close(self)
            self._on_close = None

    def _run(self, sql: str) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql)
        except sqlite3.Error as err:
            raise EngineError(sql, str(err), getattr(err, "sqlite_errorname", None)) from err


def quote_ident(name: str) -> str:
    """A name as a double-quoted SQLite identifier."""
    return '"' + name.replace('"', '""') + '"'


# --- catalog --------------------------------------------------------------------------


def read_catalog(conn: sqlite3.Connection) -> Catalog:
    """Tables, views and triggers of the main schema, normalized."""
    tables: dict[str, Json] = {}
    views: dict[str, Json] = {}
    triggers: dict[str, Json] = {}
    master = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master"
        " WHERE type IN ('table', 'view', 'trigger') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
    ).fetchall()
    shadow = _shadow_tables(conn)
    for kind, name, table, sql in master:
        if kind == "table":
            tables[name] = _table(conn, name, sql)
            if name in shadow:
                tables[name]["shadow"] = True
        elif kind == "view":
            views[name] = {"definition": _normalize(sql)}
        else:
            triggers[name] = {"table": table, "definition": _normalize(sql)}
    return Catalog.build("sqlite", {"tables": tables, "views": views, "triggers": triggers})


def _shadow_tables(conn: sqlite3.Connection) -> set[str]:
    """Tables a virtual table keeps its own data in (FTS5's _data, _idx, _content...):
    writing rows into them corrupts it. `PRAGMA table_list` names them (SQLite 3.37+)."""
    try:
        rows = conn.execute("PRAGMA table_list").fetchall()
    except sqlite3.DatabaseError:
        return set()
    return {row[1] for row in rows if row[0] == "main" and row[2] == "shadow"}


def _normalize(sql: str) -> str:
    # SQLite keeps DDL as typed (and ALTER TABLE RENAME re-quotes the names it rewrites);
    # identifiers and keywords are case-insensitive
    return normalize_sql(sql, dialect="sqlite", fold_case=True, unquote=True)


def _strings(tokens: list[Token], columns: set[str]) -> list[Token]:
    """A CHECK's tokens with each "double-quoted" word that names no column as the string
    it is to SQLite. Its ALTER TABLE DROP/RENAME COLUMN rewrites such strings in every
    table's text to 'single-quoted' ones: two spellings of one check."""
    return [
        Token("string", "'" + t.value.replace("'", "''") + "'")
        if t.kind == "ident" and t.text.startswith('"') and t.value.lower() not in columns
        else t
        for t in tokens
    ]


def _expression(tokens: list[Token]) -> str:
    return join_tokens(unquote_plain(tokens), fold_case=True)


def _table(conn: sqlite3.Connection, name: str, sql: str) -> dict[str, Json]:
    parsed = parse_create_table(sql)
    columns: dict[str, Json] = {}
    order: list[str] = []
    for _cid, column, decl_type, notnull, default, pk, hidden in conn.execute(
        'SELECT cid, name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid',
        (name,),
    ):
        order.append(column)
        columns[column] = {
            # type names and default expressions are as typed; their case carries no meaning
            "type": _normalize(decl_type).upper(),
            "nullable": not notnull,
            "default": None if default is None else _normalize(default),
            "primary_key": pk or None,  # position in the primary key
            # 1 hidden column of a virtual table, 2 generated virtual, 3 generated stored
            "hidden": {0: None, 1: "hidden", 2: "virtual", 3: "stored"}.get(hidden, str(hidden)),
            "generated": parsed.generated.get(column.lower()),
            "collation": parsed.collations.get(column.lower()),
        }
    record: dict[str, Json] = {
        "columns": columns,
        "column_order": order,
        "checks": {expr: {"name": check_name} for expr, check_name in parsed.checks.items()},
        "foreign_keys": _foreign_keys(conn, name),
        "indexes": _indexes(conn, name),
        "autoincrement": parsed.autoincrement,
        "without_rowid": parsed.without_rowid,
        "strict": parsed.strict,
    }
    if parsed.virtual:
        record["virtual"] = _normalize(sql)
    return record


def _foreign_keys(conn: sqlite3.Connection, table: str) -> dict[str, Json]:
    """Foreign keys keyed by their shape: SQLite doesn't report constraint names."""
    grouped: dict[int, list[tuple[Any, ...]]] = {}
    for row in conn.execute(
        'SELECT id, seq, "table", "from", "to", on_update, on_delete, "match"'
        " FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        (table,),
    ):
        grouped.setdefault(row[0], []).append(row)
    result: dict[str, Json] = {}
    for rows in grouped.values():
        target = rows[0][2]
        local = ", ".join(row[3] for row in rows)
        # "to" is NULL when the FK names only the parent table (its primary key)
        remote = "" if rows[0][4] is None else "(" + ", ".join(row[4] for row in rows) + ")"
        result[f"({local}) -> {target}{remote}"] = {
            "on_update": rows[0][5],
            "on_delete": rows[0][6],
            "match": rows[0][7],
        }
    return result


def _indexes(conn: sqlite3.Connection, table: str) -> dict[str, Json]:
    """Indexes; automatic ones (UNIQUE / PRIMARY KEY constraints) keyed by their columns,
    since their ``sqlite_autoindex_t_N`` names depend on constraint order."""
    result: dict[str, Json] = {}
    for _seq, name, unique, origin, partial in conn.execute(
        'SELECT seq, name, "unique", origin, partial FROM pragma_index_list(?)', (table,)
    ).fetchall():
        columns = [
            {"name": column, "desc": bool(desc), "collation": collation}
            for column, desc, collation in conn.execute(
                'SELECT name, "desc", coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno',
                (name,),
            )
        ]
        record: dict[str, Json] = {
            "unique": bool(unique),
            "origin": origin,
            "partial": bool(partial),
            "columns": columns,
        }
        if origin == "c":
            (sql,) = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = ?", (name,)
            ).fetchone()
            record["definition"] = _normalize(sql)
            result[name] = record
        else:
            kind = "primary key" if origin == "pk" else "unique"
            result[f"{kind} ({', '.join(str(c['name']) for c in columns)})"] = record
    return result


# --- CREATE TABLE parsing (what the pragmas don't report) -----------------------------

_TABLE_CONSTRAINT_STARTS = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"})


@dataclass
class TableSql:
    """Facts about a table that only its CREATE TABLE text holds."""

    checks: dict[str, str | None] = field(default_factory=dict)  # expression -> constraint name
    collations: dict[str, str] = field(default_factory=dict)  # lower-cased column -> collation
    generated: dict[str, str] = field(default_factory=dict)  # lower-cased column -> expression
    autoincrement: bool = False
    without_rowid: bool = False
    strict: bool = False
    virtual: bool = False


def parse_create_table(sql: str) -> TableSql:
    """CHECK clauses (column and table level alike), column collations, generated
    expressions and table options from the CREATE TABLE text SQLite stored."""
    result = TableSql()
    tokens = tokenize(sql, dialect="sqlite")
    words = [t.text.upper() for t in tokens[:3] if t.kind == "word"]
    if "VIRTUAL" in words:
        result.virtual = True
        return result
    start = next((i for i, t in enumerate(tokens) if t.text == "("), None)
    if start is None:
        return result
    end = _matching(tokens, start)
    items = _split_items(tokens[start + 1 : end])
    columns = {
        item[0].value.lower()
        for item in items
        if item and item[0].text.upper() not in _TABLE_CONSTRAINT_STARTS
    }
    for item in items:
        _parse_item(item, result, columns)
    tail = {t.text.upper() for t in tokens[end + 1 :] if t.kind == "word"}
    result.without_rowid = "ROWID" in tail
    result.strict = "STRICT" in tail
    return result


def _parse_item(item: list[Token], result: TableSql, columns: set[str]) -> None:
    first = item[0].text.upper() if item[0].kind == "word" else ""
    column = None if first in _TABLE_CONSTRAINT_STARTS else item[0].value.lower()
    i = 0 if column is None else 1
    while i < len(item):
        word = item[i].text.upper() if item[i].kind == "word" else ""
        follows_paren = i + 1 < len(item) and item[i + 1].text == "("
        if word == "CHECK" and follows_paren:
            close = _matching(item, i + 1)
            named = i >= 2 and item[i - 2].text.upper() == "CONSTRAINT"
            expression = _expression(_strings(item[i + 2 : close], columns))
            name = item[i - 1].value if named else None
            if expression in result.checks:
                # the same check twice (named once, say): which comes first is no difference
                names = (result.checks[expression] or "(unnamed)").split(", ")
                name = ", ".join(sorted([*names, name or "(unnamed)"]))
            result.checks[expression] = name
            i = close + 1
        elif column is not None and word == "AS" and follows_paren:
            close = _matching(item, i + 1)
            result.generated[column] = _expression(item[i + 2 : close])
            i = close + 1
        elif column is not None and word == "COLLATE" and i + 1 < len(item):
            result.collations[column] = item[i + 1].value.lower()
            i += 2
        elif word == "AUTOINCREMENT":
            result.autoincrement = True
            i += 1
        elif item[i].text == "(":
            # type arguments, DEFAULT (...), FK column lists: nothing we read is inside
            i = _matching(item, i) + 1
        else:
            i += 1


def _matching(tokens: list[Token], open_at: int) -> int:
    """Index of the ``)`` closing the ``(`` at ``open_at`` (or the end if unbalanced)."""
    depth = 0
    for i in range(open_at, len(tokens)):
        if tokens[i].text == "(":
            depth += 1
        elif tokens[i].text == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(tokens)


def _split_items(tokens: list[Token]) -> list[list[Token]]:
    """Column definitions and table constraints: the top-level comma-separated parts."""
    items: list[list[Token]] = [[]]
    depth = 0
    for token in tokens:
        if token.text == "(":
            depth += 1
        elif token.text == ")":
            depth -= 1
        if token.text == "," and depth == 0:
            items.append([])
        else:
            items[-1].append(token)
    return [item for item in items if item]
