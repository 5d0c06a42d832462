"""From a repository and two commits (or a revert commit) to a `Plan`.

The seam between sources (git trees, formats, manifests) and the pure core (replay, down,
verdict). The bot's jobs and the CLI both call `plan_commit` / `plan_refs`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import git

from bot.core.author_down import HandwrittenDown, judge_downs
from bot.core.changes import AddColumn, CreateTable, DropTable, RenameTable
from bot.core.column_order import columns_at_end
from bot.core.down import Down, compute_down
from bot.core.model import Dialect, Schema
from bot.core.plan import CompanionFile, Direction, LiveFacts, Plan, RevertSummary, SourcePlan
from bot.core.render import to_script
from bot.core.render.session import KIND as SESSION
from bot.core.render.sqlite import inside_transaction, rebuilt_tables
from bot.core.replay import Allow, Migration, ParseCache, Unmodelled, replay
from bot.core.revert import detect_revert
from bot.core.risk import Finding, Policy, Verdict
from bot.core.risk.analyse import policy_from_config
from bot.engines.engine_state import engine_checked
from bot.planner.companion import companion_files, restore_file, short_name
from bot.planner.django import django_sql
from bot.planner.gate import gate, judge_author_down, live_url, prove
from bot.sources.alembic import materialize, off_problem
from bot.sources.config import EngineConfig, RepoConfig
from bot.sources.discover import Discovery, discover
from bot.sources.git import (
    BlobCache,
    GitSnapshot,
    RepoError,
    commit_info,
    recent_commits,
    resolve,
)
from bot.sources.manifests import MigrationJob
from bot.sources.model import Format, SchemaSource, SourceKind, VersionedMigration
from bot.sources.pyrunner import Sandbox


@dataclass(frozen=True)
class PlanOptions:
    """How far to go beyond computing the plan."""

    dialect: Dialect | None = None  # overrides every source's dialect
    verify: bool = True  # prove what ships on a scratch engine (never a configured database)
    postgres: bool = True  # allow the embedded PostgreSQL for --verify
    mysql_url: str | None = None  # a scratch MySQL/MariaDB server for --verify
    env: Mapping[str, str] = field(default_factory=dict)  # where live database URLs are read
    exact_column_order: bool = False  # SQLite: rebuild a table to put a column back in place
    # Run the repository's own code where a tool needs it for the SQL (Alembic's env.py in
    # offline mode, Django's sqlmigrate): off unless the caller's configuration allows it.
    run_repo_code: bool = False
    python: str | None = None  # the interpreter for it; default: the one running rollback-plan
    repo_code_timeout: float = 600.0  # Django: both commits' whole migration history
    # Django: the only variables the repository's code sees beyond PATH and the locale
    repo_code_env: Mapping[str, str] = field(default_factory=dict)


@dataclass
class PlanCache:
    """Kept between plans of the same repository: blobs by sha, parsed files by content."""

    blobs: BlobCache = field(default_factory=BlobCache)
    parses: ParseCache = field(default_factory=ParseCache)


def plan_commit(
    repo: git.Repo,
    commit: str,
    *,
    dialect: Dialect | None = None,
    cache: PlanCache | None = None,
    now: datetime,
    options: PlanOptions | None = None,
) -> Plan:
    """The plan for a (revert) commit: from its parent, where the database is, to it."""
    sha = resolve(repo, commit)
    meta = commit_info(repo, sha)
    if not meta.parents:
        raise ValueError(f"commit {sha[:12]} has no parent: there is nothing to roll back from")
    # Ancestors of the commit itself: its parent is often the very commit it reverts.
    history_problem = None
    try:
        candidates = recent_commits(repo, sha, [c.path for c in meta.changed])
    except RepoError as err:
        # a partial clone (blobs filtered out) can't show old diffs: the message still counts
        candidates = []
        history_problem = f"{err}; the earlier commits were not searched for the reverted one"
    info = detect_revert(meta, candidates=candidates)
    summary = None
    if info is not None:
        summary = RevertSummary(
            info.commit,
            tuple(info.reverts),
            info.detected_by.value,
            info.reapply,
            info.subject,
        )
    plan = _plan_between(
        repo, meta.parents[0], sha, dialect=dialect, cache=cache, now=now, options=options
    )
    warnings: list[str] = []
    applies = _paths(plan, "applies")
    if info is None and plan.direction is not Direction.ROLLBACK:
        warnings.append(
            f"{sha[:12]} is not a revert: this plan applies its change to the database at its "
            f"parent ({applies}), it rolls nothing back. To plan rolling it back, plan from "
            f"{sha[:12]} to its parent (--from {sha[:12]} --to {sha[:12]}~1)."
        )
    elif info is not None and not info.reapply and plan.direction is not Direction.ROLLBACK:
        warnings.append(
            f"{sha[:12]} looks like a revert but adds migrations ({applies}): this plan "
            "applies them; check that this is the rollback you meant."
        )
    problems = (*plan.problems, history_problem) if history_problem else plan.problems
    return replace(plan, revert=summary, warnings=tuple(warnings), problems=problems)


def plan_refs(
    repo: git.Repo,
    from_ref: str,
    to_ref: str,
    *,
    dialect: Dialect | None = None,
    cache: PlanCache | None = None,
    now: datetime,
    options: PlanOptions | None = None,
    shown_to: str | None = None,
) -> Plan:
    """The plan taking a database at `from_ref`'s schema to `to_ref`'s; it warns when that
    moves forward through the migrations (the refs look swapped). `shown_to` is the commit
    the plan names as `to_ref` when that is one only this clone has (a merge preview)."""
    plan = _plan_between(
        repo, from_ref, to_ref, dialect=dialect, cache=cache, now=now, options=options
    )
    if shown_to is not None:
        plan = replace(plan, to_ref=shown_to)
    if plan.direction is Direction.ROLLBACK:
        return plan
    moves = (
        f"applies {_paths(plan, 'applies')}"
        if plan.direction is Direction.FORWARD
        else f"undoes {_paths(plan, 'undone')} and applies {_paths(plan, 'applies')}"
    )
    warning = (
        f"This is not a plain rollback: going from {plan.from_ref[:12]} (deployed) to "
        f"{plan.to_ref[:12]} {moves}, migrations the deployed state lacks. If "
        f"{plan.to_ref[:12]} is the newer state, --from and --to are swapped."
    )
    return replace(plan, warnings=(*plan.warnings, warning))


def _paths(plan: Plan, field: str) -> str:
    paths = [p for s in plan.sources for p in getattr(s, field)]
    shown = ", ".join(short_name(p) for p in paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _direction(sources: Sequence[SourcePlan]) -> Direction:
    undoes = any(s.undone for s in sources)
    applies = any(s.applies for s in sources)
    if applies:
        return Direction.MIXED if undoes else Direction.FORWARD
    return Direction.ROLLBACK


def _plan_between(
    repo: git.Repo,
    from_ref: str,
    to_ref: str,
    *,
    dialect: Dialect | None = None,
    cache: PlanCache | None = None,
    now: datetime,
    options: PlanOptions | None = None,
    follow_jobs: bool = True,
) -> Plan:
    cache = cache or PlanCache()
    options = options or PlanOptions(dialect=dialect)
    dialect = dialect or options.dialect
    newer = GitSnapshot(repo, resolve(repo, from_ref), cache.blobs)
    older = GitSnapshot(repo, resolve(repo, to_ref), cache.blobs)
    found_newer = discover(newer, dialect)
    found_older = discover(older, dialect)
    problems = list(dict.fromkeys(found_newer.problems + found_older.problems))
    # The deployed commit's config decides the policy: a revert can't loosen its own gate.
    run = _Run(newer, older.sha, cache, now, options, found_newer.config, problems)
    plans: list[SourcePlan] = []
    for a, b in _pairs(found_newer, found_older):
        if not (_touched(a, b) or _job_changed(a, b, newer, older)):
            continue
        src = a or b
        if src is not None and src.format is Format.ALEMBIC:
            plans.append(_alembic(repo, a, b, run))
        elif follow_jobs and src is not None and src.kind is SourceKind.MIGRATION_JOB:
            plans += _job_plans(repo, a, b, found_newer, found_older, run)
        elif src is not None and src.format is Format.DJANGO:
            a, b, generated = django_sql(
                repo,
                a,
                b,
                (newer.sha, older.sha),
                run_code=options.run_repo_code,
                python=options.python,
                timeout=options.repo_code_timeout,
                env=options.repo_code_env,
            )
            plans.append(_plan_source(a, b, run, unplanned=not generated))
        else:
            plans.append(_plan_source(a, b, run))
    problems += [p for p in newer.problems + older.problems if p not in problems]
    return Plan(
        newer.sha, older.sha, None, tuple(plans), tuple(problems), direction=_direction(plans)
    )


def _alembic(
    repo: git.Repo, a: SchemaSource | None, b: SchemaSource | None, run: _Run
) -> SourcePlan:
    """An Alembic source is planned from the SQL its offline mode prints, when running the
    repository's code is allowed; otherwise the plan says what it would take."""
    src = a or b
    assert src is not None
    dialect = src.dialect or (b.dialect if b else None)
    if not run.options.run_repo_code:
        moves = _moves(list(a.migrations) if a else [], list(b.migrations) if b else [])
        off = off_problem(src, [short_name(m.up_path) for m in moves.removed])
        return _plan_source(*_said(a, b, (off,)), run, unplanned=True)
    if dialect is None:
        return _plan_source(a, b, run, unplanned=True)
    sandbox = Sandbox(python=run.options.python or Sandbox().python)
    a, b, problem = materialize(repo, (run.snapshot.sha, a), (run.target, b), dialect, sandbox)
    if problem is not None:
        return _plan_source(*_said(a, b, (problem,)), run, unplanned=True)
    return _plan_source(a, b, run)


