"""Diff two schemas into the ordered changes that take a database from one to the other.

Objects are matched by key, never by similarity: tables, views, enums and sequences by their
schema key, opaque objects by (kind, identity), columns, constraints and indexes by name
(folded per dialect; unnamed SQLite constraints by value). There is no rename detection:
renames come from inverting a known migration, not from here. A changed view, index,
constraint or primary key is dropped and re-created; a changed column is one AlterColumn.

The order is what makes the list runnable on a real engine. Each step only needs objects
that earlier steps created, and only removes objects nothing left still needs:

 0. rename tables whose name differs only in case (MySQL/SQLite match them folded)
 1. drop attached objects that are removed or changed: grants and comments (they name
    other objects), then events, then triggers, policies, rules and other objects on a table
 2. drop views that are removed or changed, dependents first (reverse source order); also
    unchanged views that mention a table whose columns are dropped or retyped, or a view
    dropped here (engines refuse those changes under a view, or leave it stale), to be
    re-created in step 13
 3. drop foreign keys that are removed or changed, plus those that would block a later step
    (PostgreSQL/MySQL): one pointing at a dropped table or at a key dropped in step 4, in
    MySQL one whose columns are retyped or whose supporting index is dropped, and the ones
    that close a cycle among dropped tables
 4. drop indexes and non-FK constraints that are removed or changed (SQLite: step 7)
 5. create namespaces, extensions, enums, sequences, domains/types, then functions and
    other opaque objects (new ones, and alters/replacements of changed ones): the tables
    and columns below may use them. A removed sequence owned by a column that goes away is
    disowned here, or PostgreSQL would drop it along with the column before step 8 does
 6. drop tables, a referencing table before the table it references
 7. per surviving table: drop columns (generated ones first), alter, then add columns,
    placed with after/first at their target position; set the table comment. A generated
    column that reads a dropped column (or, in PostgreSQL, a retyped one) is dropped and
    re-added around it. In SQLite the table's non-FK constraint drops and adds join this
    run, which the renderer makes one rebuild: a changed key is then never missing when
    the rebuild's foreign_key_check runs (it fails on a foreign key to a keyless table)
 8. drop removed functions, domains/types, sequences, enums, extensions, then namespaces
 9. create tables, a referenced table first; a foreign key to a table not created yet (a
    cycle) or to a key that does not exist yet moves to step 12 (SQLite: always inline,
    since SQLite checks nothing at CREATE time and adding a constraint means a rebuild)
10. give sequences the OWNED BY column that only exists from step 7/9 on
11. add non-FK constraints (SQLite: step 7) and create indexes on surviving tables
12. add foreign keys
13. create views (dependencies first, otherwise the target's creation order), then the
    attached objects of step 1 in the target's order

Table options (Table.options) have no Change and are not diffed, but in PostgreSQL, where they
are storage parameters, which step 7 sets along with UNLOGGED.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import lru_cache
from typing import TypeVar

from bot.core import changes as ch
from bot.core.changes import Change
from bot.core.model import (
    Column,
    Constraint,
    Dialect,
    ForeignKey,
    Index,
    Opaque,
    PrimaryKey,
    QName,
    Schema,
    Sequence,
    Table,
    Unique,
    View,
    fold,
    qkey,
)
from bot.core.naming import implied_sequence, nextval
from bot.core.renaming import mentions
from bot.core.render.mysql_options import restorage, storage_sql
from bot.core.state import State, apply_changes
from bot.core.table_diff import diff_table, retypes

Key = tuple[str, str]
_T = TypeVar("_T")

# Rank of the opaque kinds others are built from (created in that order, dropped in reverse);
# any kind not listed here or in _ATTACHED_KINDS is a routine-like object (rank 2).
_BASE_KINDS = {"extension": 0, "domain": 1, "type": 1}
# Rank of opaque objects that hang off other objects: created last, dropped first.
_ATTACHED_KINDS = {"trigger": 0, "policy": 0, "rule": 0, "event": 1, "grant": 2, "comment": 2}


def diff(source: Schema, target: Schema) -> list[Change]:
    """The changes that take a database at `source` to `target`, in a runnable order."""
    if source.dialect is not target.dialect:
        raise ValueError(f"cannot diff a {source.dialect} schema against a {target.dialect} schema")
    renames: list[Change] = [
        ch.RenameTable(table.name, target.tables[key].name)
        for key, table in source.tables.items()
        if key in target.tables and table.name != target.tables[key].name
    ]
    # The rest is planned against the renamed source, so every later change uses the
    # target's spelling (State follows a rename into indexes, foreign keys and triggers).
    renamed = apply_changes(source, renames)
    sequences = _serial_sequence_renames(renamed, target)
    return renames + sequences + _Planner(apply_changes(renamed, sequences), target).changes()


def _serial_sequence_renames(source: Schema, target: Schema) -> list[Change]:
    """Renames of the sequence behind a column that is a serial on one side and reads a
    differently named sequence on the other (a table renamed, or swapped for a shadow copy):
    renaming keeps the sequence's position, where a new one could hand out ids in use."""
    if source.dialect is not Dialect.POSTGRES:
        return []
    names = State(source.dialect)  # only reads OWNED BY texts and folds names
    out: list[Change] = []
    for key, after in target.tables.items():
        before = source.tables.get(key)
        if before is None:
            continue
        for col in after.columns:
            old = before.column(col.name, source.dialect)
            if old is None or old == col:
                continue
            ends = (
                _reads_own_sequence(names, source, before, old),
                _reads_own_sequence(names, target, after, col),
            )
            if None in ends or ends[0] == ends[1]:
                continue
            start, end = ends
            assert start is not None and end is not None
            if (
                names.key(end.name) in source.sequences
                or names.key(start.name) in target.sequences
                or start.definition.lower().split() != end.definition.lower().split()
            ):
                continue
            out.append(ch.AlterSequence(start, replace(start, name=end.name)))
    return out


