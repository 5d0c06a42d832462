"""PostgreSQL DDL for schema changes.

Every change is rendered against the state it applies to, so statements that need more than
the change itself (an enum re-created for every column that uses it, the sequence behind a
serial column) can find what they touch.
"""

from __future__ import annotations

import re
from dataclasses import replace

from bot.core import changes as ch
from bot.core.model import (
    AutoKind,
    Check,
    Column,
    Constraint,
    Dialect,
    EnumType,
    ForeignKey,
    Index,
    IndexPart,
    PrimaryKey,
    QName,
    Schema,
    Table,
    Unique,
    qkey,
)
from bot.core.render import Rendered
from bot.core.render.common import (
    alter_sequence,
    check_body,
    create_sequence,
    create_view,
    drop_view,
    foreign_key_body,
    named,
    opaque_statements,
    with_column_renamed,
)
from bot.core.render.names import ident, idents, literal, qname
from bot.core.state import State

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
_NAMEDATALEN = 63  # bytes PostgreSQL keeps of an identifier


def render(changes: list[ch.Change], before: Schema) -> list[Rendered]:
    """PostgreSQL statements taking a database at `before` through `changes`, in order.

    Changes that a later DROP TABLE / DROP COLUMN makes anyway (an index or comment of a table
    about to go, the foreign key of a column about to go) are applied to the working state but
    not written out: PostgreSQL drops them with their table or column.
    """
    changes = _merge_steps(changes)
    skipped = _subsumed(changes)
    kept = _kept_sequences(changes)
    skipped |= {i + 1 if isinstance(changes[i], ch.AlterColumn) else i for i in kept}
    state = State(before.dialect, before)
    out: list[Rendered] = []
    relaxed = False
    for i, change in enumerate(changes):
        if not relaxed and _sql_body(change):
            # A LANGUAGE sql body is checked against the tables when it is created, and they
            # may come later in this script: relax that for the session, as pg_dump does.
            out.append(Rendered.of("SET check_function_bodies = false", change))
            relaxed = True
        if i in skipped:
            pass
        elif isinstance(change, ch.AlterColumn) and (i in kept or i - 1 in kept):
            table = state.require_table(change.table)
            sql = _alter_column(table, change.before, change.after, keep_sequence=True)
            out.extend(Rendered.of(s, change) for s in sql)
        else:
            out.extend(Rendered.of(sql, change) for sql in _statements(change, state))
        state.apply(change)
    return out


def _sql_body(change: ch.Change) -> bool:
    """A function or procedure written in SQL (its body is validated at creation)."""
    match change:
        case ch.CreateOpaque(obj) | ch.ReplaceOpaque(_, obj) if obj.kind in {
            "function",
            "procedure",
        }:
            return bool(re.search(r"(?i)\blanguage\s+'?sql'?\b|\bbegin\s+atomic\b", obj.definition))
    return False


def _kept_sequences(changes: list[ch.Change]) -> set[int]:
    """Where a serial column and its sequence part or join, and the sequence stays.

    `ALTER COLUMN id DROP DEFAULT` on a serial leaves its sequence (owned by the column, still
    counting); replay models that as the column ceasing to be serial and a sequence appearing.
    Going back, the sequence is there: SET DEFAULT nextval(...) is all it takes, and keeps the
    sequence's position (a fresh one moved to max(id) + 1 could hand out ids of deleted rows).
    Returns the position of the first change of each such pair.
    """
    pairs: set[int] = set()
    for i in range(len(changes) - 1):
        first, second = changes[i], changes[i + 1]
        match first, second:
            case ch.AlterColumn(t, before, after), ch.CreateSequence(seq) if _serial_type(
                before
            ) and not _serial_type(after):
                column = before
            case ch.DropSequence(seq), ch.AlterColumn(t, before, after) if _serial_type(
                after
            ) and not _serial_type(before):
                column = after
            case _:
                continue
        serial = _serial_type(column)
        if (
            qkey(seq.name, PG) == qkey(serial_sequence(t, column.name), PG)
            and seq.owned_by is not None
            and " ".join(seq.definition.split()).lower() == f"as {serial}"
        ):
            pairs.add(i)
    return pairs


