"""Whether a column type change can lose values: the cases the alternatives are offered for."""

from __future__ import annotations

import re

_INT_WIDTH = {
    "tinyint": 1,
    "smallint": 2,
    "int2": 2,
    "mediumint": 3,
    "int": 4,
    "integer": 4,
    "int4": 4,
    "bigint": 8,
    "int8": 8,
}
_TEXTUAL = {"varchar", "character varying", "char", "character", "nvarchar", "nchar", "varchar2"}
_UNBOUNDED_TEXT = {"text", "mediumtext", "longtext", "clob"}
_NUMERIC = {"numeric", "decimal", "dec"}
_TYPE = re.compile(r"\s*([a-z][a-z0-9 ]*?)\s*(?:\((.*)\))?\s*(unsigned)?\s*\Z", re.S)


def narrows(before: str, after: str) -> bool:
    """True when changing a column from type `before` to `after` can lose values.

    Recognizes shorter strings, text to a bounded string, smaller integers, lower numeric
    precision or scale, double to single precision, dropping a time zone, and MySQL ENUM/SET
    losing values. Other type changes are not judged here.
    """
    b, a = _TYPE.match(before.lower()), _TYPE.match(after.lower())
    if b is None or a is None:
        return False
    bname, bargs, bsign = b.groups()
    aname, aargs, asign = a.groups()
    if bname in _INT_WIDTH and aname in _INT_WIDTH:
        return _INT_WIDTH[aname] < _INT_WIDTH[bname] or (bsign or "") != (asign or "")
    if aname in _TEXTUAL and aargs:
        if bname in _UNBOUNDED_TEXT or (bname in _TEXTUAL and not bargs):
            return True
        if bname in _TEXTUAL and bargs:
            return _ints(aargs)[:1] < _ints(bargs)[:1]
    if bname in _NUMERIC and aname in _NUMERIC:
        if not bargs:
            return bool(aargs)
        (bp, bs), (ap, as_) = [[*_ints(args or ""), 0][:2] for args in (bargs, aargs)]
        # fewer digits before the point, or fewer after it
        return ap - as_ < bp - bs or as_ < bs
    if bname in ("double", "double precision", "float8") and aname in ("real", "float", "float4"):
        return True
    if bname in ("timestamptz", "timestamp with time zone") and aname in (
        "timestamp",
        "timestamp without time zone",
    ):
        return True
    if bname == aname and bname in ("enum", "set"):
        return not set(re.findall(r"'((?:[^']|'')*)'", bargs or "")) <= set(
            re.findall(r"'((?:[^']|'')*)'", aargs or "")
        )
    return False


def _ints(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]