def _said(
    a: SchemaSource | None, b: SchemaSource | None, problems: tuple[str, ...]
) -> tuple[SchemaSource | None, SchemaSource | None]:
    side = a if a is not None else b
    assert side is not None
    side = replace(side, problems=(*side.problems, *problems))
    return (side, b) if a is not None else (None, side)


def _job_plans(
    repo: git.Repo,
    a: SchemaSource | None,
    b: SchemaSource | None,
    deployed: Discovery,
    target: Discovery,
    run: _Run,
) -> list[SourcePlan]:
    """A migration Job runs the migrations inside its image: when the revert changes the
    image tag and the config maps tags to git refs, plan the migration directories between
    those refs."""
    src = a or b
    assert src is not None
    job_new = _job_of(deployed, src)
    job_old = _job_of(target, src)
    fallback = _plan_source(a, b, run)
    if job_new is None or job_old is None:
        return [fallback]
    if job_new.tag is None or job_old.tag is None:
        return [
            _with(
                fallback,
                problems=[
                    *fallback.problems,
                    f"{src.path}: image tag of Job {src.name} is not literal; cannot tell which migrations run",
                ],
            )
        ]
    if job_new.tag == job_old.tag:
        return []
    refs = []
    for job in (job_new, job_old):
        ref = run.config.ref_for_tag(job.image, job.tag or "")
        if ref is None:
            return [
                _with(
                    fallback,
                    problems=[
                        *fallback.problems,
                        f"{src.path}: no `tags:` rule in {run.config.path} maps "
                        f"{job.image}:{job.tag} to a git ref; cannot tell which migrations run",
                    ],
                )
            ]
        refs.append(ref)
    try:
        sub = _plan_between(
            repo,
            refs[0],
            refs[1],
            cache=run.cache,
            now=run.now,
            options=replace(run.options, dialect=run.options.dialect or job_new.dialect),
            follow_jobs=False,
        )
    except (ValueError, git.GitError) as err:
        return [_with(fallback, problems=[*fallback.problems, f"{src.path}: {err}"])]
    note = (
        f"run by {job_new.kind} {job_new.name} in {src.path}: image tag {job_new.tag} -> "
        f"{job_old.tag}; migrations read at {refs[0]} and {refs[1]}. They ship in the image, "
        "so the companion change adds no files: build the image that runs the compensating "
        "migration."
    )
    run.problems.extend(p for p in sub.problems if p not in run.problems)
    return [
        replace(p, notes=(*p.notes, note), files=(), manifest=src.path)
        for p in sub.sources
        if p.kind == SourceKind.DIRECTORY.value
    ] or [fallback]


