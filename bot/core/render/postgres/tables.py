"""PostgreSQL tables and columns: CREATE TABLE, column definitions and every ALTER COLUMN,
with serial and identity columns and the sequences behind them."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Constraint,
    Dialect,
    ForeignKey,
    Index,
    PrimaryKey,
    QName,
    Table,
    Unique,
    qkey,
)
from bot.core.naming import object_name
from bot.core.render.common import (
    with_column_renamed,
)
from bot.core.render.names import ident, literal, qname
from bot.core.render.postgres.indexes import collation, constraint_definition, create_index

PG = Dialect.POSTGRES

_SERIAL_TYPE = {
    AutoKind.SERIAL: "integer",
    AutoKind.BIGSERIAL: "bigint",
    AutoKind.SMALLSERIAL: "smallint",
}
_IDENTITY = {
    AutoKind.IDENTITY_ALWAYS: "ALWAYS",
    AutoKind.IDENTITY_BY_DEFAULT: "BY DEFAULT",
}
# Spellings of one type, so a serial's implicit `integer` doesn't look like a change from `INT`.
_TYPE_ALIASES = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "SERIAL": "INTEGER",
    "SERIAL4": "INTEGER",
    "INT8": "BIGINT",
    "BIGSERIAL": "BIGINT",
    "SERIAL8": "BIGINT",
    "INT2": "SMALLINT",
    "SMALLSERIAL": "SMALLINT",
    "SERIAL2": "SMALLINT",
    "BOOL": "BOOLEAN",
    "FLOAT8": "DOUBLE PRECISION",
    "FLOAT4": "REAL",
    "TIMESTAMPTZ": "TIMESTAMP WITH TIME ZONE",
    "TIMETZ": "TIME WITH TIME ZONE",
}


def create_table(table: Table) -> list[str]:
    """CREATE TABLE with its constraints, then its indexes and comments."""
    if table.partition_of is not None:
        sql = (
            f"CREATE TABLE {qname(table.name, PG)} PARTITION OF "
            f"{qname(table.partition_of, PG)} {table.partition_bound}"
        )
        if table.partition_by:
            sql += f" PARTITION BY {table.partition_by}"
        out = [sql]
        if table.comment is not None:
            out.append(f"COMMENT ON TABLE {qname(table.name, PG)} IS {comment_text(table.comment)}")
        return out
    inline, after = _inline_keys(table.constraints())
    elements = [column_definition(c) for c in table.columns]
    elements += [constraint_definition(c) for c in inline]
    head = "CREATE UNLOGGED TABLE" if table.unlogged else "CREATE TABLE"
    sql = f"{head} {qname(table.name, PG)} (\n  " + ",\n  ".join(elements) + "\n)"
    if table.partition_by:
        sql += f" PARTITION BY {table.partition_by}"
    if table.options:
        sql += f" {table.options}"
    out = [sql]
    out += [f"ALTER TABLE {qname(table.name, PG)} ADD {constraint_definition(c)}" for c in after]
    for column in table.columns:
        out += retyped_serial(table.name, column)
        out += statistics_target(table.name, column)
    out += [create_index(i) for i in table.indexes]
    if table.clustered_on is not None:
        out.append(
            f"ALTER TABLE {qname(table.name, PG)} CLUSTER ON {ident(table.clustered_on, PG)}"
        )
    if table.comment is not None:
        out.append(f"COMMENT ON TABLE {qname(table.name, PG)} IS {comment_text(table.comment)}")
    out += [
        column_comment(table.name, c.name, c.comment)
        for c in table.columns
        if c.comment is not None
    ]
    return out


def _inline_keys(
    constraints: tuple[Constraint, ...],
) -> tuple[list[Constraint], list[Constraint]]:
    """The constraints CREATE TABLE can hold, and those it would lose or change.

    Inside one CREATE TABLE, PostgreSQL keeps a single index per key column list (the primary
    key first): a second key over the same columns must be added after, or it is lost. And it
    validates every constraint there: a NOT VALID one is added after, NOT VALID.
    """
    inline: list[Constraint] = []
    after: list[Constraint] = []
    seen: set[tuple[tuple[str, ...], bool]] = set()
    for con in constraints:
        if isinstance(con, ForeignKey | Check) and not con.validated:
            after.append(con)
            continue
        if isinstance(con, PrimaryKey | Unique):
            key = (con.columns, isinstance(con, Unique) and con.nulls_not_distinct)
            if key in seen:
                after.append(con)
                continue
            seen.add(key)
        inline.append(con)
    return inline, after


def typed_default(default: str, old_type: str) -> str:
    """A column's default after ALTER COLUMN ... TYPE. PostgreSQL keeps the default's own
    expression and converts it on use, so a bare string literal keeps the type the column
    had when the default was set (`'STD'` on varchar shows as `'STD'::character varying`)."""
    if re.fullmatch(r"'(?:[^']|'')*'", default.strip()) is None:
        return default
    bare = re.sub(r"\(.*?\)", "", old_type).strip()
    return f"{default.strip()}::{pg_type(bare)}"


def storage_parameters(options: str | None) -> dict[str, str]:
    """`WITH (a=1, b = x)` as {"a": "1", "b": "x"}, in order."""
    m = re.fullmatch(r"(?is)\s*with\s*\((.*)\)\s*", options or "")
    if m is None:
        return {}
    out = {}
    for item in _split_commas(m.group(1)):
        key, _, value = item.partition("=")
        out[key.strip().lower()] = value.strip()
    return out


def _split_commas(text: str) -> list[str]:
    return [p for p in re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", text) if p.strip()]


def storage_options(parameters: dict[str, str]) -> str | None:
    """The Table.options text of storage parameters (None when there are none)."""
    if not parameters:
        return None
    return "WITH (" + ", ".join(f"{k}={v}" if v else k for k, v in parameters.items()) + ")"


def set_options(table: QName, before: str | None, after: str | None) -> list[str]:
    """ALTER TABLE SET (...) for parameters set or changed, RESET (...) for those removed."""
    old, new = storage_parameters(before), storage_parameters(after)
    out = []
    gone = [k for k in old if k not in new]
    if gone:
        out.append(f"ALTER TABLE {qname(table, PG)} RESET ({', '.join(gone)})")
    changed = [f"{k}={v}" if v else k for k, v in new.items() if old.get(k) != v]
    if changed:
        out.append(f"ALTER TABLE {qname(table, PG)} SET ({', '.join(changed)})")
    return out


def column_definition(col: Column) -> str:
    """A column as CREATE TABLE / ADD COLUMN spell it (comments are separate statements)."""
    parts = [ident(col.name, PG), col.auto.value if col.auto in _SERIAL_TYPE else pg_type(col.type)]
    if col.collation:
        parts.append(f"COLLATE {collation(col.collation)}")
    if col.generated is not None:
        kind = "STORED" if col.generated_stored else "VIRTUAL"
        parts.append(f"GENERATED ALWAYS AS ({col.generated}) {kind}")
    if col.auto in _IDENTITY:
        parts.append(f"GENERATED {_IDENTITY[col.auto]} AS IDENTITY{_sequence_name(col)}")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if not col.nullable and col.auto not in _SERIAL_TYPE and col.auto not in _IDENTITY:
        parts.append("NOT NULL")  # serial and identity columns are NOT NULL by themselves
    return " ".join(parts)


def comment_text(text: str | None) -> str:
    return "NULL" if text is None else literal(text, PG)


def statistics_target(table: QName, col: Column) -> list[str]:
    """SET STATISTICS for a column that has its own target (it cannot be said inline)."""
    if col.statistics is None:
        return []
    return [
        f"ALTER TABLE {qname(table, PG)} ALTER COLUMN {ident(col.name, PG)} "
        f"SET STATISTICS {col.statistics}"
    ]


def column_comment(table: QName, column: str, text: str | None) -> str:
    return f"COMMENT ON COLUMN {qname(table, PG)}.{ident(column, PG)} IS {comment_text(text)}"


def rename(old: QName, new: QName, kind: str) -> list[str]:
    """RENAME TO takes a bare name; moving to another schema is a separate SET SCHEMA."""
    out = []
    current = old
    if old.name != new.name:
        out.append(f"ALTER {kind} {qname(old, PG)} RENAME TO {ident(new.name, PG)}")
        current = QName(new.name, old.schema)
    if (old.schema or "public") != (new.schema or "public"):
        out.append(
            f"ALTER {kind} {qname(current, PG)} SET SCHEMA {ident(new.schema or 'public', PG)}"
        )
    return out


def _effective_type(col: Column) -> str:
    """The column's own type; a serial's type text may still be the pseudo-type's name."""
    serial = serial_type(col)
    if serial and _same_type(col.type, col.auto.value if col.auto else serial):
        return serial
    return col.type