def _merge_steps(changes: list[ch.Change]) -> list[ch.Change]:
    """Consecutive changes of one enum or one column as one: removing three added values
    re-creates the type once, and a column's type, default and nullability change in one
    ALTER TABLE (one table rewrite at most)."""
    out: list[ch.Change] = []
    for change in changes:
        last = out[-1] if out else None
        if (
            isinstance(change, ch.AlterEnum)
            and isinstance(last, ch.AlterEnum)
            and last.after == change.before
        ):
            out[-1] = ch.AlterEnum(last.before, change.after)
        elif (
            isinstance(change, ch.AlterColumn)
            and isinstance(last, ch.AlterColumn)
            and qkey(last.table, PG) == qkey(change.table, PG)
            and last.after == change.before
        ):
            out[-1] = ch.AlterColumn(change.table, last.before, change.after)
        else:
            out.append(change)
    return out


def _table_of(change: ch.Change) -> QName | None:
    """The one table a change is confined to, or None when it reaches beyond one table."""
    match change:
        case (
            ch.AddColumn(t)
            | ch.DropColumn(t)
            | ch.RenameColumn(t)
            | ch.AlterColumn(t)
            | ch.AddConstraint(t)
            | ch.DropConstraint(t)
            | ch.RenameIndex(t)
            | ch.SetTableComment(t)
        ):
            return t
        case ch.CreateIndex(index) | ch.DropIndex(index):
            return index.table
        case ch.DropTable(table):
            return table.name
    return None


def _subsumed(changes: list[ch.Change]) -> set[int]:
    """Positions of changes whose effect a later DROP TABLE or DROP COLUMN has anyway.

    Walks backwards remembering the tables and columns dropped later. Comments go whatever lies
    between; anything else only when everything in between removes something from the same
    table (a foreign key may have to go before another table does, a primary key before its
    replacement is added, an index before another takes its name), and for a column only when
    what lies between is nothing another constraint could depend on.
    """
    tables: dict[tuple[str, str], bool] = {}  # table -> only its own changes since its drop
    columns: dict[tuple[tuple[str, str], str], bool] = {}
    skipped: set[int] = set()
    for i in range(len(changes) - 1, -1, -1):
        change = changes[i]
        table = _table_of(change)
        key = qkey(table, PG) if table is not None else None
        if (
            key is not None
            and key in tables
            and (_always_goes(change) or (tables[key] and not isinstance(change, ch.DropTable)))
        ):
            skipped.add(i)
            continue
        if key is not None and _goes_with_column(change, key, columns):
            skipped.add(i)
            continue
        removes = isinstance(
            change,
            ch.DropTable | ch.DropConstraint | ch.DropIndex | ch.DropColumn | ch.SetTableComment,
        )
        # A DROP COLUMN doesn't drop the keys a constraint of its own table may reference
        # (a self-reference to the primary key): only what nothing can depend on may lie between.
        harmless = (
            _always_goes(change)
            or (
                isinstance(change, ch.DropConstraint)
                and isinstance(change.constraint, Check | ForeignKey)
            )
            or (isinstance(change, ch.DropIndex) and not change.index.unique)
        )
        for name in tables:
            tables[name] = tables[name] and removes and name == key
        for column in columns:
            columns[column] = columns[column] and harmless and column[0] == key
        match change:
            case ch.DropTable(t):
                tables[qkey(t.name, PG)] = True
            case ch.RenameTable(old, new) if qkey(new, PG) in tables:
                tables[qkey(old, PG)] = tables.pop(qkey(new, PG))
                for tk, col in [c for c in columns if c[0] == qkey(new, PG)]:
                    columns[(qkey(old, PG), col)] = columns.pop((tk, col))
            case ch.DropColumn(t, col):
                columns[(qkey(t, PG), col.name)] = True
            case ch.RenameColumn(t, old, new) if (qkey(t, PG), new) in columns:
                columns[(qkey(t, PG), old)] = columns.pop((qkey(t, PG), new))
            case ch.AddColumn(t, col):
                columns.pop((qkey(t, PG), col.name), None)
    return skipped