def _reads_own_sequence(names: State, schema: Schema, table: Table, col: Column) -> Sequence | None:
    """The sequence a serial or nextval() default of `col` reads, when the column owns it."""
    if col.auto is not None:
        return implied_sequence(table, col)
    m = re.fullmatch(
        r"nextval\('((?:[^']|'')*)'::regclass\)", " ".join((col.default or "").split())
    )
    if m is None:
        return None
    for seq in schema.sequences.values():
        if nextval(seq.name) == m.group(0) and names.owner(seq.owned_by) == (
            names.key(table.name),
            col.name,
        ):
            return seq
    return None


def create_all(schema: Schema) -> list[Change]:
    """The changes that build `schema` in an empty database."""
    return diff(Schema(schema.dialect), schema)


# -- the plan -----------------------------------------------------------------------------


class _Planner:
    """Computes every difference up front, then emits them in the documented order."""

    def __init__(self, source: Schema, target: Schema) -> None:
        self.dialect = d = source.dialect
        self.src = source
        self.tgt = target
        self.kept = {
            k: diff_table(source.tables[k], t, d)
            for k, t in target.tables.items()
            if k in source.tables
        }
        # Unique keys (PK, unique constraint, plain unique index) dropped in step 4.
        self.dropped_keys = {
            (k, cols)
            for k, td in self.kept.items()
            for cols in _unique_keys(td.drop_constraints, td.drop_indexes, d)
        }
        self._hold_foreign_keys()
        self.drop_order, self.cut_fks = self._plan_table_drops()
        self.create_order, self.split_fks = self._plan_table_creates()
        self.redo_views = self._views_to_redo()
        self.redo_attached = self._attached_to_redo()
        self.disowned: dict[Key, Sequence] = {}  # removed sequences, as step 5 leaves them
        self.early, self.owner_fixes = self._plan_early()
        self.taken = self._names_taken_back()

    def changes(self) -> list[Change]:
        return [
            *self._drop_attached(),
            *self._drop_views(),
            *self._drop_foreign_keys(),
            *self._drop_keys_and_indexes(),
            *self.early,
            *self._drop_tables(),
            *(ch.DropSequence(self.disowned.get(k, self.src.sequences[k])) for k in self.taken),
            *self._alter_tables(),
            *self._late_drops(),
            *self._create_tables(),
            *self.owner_fixes,
            *self._add_keys_and_indexes(),
            *self._add_foreign_keys(),
            *self._create_views(),
            *self._create_attached(),
        ]

    # -- foreign keys that must step aside ---------------------------------------------

    def _hold_foreign_keys(self) -> None:
        """Drop and re-add unchanged foreign keys that would block a step (not SQLite)."""
        if self.dialect is Dialect.SQLITE:
            return  # it checks neither at DROP nor at ALTER; every FK change costs a rebuild
        d = self.dialect
        retyped = {
            (k, fold(a.after.name, d))
            for k, td in self.kept.items()
            for a in td.alter_columns
            if retypes(a)
        }
        dropped_leads = {
            (k, _leading_columns(i, d)) for k, td in self.kept.items() for i in td.drop_indexes
        } | {
            (k, tuple(fold(c, d) for c in con.columns))
            for k, td in self.kept.items()
            for con in td.drop_constraints
            if isinstance(con, PrimaryKey | Unique)
        }

        def blocks(k: Key, fk: ForeignKey) -> bool:
            ref = qkey(fk.ref_table, d)
            if ref in self.src.tables and ref not in self.tgt.tables:
                return True  # engines refuse to drop a referenced table
            if (ref, _colset(fk.ref_columns, d)) in self.dropped_keys:
                return True  # ... or the key a foreign key points at
            if d is not Dialect.MYSQL:
                return False
            cols = tuple(fold(c, d) for c in fk.columns)
            # MySQL refuses to retype a column a foreign key uses, or to drop its index.
            return (
                any((k, c) in retyped for c in cols)
                or any((ref, fold(c, d)) in retyped for c in fk.ref_columns)
                or any(kk == k and lead[: len(cols)] == cols for kk, lead in dropped_leads)
            )

        for k, td in self.kept.items():
            held = [fk for fk in td.after.foreign_keys if fk not in td.add_fks and blocks(k, fk)]
            if held:
                drop, add = {*td.drop_fks, *held}, {*td.add_fks, *held}
                td.drop_fks = [f for f in td.before.foreign_keys if f in drop]
                td.add_fks = [f for f in td.after.foreign_keys if f in add]

    # -- views -------------------------------------------------------------------------

    def _views_to_redo(self) -> set[Key]:
        """Source views to drop: removed, changed, or over something that changes shape.

        An unchanged view is re-created when it mentions a table whose columns are dropped or
        retyped, or a view dropped here: PostgreSQL refuses those changes under a view, SQLite
        refuses every later RENAME or DROP COLUMN while a view dangles, and MariaDB keeps the
        view's columns as they were expanded at CREATE, which then no longer hold.
        """
        src, tgt = self.src.views, self.tgt.views
        redo = {k for k, v in src.items() if tgt.get(k) != v}
        reshaped = [td.after.name.name for td in self.kept.values() if td.reshapes]
        redo |= {k for k, v in src.items() if any(mentions(v.definition, n) for n in reshaped)}
        grew = True
        while grew:
            more = {
                k
                for k, v in src.items()
                if k not in redo and any(mentions(v.definition, src[r].name.name) for r in redo)
            }
            redo |= more
            grew = bool(more)
        return redo

    def _drop_views(self) -> list[Change]:
        order = _view_order(self.src.views)
        return [ch.DropView(self.src.views[k]) for k in reversed(order) if k in self.redo_views]

    def _create_views(self) -> list[Change]:
        return [
            ch.CreateView(self.tgt.views[k])
            for k in _view_order(self.tgt.views)
            if k not in self.src.views or k in self.redo_views
        ]

    # -- attached opaque objects (triggers, policies, grants, comments...) --------------

    def _attached(self, k: tuple[str, str]) -> bool:
        """Whether the opaque object under `k` hangs off another object (on either side)."""
        objs = (self.src.opaque.get(k), self.tgt.opaque.get(k))
        return any(o is not None and _attached_rank(o) is not None for o in objs)

    def _attached_to_redo(self) -> set[tuple[str, str]]:
        """Attached objects to drop first and create last: changed, or on a re-created view."""
        views = [self.src.views[k].name for k in self.redo_views]
        view_keys = {qkey(v, self.dialect) for v in views}
        src, tgt = self.src.opaque, self.tgt.opaque
        redo = set()
        for k in [*src, *tgt]:
            if not self._attached(k):
                continue
            obj = src.get(k)
            # A view's DROP takes its triggers, grants and comments along: put them back.
            on_view = obj is not None and (
                qkey(obj.table, self.dialect) in view_keys
                if obj.table is not None
                else any(mentions(obj.definition, v.name) for v in views)
            )
            if obj != tgt.get(k) or on_view:
                redo.add(k)
        return redo

    def _drop_attached(self) -> list[Change]:
        objs = [o for k, o in reversed(list(self.src.opaque.items())) if k in self.redo_attached]
        objs.sort(key=lambda o: -(_attached_rank(o) or 0))
        return [ch.DropOpaque(o) for o in objs]

    def _create_attached(self) -> list[Change]:
        objs = [o for k, o in self.tgt.opaque.items() if k in self.redo_attached]
        objs.sort(key=lambda o: _attached_rank(o) or 0)
        return [ch.CreateOpaque(o) for o in objs]

    # -- types, sequences, routines -----------------------------------------------------

    def _plan_early(self) -> tuple[list[Change], list[Change]]:
        """Step 5, what tables and columns may use, created or changed before they are; and
        step 10, the OWNED BY that has to wait for its column."""
        fixes: list[Change] = []
        out: list[Change] = [
            ch.CreateNamespace(n)
            for n in self.tgt.namespaces
            if not self._has_namespace(self.src, n)
        ]
        out += self._opaque_early(0)
        for k, enum in self.tgt.enums.items():
            old_enum = self.src.enums.get(k)
            if old_enum is None:
                out.append(ch.CreateEnum(enum))
            elif old_enum != enum:
                out.append(ch.AlterEnum(old_enum, enum))
        for k, seq in self.tgt.sequences.items():
            old = self.src.sequences.get(k)
            if old == seq:
                continue
            if not self._owner_stays(seq.owned_by):
                # OWNED BY needs the column, and the column's default needs the sequence:
                # create it unowned now and give it its owner in step 10.
                kept_owner = old is not None and self._owner_stays(old.owned_by)
                interim = replace(seq, owned_by=old.owned_by if old and kept_owner else None)
                fixes.append(ch.AlterSequence(interim, seq))
                seq = interim
            if old is None:
                out.append(ch.CreateSequence(seq))
            elif old != seq:
                out.append(ch.AlterSequence(old, seq))
        for k, old in self.src.sequences.items():
            if k not in self.tgt.sequences and not self._owner_stays(old.owned_by):
                self.disowned[k] = replace(old, owned_by=None)
                out.append(ch.AlterSequence(old, self.disowned[k]))
        out += self._opaque_early(1)
        out += self._opaque_early(2)
        return out, fixes

    def _opaque_early(self, rank: int) -> list[Change]:
        out: list[Change] = []
        for k, obj in self.tgt.opaque.items():
            old = self.src.opaque.get(k)
            if self._attached(k) or _base_rank(obj) != rank or old == obj:
                continue
            out.append(ch.CreateOpaque(obj) if old is None else ch.ReplaceOpaque(old, obj))
        return out

    def _names_taken_back(self) -> list[Key]:
        """Removed sequences whose name a serial column of the target takes back.

        A table renamed away keeps its serial's sequence name (`p2_id_seq` on `p5`); a column
        made serial again under the old name creates that sequence as it is altered, so the
        old one goes as soon as the tables using it are dropped, not after (fuzz_cli 6036).
        """
        if self.dialect is not Dialect.POSTGRES:
            return []
        implied = {
            qkey(seq.name, self.dialect)
            for t in self.tgt.tables.values()
            for c in t.columns
            if (seq := implied_sequence(t, c)) is not None
        }
        out = []
        for k, seq in self.src.sequences.items():
            if k in self.tgt.sequences or k not in implied:
                continue
            reads = nextval(seq.name)
            # a kept table still reading it holds it until it is altered: left for later
            if any(
                " ".join((c.default or "").split()) == reads
                for td in self.kept.values()
                for c in td.before.columns
            ):
                continue
            out.append(k)
        return out

    def _late_drops(self) -> list[Change]:
        """Step 8: what nothing uses any more once tables are dropped and altered."""

        def opaque(rank: int) -> list[Change]:
            return [
                ch.DropOpaque(o)
                for k, o in reversed(list(self.src.opaque.items()))
                if k not in self.tgt.opaque and not self._attached(k) and _base_rank(o) == rank
            ]

        src = self.src
        return [
            *opaque(2),
            *opaque(1),
            *(
                ch.DropSequence(self.disowned.get(k, s))
                for k, s in reversed(list(src.sequences.items()))
                if k not in self.tgt.sequences and k not in self.taken
            ),
            *(
                ch.DropEnum(e)
                for k, e in reversed(list(src.enums.items()))
                if k not in self.tgt.enums
            ),
            *opaque(0),
            *(
                ch.DropNamespace(n)
                for n in reversed(src.namespaces)
                if not self._has_namespace(self.tgt, n)
            ),
        ]

    def _has_namespace(self, schema: Schema, name: str) -> bool:
        return any(fold(n, self.dialect) == fold(name, self.dialect) for n in schema.namespaces)

    def _owner_stays(self, owned_by: str | None) -> bool:
        """Whether a sequence's OWNED BY column (`[schema.]table.column`) exists throughout:
        on a table on both sides, on both sides."""
        if owned_by is None or owned_by.strip().upper() == "NONE":
            return True
        table, _, column = owned_by.strip().rpartition(".")
        schema, _, name = table.rpartition(".")
        td = self.kept.get(qkey(QName(_unquote(name), _unquote(schema) or None), self.dialect))
        return td is not None and all(
            t.column(_unquote(column), self.dialect) is not None for t in (td.before, td.after)
        )

    # -- tables ------------------------------------------------------------------------

    def _plan_table_drops(self) -> tuple[list[Key], dict[Key, list[ForeignKey]]]:
        """The order to drop tables in, and the foreign keys to drop before them."""
        tables = self.src.tables
        dropped = [k for k in tables if k not in self.tgt.tables]
        order, backward = _topo(dropped, lambda k: self._refs(tables[k]))
        cut: dict[Key, list[ForeignKey]] = {}
        if self.dialect is not Dialect.SQLITE:
            for k in order:
                refs = [(fk, qkey(fk.ref_table, self.dialect)) for fk in tables[k].foreign_keys]
                cut[k] = [
                    fk
                    for fk, ref in refs
                    if (k, ref) in backward  # a cycle: no order drops every referrer first
                    or (ref, _colset(fk.ref_columns, self.dialect)) in self.dropped_keys
                ]
        return list(reversed(order)), cut

    def _plan_table_creates(self) -> tuple[list[Key], dict[Key, list[ForeignKey]]]:
        """The order to create tables in, and the foreign keys that must wait for step 12."""
        tables = self.tgt.tables
        created = [k for k in tables if k not in self.src.tables]
        order, _ = _topo(created, lambda k: self._refs(tables[k]))
        split: dict[Key, list[ForeignKey]] = {}
        done: set[Key] = set()
        for k in order:
            if self.dialect is not Dialect.SQLITE:
                split[k] = [fk for fk in tables[k].foreign_keys if not self._key_ready(k, fk, done)]
            done.add(k)
        return order, split

    def _drop_foreign_keys(self) -> list[Change]:
        out: list[Change] = []
        for k, table in self.src.tables.items():
            fks = self.kept[k].drop_fks if k in self.kept else self.cut_fks.get(k, [])
            out += [ch.DropConstraint(table.name, fk) for fk in fks]
        return out

    def _drop_keys_and_indexes(self) -> list[Change]:
        out: list[Change] = []
        for td in self.kept.values():
            if self.dialect is not Dialect.SQLITE:  # there they join the table's rebuild
                out += [ch.DropConstraint(td.after.name, c) for c in td.drop_constraints]
            out += [ch.DropIndex(i) for i in td.drop_indexes]
        return out

    def _drop_tables(self) -> list[Change]:
        out: list[Change] = []
        for k in self.drop_order:
            table = self.src.tables[k]
            gone = self.cut_fks.get(k, [])
            # Carry the table as it is now, so the reverse re-adds the cut keys exactly once.
            out.append(
                ch.DropTable(
                    replace(
                        table, foreign_keys=tuple(f for f in table.foreign_keys if f not in gone)
                    )
                )
            )
        return out

    def _alter_tables(self) -> list[Change]:
        out: list[Change] = []
        for td in self.kept.values():
            # SQLite changes a constraint by rebuilding the table; one run of changes to a
            # table is one rebuild, and a key dropped and re-added inside it never goes
            # missing (at every rebuild's end, a foreign key to a keyless table is an error).
            rebuilds = self.dialect is Dialect.SQLITE
            if rebuilds:
                out += [ch.DropConstraint(td.after.name, c) for c in td.drop_constraints]
            out += td.drop_columns
            out += td.alter_columns
            out += td.add_columns
            out += td.move_columns
            if rebuilds:
                out += [ch.AddConstraint(td.after.name, c) for c in td.add_constraints]
            if td.before.comment != td.after.comment:
                out.append(ch.SetTableComment(td.after.name, td.before.comment, td.after.comment))
            if self.dialect is Dialect.MYSQL and storage_sql(td.before.options, td.after.options):
                # the engine and row format only: a character set change is not a diff's to make
                # (the down reports it, bot/core/down.py)
                options = restorage(td.before.options, td.after.options)
                out.append(ch.SetTableOptions(td.after.name, td.before.options, options))
            if self.dialect is Dialect.SQLITE and td.before.options != td.after.options:
                out.append(ch.SetTableOptions(td.after.name, td.before.options, td.after.options))
            if self.dialect is Dialect.POSTGRES:
                if td.before.unlogged != td.after.unlogged:
                    out.append(ch.SetUnlogged(td.after.name, td.before.unlogged, td.after.unlogged))
                if td.before.options != td.after.options:
                    out.append(
                        ch.SetTableOptions(td.after.name, td.before.options, td.after.options)
                    )
        return out

    def _create_tables(self) -> list[Change]:
        out: list[Change] = []
        for k in self.create_order:
            table = self.tgt.tables[k]
            later = self.split_fks.get(k, [])
            kept = tuple(f for f in table.foreign_keys if f not in later)
            out.append(ch.CreateTable(replace(table, foreign_keys=kept)))
        return out

    def _key_ready(self, k: Key, fk: ForeignKey, done: set[Key]) -> bool:
        """Whether the key `fk` points at exists when the table `k` is created."""
        ref = qkey(fk.ref_table, self.dialect)
        cols = _colset(fk.ref_columns, self.dialect)
        if ref == k:  # its own key, declared in the same CREATE TABLE
            t = self.tgt.tables[k]
            return cols in _unique_keys(t.constraints(), (), self.dialect)
        if ref in done:  # CreateTable also creates the table's indexes
            t = self.tgt.tables[ref]
            return cols in _unique_keys(t.constraints(), t.indexes, self.dialect)
        if ref in self.kept:
            t = self.kept[ref].before
            return (
                cols in _unique_keys(t.constraints(), t.indexes, self.dialect)
                and (ref, cols) not in self.dropped_keys
            )
        return False

    def _add_keys_and_indexes(self) -> list[Change]:
        out: list[Change] = []
        for td in self.kept.values():
            if self.dialect is not Dialect.SQLITE:
                out += [ch.AddConstraint(td.after.name, c) for c in td.add_constraints]
            out += [ch.CreateIndex(i) for i in td.add_indexes]
            if self.dialect is Dialect.POSTGRES and td.before.clustered_on != td.after.clustered_on:
                out.append(
                    ch.SetClusterOn(td.after.name, td.before.clustered_on, td.after.clustered_on)
                )
        return out

    def _add_foreign_keys(self) -> list[Change]:
        out: list[Change] = []
        for k, table in self.tgt.tables.items():
            fks = self.kept[k].add_fks if k in self.kept else self.split_fks.get(k, [])
            out += [ch.AddConstraint(table.name, fk) for fk in fks]
        return out

    def _refs(self, table: Table) -> list[Key]:
        parent = [table.partition_of] if table.partition_of is not None else []
        return [
            qkey(t, self.dialect) for t in [*parent, *(fk.ref_table for fk in table.foreign_keys)]
        ]


