"""One comparable form for the schema of a database, whatever engine it was read from."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Json = Any  # None | bool | int | float | str | list[Json] | dict[str, Json]

# Collections of named objects, by key, and what one of their members is called in a diff.
# Any other dict is a record whose keys are attribute names.
COLLECTIONS: Mapping[str, str] = {
    "schemas": "schema",
    "tables": "table",
    "views": "view",
    "materialized_views": "materialized view",
    "composite_types": "composite type",
    "enums": "enum",
    "domains": "domain",
    "ranges": "range type",
    "sequences": "sequence",
    "functions": "function",
    "procedures": "procedure",
    "routines": "routine",
    "extensions": "extension",
    "collations": "collation",
    "statistics": "statistics object",
    "event_triggers": "event trigger",
    "triggers": "trigger",
    "columns": "column",
    "constraints": "constraint",
    "indexes": "index",
    "checks": "check",
    "foreign_keys": "foreign key",
    "policies": "policy",
    "rules": "rule",
}

_ABSENT = object()


@dataclass(frozen=True)
class Catalog:
    """The schema of one scratch database, as plain sorted data.

    ``canonical`` (sorted JSON) is the catalog's whole identity: ``==`` and ``hash`` use it, so
    ``==`` also compares column order; ``diff()`` ignores column order unless asked.
    """

    dialect: str
    canonical: str

    @classmethod
    def build(cls, dialect: str, objects: Mapping[str, Json]) -> Catalog:
        """Freeze engine-read objects (kind -> name -> record) into a catalog."""
        return cls(dialect, json.dumps(objects, sort_keys=True, ensure_ascii=False))

    @classmethod
    def from_json(cls, text: str) -> Catalog:
        """Read a catalog written by ``to_json`` (e.g. a golden fixture)."""
        data = json.loads(text)
        return cls.build(data["dialect"], data["objects"])

    def to_json(self) -> str:
        """Indented JSON, stable across runs, for fixtures and reports."""
        return json.dumps(
            {"dialect": self.dialect, "objects": self.objects},
            sort_keys=True,
            indent=2,
            ensure_ascii=False,
        )

    @property
    def objects(self) -> dict[str, Json]:
        """A fresh copy of the data: kind (``tables``, ``views``...) -> name -> record."""
        result: dict[str, Json] = json.loads(self.canonical)
        return result

    def __repr__(self) -> str:
        # the canonical JSON is far too long for assertion messages; say what's in it
        counts = ", ".join(
            f"{kind}={len(members)}" for kind, members in self.objects.items() if members
        )
        return f"Catalog({self.dialect!r}, {counts or 'empty'})"

    def names(self, kind: str) -> list[str]:
        """Sorted names of the objects of one kind, e.g. ``names("tables")``."""
        return sorted(self.objects.get(kind, {}))

    def get(self, kind: str, name: str) -> dict[str, Json] | None:
        """The record of one object, or None."""
        record: dict[str, Json] | None = self.objects.get(kind, {}).get(name)
        return record

    def diff(self, other: Catalog, *, column_order: bool = False) -> list[str]:
        """How this catalog differs from ``other``, one readable line per difference.

        "extra X" exists only here, "missing X" only in ``other``; "a != b" shows this
        catalog's value first. Column order is ignored by default because PostgreSQL can't
        re-add a dropped column at its old position.
        """
        if self.dialect != other.dialect:
            return [f"dialect {self.dialect!r} != {other.dialect!r}"]
        if self.canonical == other.canonical:
            return []
        skip = frozenset() if column_order else frozenset({"column_order"})
        out: list[str] = []
        _diff_record(self.objects, other.objects, "", skip, out)
        return out


def _diff_record(
    mine: Mapping[str, Json],
    theirs: Mapping[str, Json],
    path: str,
    skip: frozenset[str],
    out: list[str],
) -> None:
    for key in sorted(set(mine) | set(theirs)):
        if key in skip:
            continue
        a, b = mine.get(key, _ABSENT), theirs.get(key, _ABSENT)
        if a == b:
            continue
        label = COLLECTIONS.get(key)
        if label is not None and _is_collection(a) and _is_collection(b):
            _diff_collection(
                label,
                a if isinstance(a, dict) else {},
                b if isinstance(b, dict) else {},
                path,
                skip,
                out,
            )
        elif isinstance(a, dict) and isinstance(b, dict):
            _diff_record(a, b, f"{path}{key}: ", skip, out)
        else:
            out.append(f"{path}{key} {_show(a)} != {_show(b)}")


def _is_collection(value: object) -> bool:
    # an absent or null collection reads as empty, so every member shows up as extra/missing
    return value is None or value is _ABSENT or isinstance(value, dict)


def _diff_collection(
    label: str,
    mine: Mapping[str, Json],
    theirs: Mapping[str, Json],
    path: str,
    skip: frozenset[str],
    out: list[str],
) -> None:
    for name in sorted(set(mine) | set(theirs)):
        if name not in theirs:
            out.append(f"{path}extra {label} {name}")
        elif name not in mine:
            out.append(f"{path}missing {label} {name}")
        elif mine[name] != theirs[name]:
            a, b = mine[name], theirs[name]
            if isinstance(a, dict) and isinstance(b, dict):
                _diff_record(a, b, f"{path}{label} {name}: ", skip, out)
            else:
                out.append(f"{path}{label} {name}: {_show(a)} != {_show(b)}")


def _show(value: object) -> str:
    if value is _ABSENT:
        return "<absent>"
    text = repr(value)
    # a view or function body can be long; the start of it is enough to find the change
    return text if len(text) <= 300 else text[:297] + "..."


# --- SQL text normalization -------------------------------------------------------------

TokenKind = Literal["word", "string", "ident", "punct"]


@dataclass(frozen=True)
class Token:
    """One lexical unit of SQL text."""

    kind: TokenKind
    text: str  # as written, quotes included

    @property
    def value(self) -> str:
        """The identifier or word without its quotes."""
        if self.kind != "ident":
            return self.text
        quote = self.text[0]
        body = self.text[1:-1]
        if quote == "[":
            return body
        return body.replace(quote * 2, quote)


_WORD = re.compile(r"[\w$]+")
# a run of operator characters is one token ("::", ">=", "->>"), up to a comment start
_OPERATOR = re.compile(r"(?:(?!--|/\*)[<>=!:|&+\-*/%^~@#?])+")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_][\w]*)?\$")


def tokenize(sql: str, *, dialect: str) -> list[Token]:
    """Split SQL into tokens, dropping whitespace and comments.

    Quoted text is kept whole, so normalizing whitespace never touches a string literal.
    ``[x]`` is an identifier only in SQLite (in PostgreSQL it is an array subscript);
    backslash escapes in strings only in MariaDB.
    """
    tokens: list[Token] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch.isspace():
            i += 1
        elif sql.startswith("--", i) or (ch == "#" and dialect == "mysql"):
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i) and not sql.startswith("/*!", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif ch in "'\"`" or (ch == "[" and dialect == "sqlite"):
            close = "]" if ch == "[" else ch
            end = _quote_end(sql, i, close, backslash=dialect == "mysql" and ch == "'")
            kind: TokenKind = "string" if ch == "'" else "ident"
            tokens.append(Token(kind, sql[i:end]))
            i = end
        elif ch == "$" and dialect == "postgres" and (tag := _DOLLAR_TAG.match(sql, i)):
            end = sql.find(tag.group(), tag.end())
            end = n if end < 0 else end + len(tag.group())
            tokens.append(Token("string", sql[i:end]))
            i = end
        elif word := _WORD.match(sql, i):
            tokens.append(Token("word", word.group()))
            i = word.end()
        elif operator := _OPERATOR.match(sql, i):
            tokens.append(Token("punct", operator.group()))
            i = operator.end()
        else:
            tokens.append(Token("punct", ch))
            i += 1
    return tokens


def _quote_end(sql: str, start: int, close: str, *, backslash: bool) -> int:
    """Index just past the quoted text starting at ``start`` (doubled quotes escape)."""
    i = start + 1
    while i < len(sql):
        if backslash and sql[i] == "\\":
            i += 2
        elif sql[i] == close:
            if close != "]" and sql.startswith(close, i + 1):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return len(sql)


_NO_SPACE_BEFORE = frozenset({",", ")", ".", ";", "::"})
_NO_SPACE_AFTER = frozenset({"(", ".", "::"})
# Before "(" these keep their space; any other word is taken as a function or table name and
# glued to it. Only readability depends on this list: both sides of a comparison use it.
# fmt: off
_SPACED_KEYWORDS = frozenset({
    "ALL", "AND", "ANY", "AS", "BETWEEN", "BY", "CASE", "CHECK", "DEFAULT", "ELSE", "EXCEPT",
    "EXISTS", "FILTER", "FROM", "IN", "INTERSECT", "INTO", "IS", "JOIN", "KEY", "LIKE", "NOT",
    "ON", "OR", "OVER", "REFERENCES", "RETURN", "RETURNS", "SELECT", "SOME", "TABLE", "THEN",
    "UNION", "UNIQUE", "USING", "VALUES", "WHEN", "WHERE", "WITH",
})
# fmt: on


def join_tokens(tokens: list[Token], *, fold_case: bool = False) -> str:
    """Tokens in one canonical layout; words lower-cased when the engine ignores their case.

    Any fixed layout would do for comparing; this one reads like hand-written SQL.
    """
    parts: list[str] = []
    previous: Token | None = None
    for token in tokens:
        text = token.text.lower() if fold_case and token.kind == "word" else token.text
        if previous is not None and not _glued(previous, token):
            parts.append(" ")
        parts.append(text)
        previous = token
    return "".join(parts)


def _glued(previous: Token, token: Token) -> bool:
    if previous.kind == "punct" and previous.text in _NO_SPACE_AFTER:
        return True
    if token.kind != "punct":
        return False
    if token.text == "(":
        return previous.kind == "ident" or (
            previous.kind == "word" and previous.text.upper() not in _SPACED_KEYWORDS
        )
    return token.text in _NO_SPACE_BEFORE


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def unquote_plain(tokens: list[Token]) -> list[Token]:
    """Quoted identifiers that need no quotes as bare words (``"users"`` -> ``users``)."""
    return [
        Token("word", t.value) if t.kind == "ident" and _PLAIN_NAME.fullmatch(t.value) else t
        for t in tokens
    ]


def normalize_sql(sql: str, *, dialect: str, fold_case: bool = False, unquote: bool = False) -> str:
    """SQL text with whitespace and comments made canonical, literals untouched.

    Two texts that differ only in layout normalize equal; a trailing ``;`` is dropped.
    ``fold_case`` lower-cases bare words, ``unquote`` drops quotes a name doesn't need: for
    engines that store DDL as typed and ignore identifier case (SQLite).
    """
    tokens = tokenize(sql, dialect=dialect)
    while tokens and tokens[-1].text == ";":
        tokens.pop()
    if unquote:
        tokens = unquote_plain(tokens)
    return join_tokens(tokens, fold_case=fold_case)