def _job_of(found: Discovery, src: SchemaSource) -> MigrationJob | None:
    return next((j for j in found.jobs if j.manifest == src.path and j.name == src.name), None)


def _pairs(
    newer: Discovery, older: Discovery
) -> list[tuple[SchemaSource | None, SchemaSource | None]]:
    by_key = {s.key: s for s in older.sources}
    pairs: list[tuple[SchemaSource | None, SchemaSource | None]] = [
        (s, by_key.pop(s.key, None)) for s in newer.sources
    ]
    pairs += [(None, s) for s in by_key.values()]
    return pairs


def _touched(a: SchemaSource | None, b: SchemaSource | None) -> bool:
    if a is None or b is None:
        return True
    # problems count: files the source could not read that changed (a migration added outside
    # a Drizzle journal) are a change nobody planned, not "nothing to roll back"
    return (a.migrations, a.schema_sql, a.dialect, a.problems) != (
        b.migrations,
        b.schema_sql,
        b.dialect,
        b.problems,
    )


def _job_changed(
    a: SchemaSource | None, b: SchemaSource | None, newer: GitSnapshot, older: GitSnapshot
) -> bool:
    """A migration Job carries no SQL: it matters when its manifest changed."""
    if a is None or b is None or a.kind is not SourceKind.MIGRATION_JOB:
        return False
    x, y = newer.entry(a.path), older.entry(b.path)
    return (x.sha if x else None) != (y.sha if y else None)


