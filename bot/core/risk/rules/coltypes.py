"""What a column type can hold, so rules can tell a widening from a narrowing.

Types are read with sqlglot (so `int4`, `integer` and `INT` are one type) into a small value:
a family and its size. `holds(old, new)` answers "does every value of `old` fit `new`
unchanged?"; anything it cannot prove is answered no, so an unknown conversion is never
called harmless.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from functools import lru_cache

import sqlglot
from sqlglot import exp

from bot.core.model import Dialect

T = exp.DataType.Type


class Family(StrEnum):
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    STRING = "string"
    BINARY = "binary"
    BOOLEAN = "boolean"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"  # without time zone (PostgreSQL timestamp, MySQL DATETIME)
    TIMESTAMPTZ = "timestamptz"  # PostgreSQL timestamptz; MySQL TIMESTAMP (UTC, 1970-2038)
    JSON = "json"
    UUID = "uuid"
    ENUM = "enum"  # MySQL inline ENUM / SET, with its values
    OTHER = "other"  # user-defined, arrays, anything else: only equal to itself


_INT_BYTES = {
    T.TINYINT: (1, False),
    T.UTINYINT: (1, True),
    T.SMALLINT: (2, False),
    T.USMALLINT: (2, True),
    T.MEDIUMINT: (3, False),
    T.UMEDIUMINT: (3, True),
    T.INT: (4, False),
    T.UINT: (4, True),
    T.BIGINT: (8, False),
    T.UBIGINT: (8, True),
    T.SMALLSERIAL: (2, False),
    T.SERIAL: (4, False),
    T.BIGSERIAL: (8, False),
}
# MySQL's TEXT/BLOB types hold a fixed number of bytes; counted here as characters, which
# is exact for single-byte text and generous otherwise (said in docs/rules.md).
_MYSQL_LOB = {
    T.TINYTEXT: 255,
    T.TEXT: 65_535,
    T.MEDIUMTEXT: 16_777_215,
    T.LONGTEXT: 4_294_967_295,
    T.TINYBLOB: 255,
    T.BLOB: 65_535,
    T.MEDIUMBLOB: 16_777_215,
    T.LONGBLOB: 4_294_967_295,
}
_STRINGS = {
    T.CHAR,
    T.NCHAR,
    T.VARCHAR,
    T.NVARCHAR,
    T.TEXT,
    T.TINYTEXT,
    T.MEDIUMTEXT,
    T.LONGTEXT,
    T.NAME,
}
_BINARIES = {T.BINARY, T.VARBINARY, T.BLOB, T.TINYBLOB, T.MEDIUMBLOB, T.LONGBLOB}
_FAMILIES = {
    T.DECIMAL: Family.DECIMAL,
    T.UDECIMAL: Family.DECIMAL,
    T.MONEY: Family.DECIMAL,
    T.FLOAT: Family.FLOAT,
    T.DOUBLE: Family.FLOAT,
    T.BOOLEAN: Family.BOOLEAN,
    T.DATE: Family.DATE,
    T.TIME: Family.TIME,
    T.TIMETZ: Family.TIME,
    T.TIMESTAMP: Family.TIMESTAMP,
    T.DATETIME: Family.TIMESTAMP,
    T.TIMESTAMPTZ: Family.TIMESTAMPTZ,
    T.TIMESTAMPLTZ: Family.TIMESTAMPTZ,
    T.JSON: Family.JSON,
    T.JSONB: Family.JSON,
    T.UUID: Family.UUID,
    T.ENUM: Family.ENUM,
    T.SET: Family.ENUM,
}


@dataclass(frozen=True)
class ColType:
    family: Family
    text: str  # one spelling per type, for equality
    size: int | None = None  # integer/float bytes, string length; None: unbounded or n/a
    scale: int | None = None  # decimal scale; fractional-second digits of time types
    unsigned: bool = False
    values: tuple[str, ...] = ()  # ENUM / SET members, in order
    is_set: bool = False


# a down of many steps asks for the same few types again and again (each rule, each step,
# each alternative): sqlglot's parse is the cost, and the answer is a frozen value
@lru_cache(maxsize=4096)
def parse_type(text: str, dialect: Dialect) -> ColType:
    """The type as rules see it; unparsable text is an OTHER type equal only to itself."""
    try:
        dt = exp.DataType.build(text, dialect=dialect.value, udt=True)
    except (sqlglot.errors.SqlglotError, ValueError):  # TokenError too: an unclosed quote
        return ColType(Family.OTHER, " ".join(text.lower().split()))
    kind = dt.this
    # SQLite's affinity comes from the declared name, which sqlglot's SQLite spelling loses
    # (NUMERIC and DECIMAL are written REAL, BOOLEAN INTEGER)
    spelled = (
        " ".join(text.lower().split())
        if dialect is Dialect.SQLITE
        else dt.sql(dialect.value).lower()
    )
    args = [_int(e) for e in dt.expressions]
    if kind in _INT_BYTES:
        width, unsigned = _INT_BYTES[kind]
        return ColType(
            Family.INTEGER, f"int{width}{'u' if unsigned else ''}", width, None, unsigned
        )
    if kind in _STRINGS or kind in _BINARIES:
        size: int | None
        family = Family.STRING if kind in _STRINGS else Family.BINARY
        if kind in _MYSQL_LOB and dialect is Dialect.MYSQL:
            size = _MYSQL_LOB[kind]
        elif kind in (T.CHAR, T.NCHAR, T.BINARY) and not args:
            size = 1
        else:
            size = args[0] if args else None
        return ColType(family, spelled, size)
    if kind in (T.ENUM, T.SET):
        values = tuple(_unquote(e.sql()) for e in dt.expressions)
        return ColType(Family.ENUM, spelled, values=values, is_set=kind is T.SET)
    family = _FAMILIES.get(kind, Family.OTHER)
    if family is Family.DECIMAL:
        if kind is T.MONEY:
            return ColType(family, spelled, 19, 2)
        precision = args[0] if args else (10 if dialect is Dialect.MYSQL else None)
        scale = args[1] if len(args) > 1 else (0 if precision is not None else None)
        return ColType(family, spelled, precision, scale, kind is T.UDECIMAL)
    if family is Family.FLOAT:
        # float(p) is real up to 24 bits of precision on both engines (sqlglot reads any
        # PostgreSQL float(p) as DOUBLE); MySQL FLOAT(M,D) is 4 bytes, DOUBLE(M,D) 8
        precision = args[0] if len(args) == 1 else None
        double = kind is T.DOUBLE if precision is None else precision > 24
        return ColType(family, "double" if double else "real", 8 if double else 4)
    if family in (Family.TIME, Family.TIMESTAMP, Family.TIMESTAMPTZ):
        default = 0 if dialect is Dialect.MYSQL else 6
        return ColType(family, spelled, scale=args[0] if args else default)
    return ColType(family, spelled)


def holds(old: ColType, new: ColType, dialect: Dialect) -> bool:
    """Whether every value of `old` fits `new` unchanged."""
    if old == new:
        return True
    if dialect is Dialect.SQLITE:
        return _sqlite_holds(old, new)
    if new.family is Family.STRING and old.family is not Family.BINARY:
        width = _text_width(old)
        return new.size is None or (width is not None and width <= new.size)
    match (old.family, new.family):
        case (Family.INTEGER, Family.INTEGER):
            return _range(new)[0] <= _range(old)[0] and _range(old)[1] <= _range(new)[1]
        case (Family.INTEGER, Family.DECIMAL):
            if new.size is None:
                return True
            lo, hi = _range(old)
            digits = len(str(max(-lo, hi)))
            return (new.size - (new.scale or 0)) >= digits and (lo >= 0 or not new.unsigned)
        case (Family.INTEGER, Family.FLOAT):
            exact: int = 2 ** (53 if new.size == 8 else 24)  # integers a float holds exactly
            lo, hi = _range(old)
            return max(-lo, hi) <= exact
        case (Family.BOOLEAN, Family.INTEGER):
            return True
        case (Family.DECIMAL, Family.DECIMAL):
            if new.size is None:
                return not (new.unsigned and not old.unsigned)
            if old.size is None:
                return False
            old_int, new_int = old.size - (old.scale or 0), new.size - (new.scale or 0)
            return (
                (new.scale or 0) >= (old.scale or 0)
                and new_int >= old_int
                and not (new.unsigned and not old.unsigned)
            )
        case (Family.DECIMAL, Family.INTEGER):
            if old.size is None or (old.scale or 0) > 0:
                return False
            lo, hi = _range(new)
            largest: int = 10**old.size - 1
            return largest <= hi and (old.unsigned or -largest >= lo)
        case (Family.FLOAT, Family.FLOAT):
            return (new.size or 0) >= (old.size or 0)
        case (Family.BINARY, Family.BINARY):
            return new.size is None or (old.size is not None and old.size <= new.size)
        case (Family.DATE, Family.TIMESTAMP):
            return True
        case (Family.DATE, Family.TIMESTAMPTZ):
            # MySQL TIMESTAMP covers 1970 to 2038 only
            return dialect is not Dialect.MYSQL
        case (Family.TIME, Family.TIME) | (Family.TIMESTAMP, Family.TIMESTAMP):
            # PostgreSQL timetz to time drops each value's zone offset
            if old.text.startswith("timetz") and not new.text.startswith("timetz"):
                return False
            return (new.scale or 0) >= (old.scale or 0)
        case (Family.TIMESTAMPTZ, Family.TIMESTAMPTZ):
            return (new.scale or 0) >= (old.scale or 0)
        case (Family.TIMESTAMP, Family.TIMESTAMPTZ):
            # PostgreSQL: a wall-clock time becomes an instant, nothing dropped; MySQL
            # DATETIME to TIMESTAMP loses everything outside 1970-2038
            return dialect is Dialect.POSTGRES and (new.scale or 0) >= (old.scale or 0)
        case (Family.TIMESTAMPTZ, Family.TIMESTAMP):
            # MySQL TIMESTAMP to DATETIME keeps the value (in the session's zone); PostgreSQL
            # timestamptz to timestamp drops the zone
            return dialect is Dialect.MYSQL and (new.scale or 0) >= (old.scale or 0)
        case (Family.JSON, Family.JSON):
            return True  # json and jsonb hold the same documents
        case (Family.ENUM, Family.ENUM):
            return old.is_set == new.is_set and set(old.values) <= set(new.values)
    return False


@dataclass(frozen=True)
class Conversion:
    """What converting a column's values to another type does on the engine."""

    fails: bool  # a value that doesn't fit or convert stops the step with an error
    alters: bool  # a value may be changed without an error: cut, rounded, its zone dropped


