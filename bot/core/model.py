"""The schema model: frozen values describing what a database contains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any


class Dialect(StrEnum):
    POSTGRES = "postgres"
    MYSQL = "mysql"
    SQLITE = "sqlite"

    @classmethod
    def parse(cls, value: str) -> Dialect:
        """Accept the names users type; raise ValueError with the choices otherwise."""
        aliases = {
            "postgresql": "postgres",
            "pg": "postgres",
            "mariadb": "mysql",
            "maria": "mysql",
            "sqlite3": "sqlite",
        }
        key = aliases.get(value.strip().lower(), value.strip().lower())
        try:
            return cls(key)
        except ValueError:
            raise ValueError(
                f"unknown dialect {value!r}: expected one of postgres, mysql, sqlite"
            ) from None


@dataclass(frozen=True, order=True)
class QName:
    """A schema-qualified name; schema None means the connection's default schema."""

    name: str
    schema: str | None = None

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


def fold(name: str, dialect: Dialect) -> str:
    """The lookup key of an already-normalized identifier.

    PostgreSQL names are folded when parsed (unquoted to lower case) and then compared
    exactly; MySQL column/index names and SQLite names compare case-insensitively.
    """
    return name if dialect is Dialect.POSTGRES else name.lower()


def qkey(name: QName, dialect: Dialect) -> tuple[str, str]:
    # `fold` spelled out: this is the lookup of every table and index, many thousand times
    if dialect is Dialect.POSTGRES:
        return (name.schema or "", name.name)
    return ((name.schema or "").lower(), name.name.lower())


class AutoKind(StrEnum):
    """How a column generates its own values."""

    SERIAL = "serial"
    BIGSERIAL = "bigserial"
    SMALLSERIAL = "smallserial"
    IDENTITY_ALWAYS = "identity always"
    IDENTITY_BY_DEFAULT = "identity by default"
    AUTO_INCREMENT = "auto_increment"  # MySQL
    AUTOINCREMENT = "autoincrement"  # SQLite INTEGER PRIMARY KEY AUTOINCREMENT


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    default: str | None = None
    auto: AutoKind | None = None
    generated: str | None = None
    generated_stored: bool = True
    collation: str | None = None
    comment: str | None = None
    on_update: str | None = None  # MySQL ON UPDATE CURRENT_TIMESTAMP
    statistics: int | None = None  # PostgreSQL SET STATISTICS target; None: the default
    # an identity column's sequence when its name no longer is `<table>_<column>_seq` (the
    # table or the column was renamed since; PostgreSQL keeps the sequence's name)
    sequence: str | None = None


@dataclass(frozen=True)
class PrimaryKey:
    name: str | None
    columns: tuple[str, ...]

    kind = "primary key"


@dataclass(frozen=True)
class Unique:
    name: str | None
    columns: tuple[str, ...]
    nulls_not_distinct: bool = False
    # SQLite's UNIQUE (a, b COLLATE NOCASE): one entry per column, or empty when none is given
    collations: tuple[str | None, ...] = ()

    kind = "unique"


@dataclass(frozen=True)
class ForeignKey:
    name: str | None
    columns: tuple[str, ...]
    ref_table: QName
    ref_columns: tuple[str, ...]
    on_delete: str | None = None
    on_update: str | None = None
    deferrable: str | None = None  # "DEFERRABLE INITIALLY DEFERRED" etc.
    # PostgreSQL: added NOT VALID and not validated since (rows from before are not checked)
    validated: bool = True

    kind = "foreign key"


@dataclass(frozen=True)
class Check:
    name: str | None
    expression: str
    # MariaDB: the column whose definition holds this CHECK. It goes with the column (a MODIFY
    # that does not restate it drops it) and is known by the column's current name.
    column: str | None = None
    # PostgreSQL: added NOT VALID and not validated since (rows from before are not checked)
    validated: bool = True

    kind = "check"


Constraint = PrimaryKey | Unique | ForeignKey | Check


@dataclass(frozen=True)
class IndexPart:
    expression: str  # a column name, or an expression's source text
    is_column: bool = True
    desc: bool = False
    nulls: str | None = None  # "FIRST" | "LAST"
    length: int | None = None  # MySQL prefix length
    opclass: str | None = None
    collation: str | None = None
    asc: bool = False  # ASC written out: SQLite keeps an index's text, so it is part of it