@dataclass
class _Run:
    snapshot: GitSnapshot  # the deployed commit
    target: str  # the commit to go back to
    cache: PlanCache
    now: datetime
    options: PlanOptions
    config: RepoConfig
    problems: list[str]


def _plan_source(
    newer: SchemaSource | None, older: SchemaSource | None, run: _Run, *, unplanned: bool = False
) -> SourcePlan:
    """`unplanned`: its SQL is unknown (Alembic or Django not run): say what moves, compute
    nothing."""
    src = newer or older
    assert src is not None
    problems = list(
        dict.fromkeys((newer.problems if newer else ()) + (older.problems if older else ()))
    )
    notes = tuple(dict.fromkeys((newer.notes if newer else ()) + (older.notes if older else ())))
    # the deployed side's dialect; when only the target's SQL tells it, that one
    if src.dialect is None and older is not None and older.dialect is not None:
        src = replace(src, dialect=older.dialect, dialect_from=older.dialect_from)
    base = SourcePlan(
        src.kind.value,
        src.path,
        src.manifest,
        src.dialect,
        None,
        HandwrittenDown(False, None),
        name=src.name,
        notes=notes,
        dialect_from=src.dialect_from.value if src.dialect_from else None,
    )
    if src.kind is SourceKind.MIGRATION_JOB:
        # Which migrations run depends on the image; reading them at the tag's git ref
        # (config `tags:`) is not done yet, so say so instead of planning nothing.
        problems.append(
            f"{src.path}: migration Job {src.name or ''} changed; the migrations it runs come "
            "from its image, which this plan does not read: check them by hand"
        )
        return _with(base, problems=problems)
    if src.dialect is None or unplanned:
        if src.dialect is None and not any("does not plan" in p for p in problems):
            problems.append(
                f"{src.path}: cannot tell which database this is; "
                "set its dialect in .rollback-plan.yml or pass --dialect"
            )
        # which way it moves is known without the dialect: a forward plan still says so
        moves = _moves(
            [m for m in (newer.migrations if newer else ()) if not m.repeatable],
            [m for m in (older.migrations if older else ()) if not m.repeatable],
        )
        return _with(
            base,
            problems=problems,
            undone=tuple(m.up_path for m in moves.removed),
            applies=tuple(m.up_path for m in moves.added if m.up_path not in moves.edited),
        )
    if src.kind is SourceKind.ATLAS_SCHEMA or src.schema_sql is not None:
        return _declarative(base, newer, older, src.dialect, run, problems)
    return _versioned(base, newer, older, src.dialect, run, problems)


