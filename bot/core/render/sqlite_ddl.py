"""SQLite definitions as text: CREATE TABLE, CREATE INDEX and CREATE VIEW as SQLite keeps them.

SQLite stores a table's, index's and view's text as written, so what a down writes here is what
the catalog shows afterwards (and what a later rebuild copies).
"""

from __future__ import annotations

import re

from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Constraint,
    Dialect,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Table,
    Unique,
    View,
    fold,
)
from bot.core.render.names import ident, idents, literal, qname

_D = Dialect.SQLITE


def create_table(table: Table) -> str:
    """CREATE TABLE with inline columns and table constraints (indexes are separate)."""
    inline_pk = _inline_primary_key(table)
    items = [
        column_sql(c, inline_pk[0] if inline_pk and c.name == inline_pk[1] else None)
        for c in table.columns
    ]
    items += [
        _constraint_sql(con)
        for con in table.constraints()
        if not (inline_pk and con is inline_pk[0])
    ]
    body = ",\n  ".join(items)
    options = f" {table.options}" if table.options else ""
    return f"CREATE TABLE {qname(table.name, _D)} (\n  {body}\n){options}"


def _inline_primary_key(table: Table) -> tuple[PrimaryKey, str] | None:
    """The column carrying the primary key inline: the AUTOINCREMENT one (SQLite requires
    it), or the only column of a one-column key, as people write `id INTEGER PRIMARY KEY`."""
    auto = [c for c in table.columns if c.auto is AutoKind.AUTOINCREMENT]
    if not auto:
        pk = table.primary_key
        if pk is not None and len(pk.columns) == 1:
            column = table.column(pk.columns[0], _D)
            return (pk, column.name) if column is not None else None
        return None
    column = auto[0]
    pk = table.primary_key
    if len(auto) > 1 or pk is None or [fold(c, _D) for c in pk.columns] != [fold(column.name, _D)]:
        raise ValueError(
            f"{table.name}.{column.name}: AUTOINCREMENT needs the column to be the whole primary key"
        )
    return pk, column.name


def column_sql(column: Column, inline_pk: PrimaryKey | None = None) -> str:
    if column.auto not in (None, AutoKind.AUTOINCREMENT):
        raise ValueError(f"column {column.name}: SQLite has no {column.auto} columns")
    if column.on_update is not None:
        raise ValueError(f"column {column.name}: SQLite has no ON UPDATE for columns")
    parts = [ident(column.name, _D)]
    if column.type:
        parts.append(column.type)
    if inline_pk is not None:
        if inline_pk.name is not None:
            parts.append(f"CONSTRAINT {ident(inline_pk.name, _D)}")
        auto = " AUTOINCREMENT" if column.auto is AutoKind.AUTOINCREMENT else ""
        parts.append(f"PRIMARY KEY{auto}")
    if not column.nullable:
        parts.append("NOT NULL")
    if column.default is not None:
        parts.append(f"DEFAULT {default_sql(column.default)}")
    if column.collation:
        parts.append(f"COLLATE {_collation(column.collation)}")
    if column.generated is not None:
        kind = "STORED" if column.generated_stored else "VIRTUAL"
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) {kind}")
    return " ".join(parts)


def _constraint_sql(con: Constraint) -> str:
    prefix = f"CONSTRAINT {ident(con.name, _D)} " if con.name is not None else ""
    match con:
        case PrimaryKey(_, columns):
            return f"{prefix}PRIMARY KEY {idents(columns, _D)}"
        case Unique(_, columns, nulls_not_distinct, collations):
            if nulls_not_distinct:
                raise ValueError(f"SQLite has no UNIQUE NULLS NOT DISTINCT ({con.name or columns})")
            if not collations:
                return f"{prefix}UNIQUE {idents(columns, _D)}"
            parts = [
                ident(c, _D) + (f" COLLATE {_collation(k)}" if k else "")
                for c, k in zip(columns, collations, strict=True)
            ]
            return f"{prefix}UNIQUE ({', '.join(parts)})"
        case Check(_, expression):
            return f"{prefix}CHECK ({expression})"
        case ForeignKey(_, columns, ref_table, ref_columns, on_delete, on_update, deferrable):
            # REFERENCES takes a bare name: SQLite keys only point inside their own database
            sql = (
                f"{prefix}FOREIGN KEY {idents(columns, _D)} REFERENCES {ident(ref_table.name, _D)}"
            )
            if ref_columns:
                sql += f" {idents(ref_columns, _D)}"
            if on_delete:
                sql += f" ON DELETE {on_delete}"
            if on_update:
                sql += f" ON UPDATE {on_update}"
            if deferrable:
                sql += f" {deferrable}"
            return sql


