"""What the companion change ships, as a Script the proof runs: the plain down, or the
data-keeping variant of a refused plan with what it claims to keep and what it declares lost."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core import changes as ch
from bot.core.alternatives import Alternative
from bot.core.diff import diff
from bot.core.model import Dialect, Schema
from bot.core.plan import CompanionFile, SourcePlan
from bot.core.render import render
from bot.core.render.names import qname
from bot.core.replay import Step
from bot.core.risk import Verdict
from bot.core.state import State, StateError
from bot.engines.proof import Script
from bot.sources.model import Format

_DROPS = (
    ch.DropTable,
    ch.DropColumn,
    ch.DropConstraint,
    ch.DropIndex,
    ch.DropView,
    ch.DropSequence,
    ch.DropEnum,
    ch.DropOpaque,
)


def shipped_script(
    source: SourcePlan,
    deployed: Schema | None,
    target: Schema | None,
    steps: Sequence[Step] = (),
) -> Script | None:
    """The Script of what ships for `source`, or None when it has no down."""
    down = source.down
    if down is None:
        return None
    renames = _renames(steps)
    # Rows of a renamed object must follow the rename back: a rename undone as drop + create
    # is caught even though the down declares the drop.
    declared = [*_dropped(down.changes), *source.comes_back_empty]
    lost = tuple(name for name in dict.fromkeys(declared) if name not in dict(renames))
    variant = source.safe_variant if source.verdict is Verdict.REFUSED else None
    if variant is None:
        return Script(tuple(s.sql for s in down.statements), "the down", (), lost, renames)
    kept = _removal(down.changes, variant.chosen, deployed, target)
    return Script(variant.statements, "the data-keeping variant", kept, lost, renames)


# Tools that run each migration file in one transaction (on engines with transactional DDL);
# sqitch scripts and plain directories carry their own BEGIN/COMMIT, if any.
_WRAPPING = frozenset(
    {
        Format.ATLAS,
        Format.GOLANG_MIGRATE,
        Format.GOOSE,
        Format.DBMATE,
        Format.FLYWAY,
        Format.LIQUIBASE,
        Format.DIESEL,
        Format.DJANGO,  # each migration is atomic unless it says `atomic = False`
    }
)
# The tools' own ways of saying "not in a transaction", as they appear in a file
_NO_TRANSACTION = (
    "+goose no transaction",
    "atlas:txmode none",
    "transaction:false",
    "runintransaction:false",
    "atomic=false",
)


def runs_in_transaction(
    format: Format | None,
    files: Sequence[CompanionFile],
    dialect: Dialect | None = None,
    run: Sequence[str] = (),
) -> bool:
    """Whether the project's migration tool runs the compensating migration in a transaction
    (`run`: the text of each file it runs, where the answer depends on it)."""
    if format not in _WRAPPING:
        return False
    if format is Format.GOLANG_MIGRATE and dialect is Dialect.POSTGRES:
        # golang-migrate sends a PostgreSQL file as one query string, with no BEGIN of its
        # own: the server wraps several statements in an implicit transaction, but a file of
        # one statement runs alone, so its `DROP INDEX CONCURRENTLY` works.
        return any(_several_statements(text) for text in run)
    text = " ".join(t.lower().replace(" ", "") for t in [*(f.content for f in files), *run])
    return not any(mark.replace(" ", "") in text for mark in _NO_TRANSACTION)


def _several_statements(sql: str) -> bool:
    from bot.core.split import SplitError, split_statements

    try:
        return len(split_statements(sql, "postgres")) > 1
    except SplitError:
        return True  # the server reads it as a whole: what runs is for the engine to say


def _dropped(changes: Sequence[ch.Change]) -> list[str]:
    out: list[str] = []
    # a swap (rename the table away, re-create it, drop the renamed one) keeps the rows of
    # the columns the new table has: only the others are lost
    renamed = {str(c.new): str(c.old) for c in changes if isinstance(c, ch.RenameTable)}
    created = {str(c.table.name): c.table for c in changes if isinstance(c, ch.CreateTable)}
    for change in changes:
        match change:
            case ch.DropTable(table) if renamed.get(str(table.name)) in created:
                name = renamed[str(table.name)]
                kept = {c.name for c in created[name].columns}
                out += [f"{name}.{c.name}" for c in table.columns if c.name not in kept]
            case ch.DropTable(table):
                out.append(str(table.name))
            case ch.DropColumn(table, column):
                out.append(f"{table}.{column.name}")
    return out


def _renames(steps: Sequence[Step]) -> tuple[tuple[str, str], ...]:
    """Deployed name -> name at the target, for the tables and columns the history renamed."""
    out: dict[str, str] = {}
    dropped: set[str] = set()
    for step in steps:
        for change in step.changes:
            match change:
                case ch.DropTable(table):
                    dropped.add(str(table.name))
                case ch.RenameTable(old, new) if str(new) in dropped:
                    # a shadow-table swap (SQLite's rebuild: Django, Prisma): the copy takes
                    # the dropped table's place and its rows, so the name keeps its identity
                    out.pop(str(old), None)
                    dropped.discard(str(new))
                case ch.RenameTable(old, new):
                    origin = out.pop(str(old), str(old))
                    out[str(new)] = origin
                case ch.RenameColumn(table, old, new):
                    key = f"{table}.{old}"
                    origin = out.pop(key, old)
                    out[f"{table}.{new}"] = origin
    return tuple((k, v) for k, v in out.items() if k.rsplit(".", 1)[-1] != v)


def _removal(
    changes: Sequence[ch.Change],
    chosen: Sequence[Alternative],
    deployed: Schema | None,
    target: Schema | None,
) -> tuple[str, ...]:
    """SQL dropping exactly what the variant keeps: after it, the catalog must be the target's.

    Only drops: anything else the variant leaves different from the target is for the catalog
    comparison to report, not for this script to paper over.
    """
    if deployed is None or target is None:
        return ()
    by_change = {alt.replaces: alt.effect for alt in chosen}
    state = State(deployed.dialect, deployed)
    try:
        for change in changes:
            effect = by_change.get(change)
            if effect is not None:
                state.apply_all(list(effect))
            else:
                state.apply(change)
    except StateError:
        return ()
    claimed = state.snapshot()
    drops: list[ch.Change] = [c for c in diff(claimed, target) if isinstance(c, _DROPS)]
    archives = tuple(
        f"DROP TABLE {qname(alt.archive, deployed.dialect)}" for alt in chosen if alt.archive
    )
    return (*(r.sql for r in render(drops, claimed)), *archives)