def _always_goes(change: ch.Change) -> bool:
    """Comments: removing them first never matters to anything else. (Not even an index drop
    is like that: a later change may create another index of the same name.)"""
    match change:
        case ch.SetTableComment():
            return True
        case ch.AlterColumn(_, before, after):
            return replace(after, comment=before.comment) == before
    return False


def _goes_with_column(
    change: ch.Change, table: tuple[str, str], columns: dict[tuple[tuple[str, str], str], bool]
) -> bool:
    """Whether DROP COLUMN of a column dropped later removes what `change` removes."""
    match change:
        case ch.DropIndex(index):
            used = [p.expression for p in index.parts if p.is_column] + list(index.include)
            return any(columns.get((table, c), False) for c in used)
        case ch.DropConstraint(_, PrimaryKey(_, cols) | Unique(_, cols) | ForeignKey(_, cols)):
            return any(columns.get((table, c), False) for c in cols)
        case ch.DropConstraint(_, Check(_, expression)):
            return any(
                dropped and t == table and _references(expression, c)
                for (t, c), dropped in columns.items()
            )
        case ch.AlterColumn(_, before, after) if (table, after.name) in columns:
            return before.name == after.name and (
                columns[(table, after.name)] or _always_goes(change)
            )
    return False


def _statements(change: ch.Change, state: State) -> list[str]:
    match change:
        case ch.CreateNamespace(name):
            return [f"CREATE SCHEMA {ident(name, PG)}"]
        case ch.DropNamespace(name):
            return [f"DROP SCHEMA {ident(name, PG)}"]
        case ch.CreateTable(table):
            return create_table(table)
        case ch.DropTable(table):
            return [f"DROP TABLE {qname(table.name, PG)}"]
        case ch.RenameTable(old, new):
            return _rename(old, new, "TABLE")
        case ch.AddColumn(tname, column):
            out = [f"ALTER TABLE {qname(tname, PG)} ADD COLUMN {column_definition(column)}"]
            out += _retyped_serial(tname, column)
            if column.comment is not None:
                out.append(_column_comment(tname, column.name, column.comment))
            return out
        case ch.DropColumn(tname, column):
            return [f"ALTER TABLE {qname(tname, PG)} DROP COLUMN {ident(column.name, PG)}"]
        case ch.RenameColumn(tname, old, new):
            return [
                f"ALTER TABLE {qname(tname, PG)} RENAME COLUMN {ident(old, PG)} TO {ident(new, PG)}"
            ]
        case ch.AlterColumn(tname, before, after):
            # PostgreSQL has no cast from an enum to anything but text.
            via_text = state.is_enum(before.type) and not state.is_enum(after.type)
            return _alter_column(state.require_table(tname), before, after, via_text=via_text)
        case ch.AddConstraint(tname, con):
            return [f"ALTER TABLE {qname(tname, PG)} ADD {constraint_definition(con)}"]
        case ch.DropConstraint(tname, con):
            if con.name is None:
                raise ValueError(f"cannot drop an unnamed {con.kind} constraint on {tname}")
            return [f"ALTER TABLE {qname(tname, PG)} DROP CONSTRAINT {ident(con.name, PG)}"]
        case ch.CreateIndex(index):
            return [create_index(index)]
        case ch.DropIndex(index):
            return [f"DROP INDEX {_index_name(index.table, index.name)}"]
        case ch.RenameIndex(tname, old, new):
            return [f"ALTER INDEX {_index_name(tname, old)} RENAME TO {ident(new, PG)}"]
        case ch.RenameConstraint(tname, old, new):
            return [
                f"ALTER TABLE {qname(tname, PG)} RENAME CONSTRAINT {ident(old, PG)} TO {ident(new, PG)}"
            ]
        case ch.SetTableComment(tname, _, after):
            return [f"COMMENT ON TABLE {qname(tname, PG)} IS {_comment_text(after)}"]
        case ch.CreateView(view):
            return [create_view(view, PG)]
        case ch.DropView(view):
            return [drop_view(view, PG)]
        case ch.ReplaceView(before_view, after_view):
            # CREATE OR REPLACE VIEW cannot drop, rename or retype columns; re-creating always can.
            return [drop_view(before_view, PG), create_view(after_view, PG)]
        case ch.CreateEnum(enum):
            return [create_enum(enum)]
        case ch.DropEnum(enum):
            return [f"DROP TYPE {qname(enum.name, PG)}"]
        case ch.AlterEnum(before_enum, after_enum):
            return _alter_enum(before_enum, after_enum, state)
        case ch.RenameEnum(old, new):
            return _rename(old, new, "TYPE")
        case ch.CreateSequence(seq):
            return [create_sequence(seq, PG)]
        case ch.DropSequence(seq):
            return [f"DROP SEQUENCE {qname(seq.name, PG)}"]
        case ch.AlterSequence(before_seq, after_seq):
            return alter_sequence(before_seq, after_seq, PG)
        case ch.CreateOpaque() | ch.DropOpaque() | ch.ReplaceOpaque():
            return opaque_statements(change, or_replace=True)
    raise TypeError(f"not a change: {change!r}")