def retyped_serial(table: QName, col: Column) -> list[str]:
    """A serial column whose type was changed afterwards (`id serial` later made bigint): the
    sequence keeps the serial's type, the column gets its own."""
    serial = serial_type(col)
    if serial is None or _same_type(_effective_type(col), serial):
        return []
    return [
        f"ALTER TABLE {qname(table, PG)} ALTER COLUMN {ident(col.name, PG)} "
        f"TYPE {pg_type(col.type)}"
    ]


_WORD = re.compile(r'"(?:[^"]|"")*"|\b[A-Za-z_][A-Za-z0-9_]*\b|\(\s*\d+\s*,\s*\d+\s*\)')
_PG_SPELLING = {"int": "integer", "decimal": "numeric"}


def pg_type(text: str) -> str:
    """A type as PostgreSQL users write it: `integer`, `numeric(10,2)`, `timestamptz`.

    The model keeps types as the parser printed them (`INT`, `DECIMAL(10, 2)`); unquoted names
    fold to lower case in PostgreSQL anyway, so only quoted parts keep their case.
    """

    def spell(m: re.Match[str]) -> str:
        word = m.group(0)
        if word.startswith('"'):
            return word
        if word.startswith("("):
            return "(" + ",".join(p.strip() for p in word[1:-1].split(",")) + ")"
        return _PG_SPELLING.get(word.lower(), word.lower())

    return _WORD.sub(spell, text.strip())


