"""Rendering shared by the PostgreSQL and MySQL/MariaDB modules: the pieces whose syntax the
two dialects agree on (foreign keys, checks, views, sequences, opaque objects)."""

from __future__ import annotations

import re

from bot.core import changes as ch
from bot.core.model import Check, Dialect, ForeignKey, Schema, Sequence, Table, View, qkey
from bot.core.render.names import ident, idents, qname
from bot.core.state import State

_CHECK_OPTION = re.compile(r"\s*\bWITH\s+(?:CASCADED\s+|LOCAL\s+)?CHECK\s+OPTION\s*\Z", re.I)


def foreign_key_body(fk: ForeignKey, dialect: Dialect) -> str:
    """`FOREIGN KEY (a) REFERENCES t (b) ON DELETE ...`, without the constraint name."""
    sql = (
        f"FOREIGN KEY {idents(fk.columns, dialect)} "
        f"REFERENCES {qname(fk.ref_table, dialect)} {idents(fk.ref_columns, dialect)}"
    )
    if fk.on_delete:
        sql += f" ON DELETE {fk.on_delete}"
    if fk.on_update:
        sql += f" ON UPDATE {fk.on_update}"
    # MySQL has no deferrable constraints, so a MySQL model never carries one.
    if fk.deferrable and dialect is Dialect.POSTGRES:
        sql += f" {fk.deferrable}"
    return sql


def named(name: str | None, body: str, dialect: Dialect) -> str:
    """`CONSTRAINT name body`, or just the body when the constraint has no name."""
    return f"CONSTRAINT {ident(name, dialect)} {body}" if name else body


def check_body(check: Check) -> str:
    return f"CHECK ({check.expression})"


def with_column_renamed(table: Table, old: str, new: str, dialect: Dialect) -> Table:
    """`table` with a column renamed everywhere it is named (keys, indexes)."""
    state = State(dialect, Schema(dialect, tables={qkey(table.name, dialect): table}))
    state.apply(ch.RenameColumn(table.name, old, new))
    return state.require_table(table.name)


def create_view(view: View, dialect: Dialect, *, or_replace: bool = False) -> str:
    """CREATE [OR REPLACE] [MATERIALIZED] VIEW, placing verbatim options where each dialect
    expects them: PostgreSQL `WITH (...)` after the name, MySQL `ALGORITHM=...`/`SQL SECURITY`
    after CREATE, and `WITH CHECK OPTION` at the end in both."""
    options = (view.options or "").strip()
    suffix = ""
    match = _CHECK_OPTION.search(options)
    if match:
        suffix = " " + match.group(0).strip()
        options = options[: match.start()].strip()
    head = "CREATE OR REPLACE" if or_replace else "CREATE"
    if options and dialect is Dialect.MYSQL:
        head += f" {options}"
        options = ""
    kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    sql = f"{head} {kind} {qname(view.name, dialect)}"
    if view.columns:
        sql += f" {idents(view.columns, dialect)}"
    if options:
        sql += f" {options}"
    return f"{sql} AS {view.definition.strip()}{suffix}"


def drop_view(view: View, dialect: Dialect) -> str:
    kind = "MATERIALIZED VIEW" if view.materialized else "VIEW"
    return f"DROP {kind} {qname(view.name, dialect)}"


def create_sequence(seq: Sequence, dialect: Dialect) -> str:
    sql = f"CREATE SEQUENCE {qname(seq.name, dialect)}"
    if seq.definition.strip():
        sql += f" {seq.definition.strip()}"
    if (
        seq.owned_by
        and dialect is Dialect.POSTGRES
        and not re.search(r"\bOWNED\s+BY\b", seq.definition, re.I)
    ):
        sql += f" OWNED BY {seq.owned_by}"
    return sql


# Each sequence option, how to spot it in option text, and how to put it back to the default.
_SEQUENCE_OPTIONS: tuple[tuple[str, str, dict[Dialect, str]], ...] = (
    ("as", r"\bAS\b", {Dialect.POSTGRES: "AS bigint"}),
    (
        "increment",
        r"\bINCREMENT\b",
        {Dialect.POSTGRES: "INCREMENT BY 1", Dialect.MYSQL: "INCREMENT BY 1"},
    ),
    ("minvalue", r"MINVALUE\b", {Dialect.POSTGRES: "NO MINVALUE", Dialect.MYSQL: "NO MINVALUE"}),
    ("maxvalue", r"MAXVALUE\b", {Dialect.POSTGRES: "NO MAXVALUE", Dialect.MYSQL: "NO MAXVALUE"}),
    ("start", r"\bSTART\b", {Dialect.POSTGRES: "START WITH 1", Dialect.MYSQL: "START WITH 1"}),
    # MariaDB caches 1000 values unless told otherwise; PostgreSQL caches 1.
    ("cache", r"CACHE\b", {Dialect.POSTGRES: "CACHE 1", Dialect.MYSQL: "CACHE 1000"}),
    ("cycle", r"CYCLE\b", {Dialect.POSTGRES: "NO CYCLE", Dialect.MYSQL: "NOCYCLE"}),
    ("owned", r"\bOWNED\s+BY\b", {Dialect.POSTGRES: "OWNED BY NONE"}),
)


def _sequence_options(text: str) -> set[str]:
    return {key for key, pattern, _ in _SEQUENCE_OPTIONS if re.search(pattern, text, re.I)}


def alter_sequence(before: Sequence, after: Sequence, dialect: Dialect) -> list[str]:
    """ALTER SEQUENCE to `after`'s options; an option only `before` set goes back to its default,
    since ALTER SEQUENCE leaves unmentioned options as they are."""
    parts = [after.definition.strip()] if after.definition.strip() else []
    dropped = _sequence_options(before.definition) - _sequence_options(after.definition)
    for key, _, defaults in _SEQUENCE_OPTIONS:
        if key in dropped and dialect in defaults:
            parts.append(defaults[dialect])
    if (
        dialect is Dialect.POSTGRES
        and after.owned_by != before.owned_by
        and "owned" not in (_sequence_options(after.definition))
    ):
        parts.append(f"OWNED BY {after.owned_by}" if after.owned_by else "OWNED BY NONE")
    if not parts:
        return []
    return [f"ALTER SEQUENCE {qname(after.name, dialect)} {' '.join(parts)}"]


def opaque_statements(change: ch.CreateOpaque | ch.DropOpaque | ch.ReplaceOpaque) -> list[str]:
    """Functions, triggers, extensions...: their own statements, verbatim."""
    match change:
        case ch.CreateOpaque(obj):
            return [obj.definition.strip()]
        case ch.DropOpaque(obj):
            return [obj.drop.strip()]
        case ch.ReplaceOpaque(before, after):
            replaces = re.match(r"\s*CREATE\s+OR\s+REPLACE\b", after.definition, re.I)
            if replaces and after.kind in ("function", "procedure"):
                return [after.definition.strip()]
            return [before.drop.strip(), after.definition.strip()]