# -- helpers ------------------------------------------------------------------------------


def _base_rank(obj: Opaque) -> int | None:
    """Creation rank of an object others are built from; None for attached objects."""
    if _attached_rank(obj) is not None:
        return None
    return _BASE_KINDS.get(obj.kind.lower(), 2)


def _attached_rank(obj: Opaque) -> int | None:
    """Creation rank of an object that hangs off others; None if it does not."""
    if obj.table is not None:
        return 0
    return _ATTACHED_KINDS.get(obj.kind.lower())


def _colset(columns: Iterable[str], dialect: Dialect) -> frozenset[str]:
    return frozenset(fold(c, dialect) for c in columns)


def _leading_columns(index: Index, dialect: Dialect) -> tuple[str, ...]:
    lead: list[str] = []
    for part in index.parts:
        if not part.is_column:
            break
        lead.append(fold(part.expression, dialect))
    return tuple(lead)


def _unique_keys(
    constraints: Iterable[Constraint], indexes: Iterable[Index], dialect: Dialect
) -> set[frozenset[str]]:
    """Column sets a foreign key can point at: PK, unique constraints, plain unique indexes."""
    keys = {_colset(c.columns, dialect) for c in constraints if isinstance(c, PrimaryKey | Unique)}
    keys |= {
        _colset((p.expression for p in i.parts), dialect)
        for i in indexes
        if i.unique and i.where is None and all(p.is_column for p in i.parts)
    }
    return keys


