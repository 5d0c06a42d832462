"""Identifier and literal quoting per dialect: quote only when a name needs it."""

from __future__ import annotations

import re

from bot.core.model import Dialect, QName

# Words that cannot stand as bare identifiers somewhere in a CREATE/ALTER. Quoting a name
# that didn't need it is harmless; missing one breaks the statement, so this list is generous.
_RESERVED = frozenset(
    """
    all analyse analyze and any array as asc asymmetric authorization between binary both case
    cast check collate collation column concurrently constraint create cross current_catalog
    current_date current_role current_schema current_time current_timestamp current_user default
    deferrable desc distinct do else end except false fetch for foreign freeze from full grant
    group having ilike in initially inner intersect into is isnull join key keys lateral leading
    left like limit localtime localtimestamp natural not notnull null offset on only or order
    outer overlaps placing primary references returning right select session_user similar some
    symmetric system_user table tablesample then to trailing true union unique user using
    variadic verbose when where window with index add alter drop rename range rank row rows
    interval change modify database schema trigger values value set update delete insert replace
    match key_block_size read write status usage action abort autoincrement after before begin
    by cascade commit conflict exclusive explain fail glob ignore immediate indexed instead
    isnull limit no nothing of plan pragma query raise recursive regexp reindex release restrict
    rollback savepoint temp temporary transaction vacuum view virtual without generated always
    stored
    """.split()
)
_BARE = {
    Dialect.POSTGRES: re.compile(r"[a-z_][a-z0-9_$]*\Z"),
    Dialect.MYSQL: re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z"),
    Dialect.SQLITE: re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z"),
}


def ident(name: str, dialect: Dialect) -> str:
    """`name` as an identifier: bare when safe, quoted in the dialect's style otherwise."""
    if _BARE[dialect].match(name) and name.lower() not in _RESERVED:
        return name
    if dialect is Dialect.MYSQL:
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def qname(name: QName, dialect: Dialect) -> str:
    if name.schema:
        return f"{ident(name.schema, dialect)}.{ident(name.name, dialect)}"
    return ident(name.name, dialect)


def idents(names: tuple[str, ...] | list[str], dialect: Dialect) -> str:
    """A parenthesised, comma-separated column list."""
    return "(" + ", ".join(ident(n, dialect) for n in names) + ")"


def literal(value: str, dialect: Dialect) -> str:
    """A string literal; MySQL also treats backslash as an escape, so double it there."""
    body = value.replace("'", "''")
    if dialect is Dialect.MYSQL:
        body = body.replace("\\", "\\\\")
    return f"'{body}'"
