"""Engine-backed state: a history the static model can't fully read, replayed on a scratch engine.

The static replay stays the fast path and the source of intent (a rename is undone as a
rename). When a history holds statements it could not model (DO blocks, dynamic SQL,
PREPARE/EXECUTE, unknown syntax), both histories are replayed on a scratch engine of their
dialect and the static down is checked against them: run on the newer state it must give the
older state's catalog. What it misses is read back from the engine and appended, so where the
engine and the model disagree the engine is right, and the down says which objects the model
got wrong. Where no engine of the dialect can be had, the down is returned as it was, saying why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from bot.core.down import Down, compute_down, split_unmodelled
from bot.core.model import Dialect, Schema
from bot.core.replay import Migration
from bot.core.split import SplitError, split_statements
from bot.engines.catalog import Catalog
from bot.engines.model_import import ImportedSchema, import_schema, without_default_widths
from bot.engines.scratch import EngineError, EngineUnavailable, ScratchDatabase


@dataclass(frozen=True)
class EngineStates:
    """Both histories as the engine built them, read back into the model."""

    engine: str  # "PostgreSQL 18.1", "MariaDB 10.11.14", "SQLite 3.46.1"
    newer: ImportedSchema
    older: ImportedSchema
    # objects the static model got wrong ("newer: table widgets", "older: column t.c"), when
    # the static schemas were given
    disagreements: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settlement:
    """What the engine said about a down computed from the static model."""

    down: Down
    engine: str | None  # None: no engine of the dialect could be had
    settled: bool  # the down, run on the engine's newer state, gives its older state
    corrected: tuple[str, ...] = ()  # objects the engine added to the down (the model missed)
    seconds: float = 0.0
    # both states read from the engine, when the model got them wrong: the down's risks and
    # the shipped variant are judged on them, since the engine's additions fit only them
    newer: Schema | None = None
    older: Schema | None = None


@dataclass(frozen=True)
class Checked:
    """The down after the engine's check, and the engine's newer state if the model's was wrong."""

    down: Down
    newer: Schema | None = None
    older: Schema | None = None


def engine_checked(
    down: Down,
    newer: Sequence[Migration],
    older: Sequence[Migration],
    dialect: Dialect,
    *,
    undone: Sequence[str] = (),
    postgres: bool = True,
    mysql_url: str | None = None,
) -> Checked:
    """The planner's hook: what the model could not read either is not this down's concern
    (listed), or is settled on a scratch engine, or stays gating with the reason."""
    # what the down itself can't do on rows (no file: no statement of the history) is not
    # the model's to settle, and an engine replaying the history has no rows to show it
    own = tuple(u for u in down.unmodelled if not u.file)
    read = [u for u in down.unmodelled if u.file]
    gating, listed = split_unmodelled(read, down.statements, undone)
    listed = down.listed + listed
    if not gating:
        return Checked(replace(down, unmodelled=own, listed=listed))
    if dialect is Dialect.POSTGRES and not postgres:
        note = "the embedded PostgreSQL is off, so the unmodelled statements stay unsettled"
        return Checked(replace(_noted(down, note), unmodelled=gating + own, listed=listed))
    result = settle(replace(down, unmodelled=gating), newer, older, dialect, mysql_url=mysql_url)
    if not result.settled:
        return Checked(replace(result.down, unmodelled=gating + own, listed=listed))
    where = ", ".join(f"{u.file}:{u.line}" for u in gating)
    note = (
        f"the engine settled {len(gating)} statement(s) the model could not read ({where}):"
        f" the history was replayed on {result.engine} and this down, run there, gives the"
        " older state exactly"
    )
    if result.corrected:
        note += f"; the model missed {', '.join(result.corrected)}, added from the engine"
    return Checked(
        replace(_noted(result.down, note), unmodelled=own, listed=listed + gating),
        result.newer,
        result.older,
    )


def engine_states(
    newer: Sequence[Migration],
    older: Sequence[Migration],
    dialect: Dialect,
    *,
    static_newer: Schema | None = None,
    static_older: Schema | None = None,
    mysql_url: str | None = None,
) -> EngineStates:
    """Replay both histories on a scratch engine and import their catalogs.

    Raises EngineUnavailable when no engine of the dialect can be had, EngineError when a
    history fails on it.
    """
    states = []
    with _engine(dialect, mysql_url) as server:
        for migrations in (newer, older):
            db = _replayed(server, migrations, dialect)
            try:
                states.append(_import(db, dialect))
            finally:
                db.close()
    found: list[str] = []
    for label, static, imported in (
        ("newer", static_newer, states[0]),
        ("older", static_older, states[1]),
    ):
        if static is not None:
            found += [f"{label}: {d}" for d in model_differences(static, imported.schema)]
    return EngineStates(server.version, states[0], states[1], tuple(found))


