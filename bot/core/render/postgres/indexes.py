"""PostgreSQL table constraints and indexes."""

from __future__ import annotations

import re

from bot.core.model import (
    Check,
    Constraint,
    Dialect,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Unique,
)
from bot.core.render.common import (
    check_body,
    foreign_key_body,
    named,
)
from bot.core.render.names import ident, idents, qname

PG = Dialect.POSTGRES


def constraint_definition(con: Constraint) -> str:
    """A table constraint as CREATE TABLE and ADD CONSTRAINT spell it."""
    match con:
        case PrimaryKey(name, cols):
            body = f"PRIMARY KEY {idents(cols, PG)}"
        case Unique(name, cols, nulls_not_distinct):
            nulls = " NULLS NOT DISTINCT" if nulls_not_distinct else ""
            body = f"UNIQUE{nulls} {idents(cols, PG)}"
        case ForeignKey(name):
            body = foreign_key_body(con, PG)
        case Check(name):
            body = check_body(con)
    if isinstance(con, ForeignKey | Check) and not con.validated:
        body += " NOT VALID"  # only ALTER TABLE ... ADD keeps it: CREATE TABLE checks anyway
    return named(name, body, PG)


def create_index(index: Index) -> str:
    unique = "UNIQUE " if index.unique else ""
    sql = f"CREATE {unique}INDEX {ident(index.name, PG)} ON {qname(index.table, PG)}"
    if index.method:
        sql += f" USING {index.method}"
    sql += " (" + ", ".join(_index_part(p) for p in index.parts) + ")"
    if index.include:
        sql += f" INCLUDE {idents(index.include, PG)}"
    if index.where:
        sql += f" WHERE {index.where}"
    return sql


def _index_part(part: IndexPart) -> str:
    if part.is_column:
        sql = ident(part.expression, PG)
    elif _is_call(part.expression):
        sql = part.expression.strip()
    else:
        sql = f"({part.expression})"
    if part.collation:
        sql += f" COLLATE {collation(part.collation)}"
    if part.opclass:
        sql += f" {part.opclass}"
    if part.desc:
        sql += " DESC"
    if part.nulls:
        sql += f" NULLS {part.nulls.upper()}"
    return sql


# Keywords that can stand before a parenthesis without being a function call.
_NOT_CALLS = frozenset("not row exists any all some array distinct values select interval".split())


def _is_call(expression: str) -> bool:
    """`lower(email)`: a function call, which an index may list without extra parentheses."""
    text = expression.strip()
    head = re.match(r"[A-Za-z_][A-Za-z0-9_$]*(?:\.[A-Za-z_][A-Za-z0-9_$]*)?\s*\(", text)
    if head is None or head.group(0).rstrip("( \t\n").lower() in _NOT_CALLS:
        return False
    depth, quote = 0, ""
    for i in range(head.end() - 1, len(text)):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def index_name(table: QName, name: str) -> str:
    """Indexes live in their table's schema; DROP/ALTER INDEX find them by that schema."""
    return qname(QName(name, table.schema), PG)


def collation(name: str) -> str:
    """Collation names are case-sensitive ("C", "en_US"), so quote each part exactly."""
    if '"' in name:
        return name
    return ".".join('"' + part + '"' for part in name.split("."))