def _declarative(
    base: SourcePlan,
    newer: SchemaSource | None,
    older: SchemaSource | None,
    dialect: Dialect,
    run: _Run,
    problems: list[str],
) -> SourcePlan:
    cache = run.cache
    a = replay(
        [Migration(base.manifest or base.path, newer.schema_sql or "")] if newer else [],
        dialect,
        cache=cache.parses,
    )
    b = replay(
        [Migration(base.manifest or base.path, older.schema_sql or "")] if older else [],
        dialect,
        cache=cache.parses,
    )
    down = compute_down(a.schema, b.schema)
    unknown = tuple(dict.fromkeys(a.unmodelled + b.unmodelled + down.unmodelled))
    down = Down(down.changes, down.statements, down.method, unknown, None)
    plan = _with(base, down=down, problems=problems)
    plan = _gate(plan, a.schema, [], run)
    if run.options.verify:
        plan = prove(
            plan,
            [newer.schema_sql or ""] if newer else [],
            [older.schema_sql or ""] if older else [],
            mysql_url=run.options.mysql_url,
            postgres=run.options.postgres,
            deployed=a.schema,
            target=b.schema,
            engine=_engine_config(run, plan),
        )
    return plan


def _versioned(
    base: SourcePlan,
    newer: SchemaSource | None,
    older: SchemaSource | None,
    dialect: Dialect,
    run: _Run,
    problems: list[str],
) -> SourcePlan:
    cache, snapshot, target, now = run.cache, run.snapshot, run.target, run.now
    new_migs = [m for m in (newer.migrations if newer else ()) if not m.repeatable]
    old_migs = [m for m in (older.migrations if older else ()) if not m.repeatable]
    moves = _moves(new_migs, old_migs)
    keep, undone, forward, edited = moves.keep, moves.removed, moves.added, moves.edited
    prefix = replay([_mig(m) for m in new_migs[:keep]], dialect, cache=cache.parses)
    at_newer = replay([_mig(m) for m in new_migs[keep:]], dialect, prefix.schema, cache.parses)
    at_older = replay([_mig(m) for m in old_migs[keep:]], dialect, prefix.schema, cache.parses)
    # only the removed migrations are inverted: later ones that stay are not undone
    removed = {m.up_path for m in undone}
    steps = [st for st in at_newer.steps if st.path in removed]
    down = compute_down(at_newer.schema, at_older.schema, steps if not forward else None)
    unknown = tuple(dict.fromkeys(prefix.unmodelled + down.unmodelled + at_older.unmodelled))
    checked = engine_checked(
        Down(down.changes, down.statements, down.method, unknown, down.note),
        [_mig(m) for m in new_migs],
        [_mig(m) for m in old_migs],
        dialect,
        undone=[m.up_path for m in undone],
        postgres=run.options.postgres,
        mysql_url=run.options.mysql_url,
    )
    down = checked.down
    at_end: tuple[str, ...] = ()
    exact = run.options.exact_column_order or run.config.column_order == "exact"
    if not exact:
        down, at_end = columns_at_end(down, at_newer.schema)
    handwritten = HandwrittenDown(False, None)
    if undone and not forward:
        downs = [
            Migration(m.down_path or m.up_path, m.down) if m.down is not None else None
            for m in reversed(undone)
        ]
        handwritten = judge_downs(at_newer.schema, at_older.schema, downs)
    plan = _with(
        base,
        down=down,
        handwritten=handwritten,
        undone=tuple(m.up_path for m in undone),
        applies=tuple(m.up_path for m in forward if m.up_path not in edited),
        problems=problems,
        notes=(
            *base.notes,
            *(f"{p}: {_EDITED}" for p in sorted(edited)),
            *([_later(moves)] if moves.stay else []),
        ),
        # in a rollback (edits included) what the down creates existed before: empty now
        comes_back_empty=(
            _recreated(down, dialect)
            if undone and all(m.up_path in edited for m in forward)
            else ()
        ),
        columns_at_end=at_end,
    )
    plan, start = _live(plan, at_newer.schema, run, [m.up for m in new_migs])
    # where the engine corrected the model, the down applies to the engine's state
    start = checked.newer if checked.newer and start is at_newer.schema else start
    plan = _gate(plan, start, [a for st in at_newer.steps for a in st.allows], run)
    if dialect is Dialect.SQLITE and older is not None:
        from bot.engines.shipped import runs_in_transaction

        if runs_in_transaction(older.format, ()):
            engine = _engine_config(run, plan, older.format)
            keys_off = engine is not None and engine.foreign_keys is False
            plan = _inside_transaction(plan, () if keys_off else (start, at_older.schema))
    # A refused plan's companion change carries the way back that keeps the data.
    variant = plan.safe_variant if plan.verdict is Verdict.REFUSED else None
    script = (
        "".join(f"{sql};\n" for sql in variant.statements)
        if variant
        else to_script(list(plan.down.statements if plan.down else ()))
    )
    problems = list(plan.problems)
    files: tuple[CompanionFile, ...] = ()
    if newer is not None and older is not None and newer.format is not None and (script or variant):
        files = companion_files(
            older,
            undone,
            forward,
            script,
            snapshot,
            target,
            now,
            problems,
            variant is not None,
            wrong_downs=plan.handwritten.restores is False,
        )
        if variant and variant.restore:
            files += (restore_file(plan, variant.restore, target),)
    plan = _with(plan, files=files, problems=problems)
    if run.options.verify:
        plan = prove(
            plan,
            [m.up for m in new_migs],
            [m.up for m in old_migs],
            mysql_url=run.options.mysql_url,
            postgres=run.options.postgres,
            deployed=start,
            target=checked.older or at_older.schema,
            steps=at_newer.steps,
            engine=_engine_config(run, plan, older.format if older else None),
            tool=older.format if older is not None else None,
        )
        if handwritten.present:
            plan = judge_author_down(
                plan,
                [m.up for m in new_migs],
                [m.down for m in reversed(undone) if m.down is not None],
                [m.up for m in old_migs],
                mysql_url=run.options.mysql_url,
                postgres=run.options.postgres,
                deployed=start,
                target=at_older.schema,
                steps=at_newer.steps,
                engine=_engine_config(run, plan, older.format if older else None),
                tool=older.format if older is not None else None,
                exact_column_order=exact,
            )
    return plan


