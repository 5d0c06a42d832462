"""Rows for every table of a scratch database, so a proof sees what a down does to data.

Values come from the column's type and the row's number, the same for the same type and number
in every table: a foreign key column then holds values its parent's key holds too. Tables are
filled in passes (a child's insert fails until its parent has rows); a table that no value set
fits is reported, never silently left empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.engines.catalog import Catalog
from bot.engines.scratch import EngineError, ScratchDatabase

ROWS_PER_TABLE = 3


@dataclass(frozen=True)
class Seeded:
    """What `seed` put in: rows per table, and the tables it could not fill, with why."""

    rows: Mapping[str, int]
    unfilled: Mapping[str, str]  # table -> the engine's last refusal


def seed(db: ScratchDatabase, catalog: Catalog) -> Seeded:
    """Insert up to ROWS_PER_TABLE rows into every table of `catalog`."""
    tables = {
        name: record
        for name, record in catalog.objects.get("tables", {}).items()
        if not record.get("virtual")
        and not record.get("shadow")  # a virtual table's own storage (SQLite FTS5)
        and record.get("type", "BASE TABLE") == "BASE TABLE"
        and not record.get("partition_bound")  # rows reach partitions through their parent
    }
    enums = {
        _type_key(name): record["labels"]
        for name, record in catalog.objects.get("enums", {}).items()
    }
    filled: dict[str, int] = {}
    refused: dict[str, str] = {}
    for _pass in range(len(tables) + 1):
        progress = False
        for name, record in tables.items():
            if name in filled:
                continue
            count, error = _fill(db, name, record, enums)
            if count:
                filled[name] = count
                refused.pop(name, None)
                progress = True
            elif error:
                refused[name] = error
        if not progress:
            break
    return Seeded(
        filled, {t: refused.get(t, "no value set fits") for t in tables if t not in filled}
    )


def _fill(
    db: ScratchDatabase, table: str, record: Mapping[str, Any], enums: Mapping[str, list[str]]
) -> tuple[int, str | None]:
    columns = [
        (column, attrs)
        for column, attrs in record["columns"].items()
        if not _fills_itself(attrs, db.dialect)
    ]
    count, error = 0, None
    for n in range(1, ROWS_PER_TABLE + 1):
        for variant in (0, 1):
            values = [_value(db.dialect, attrs, n, variant, enums) for _, attrs in columns]
            names = [c for (c, _), v in zip(columns, values, strict=True) if v is not None]
            literals = [v for v in values if v is not None]
            if names:
                sql = (
                    f"INSERT INTO {_quote_table(db.dialect, table)}"
                    f" ({', '.join(_quote(db.dialect, c) for c in names)})"
                    f" VALUES ({', '.join(literals)})"
                )
            elif db.dialect == "mysql":
                sql = f"INSERT INTO {_quote_table(db.dialect, table)} () VALUES ()"
            else:
                sql = f"INSERT INTO {_quote_table(db.dialect, table)} DEFAULT VALUES"
            try:
                db.execute([sql])
            except EngineError as err:
                error = err.message.strip().splitlines()[0] if err.message.strip() else "refused"
                continue
            count += 1
            break
    return count, error


def _type_key(name: str) -> str:
    """`public."ActionType"` and `actiontype` alike: the catalog names an enum one way and a
    column's type another (quoted, qualified, in another case)."""
    return name.replace('"', "").split(".")[-1].lower()


def _fills_itself(attrs: Mapping[str, Any], dialect: str) -> bool:
    """Identity, serial, auto-increment and generated columns: the engine gives the value."""
    if attrs.get("identity") or attrs.get("generated") or attrs.get("expression"):
        return True
    if attrs.get("hidden") in ("hidden", "virtual", "stored"):
        return True
    if dialect == "mysql" and "auto_increment" in str(attrs.get("extra") or "").lower():
        return True
    default = str(attrs.get("default") or "")
    return default.startswith("nextval(")