# Types between which ALTER COLUMN ... TYPE needs no USING and keeps the default: PostgreSQL
# converts with an assignment cast, which exists within each family.
_FAMILIES = (
    frozenset(
        [
            *"SMALLINT INTEGER BIGINT INT INT2 INT4 INT8 NUMERIC DECIMAL REAL FLOAT".split(),
            *["FLOAT4", "FLOAT8", "DOUBLE PRECISION"],
        ]
    ),
    frozenset(["TEXT", "VARCHAR", "CHARACTER VARYING", "CHAR", "CHARACTER", "BPCHAR"]),
    frozenset(
        ["TIMESTAMP", "TIMESTAMPTZ", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITHOUT TIME ZONE"]
    ),
)


# Types between which a CHECK reads the same after ALTER COLUMN ... TYPE: no cast is added.
_SAME_READING = (
    frozenset("SMALLINT INTEGER BIGINT INT INT2 INT4 INT8".split()),
    frozenset(["TEXT", "VARCHAR", "CHARACTER VARYING"]),
)


def _reads_in_text(index: Index, column: str) -> bool:
    """Whether an index names `column` in text the engine re-reads: its WHERE or an expression."""
    return (index.where is not None and references(index.where, column)) or any(
        not p.is_column and references(p.expression, column) for p in index.parts
    )


def _same_reading(a: str, b: str) -> bool:
    base_a, base_b = (" ".join(re.sub(r"\(.*?\)", " ", t).upper().split()) for t in (a, b))
    return any(base_a in group and base_b in group for group in _SAME_READING)


def _family(type_text: str) -> frozenset[str] | None:
    base = " ".join(re.sub(r"\(.*?\)", " ", type_text).upper().split())
    if base.endswith("]"):
        return None
    return next((f for f in _FAMILIES if base in f), None)


def _assignable(a: str, b: str) -> bool:
    """Whether a column of type `a` converts to `b` (values and default) without a USING."""
    family = _family(a)
    return family is not None and family is _family(b)


def _same_type(a: str, b: str) -> bool:
    def norm(t: str) -> str:
        t = " ".join(t.upper().split())
        return _TYPE_ALIASES.get(t, t)

    return norm(a) == norm(b)


def _not_null(col: Column) -> bool:
    """Serial and identity columns are NOT NULL whatever the model's flag says."""
    return not col.nullable or col.auto in _SERIAL_TYPE or col.auto in _IDENTITY


def serial_sequence(table: QName, column: str) -> QName:
    """The sequence PostgreSQL creates for a serial column."""
    return QName(object_name(table.name, column, "seq"), table.schema)


def serial_type(col: Column) -> str | None:
    return _SERIAL_TYPE.get(col.auto) if col.auto else None


def _sequence_name(col: Column) -> str:
    """An identity's sequence name, when it is not the one PostgreSQL would choose now."""
    return f" (SEQUENCE NAME {ident(col.sequence, PG)})" if col.sequence else ""


def _identity_kind(col: Column) -> str | None:
    return _IDENTITY.get(col.auto) if col.auto else None


def alter_column(
    table: Table,
    before: Column,
    after: Column,
    *,
    keep_sequence: bool = False,
    via_text: bool = False,
) -> list[str]:
    """Only the parts that differ, in as few ALTER TABLE statements as the engine allows.

    Actions come in waves: removals of identity/serial first (so a sequence of the same name
    can be dropped or created next), then type, nullability and default together (PostgreSQL
    runs DROP DEFAULT, TYPE, SET DEFAULT in that order within one statement), then what needs
    NOT NULL already in place (ADD ... AS IDENTITY) or the new type (SET EXPRESSION).
    """
    t = qname(table.name, PG)
    out: list[str] = []
    if before.name != after.name:
        out.append(
            f"ALTER TABLE {t} RENAME COLUMN {ident(before.name, PG)} TO {ident(after.name, PG)}"
        )
        table = with_column_renamed(table, before.name, after.name, PG)
        before = replace(before, name=after.name)
    if _must_recreate(before, after):
        return out + _recreate_column(table, before, after)

    c = ident(after.name, PG)
    col = f"ALTER COLUMN {c}"
    first: list[str] = []
    sequences: list[str] = []
    main: list[str] = []
    then: list[str] = []
    last: list[str] = []
    rebuilt: list[str] = []  # indexes re-created once the column has its type
    default = before.default  # the column's default as the actions so far leave it
    seq = qname(serial_sequence(table.name, after.name), PG)
    b_serial, a_serial = serial_type(before), serial_type(after)
    b_ident, a_ident = _identity_kind(before), _identity_kind(after)
    b_type, a_type = _effective_type(before), _effective_type(after)

    if b_serial and not a_serial:
        first.append(f"{col} DROP DEFAULT")
        if not keep_sequence:
            sequences.append(f"DROP SEQUENCE {seq}")
    if b_ident and not a_ident:
        first.append(f"{col} DROP IDENTITY")
    if b_ident and a_ident and b_ident != a_ident:
        main.append(f"{col} SET GENERATED {a_ident}")
    if b_ident and a_ident and before.sequence != after.sequence:
        # the identity's sequence keeps the name it had when its table or column was renamed
        implied = serial_sequence(table.name, after.name)
        was = QName(before.sequence, table.name.schema) if before.sequence else implied
        now = after.sequence or implied.name
        if qkey(was, PG) != qkey(QName(now, table.name.schema), PG):
            last.append(f"ALTER SEQUENCE {qname(was, PG)} RENAME TO {ident(now, PG)}")
    if before.generated is not None and after.generated is None:
        first.append(f"{col} DROP EXPRESSION")  # the stored values stay, as plain data

    changes_type = not _same_type(b_type, a_type)
    if changes_type or before.collation != after.collation:
        assignable = _assignable(b_type, a_type)
        if default is not None and changes_type and not assignable:
            main.append(f"{col} DROP DEFAULT")  # it may not cast to the new type; set below
            default = None
        action = f"{col} TYPE {pg_type(a_type)}"
        if after.collation or not changes_type:
            action += f" COLLATE {collation(after.collation or 'default')}"
        if changes_type and after.generated is None and not assignable:
            action += f" USING {c}::{'text::' if via_text else ''}{pg_type(a_type)}"
        main.append(action)
        if changes_type and not _same_reading(b_type, a_type):
            # PostgreSQL re-reads a CHECK on a retyped column and keeps it with the casts
            # the new type needed ("Value"::numeric > 0::numeric): re-adding it in the same
            # statement restores the text it had, in the same pass over the rows
            rechecked = [k for k in table.checks if k.name and references(k.expression, after.name)]
            main[:0] = [f"DROP CONSTRAINT {ident(k.name or '', PG)}" for k in rechecked]
            main += [f"ADD {constraint_definition(k)}" for k in rechecked]
            # the same for a partial or expression index over it: it is rebuilt anyway
            reread = [i for i in table.indexes if _reads_in_text(i, after.name)]
            out += [f"DROP INDEX {qname(QName(i.name, table.name.schema), PG)}" for i in reread]
            rebuilt += [create_index(i) for i in reread]
    if b_serial and a_serial and b_serial != a_serial:
        last.append(f"ALTER SEQUENCE {seq} AS {a_serial}")

    if _not_null(before) != _not_null(after):
        main.append(f"{col} {'SET' if _not_null(after) else 'DROP'} NOT NULL")
    if before.statistics != after.statistics:
        main.append(f"{col} SET STATISTICS {-1 if after.statistics is None else after.statistics}")

    if a_serial and not b_serial:
        main.append(f"{col} SET DEFAULT nextval({literal(seq, PG)}::regclass)")
        if not keep_sequence:
            sequences.append(f"CREATE SEQUENCE {seq} AS {a_serial}")
            last.append(f"ALTER SEQUENCE {seq} OWNED BY {t}.{c}")
            last.append(_restart_sql(literal(seq, PG), t, c))
    elif a_ident and not b_ident:
        if default is not None:
            main.append(f"{col} DROP DEFAULT")
        then.append(f"{col} ADD GENERATED {a_ident} AS IDENTITY{_sequence_name(after)}")
        table_text, column_text = literal(qname(table.name, PG), PG), literal(after.name, PG)
        last.append(_restart_sql(f"pg_get_serial_sequence({table_text}, {column_text})", t, c))
    elif (
        not a_serial
        and not a_ident
        and not b_serial
        and after.default != default
        and not (
            changes_type
            and default is not None
            and after.default is not None
            and default == typed_default(after.default, a_type)
        )
    ):
        main.append(
            f"{col} SET DEFAULT {after.default}" if after.default else f"{col} DROP DEFAULT"
        )
    elif b_serial and not a_serial and after.default is not None:
        main.append(f"{col} SET DEFAULT {after.default}")

    recomputes = (
        before.generated is not None
        and after.generated is not None
        and before.generated != after.generated
    )
    if recomputes:
        then.append(f"{col} SET EXPRESSION AS ({after.generated})")

    if first:
        out.append(f"ALTER TABLE {t} " + ", ".join(first))
    out += sequences
    if main:
        out.append(f"ALTER TABLE {t} " + ", ".join(main))
    if then:
        out.append(f"ALTER TABLE {t} " + ", ".join(then))
    out += rebuilt
    out += last
    if before.comment != after.comment:
        out.append(column_comment(table.name, after.name, after.comment))
    if recomputes and after.generated_stored:
        out[0] = f"-- {table.name}.{after.name}: the stored values are recomputed\n{out[0]}"
    return out


def restart(sequence: str, table: QName, column: str) -> str:
    """Move a re-created sequence past the values already in the column."""
    return _restart_sql(sequence, qname(table, PG), ident(column, PG))


def _restart_sql(sequence: str, table: str, column: str) -> str:
    """Move a new sequence past the values already in the column, so inserts don't collide."""
    return f"SELECT setval({sequence}, coalesce(max({column}), 0) + 1, false) FROM {table}"


def _must_recreate(before: Column, after: Column) -> bool:
    """PostgreSQL cannot make a plain column generated, switch STORED/VIRTUAL, or turn a
    VIRTUAL column into a plain one in place."""
    if before.generated is None:
        return after.generated is not None
    if after.generated is None:
        return not before.generated_stored
    return before.generated_stored != after.generated_stored


def _recreate_column(table: Table, before: Column, after: Column) -> list[str]:
    """Add the new column beside the old one, copy values across when it is plain, drop the
    old one and take its name; then re-create what DROP COLUMN took with it."""
    t = qname(table.name, PG)
    c = ident(after.name, PG)
    temp_name = f"{after.name}__new"
    temp = replace(after, name=temp_name, nullable=True, comment=None)
    how = "recomputed" if after.generated is not None else "copied"
    out = [
        f"-- {table.name}.{after.name}: PostgreSQL cannot change this column's generation in "
        f"place; it is re-created (values {how}, the column moves to the end)\n"
        f"ALTER TABLE {t} ADD COLUMN {column_definition(temp)}"
    ]
    if after.generated is None:
        out.append(f"UPDATE {t} SET {ident(temp_name, PG)} = {c}")
    out.append(f"ALTER TABLE {t} DROP COLUMN {c}")
    out.append(f"ALTER TABLE {t} RENAME COLUMN {ident(temp_name, PG)} TO {c}")
    if not after.nullable:  # only now, so the constraint gets the column's own name
        out.append(f"ALTER TABLE {t} ALTER COLUMN {c} SET NOT NULL")
    for con in table.constraints():
        if _constraint_uses(con, after.name):
            out.append(f"ALTER TABLE {t} ADD {constraint_definition(con)}")
    out += [create_index(i) for i in table.indexes if _index_uses(i, after.name)]
    if after.comment is not None:
        out.append(column_comment(table.name, after.name, after.comment))
    return out


def _mentions(sql: str, name: str) -> bool:
    return (
        re.search(rf'(?<![\w$"]){re.escape(name)}(?![\w$"])|"{re.escape(name)}"', sql) is not None
    )


def references(expression: str, column: str) -> bool:
    """Whether an expression surely reads `column`: named outside string literals, not as a
    function (`length(...)`), a cast's type (`::date`) or a qualified name's part."""
    code = re.sub(r"'(?:[^']|'')*'", "''", expression)
    name = re.escape(column)
    bare = (
        rf'(?<![\w$".:]){name}(?![\w$"(.])(?!\s*\()'
        if re.fullmatch(r"[a-z_][a-z0-9_$]*", column)
        else None
    )
    quoted = rf'(?<![.:])"{re.escape(column.replace(chr(34), chr(34) * 2))}"(?![.(])'
    return re.search(quoted, code) is not None or (
        bare is not None and re.search(bare, code) is not None
    )


def _constraint_uses(con: Constraint, column: str) -> bool:
    match con:
        case PrimaryKey(_, cols) | Unique(_, cols) | ForeignKey(_, cols):
            return column in cols
        case Check(_, expression):
            return _mentions(expression, column)


def _index_uses(index: Index, column: str) -> bool:
    return (
        any(
            p.expression == column if p.is_column else _mentions(p.expression, column)
            for p in index.parts
        )
        or column in index.include
        or (index.where is not None and _mentions(index.where, column))
    )