def _inside_transaction(plan: SourcePlan, schemas: Sequence[Schema] = ()) -> SourcePlan:
    """SQLite rebuilds without their own BEGIN/COMMIT: the tool runs the file in a transaction.

    There, PRAGMA foreign_keys=OFF does nothing: with foreign keys on (`schemas` given), a
    rebuild's DROP TABLE of a table others reference deletes or nulls their rows, or fails.
    """
    down = plan.down
    assessment = plan.assessment
    if down is not None:
        kept = tuple(s for s in down.statements if inside_transaction([s.sql]))
        gaps = tuple(
            _parent_rebuilt(name, children)
            for name in dict.fromkeys(rebuilt_tables(s.sql for s in kept))
            if (children := _children(name, schemas))
        )
        if assessment is not None and assessment.shipped:
            # the findings read from the SQL name statements by position (after the session
            # preamble): without the rebuilds' own BEGIN/PRAGMA they sit further up
            staying = {id(s) for s in kept}
            assessment = replace(assessment, shipped=_moved(assessment.shipped, down, staying))
        down = replace(down, statements=kept, unmodelled=down.unmodelled + gaps)
    variant = plan.safe_variant
    if variant is not None:
        variant = replace(variant, statements=tuple(inside_transaction(variant.statements)))
    return replace(plan, down=down, safe_variant=variant, assessment=assessment)