# PostgreSQL: within each group our renderer converts with an assignment cast (no USING),
# which refuses what doesn't fit; across groups it writes USING col::type, an explicit cast.
_PG_ASSIGNED = (
    frozenset({Family.INTEGER, Family.DECIMAL, Family.FLOAT}),
    frozenset({Family.STRING}),
    frozenset({Family.TIMESTAMP, Family.TIMESTAMPTZ}),
)


def conversion(old: ColType, new: ColType, dialect: Dialect) -> Conversion:
    """Whether converting `old` values to `new` can fail, and whether it can change a value.

    PostgreSQL refuses what doesn't fit (value too long, integer out of range, numeric field
    overflow) and changes values only by rounding, dropping a time zone or an explicit cast
    to a bounded string. MySQL outside strict mode and SQLite's affinities change values
    instead of refusing them, so there any conversion that doesn't hold alters.
    """
    if holds(old, new, dialect):
        return Conversion(False, False)
    if dialect is not Dialect.POSTGRES:
        return Conversion(old.family is not new.family, True)
    o, n = old.family, new.family
    if any(o in g and n in g for g in _PG_ASSIGNED):
        return _pg_assigned(old, new)
    if n is Family.STRING:
        return Conversion(False, True)  # '12345'::varchar(3) is '123', no error
    if o is Family.STRING:
        # text that doesn't parse makes the cast fail; what parses is normalised ('007' is 7)
        return Conversion(True, True)
    if n is Family.DATE and o in (Family.TIMESTAMP, Family.TIMESTAMPTZ):
        return Conversion(False, True)  # the time of day is dropped
    if o is n is Family.TIME:
        return Conversion(False, True)  # fewer fractional digits: rounded
    return Conversion(True, True)  # anything else: assume both