def _view_order(views: Mapping[Key, View]) -> list[Key]:
    """Views in creation order: those a view mentions first, otherwise as given."""
    order, _ = _topo(
        list(views),
        lambda k: [
            r for r, v in views.items() if r != k and mentions(views[k].definition, v.name.name)
        ],
    )
    return order


def _topo(
    keys: list[Key], deps: Callable[[Key], Iterable[Key]]
) -> tuple[list[Key], set[tuple[Key, Key]]]:
    """`keys` with each one's dependencies (among `keys`) before it, otherwise in the given
    order; and the (key, dependency) edges a cycle forced the wrong way round.

    A cycle is broken at its key that comes first in the given order, so when the order is
    already a creation order (the target's dicts are) it is kept.
    """
    wanted = set(keys)
    needs = {k: {r for r in deps(k) if r in wanted and r != k} for k in keys}
    order: list[Key] = []
    done: set[Key] = set()
    backward: set[tuple[Key, Key]] = set()
    remaining = list(keys)
    while remaining:
        k = next((k for k in remaining if needs[k] <= done), remaining[0])
        backward |= {(k, r) for r in needs[k] - done}
        remaining.remove(k)
        done.add(k)
        order.append(k)
    return order, backward


@lru_cache(maxsize=1024)
def _unquote(name: str) -> str:
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] and name[0] in '`"':
        return name[1:-1]
    return name