# -- tables and columns ------------------------------------------------------------------


def create_table(table: Table) -> list[str]:
    """CREATE TABLE with its constraints, then its indexes and comments."""
    elements = [column_definition(c) for c in table.columns]
    elements += [constraint_definition(c) for c in table.constraints()]
    sql = f"CREATE TABLE {qname(table.name, PG)} (\n  " + ",\n  ".join(elements) + "\n)"
    if table.options:
        sql += f" {table.options}"
    out = [sql]
    for column in table.columns:
        out += _retyped_serial(table.name, column)
    out += [create_index(i) for i in table.indexes]
    if table.comment is not None:
        out.append(f"COMMENT ON TABLE {qname(table.name, PG)} IS {_comment_text(table.comment)}")
    out += [
        _column_comment(table.name, c.name, c.comment)
        for c in table.columns
        if c.comment is not None
    ]
    return out


def column_definition(col: Column) -> str:
    """A column as CREATE TABLE / ADD COLUMN spell it (comments are separate statements)."""
    parts = [ident(col.name, PG), col.auto.value if col.auto in _SERIAL_TYPE else pg_type(col.type)]
    if col.collation:
        parts.append(f"COLLATE {_collation(col.collation)}")
    if col.generated is not None:
        kind = "STORED" if col.generated_stored else "VIRTUAL"
        parts.append(f"GENERATED ALWAYS AS ({col.generated}) {kind}")
    if col.auto in _IDENTITY:
        parts.append(f"GENERATED {_IDENTITY[col.auto]} AS IDENTITY")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if not col.nullable and col.auto not in _SERIAL_TYPE and col.auto not in _IDENTITY:
        parts.append("NOT NULL")  # serial and identity columns are NOT NULL by themselves
    return " ".join(parts)


def _collation(name: str) -> str:
    """Collation names are case-sensitive ("C", "en_US"), so quote each part exactly."""
    if '"' in name:
        return name
    return ".".join('"' + part + '"' for part in name.split("."))


def _comment_text(text: str | None) -> str:
    return "NULL" if text is None else literal(text, PG)