def _value(
    dialect: str, attrs: Mapping[str, Any], n: int, variant: int, enums: Mapping[str, list[str]]
) -> str | None:
    """A literal for row `n` of a column; variant 1 tries NULL where allowed, else another value."""
    if variant and attrs.get("nullable"):
        return None
    n = n + 10 * variant
    kind = str(attrs.get("type") or "").lower().strip()
    base = re.sub(r"\(.*", "", kind).strip()
    if kind.endswith("[]"):
        return "'{}'"
    if _type_key(base) in enums:
        labels = enums[_type_key(base)]
        return _text(labels[(n - 1) % len(labels)])
    if base.startswith("enum") or base.startswith("set"):
        labels = re.findall(r"'((?:[^']|'')*)'", kind)
        return _text(labels[(n - 1) % len(labels)].replace("''", "'")) if labels else None
    if base in ("boolean", "bool"):
        return "TRUE" if n % 2 else "FALSE"
    if base == "tinyint" and "(1)" in kind:
        return str(n % 2)
    if base == "bit":
        return "b'1'" if dialect == "mysql" else "B'1'"
    if base == "year":
        return str(2000 + n)
    if "int" in base or base in ("serial", "bigserial", "smallserial", "oid"):
        return str(n)
    if base in ("numeric", "decimal", "money", "dec", "fixed") or "number" in base:
        return str(n)
    if base in ("real", "float", "double", "double precision", "float4", "float8"):
        return f"{n}.5"
    if base == "uuid":
        return f"'00000000-0000-4000-8000-{n:012d}'"
    if base in ("json", "jsonb"):
        return f"'{{\"n\": {n}}}'"
    if "timestamp" in base or base == "datetime":
        return f"'2024-01-{n:02d} 12:00:00'"
    if base == "date":
        return f"'2024-01-{n:02d}'"
    if base.startswith("time"):
        return f"'12:00:{n:02d}'"
    if base == "interval":
        return f"'{n} days'"
    if base in ("inet", "cidr"):
        return f"'10.0.{n}.0/24'"
    if base in ("macaddr", "macaddr8"):
        return f"'08:00:2b:01:02:{n:02d}'"
    if base in ("bytea",):
        return f"'\\x{n:02x}'"
    if "blob" in base or "binary" in base:
        return f"X'{n:02x}'"
    if base == "point":
        return f"'({n},{n})'"
    if base == "tsvector":
        return f"'w{n}'"
    length = re.search(r"\((\d+)", kind)
    text = f"r{n}@x.y"
    if length:
        text = text[: max(1, int(length.group(1)))] if int(length.group(1)) < len(text) else text
        if len(text) == 1:
            text = chr(ord("a") + (n - 1) % 26)
    return _text(text)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote(dialect: str, name: str) -> str:
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def _quote_table(dialect: str, name: str) -> str:
    if dialect == "postgres":
        return ".".join(_quote(dialect, part) for part in name.split(".", 1))
    return _quote(dialect, name)


def snapshot(
    db: ScratchDatabase, catalog: Catalog
) -> dict[str, tuple[list[str], list[tuple[Any, ...]]]]:
    """Every table's column names and rows, read back from the engine."""
    selects: dict[str, tuple[list[str], str]] = {}
    for name, record in catalog.objects.get("tables", {}).items():
        columns = list(record.get("column_order") or record["columns"])
        if not columns or record.get("virtual") or record.get("shadow"):
            # a virtual table's rows live in other tables (its shadow tables, or an FTS5
            # external content table), which are compared themselves
            continue
        select = ", ".join(_quote(db.dialect, c) for c in columns)
        selects[name] = (columns, f"SELECT {select} FROM {_quote_table(db.dialect, name)}")
    rows = db.queries([sql for _, sql in selects.values()])
    return {
        name: (columns, found)
        for (name, (columns, _)), found in zip(selects.items(), rows, strict=True)
    }


def comparable(value: Any) -> Any:
    """A value as the same thing whichever column type held it (a type change keeps values)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float) or type(value).__name__ == "Decimal":
        text = format(value, "f") if not isinstance(value, int) else str(value)
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).rstrip()


def lost_values(
    before: Mapping[str, tuple[list[str], list[tuple[Any, ...]]]],
    after: Mapping[str, tuple[list[str], list[tuple[Any, ...]]]],
    declared: Sequence[str],
    renames: Mapping[str, str],
) -> list[str]:
    """What rows or values the script lost that the plan does not declare lost."""
    problems: list[str] = []
    lost = {d.lower() for d in declared}
    moved = {k.lower(): v for k, v in renames.items()}
    now = {_plain(t).lower(): t for t in after}
    for table, (columns, rows) in before.items():
        name = _plain(table)
        if not rows or name.lower() in lost:
            continue
        target = now.get(moved.get(name.lower(), name).lower())
        if target is None:
            problems.append(
                f"table {name}: its {len(rows)} rows are gone, and the plan does not say so"
            )
            continue
        kept_columns, after_rows = after[target]
        pairs = []
        for i, column in enumerate(columns):
            key = f"{name}.{column}".lower()
            if key in lost:
                continue
            to = moved.get(key, column)
            if to not in kept_columns:
                problems.append(
                    f"column {name}.{column}: its values are gone, and the plan does not say so"
                )
                continue
            pairs.append((i, kept_columns.index(to)))
        if not pairs:
            continue
        if [tuple(r[i] for i, _ in pairs) for r in rows] == [
            tuple(r[j] for _, j in pairs) for r in after_rows
        ]:
            continue  # the very same values, in the same order: none lost (the usual table)
        want = sorted((tuple(comparable(r[i]) for i, _ in pairs) for r in rows), key=repr)
        got = sorted((tuple(comparable(r[j]) for _, j in pairs) for r in after_rows), key=repr)
        if want != got:
            missing = len([w for w in want if w not in got])
            problems.append(
                f"table {_plain(target)}: {len(rows)} rows before, {len(after_rows)} after;"
                f" {missing} of them no longer hold their values"
            )
    return problems


def _plain(table: str) -> str:
    """A catalog's table name as the model writes it (PostgreSQL's public schema left out)."""
    return table[len("public.") :] if table.startswith("public.") else table