def _pg_assigned(old: ColType, new: ColType) -> Conversion:
    o, n = old.family, new.family
    if o is Family.STRING or o is n is Family.INTEGER:
        return Conversion(True, False)  # value too long / integer out of range
    if o in (Family.TIMESTAMP, Family.TIMESTAMPTZ):
        return Conversion(False, True)  # the zone, or fractional digits, are dropped
    if Family.FLOAT in (o, n):
        # rounding to a float's or an integer's precision; overflow fails
        return Conversion(n is not Family.FLOAT or (new.size or 0) < (old.size or 0), True)
    # integer/decimal to integer/decimal: fewer digits before the point overflow, fewer after
    # it round
    old_scale = 0 if o is Family.INTEGER else old.scale
    new_scale = 0 if n is Family.INTEGER else new.scale
    rounds = new_scale is not None and (old_scale is None or new_scale < old_scale)
    return Conversion(not holds(replace(old, scale=new_scale), new, Dialect.POSTGRES), rounds)


def removed_values(old: ColType, new: ColType) -> tuple[str, ...]:
    """ENUM/SET members `old` allows and `new` doesn't."""
    if old.family is not Family.ENUM or new.family is not Family.ENUM:
        return ()
    return tuple(v for v in old.values if v not in new.values)


def _sqlite_holds(old: ColType, new: ColType) -> bool:
    """SQLite stores any value in any column; only the column's affinity converts values.

    Lengths and precisions are not enforced, so narrowing them loses nothing. Text moved to a
    numeric affinity is converted where it looks like a number ('007' becomes 7), and
    integers beyond 2**53 moved to REAL lose digits.
    """
    before, after = _affinity(old), _affinity(new)
    if before == after or after in ("text", "blob"):
        return True
    return before in ("integer", "numeric") and after in ("integer", "numeric")