def _column_comment(table: QName, column: str, text: str | None) -> str:
    return f"COMMENT ON COLUMN {qname(table, PG)}.{ident(column, PG)} IS {_comment_text(text)}"


def _rename(old: QName, new: QName, kind: str) -> list[str]:
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
    serial = _serial_type(col)
    if serial and _same_type(col.type, col.auto.value if col.auto else serial):
        return serial
    return col.type


def _retyped_serial(table: QName, col: Column) -> list[str]:
    """A serial column whose type was changed afterwards (`id serial` later made bigint): the
    sequence keeps the serial's type, the column gets its own."""
    serial = _serial_type(col)
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


def object_name(name1: str, name2: str, label: str) -> str:
    """The name PostgreSQL derives for an implicit object (`<table>_<column>_seq`): like its
    makeObjectName, it trims the longer part until the whole fits in 63 bytes."""
    avail = _NAMEDATALEN - len(label.encode()) - 2
    b1, b2 = name1.encode(), name2.encode()
    n1, n2 = len(b1), len(b2)
    while n1 + n2 > avail:
        if n1 > n2:
            n1 -= 1
        else:
            n2 -= 1
    part1 = b1[:n1].decode(errors="ignore")
    part2 = b2[:n2].decode(errors="ignore")
    return f"{part1}_{part2}_{label}"


def serial_sequence(table: QName, column: str) -> QName:
    """The sequence PostgreSQL creates for a serial column."""
    return QName(object_name(table.name, column, "seq"), table.schema)


def _serial_type(col: Column) -> str | None:
    return _SERIAL_TYPE.get(col.auto) if col.auto else None


def _identity_kind(col: Column) -> str | None:
    return _IDENTITY.get(col.auto) if col.auto else None