def settle(
    down: Down,
    newer: Sequence[Migration],
    older: Sequence[Migration],
    dialect: Dialect,
    *,
    mysql_url: str | None = None,
) -> Settlement:
    """Check `down` (from the static model) against the engine; complete it from the engine.

    The histories are replayed on a scratch engine; the down runs on the newer state; what
    still differs from the older state is read back into the model, diffed and appended. The
    result is settled when the older state's catalog is then reached exactly.
    """
    started = time.monotonic()
    engine = f"the scratch {dialect.value} engine"
    try:
        with _engine(dialect, mysql_url) as server:
            result = _settle(server, down, newer, older, dialect)
    except EngineUnavailable as err:
        note = f"no {dialect.value} engine to settle the unmodelled statements: {_first_line(err)}"
        result = Settlement(_noted(down, note), None, False)
    except EngineError as err:
        note = (
            f"{engine} could not replay the history, so the unmodelled statements stay"
            f" unsettled: {_first_line(err)}"
        )
        result = Settlement(_noted(down, note), None, False)
    except SplitError as err:
        result = Settlement(_noted(down, f"cannot split the SQL: {err}"), None, False)
    return replace(result, seconds=round(time.monotonic() - started, 3))


def _settle(
    server: _Engine,
    down: Down,
    newer: Sequence[Migration],
    older: Sequence[Migration],
    dialect: Dialect,
) -> Settlement:
    engine, target, target_model = _target_state(server, older, dialect)
    db = _replayed(server, newer, dialect)
    try:
        newer_model = _import(db, dialect).schema
        try:
            db.execute([s.sql for s in down.statements])
        except EngineError as err:
            # the static down is wrong on this engine: the engine's own states decide alone
            db.close()
            db = _replayed(server, newer, dialect)
            settled = _from_engine(db, down, target, target_model, dialect, engine, err)
            return replace(settled, newer=newer_model, older=target_model.schema)
        if not _differs(db.catalog(), target, dialect):
            return Settlement(down, engine, True)
        rest = compute_down(_import(db, dialect).schema, target_model.schema)
        try:
            db.execute([s.sql for s in rest.statements])
        except EngineError as err:
            return Settlement(_noted(down, _unsettled(engine, err)), engine, False)
        left = _differs(db.catalog(), target, dialect)
        corrected = tuple(dict.fromkeys(s.object for s in rest.statements))
        if left:
            note = (
                f"on {engine}, the down still differs from the older state: {'; '.join(left[:5])}"
            )
            return Settlement(_noted(down, note), engine, False, corrected)
        merged = replace(
            down,
            changes=down.changes + rest.changes,
            statements=down.statements + rest.statements,
        )
        return Settlement(
            merged, engine, True, corrected, newer=newer_model, older=target_model.schema
        )
    finally:
        db.close()


# The state being returned to, by history: planning again (a re-run, the next push on the same
# branch) rebuilds only the deployed state, which the down must run on.
_TARGETS: dict[
    tuple[str, str, tuple[tuple[str, str], ...]], tuple[str, Catalog, ImportedSchema]
] = {}
_MAX_TARGETS = 64


def _target_state(
    server: _Engine, older: Sequence[Migration], dialect: Dialect
) -> tuple[str, Catalog, ImportedSchema]:
    key = (server.key, dialect.value, tuple((m.path, m.sql) for m in older))
    found = _TARGETS.get(key)
    if found is not None:
        return found
    db = _replayed(server, older, dialect)
    try:
        found = (_version(db), db.catalog(), _import(db, dialect))
    finally:
        db.close()
    if len(_TARGETS) >= _MAX_TARGETS:
        _TARGETS.pop(next(iter(_TARGETS)))
    _TARGETS[key] = found
    return found


def _from_engine(
    db: ScratchDatabase,
    down: Down,
    target: Catalog,
    target_model: ImportedSchema,
    dialect: Dialect,
    engine: str,
    failure: EngineError,
) -> Settlement:
    """The down diffed from the engine's two states, when the static one fails on it."""
    from_engine = compute_down(_import(db, dialect).schema, target_model.schema)
    why = f"the down from the model failed on {engine} ({_first_line(failure)})"
    try:
        db.execute([s.sql for s in from_engine.statements])
    except EngineError as err:
        return Settlement(
            _noted(down, f"{why}; so did the engine's: {_first_line(err)}"), engine, False
        )
    left = _differs(db.catalog(), target, dialect)
    if left:
        return Settlement(_noted(down, f"{why}; the engine's did not restore"), engine, False)
    settled = replace(
        from_engine,
        unmodelled=down.unmodelled,
        note=f"{why}; used the diff of the engine's two states",
    )
    corrected = tuple(dict.fromkeys(s.object for s in from_engine.statements))
    return Settlement(settled, engine, True, corrected)


def _differs(after: Catalog, target: Catalog, dialect: Dialect) -> list[str]:
    # PostgreSQL can't re-add a column at its old position; verify compares order elsewhere
    return after.diff(target, column_order=False)