def _moved(
    shipped: tuple[tuple[int, Finding], ...], down: Down, staying: set[int]
) -> tuple[tuple[int, Finding], ...]:
    """`shipped`'s statement positions once the statements not `staying` (by id) are gone."""
    now: list[int] = []
    n = 0
    for s in (s for s in down.statements if s.change != SESSION):
        now.append(n)
        n += id(s) in staying
    return tuple((now[i] if i < len(now) else i, f) for i, f in shipped)


def _children(name: str, schemas: Sequence[Schema]) -> list[str]:
    """Tables with a foreign key to `name`, in any of `schemas`; `name` itself only when its
    own key is ON DELETE RESTRICT: the DROP's implicit delete checks that one row by row, so
    a row pointing at another row stops it (other actions are checked when it ends)."""
    found = {
        str(t.name): None
        for schema in schemas
        for t in schema.tables.values()
        for fk in t.foreign_keys
        if fk.ref_table.name.lower() == name.lower()
        and (t.name.name.lower() != name.lower() or (fk.on_delete or "").upper() == "RESTRICT")
    }
    return sorted(found)


def _parent_rebuilt(name: str, children: Sequence[str]) -> Unmodelled:
    others = [c for c in children if c.lower() != name.lower()]
    who = f"which {', '.join(others)} reference by foreign key" if others else ""
    if len(others) < len(children):
        own = "whose own foreign key is ON DELETE RESTRICT (a row pointing at another row)"
        who = f"{who} and {own}" if who else own
    return Unmodelled(
        "",
        0,
        "",
        f"the down rebuilds {name}, {who}, inside"
        " the transaction the migration tool runs the file in, where PRAGMA foreign_keys=OFF"
        f" does nothing: with foreign keys on, its DROP TABLE deletes (ON DELETE CASCADE) or"
        f" nulls the rows that reference {name}, or fails. Run the down outside a transaction"
        " with foreign keys off, or set `engine: {foreign_keys: false}` for this source if"
        " the tool runs with them off",
    )


def _engine_config(run: _Run, plan: SourcePlan, tool: Format | None = None) -> EngineConfig | None:
    """The engine settings the source's migration tool uses (`sources[].engine`)."""
    own = next((s for s in run.config.sources if s.path == plan.path), None)
    engine = own.engine if own is not None else None
    if tool is Format.DJANGO and (engine is None or engine.foreign_keys is None):
        # Django's SQLite schema editor turns foreign keys off around each migration (and
        # checks them after), so a table rebuild in one is run the same way here
        engine = replace(engine or EngineConfig(), foreign_keys=False)
    return engine


def _gate(plan: SourcePlan, before: Schema, allows: list[Allow], run: _Run) -> SourcePlan:
    """Risks and verdict under the deployed config's policy (repo-wide, then the source's)."""
    # A broken policy never loosens the gate: the last valid layer stays, and we say why.
    try:
        policy = policy_from_config(run.config.policy)
    except ValueError as err:
        run.problems.append(f"{run.config.path}: {err}; the default policy was used")
        policy = Policy()
    own = next((s for s in run.config.sources if s.path == plan.path), None)
    if own is not None and own.policy:
        try:
            policy = policy_from_config(
                own.policy, base=policy, where=f"sources[{plan.path}].policy"
            )
        except ValueError as err:
            run.problems.append(
                f"{run.config.path}: {err}; the repository's policy was used for {plan.path}"
            )
    return gate(plan, before, policy=policy, allows=allows, label=run.target[:8])