@dataclass(frozen=True)
class Index:
    name: str
    table: QName
    parts: tuple[IndexPart, ...]
    unique: bool = False
    where: str | None = None
    method: str | None = None
    include: tuple[str, ...] = ()
    kind: str | None = None  # MySQL FULLTEXT / SPATIAL
    # InnoDB made it for a foreign key, and drops it when another index can serve the key;
    # a fact of its history, not of the schema (equal indexes compare equal without it)
    implicit: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Table:
    name: QName
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    uniques: tuple[Unique, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    checks: tuple[Check, ...] = ()
    indexes: tuple[Index, ...] = ()
    comment: str | None = None
    options: str | None = (
        None  # verbatim table options worth keeping (SQLite WITHOUT ROWID, STRICT)
    )
    unlogged: bool = False  # PostgreSQL UNLOGGED: not written to the WAL, emptied by a crash
    clustered_on: str | None = None  # PostgreSQL CLUSTER ON: the index CLUSTER uses
    partition_by: str | None = None  # PostgreSQL partition key as written: "RANGE (taken_at)"
    # A PostgreSQL partition: its parent and bound ("FOR VALUES ..." / "DEFAULT"). Its columns,
    # and the keys and indexes the server clones into it, are its parent's: not held here.
    partition_of: QName | None = None
    partition_bound: str | None = None

    def column(self, name: str, dialect: Dialect) -> Column | None:
        if dialect is Dialect.POSTGRES:
            i = self._by_name.get(name)
            if i is not None and i < len(self.columns) and self.columns[i].name == name:
                return self.columns[i]
            return None
        key = name.lower()
        i = self._by_folded_name.get(key)
        if i is not None and i < len(self.columns) and self.columns[i].name.lower() == key:
            return self.columns[i]
        return None

    def with_column_added(self, column: Column, columns: tuple[Column, ...]) -> Table:
        """The table with `columns` (its own plus `column`); name lookups carried over.

        A column added at the end shares the lookups with this table: they map a name to a
        position, and a table checks the column it finds there, so an entry another table
        made (a later column, or one of a branch from a common past) is no answer for this
        one. Copying them instead made a table altered n times quadratic: 20,000 ADD COLUMNs
        copied a dictionary 20,000 entries long, and freed it, for every one.
        """
        new = replace(self, columns=columns)
        appended = len(columns) == len(self.columns) + 1 and columns[-1] is column
        at = len(columns) - 1
        for attr, key in (("_by_name", column.name), ("_by_folded_name", column.name.lower())):
            known = self.__dict__.get(attr)
            if known is None or not appended:
                continue
            if key not in known:
                known[key] = at  # shared: every entry is checked against the table's columns
                new.__dict__[attr] = known
            else:
                # written by another table (the column dropped and added again, a branch):
                # this one gets its own copy, its entry right
                new.__dict__[attr] = {**known, key: at}
        autos = self.__dict__.get("automatic")
        if autos is not None and column.auto is None:
            new.__dict__["automatic"] = autos
        elif autos is not None and columns and columns[-1] is column:
            new.__dict__["automatic"] = (*autos, column)
        return new

    # Looked up once per action: a scan per lookup made long ALTER histories quadratic.
    # A name's first position: an engine refuses two columns of one name anyway.
    @cached_property
    def _by_name(self) -> dict[str, int]:
        return {c.name: i for i, c in reversed(list(enumerate(self.columns)))}

    @cached_property
    def _by_folded_name(self) -> dict[str, int]:
        return {c.name.lower(): i for i, c in reversed(list(enumerate(self.columns)))}

    @cached_property
    def automatic(self) -> tuple[Column, ...]:
        """The serial, identity and auto-increment columns, in order."""
        return tuple(c for c in self.columns if c.auto is not None)

    def constraints(self) -> tuple[Constraint, ...]:
        pk: tuple[Constraint, ...] = (self.primary_key,) if self.primary_key else ()
        return pk + self.uniques + self.checks + self.foreign_keys

    def with_columns(self, columns: tuple[Column, ...]) -> Table:
        return replace(self, columns=columns)


_TABLE_FIELDS = frozenset(Table.__dataclass_fields__)
_COLUMN_LOOKUPS = ("_by_name", "_by_folded_name", "automatic")


def with_fields(table: Table, **changes: Any) -> Table:
    """`replace(table, **changes)` without dataclasses.replace's work per field (a replay or
    a gate applies thousands of changes); the column lookups are kept while the columns are."""
    unknown = changes.keys() - _TABLE_FIELDS
    if unknown:
        raise TypeError(f"Table has no field {', '.join(sorted(unknown))}")
    new = object.__new__(Table)
    new.__dict__.update(table.__dict__)
    new.__dict__.update(changes)
    if "columns" in changes:
        for cached in _COLUMN_LOOKUPS:
            new.__dict__.pop(cached, None)
    return new


@dataclass(frozen=True)
class View:
    name: QName
    definition: str  # the SELECT, as written
    materialized: bool = False
    columns: tuple[str, ...] = ()  # explicit column list, if any
    options: str | None = None  # e.g. "WITH (security_barrier)" / MySQL ALGORITHM


@dataclass(frozen=True)
class EnumType:
    name: QName
    values: tuple[str, ...]


@dataclass(frozen=True)
class Sequence:
    name: QName
    definition: str  # options after the name, as written ("START WITH 10 INCREMENT BY 2")
    owned_by: str | None = None


@dataclass(frozen=True)
class Opaque:
    """An object we identify but do not analyse: kept verbatim so a down can restore it.

    `identity` distinguishes overloads (function argument types) and table-scoped objects
    (triggers, policies, rules are named per table).
    """

    kind: str  # "function", "procedure", "trigger", "extension", "domain", "policy", ...
    identity: str
    definition: str  # the full CREATE statement as written
    drop: str  # the statement that removes it in this dialect
    table: QName | None = None  # for table-scoped objects: removed with their table


@dataclass(frozen=True)
class Schema:
    """A whole database schema: what replaying a migration history produces."""

    dialect: Dialect
    namespaces: tuple[str, ...] = ()
    tables: Mapping[tuple[str, str], Table] = field(default_factory=dict)
    views: Mapping[tuple[str, str], View] = field(default_factory=dict)
    enums: Mapping[tuple[str, str], EnumType] = field(default_factory=dict)
    sequences: Mapping[tuple[str, str], Sequence] = field(default_factory=dict)
    opaque: Mapping[tuple[str, str], Opaque] = field(default_factory=dict)

    def table(self, name: QName) -> Table | None:
        return self.tables.get(qkey(name, self.dialect))