def _noted(down: Down, note: str) -> Down:
    return replace(down, note=f"{down.note}; {note}" if down.note else note)


def _unsettled(engine: str, err: EngineError) -> str:
    return f"the engine's correction failed on {engine}: {_first_line(err)}"


def _first_line(err: Exception) -> str:
    text = str(getattr(err, "message", None) or err).strip()
    return text.splitlines()[0] if text else "unknown error"


def _replayed(
    server: _Engine, migrations: Sequence[Migration], dialect: Dialect
) -> ScratchDatabase:
    db = server.new_database()
    try:
        db.execute([s.text for m in migrations for s in split_statements(m.sql, dialect.value)])
    except BaseException:
        db.close()
        raise
    return db


def _version(db: ScratchDatabase) -> str:
    from bot.engines.proof import _version as version_of

    return version_of(db)


def _import(db: ScratchDatabase, dialect: Dialect) -> ImportedSchema:
    return import_schema(db.query, dialect)


# --- how the model and the engine disagree ----------------------------------------------


def model_differences(model: Schema, engine: Schema) -> list[str]:
    """Objects the static model has wrong, by name and shape (not by expression spelling).

    Expression text (defaults, checks, view and function bodies) is spelled by the engine in
    its own way, so it is not compared here; the catalog proof compares it.
    """
    out: list[str] = []
    _compare_names("table", model.tables, engine.tables, out)
    for key in model.tables.keys() & engine.tables.keys():
        mine, theirs = model.tables[key], engine.tables[key]
        cols = {c.name: c for c in mine.columns}
        eng = {c.name: c for c in theirs.columns}
        _compare_names(f"column {mine.name}.", cols, eng, out, prefix=True)
        for name in cols.keys() & eng.keys():
            a, b = cols[name], eng[name]
            if (_type(a.type), a.nullable) != (_type(b.type), b.nullable):
                out.append(
                    f"column {mine.name}.{name}: model {a.type}"
                    f"{'' if a.nullable else ' NOT NULL'}, engine {b.type}"
                    f"{'' if b.nullable else ' NOT NULL'}"
                )
        _compare_names(
            f"index on {mine.name}: ",
            {i.name: i for i in mine.indexes},
            {i.name: i for i in theirs.indexes},
            out,
            prefix=True,
        )
        _compare_names(
            f"constraint on {mine.name}: ",
            {c.name: c for c in mine.constraints() if c.name},
            {c.name: c for c in theirs.constraints() if c.name},
            out,
            prefix=True,
        )
    _compare_names("view", model.views, engine.views, out)
    _compare_names("type", model.enums, engine.enums, out)
    for key in model.enums.keys() & engine.enums.keys():
        if model.enums[key].values != engine.enums[key].values:
            out.append(f"type {model.enums[key].name}: values differ")
    _compare_names("sequence", model.sequences, engine.sequences, out)
    _compare_names("", model.opaque, engine.opaque, out)
    return out


def _type(text: str) -> str:
    # `INT(10) UNSIGNED` is `INT UNSIGNED`: MariaDB adds the default width itself
    return without_default_widths(text).lower()


def _compare_names(
    label: str, mine: Any, theirs: Any, out: list[str], *, prefix: bool = False
) -> None:
    def show(key: Any) -> str:
        if isinstance(key, tuple):
            kind, name = key
            text = f"{kind}.{name}" if kind and label else (f"{kind} {name}" if kind else name)
        else:
            text = str(key)
        return f"{label}{text}" if prefix else f"{label} {text}".strip()

    out += [f"missing from the model: {show(k)}" for k in sorted(theirs.keys() - mine.keys())]
    out += [f"not in the engine: {show(k)}" for k in sorted(mine.keys() - theirs.keys())]


# --- scratch databases: the process's warm servers, shared with the proofs ---------------


@dataclass(frozen=True)
class _Engine:
    new_database: Callable[[], ScratchDatabase]
    key: str  # which server: the process's own, or the operator's scratch URL

    @property
    def version(self) -> str:
        """The server's name and version, asked of a fresh database (cheap on a warm server)."""
        db = self.new_database()
        try:
            return _version(db)
        finally:
            db.close()


@contextmanager
def _engine(dialect: Dialect, mysql_url: str | None) -> Iterator[_Engine]:
    """Fresh databases of `dialect`: on the operator's scratch MySQL server when a URL is
    given, else on this process's servers (started once, kept warm; bot.engines.proof).

    Raises EngineUnavailable with the reason when none can be had.
    """
    from bot.engines.proof import ENGINES, _UrlServer

    url_server = _UrlServer(mysql_url) if dialect is Dialect.MYSQL and mysql_url else None
    try:

        def new_database() -> ScratchDatabase:
            if url_server is not None:
                return url_server.new_database()
            return ENGINES.new_database(dialect)

        yield _Engine(new_database, (mysql_url or "") if url_server is not None else "")
    finally:
        if url_server is not None:
            url_server.close()
