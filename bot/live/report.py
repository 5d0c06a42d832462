"""Opt-in live inspection: what a plan would destroy, and whether the live schema drifted.

Only when a source names a database (an environment variable or a mounted secret file, never a
URL in the repo). The connection is read-only at the connection level and has short timeouts;
nothing here runs the plan or writes. What the database or its driver refuses becomes a
`problems` entry: the plan still comes out, without live figures, and says what failed. Our own
bugs raise. URLs are never logged or reported; only their masked form (scheme://host/db) is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core import changes as ch
from bot.core.model import Dialect, Schema
from bot.engines.catalog import Catalog
from bot.engines.urls import mask_url
from bot.live.at_risk import AtRisk, count_at_risk
from bot.live.drift import catalog_drift, live_drift
from bot.live.sessions import Problem, open_session


@dataclass(frozen=True)
class LiveReport:
    """What the live database says about a plan."""

    engine: str | None
    at_risk: tuple[AtRisk, ...]
    drift: tuple[str, ...]  # how the live schema differs from the expected pre-revert schema
    live_schema_sql: str | None  # the live schema as DDL, for planning from the live state
    problems: tuple[str, ...]  # what failed; never raised to the caller


def inspect_live(
    dialect: Dialect,
    url: str,
    changes: Sequence[ch.Change],
    expected: Schema,
    *,
    history: Sequence[str] | None = None,
    timeout_s: float = 5.0,
) -> LiveReport:
    """Count what `changes` (the down) puts at risk and compare the live schema with the
    history's: with `history` (its SQL files), on a scratch engine of the same dialect, catalog
    against catalog; else, or when no scratch engine can be had, with the model `expected`.

    What the database refuses (unreachable, timed out, no permission) is a `problems` entry and
    the rest of the report stands; anything else is our bug and raises.
    """
    where = mask_url(url)
    try:
        session = open_session(dialect, url, timeout_s)
    except Problem as problem:
        return LiveReport(None, (), (), None, (f"{where}: {problem}",))
    problems: list[str] = []
    live_sql: str | None = None
    live_catalog: Catalog | None = None
    with session:
        at_risk = tuple(count_at_risk(session, changes, problems))
        try:
            live_sql = session.schema_sql()
            if history is not None:
                live_catalog = session.catalog()
        except Problem as problem:
            problems.append(f"could not read the live schema: {problem}")
    drift: tuple[str, ...] | None = None
    if live_catalog is not None and history is not None:
        drift, why = catalog_drift(live_catalog, history, dialect)
        if why is not None:
            problems.append(f"drift compared with the model, not on an engine: {why}")
    if drift is None and live_sql is not None:
        drift, unreadable = live_drift(live_sql, dialect, expected)
        problems += unreadable
    return LiveReport(
        session.engine, at_risk, drift or (), live_sql, tuple(f"{where}: {p}" for p in problems)
    )