def _affinity(t: ColType) -> str:
    """SQLite's affinity rules (datatype3.html section 3.1), from the type as written."""
    name = t.text.upper()
    if "INT" in name:
        return "integer"
    if any(k in name for k in ("CHAR", "CLOB", "TEXT")):
        return "text"
    if "BLOB" in name or not name:
        return "blob"
    if any(k in name for k in ("REAL", "FLOA", "DOUB")):
        return "real"
    return "numeric"


def _range(t: ColType) -> tuple[int, int]:
    bits = 8 * (t.size or 8)
    if t.unsigned:
        return 0, 2**bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _text_width(t: ColType) -> int | None:
    """The most characters a value of `t` takes as text; None when unbounded or unknown."""
    match t.family:
        case Family.STRING:
            return t.size
        case Family.INTEGER:
            lo, hi = _range(t)
            return max(len(str(lo)), len(str(hi)))
        case Family.DECIMAL:
            return None if t.size is None else t.size + 2
        case Family.BOOLEAN:
            return 5
        case Family.DATE:
            return 10
        case Family.UUID:
            return 36
        case Family.ENUM:
            if t.is_set:  # every member, comma-separated
                return sum(len(v) for v in t.values) + max(len(t.values) - 1, 0)
            return max((len(v) for v in t.values), default=0)
    return None


def _int(e: exp.Expression) -> int | None:
    try:
        return int(e.sql())
    except ValueError:
        return None


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text
