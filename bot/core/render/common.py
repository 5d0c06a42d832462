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
    definition = _creatable(seq.definition)
    if definition:
        sql += f" {definition}"
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


# One sequence option as written, keyed like _SEQUENCE_OPTIONS ("restart" only moves the value;
# "engine" and "comment" are MariaDB CREATE SEQUENCE table options, which ALTER SEQUENCE refuses).
_SEQUENCE_OPTION = re.compile(
    r"""\s*(?:
      (?P<as>AS\s+\w+(?:\s+PRECISION)?)
    | (?P<increment>INCREMENT(?:\s+BY\s+|\s*=\s*|\s+)[-+]?\d+)
    | (?P<minvalue>NO\s*MINVALUE|MINVALUE(?:\s*=)?\s*[-+]?\d+)
    | (?P<maxvalue>NO\s*MAXVALUE|MAXVALUE(?:\s*=)?\s*[-+]?\d+)
    | (?P<start>START(?:\s+WITH)?(?:\s*=)?\s*[-+]?\d+)
    | (?P<restart>RESTART(?:(?:\s+WITH)?(?:\s*=)?\s*[-+]?\d+)?)
    | (?P<cache>NO\s*CACHE|CACHE(?:\s*=)?\s*\d+)
    | (?P<cycle>NO\s*CYCLE|CYCLE)
    | (?P<owned>OWNED\s+BY\s+\S+)
    | (?P<engine>ENGINE(?:\s*=)?\s*\w+)
    | (?P<comment>COMMENT(?:\s*=)?\s*'(?:[^']|'')*')
    )(?=\s|\Z)""",
    re.I | re.X,
)


def _parse_sequence_options(text: str) -> dict[str, str] | None:
    """Each option's text by key, a later mention replacing an earlier one (the model appends
    what ALTER SEQUENCE says to the options CREATE SEQUENCE gave); None when some part is
    not a sequence option we know."""
    options: dict[str, str] = {}
    pos, text = 0, text.strip()
    while pos < len(text):
        match = _SEQUENCE_OPTION.match(text, pos)
        if match is None or match.end() == pos:
            return None
        key = match.lastgroup or ""
        options.pop(key, None)
        options[key] = " ".join(match.group(key).split())
        pos = match.end()
    return options


def _creatable(definition: str) -> str:
    """Options for CREATE SEQUENCE: each once (the engines refuse repeats), no RESTART."""
    options = _parse_sequence_options(definition)
    words = re.findall(r"[A-Za-z]+", definition.upper())
    if options is None or ("RESTART" not in words and len(options) == _mentions(words)):
        return definition.strip()
    return " ".join(text for key, text in options.items() if key != "restart")


def _mentions(words: list[str]) -> int:
    """How many options a definition mentions, repeats included (NO/BY/WITH are not options)."""
    keys = {
        "AS",
        "INCREMENT",
        "MINVALUE",
        "NOMINVALUE",
        "MAXVALUE",
        "NOMAXVALUE",
        "START",
        "RESTART",
        "CACHE",
        "NOCACHE",
        "CYCLE",
        "NOCYCLE",
        "OWNED",
        "ENGINE",
        "COMMENT",
    }
    return sum(word in keys for word in words)


def alter_sequence(before: Sequence, after: Sequence, dialect: Dialect) -> list[str]:
    """ALTER SEQUENCE to `after`'s options; an option only `before` set goes back to its default,
    since ALTER SEQUENCE leaves unmentioned options as they are. Options both set alike are
    not repeated."""
    statements: list[str] = []
    if before.name != after.name:
        statements.append(
            f"ALTER SEQUENCE {qname(before.name, dialect)} RENAME TO {ident(after.name.name, dialect)}"
            if dialect is Dialect.POSTGRES
            else f"RENAME TABLE {qname(before.name, dialect)} TO {qname(after.name, dialect)}"
        )
    old = _parse_sequence_options(before.definition)
    new = _parse_sequence_options(after.definition)
    if old is not None and new is not None:
        parts = [
            text
            for key, text in new.items()
            if key not in ("restart", "engine", "comment")
            and text.upper() != old.get(key, "").upper()
        ]
        dropped = set(old) - set(new) - {"restart"}
        # MariaDB: ALTER SEQUENCE takes no COMMENT, but a sequence is a table
        if old.get("comment") != new.get("comment"):
            comment = new.get("comment", "COMMENT=''")
            statements.append(f"ALTER TABLE {qname(after.name, dialect)} {comment}")
    else:
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
        return statements
    return [*statements, f"ALTER SEQUENCE {qname(after.name, dialect)} {' '.join(parts)}"]


_CREATE_ROUTINE = re.compile(r"\s*CREATE\s+(?=(?:FUNCTION|PROCEDURE)\b)", re.I)


def opaque_statements(
    change: ch.CreateOpaque | ch.DropOpaque | ch.ReplaceOpaque, *, or_replace: bool = False
) -> list[str]:
    """Functions, triggers, extensions...: their own statements, verbatim.

    With `or_replace` (PostgreSQL), a function or procedure written as plain CREATE is put back
    with CREATE OR REPLACE: dropping it first would fail while a trigger uses it, and would
    lose its grants. A replace keeps the signature and return type, so this always applies.
    """
    match change:
        case ch.CreateOpaque(obj):
            return [obj.definition.strip()]
        case ch.DropOpaque(obj):
            return [obj.drop.strip()]
        case ch.ReplaceOpaque(before, after):
            routine = after.kind in ("function", "procedure")
            replaces = re.match(r"\s*CREATE\s+OR\s+REPLACE\b", after.definition, re.I)
            if replaces and routine:
                return [after.definition.strip()]
            if or_replace and routine and _CREATE_ROUTINE.match(after.definition):
                return [_CREATE_ROUTINE.sub("CREATE OR REPLACE ", after.definition, 1).strip()]
            return [before.drop.strip(), after.definition.strip()]
