"""Drift: how the live schema differs from the schema the migration history gives."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.core import changes as ch
from bot.core.diff import diff
from bot.core.difference import Side, difference
from bot.core.model import Dialect, Schema
from bot.core.replay import replay_sql
from bot.core.split import SplitError, split_statements
from bot.engines.catalog import Catalog, Json
from bot.engines.scratch import EngineError, EngineUnavailable

if TYPE_CHECKING:
    from bot.engines.proof import ScratchEngines

# Owners differ between a live database and a scratch one (grants name them); what a history
# controls is the schema's shape.
_NOT_COMPARED = frozenset({"grants"})


def catalog_drift(
    live: Catalog,
    history: Sequence[str],
    dialect: Dialect,
    engines: ScratchEngines | None = None,
) -> tuple[tuple[str, ...] | None, str | None]:
    """The live catalog against the history's, replayed on a scratch engine of the same dialect
    and read by the same code: (drift, None), or (None, why it could not be compared)."""
    from bot.engines.proof import ENGINES

    try:
        statements = [s.text for text in history for s in split_statements(text, dialect.value)]
    except SplitError as err:
        return None, f"the migration history cannot be split ({err})"
    try:
        db = (engines or ENGINES).new_database(dialect)
    except EngineUnavailable as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else "unavailable"
        return None, f"no scratch engine to replay the history on ({first})"
    try:
        db.execute(statements)
        expected = db.catalog()
    except EngineError as err:
        return None, f"the migration history does not replay on a scratch engine: {err.message}"
    finally:
        db.close()
    # a column added by hand is one difference, not also an order of columns
    lines = _shape(live).diff(_shape(expected))
    return tuple(_catalog_sentence(line) for line in lines), None


def _shape(catalog: Catalog) -> Catalog:
    return Catalog.build(catalog.dialect, _without(catalog.objects))


def _without(value: Json) -> Json:
    if isinstance(value, dict):
        return {k: _without(v) for k, v in value.items() if k not in _NOT_COMPARED}
    return value


def _catalog_sentence(line: str) -> str:
    """A catalog difference (live first) said with the live database as its subject."""
    where, _, what = line.rpartition(": ")
    prefix = f"{where}: " if where else ""
    if what.startswith("extra "):
        return f"{prefix}{what[6:]} exists on the live database but not in the migration history"
    if what.startswith("missing "):
        return f"{prefix}{what[8:]} is missing on the live database"
    return f"{line} (live != migration history)"


def live_drift(
    live_sql: str, dialect: Dialect, expected: Schema
) -> tuple[tuple[str, ...], list[str]]:
    """How the live schema differs from `expected`, in plain words; and what could not be read."""
    history = replay_sql(live_sql, dialect, path="<live schema>")
    problems = [
        f"part of the live schema could not be analysed (line {u.line}: {u.reason})"
        for u in history.unmodelled
    ]
    changes = real_differences(diff(history.schema, expected))
    return tuple(dict.fromkeys(_drift_sentence(c) for c in changes)), problems


# Casts the engine adds when it prints an expression back ('x'::text, (0)::numeric)
_CAST = re.compile(
    r"::\s*(?:\"[^\"]+\"|[a-z_][\w.]*)(?:\s+(?:varying|precision|with(?:out)?\s+time\s+zone))*"
    r"(?:\s*\(\d+(?:\s*,\s*\d+)?\))?(?:\[\])*",
    re.IGNORECASE,
)
# MariaDB prints display widths (int(11)) that a migration rarely writes and that change nothing
_INT_WIDTH = re.compile(r"\b((?:tiny|small|medium|big)?int)\(\d+\)", re.IGNORECASE)


def _canon(value: object) -> str:
    """A value's text with the engine's way of printing it taken out (casts, parentheses,
    quotes, case, whitespace), so a schema read back compares equal to the one written."""
    text = _INT_WIDTH.sub(r"\1", _CAST.sub("", repr(value)))
    return re.sub(r"[\s()`\"]", "", text).lower()


def _pair_key(change: ch.Change) -> tuple[str, str, str] | None:
    """(family, object, comparable form) of a change that removes or adds one object."""
    match change:
        case ch.DropConstraint(_, con) | ch.AddConstraint(_, con):
            return ("constraint", ch.change_object(change), _canon(con))
        case ch.DropIndex(idx) | ch.CreateIndex(idx):
            return ("index", idx.name.lower(), _canon(idx))
        # The engine's own text of a view, trigger or function (pg_get_viewdef, SHOW CREATE)
        # never matches the text a migration was written in: only their presence is compared.
        case ch.DropView(v) | ch.CreateView(v):
            return ("view", str(v.name).lower(), "")
        case ch.DropOpaque(o) | ch.CreateOpaque(o):
            return ("opaque", f"{o.kind} {o.identity}".lower(), "")
    return None


_REMOVES = (ch.DropConstraint, ch.DropIndex, ch.DropView, ch.DropOpaque)


def real_differences(changes: Sequence[ch.Change]) -> list[ch.Change]:
    """The diff without what only the engine's printing explains (a drop and re-create of the
    same object, a column whose attributes differ only in how they are written)."""
    removed = {k for c in changes if isinstance(c, _REMOVES) and (k := _pair_key(c))}
    added = {k for c in changes if not isinstance(c, _REMOVES) and (k := _pair_key(c))}
    same = removed & added
    out: list[ch.Change] = []
    for change in changes:
        if isinstance(change, ch.ReplaceView | ch.ReplaceOpaque):
            continue
        if isinstance(change, ch.AlterColumn) and _canon(change.before) == _canon(change.after):
            continue
        if _pair_key(change) in same:
            continue
        out.append(change)
    return out


def _drift_sentence(change: ch.Change) -> str:
    """One plain sentence, with the live database as its subject, for a change that would take
    the live schema to the expected one."""
    d = difference(change)
    if d is None:
        what = ch.change_kind(change).replace("_", " ")
        return (
            f"{ch.change_object(change)} differs on the live database (the history needs: {what})"
        )
    if d.side is Side.EXTRA:
        return f"{d.subject} exists on the live database but not in the migration history"
    if d.side is Side.MISSING:
        return f"{d.subject} is missing on the live database"
    parts = ", ".join(_drift_detail(*x) for x in d.details) or "attributes differ"
    return f"{d.subject} differs on the live database: {parts}"


def _drift_detail(attr: str, live: str, history: str) -> str:
    match attr:
        case "null":
            return f"{live} (history: {history})"
        case "auto":
            return f"generated values {live} (history: {history})"
        case "type" | "default" | "collation" | "values":
            return f"{attr} {live} (history: {history})"
    return f"a different {attr}"