def create_index(index: Index) -> str:
    """CREATE [UNIQUE] INDEX, partial and expression indexes included."""
    unsupported = {
        "index methods": index.method,
        "INCLUDE": index.include,
        "index kinds": index.kind,
    }
    for what, value in unsupported.items():
        if value:
            raise ValueError(f"index {index.name}: SQLite has no {what} ({value})")
    unique = "UNIQUE " if index.unique else ""
    parts = ", ".join(_index_part(index, p) for p in index.parts)
    sql = f"CREATE {unique}INDEX {index_name(index)} ON {ident(index.table.name, _D)} ({parts})"
    if index.where:
        sql += f" WHERE {index.where}"
    return sql


def _index_part(index: Index, part: IndexPart) -> str:
    if part.nulls or part.length or part.opclass:
        raise ValueError(
            f"index {index.name}: SQLite index columns have no NULLS order, prefix length or opclass"
        )
    sql = ident(part.expression, _D) if part.is_column else part.expression
    if part.collation:
        sql += f" COLLATE {_collation(part.collation)}"
    if part.desc:
        sql += " DESC"
    elif part.asc:
        sql += " ASC"
    return sql


def index_name(index: Index) -> str:
    # the database goes on the index name; the table in ON must be bare
    return qname(QName(index.name, index.table.schema), _D)


def find_index(table: Table, name: str) -> Index:
    for index in table.indexes:
        if fold(index.name, _D) == fold(name, _D):
            return index
    raise ValueError(f"index {name} does not exist on {table.name}")


def create_view(view: View) -> str:
    if view.materialized:
        raise ValueError(f"SQLite has no materialized views ({view.name})")
    if view.options:
        raise ValueError(f"view {view.name}: SQLite views take no options ({view.options})")
    columns = f" {idents(view.columns, _D)}" if view.columns else ""
    return f"CREATE VIEW {qname(view.name, _D)}{columns} AS {view.definition.strip()}"


# -- SQL text helpers ------------------------------------------------------------------------

# What SQLite's DEFAULT takes without parentheses: numbers, strings, blobs, and bare words
# (NULL, TRUE, CURRENT_TIMESTAMP...; any other word or "quoted" word means its own text).
_BARE_DEFAULT = re.compile(
    r"""(?:
        [+-]?\s*(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?
      | [+-]?\s*0[xX][0-9A-Fa-f]+
      | '(?:[^']|'')*'
      | [xX]'[0-9A-Fa-f]*'
      | "(?:[^"]|"")*"
      | [A-Za-z_][A-Za-z0-9_]*
    )\Z""",
    re.VERBOSE,
)
_DEFAULT_KEYWORDS = frozenset(
    {"NULL", "TRUE", "FALSE", "CURRENT_TIME", "CURRENT_DATE", "CURRENT_TIMESTAMP"}
)
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def default_sql(text: str) -> str:
    """A DEFAULT value as SQLite takes it: literals as written, expressions in parentheses."""
    text = text.strip()
    if _BARE_DEFAULT.match(text) or _parenthesized(text):
        return text
    return f"({text})"


def default_value_sql(text: str) -> str:
    """A default as an expression usable in a SELECT (a bare word there is a column)."""
    value = default_sql(text)
    if _BARE_NAME.match(value) and value.upper() not in _DEFAULT_KEYWORDS:
        return literal(value, _D)
    if value.startswith('"'):
        return literal(value[1:-1].replace('""', '"'), _D)
    return value


def _parenthesized(text: str) -> bool:
    """Whether one pair of parentheses encloses the whole text (quotes respected)."""
    if not text.startswith("("):
        return False
    depth = 0
    quote: str | None = None
    for i, char in enumerate(text):
        if quote is not None:
            if char == quote:
                quote = None  # a doubled quote closes and reopens: same effect
        elif char in "'\"`[":
            quote = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def _collation(name: str) -> str:
    # collation names are case-insensitive words; quoting BINARY would only look odd
    return name if _BARE_NAME.match(name) else ident(name, _D)


def mentions(text: str, name: str) -> bool:
    """Whether `name` occurs in SQL text as a whole word (quoted or not), ignoring case."""
    return re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", text, re.IGNORECASE) is not None