def _alter_column(
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
    default = before.default  # the column's default as the actions so far leave it
    seq = qname(serial_sequence(table.name, after.name), PG)
    b_serial, a_serial = _serial_type(before), _serial_type(after)
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
            action += f" COLLATE {_collation(after.collation or 'default')}"
        if changes_type and after.generated is None and not assignable:
            action += f" USING {c}::{'text::' if via_text else ''}{pg_type(a_type)}"
        main.append(action)
    if b_serial and a_serial and b_serial != a_serial:
        last.append(f"ALTER SEQUENCE {seq} AS {a_serial}")

    if _not_null(before) != _not_null(after):
        main.append(f"{col} {'SET' if _not_null(after) else 'DROP'} NOT NULL")

    if a_serial and not b_serial:
        main.append(f"{col} SET DEFAULT nextval({literal(seq, PG)}::regclass)")
        if not keep_sequence:
            sequences.append(f"CREATE SEQUENCE {seq} AS {a_serial}")
            last.append(f"ALTER SEQUENCE {seq} OWNED BY {t}.{c}")
            last.append(_restart(literal(seq, PG), t, c))
    elif a_ident and not b_ident:
        if default is not None:
            main.append(f"{col} DROP DEFAULT")
        then.append(f"{col} ADD GENERATED {a_ident} AS IDENTITY")
        table_text, column_text = literal(qname(table.name, PG), PG), literal(after.name, PG)
        last.append(_restart(f"pg_get_serial_sequence({table_text}, {column_text})", t, c))
    elif not a_serial and not a_ident and not b_serial and after.default != default:
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
    out += last
    if before.comment != after.comment:
        out.append(_column_comment(table.name, after.name, after.comment))
    if recomputes and after.generated_stored:
        out[0] = f"-- {table.name}.{after.name}: the stored values are recomputed\n{out[0]}"
    return out


def _restart(sequence: str, table: str, column: str) -> str:
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
        out.append(_column_comment(table.name, after.name, after.comment))
    return out


def _mentions(sql: str, name: str) -> bool:
    return (
        re.search(rf'(?<![\w$"]){re.escape(name)}(?![\w$"])|"{re.escape(name)}"', sql) is not None
    )


def _references(expression: str, column: str) -> bool:
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


# -- constraints and indexes -------------------------------------------------------------


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
        sql += f" COLLATE {_collation(part.collation)}"
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


def _index_name(table: QName, name: str) -> str:
    """Indexes live in their table's schema; DROP/ALTER INDEX find them by that schema."""
    return qname(QName(name, table.schema), PG)


# -- enums -------------------------------------------------------------------------------


def create_enum(enum: EnumType) -> str:
    values = ", ".join(literal(v, PG) for v in enum.values)
    return f"CREATE TYPE {qname(enum.name, PG)} AS ENUM ({values})"


def _alter_enum(before: EnumType, after: EnumType, state: State) -> list[str]:
    """Renames and additions in place; anything else (removal, reorder) re-creates the type.

    Values at the same position with labels new on one side and gone on the other are renames
    (when both lists are equally long). Added values are positioned with BEFORE/AFTER so the
    type ends up in exactly the target order.
    """
    name = qname(after.name, PG)
    out: list[str] = []
    current = list(before.values)
    if len(before.values) == len(after.values):
        for i, (old, new) in enumerate(zip(before.values, after.values, strict=True)):
            if old != new and old not in after.values and new not in before.values:
                out.append(
                    f"ALTER TYPE {name} RENAME VALUE {literal(old, PG)} TO {literal(new, PG)}"
                )
                current[i] = new
    kept_in_order = [v for v in after.values if v in current] == current
    if not kept_in_order:
        return out + _recreate_enum(after, state)
    for i, value in enumerate(after.values):
        if value in current:
            continue
        if i > 0:
            where = f" AFTER {literal(after.values[i - 1], PG)}"
            current.insert(current.index(after.values[i - 1]) + 1, value)
        elif current:
            where = f" BEFORE {literal(current[0], PG)}"
            current.insert(0, value)
        else:
            where = ""
            current.append(value)
        out.append(f"ALTER TYPE {name} ADD VALUE {literal(value, PG)}{where}")
    return out


def _recreate_enum(enum: EnumType, state: State) -> list[str]:
    """Rename the old type away, create the new one, move every column over through text,
    then drop the old type. A row holding a removed value makes the column's cast fail."""
    name = qname(enum.name, PG)
    old = QName(f"{enum.name.name}__old", enum.name.schema)
    out = [
        f"ALTER TYPE {name} RENAME TO {ident(old.name, PG)}",
        create_enum(enum),
    ]
    for table in state.tables.values():
        actions: list[str] = []
        for column in table.columns:
            array = _enum_column(column.type, enum.name)
            if array is None:
                continue
            c = ident(column.name, PG)
            target = name + "[]" * array
            if column.default is not None:
                actions.append(f"ALTER COLUMN {c} DROP DEFAULT")
            actions.append(
                f"ALTER COLUMN {c} TYPE {target} USING {c}::text{'[]' * array}::{target}"
            )
            if column.default is not None:
                actions.append(f"ALTER COLUMN {c} SET DEFAULT {column.default}")
        if actions:
            out.append(f"ALTER TABLE {qname(table.name, PG)} " + ", ".join(actions))
    out.append(f"DROP TYPE {qname(old, PG)}")
    return out


def _enum_column(type_text: str, enum: QName) -> int | None:
    """How many array levels deep a column of this type holds `enum` (0 for the enum itself),
    or None when it holds something else."""
    base, depth = type_text.strip(), 0
    while base.endswith("[]"):
        base, depth = base[:-2].rstrip(), depth + 1
    parts = [
        p[1:-1].replace('""', '"') if p.startswith('"') else p.lower()
        for p in re.findall(r'"(?:[^"]|"")*"|[^."]+', base)
    ]
    if not parts or len(parts) > 2 or parts[-1] != enum.name:
        return None
    if len(parts) == 2 and parts[0] != (enum.schema or "public"):
        return None
    return depth