def _live(
    plan: SourcePlan, expected: Schema, run: _Run, history: Sequence[str] = ()
) -> tuple[SourcePlan, Schema]:
    """Opt-in, read-only facts from the source's configured database; with drift, the plan
    starts from the live schema instead of the history's. Returns the schema it starts from."""
    url, problem = live_url(plan, run.config.databases, run.options.env)
    if problem:
        return replace(plan, live=LiveFacts(problems=(problem,))), expected
    if url is None or plan.down is None or plan.dialect is None:
        return plan, expected
    from bot.live import inspect_live
    from bot.live.plan import down_from_live

    report = inspect_live(plan.dialect, url, plan.down.changes, expected, history=history or None)
    facts = LiveFacts(
        tuple((a.object, a.count, a.message) for a in report.at_risk),
        tuple(report.drift),
        False,
        tuple(report.problems),
    )
    if report.drift and report.live_schema_sql:
        live = replay([Migration("live database", report.live_schema_sql)], plan.dialect)
        if not live.unmodelled:
            down = down_from_live(live.schema, expected, plan.down)
            facts = replace(facts, planned_from_live=True)
            return replace(plan, down=down, live=facts), live.schema
    return replace(plan, live=facts), expected


@dataclass(frozen=True)
class _Moves:
    """How two migration lists differ after their common prefix."""

    keep: int  # length of the common prefix
    removed: tuple[VersionedMigration, ...]  # only on the deployed side: undone
    added: tuple[VersionedMigration, ...]  # only on the target side: applied
    stay: tuple[VersionedMigration, ...]  # after the prefix, identical on both sides
    edited: frozenset[str]  # paths on both sides with other content


def _moves(new: Sequence[VersionedMigration], old: Sequence[VersionedMigration]) -> _Moves:
    """A revert may remove a migration that is not the newest (later ones stay): those are
    matched by path and content, so they are neither undone nor applied."""
    keep = _common_prefix(new, old)
    both = {(m.up_path, m.up) for m in new[keep:]} & {(m.up_path, m.up) for m in old[keep:]}
    removed = tuple(m for m in new[keep:] if (m.up_path, m.up) not in both)
    added = tuple(m for m in old[keep:] if (m.up_path, m.up) not in both)
    stay = tuple(m for m in old[keep:] if (m.up_path, m.up) in both)
    edited = frozenset({m.up_path for m in removed} & {m.up_path for m in added})
    return _Moves(keep, removed, added, stay, edited)


def _later(moves: _Moves) -> str:
    names = ", ".join(short_name(m.up_path) for m in moves.stay[:3])
    more = f" and {len(moves.stay) - 3} more" if len(moves.stay) > 3 else ""
    return (
        f"later migrations stay applied ({names}{more}): only the removed ones are undone, "
        "and the plan is checked against the schema with the later ones in place"
    )


_EDITED = (
    "edited in place between the two commits: the database has the deployed version applied, "
    "and the plan goes from its schema to the edited version's; tools that record applied "
    "versions will not run the edited file again"
)


def _recreated(down: Down, dialect: Dialect) -> tuple[str, ...]:
    """Tables and columns a rollback creates: the reverted change dropped them, and their
    values went with them; the down brings back the structure only."""
    out = []
    # SQLite renders a swap (rename the table away, re-create it, drop the renamed one) as
    # its row-keeping rebuild: Django's and Prisma's rebuilds inverted
    gone = {str(c.table.name) for c in down.changes if isinstance(c, DropTable)}
    swapped = {
        str(c.old) for c in down.changes if isinstance(c, RenameTable) and str(c.new) in gone
    }
    for change in down.changes:
        if isinstance(change, CreateTable):
            name = str(change.table.name)
            if not (dialect is Dialect.SQLITE and name in swapped):
                out.append(name)
        elif isinstance(change, AddColumn):
            out.append(f"{change.table}.{change.column.name}")
    return tuple(out)


def _common_prefix(a: Sequence[VersionedMigration], b: Sequence[VersionedMigration]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if (x.version, x.up) != (y.version, y.up):
            break
        n += 1
    return n


def _mig(m: VersionedMigration) -> Migration:
    return Migration(m.up_path, m.up)


def _with(base: SourcePlan, *, problems: list[str], **changes: object) -> SourcePlan:
    return replace(base, problems=tuple(dict.fromkeys(problems)), **changes)  # type: ignore[arg-type]
