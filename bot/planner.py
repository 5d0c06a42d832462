"""From a repository and two commits (or a revert commit) to a `Plan`.

The seam between sources (git trees, formats, manifests) and the pure core (replay, down,
verdict). The bot's jobs and the CLI both call `plan_commit` / `plan_refs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import git
import yaml

from bot.core.down import Down, compute_down
from bot.core.model import Dialect
from bot.core.plan import CompanionFile, Plan, RevertSummary, SourcePlan
from bot.core.render import to_script
from bot.core.replay import Migration, ParseCache, replay
from bot.core.revert import detect_revert
from bot.core.verdict import HandwrittenDown, judge_downs
from bot.sources.discover import Discovery, discover
from bot.sources.formats import render_migration
from bot.sources.git import BlobCache, GitSnapshot, commit_info, recent_commits, resolve
from bot.sources.model import SchemaSource, SourceKind, VersionedMigration


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
) -> Plan:
    """The plan for a (revert) commit: from its parent, where the database is, to it."""
    sha = resolve(repo, commit)
    meta = commit_info(repo, sha)
    if not meta.parents:
        raise ValueError(f"commit {sha[:12]} has no parent: there is nothing to roll back from")
    candidates = recent_commits(repo, meta.parents[0], [c.path for c in meta.changed])
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
    plan = plan_refs(repo, meta.parents[0], sha, dialect=dialect, cache=cache, now=now)
    return Plan(plan.from_ref, plan.to_ref, summary, plan.sources, plan.problems)


def plan_refs(
    repo: git.Repo,
    from_ref: str,
    to_ref: str,
    *,
    dialect: Dialect | None = None,
    cache: PlanCache | None = None,
    now: datetime,
) -> Plan:
    """The plan taking a database at `from_ref`'s schema to `to_ref`'s."""
    cache = cache or PlanCache()
    newer = GitSnapshot(repo, resolve(repo, from_ref), cache.blobs)
    older = GitSnapshot(repo, resolve(repo, to_ref), cache.blobs)
    found_newer = discover(newer, dialect)
    found_older = discover(older, dialect)
    problems = list(dict.fromkeys(found_newer.problems + found_older.problems))
    plans = [
        _plan_source(a, b, newer, older.sha, cache, now)
        for a, b in _pairs(found_newer, found_older)
        if _touched(a, b)
    ]
    problems += [p for p in newer.problems + older.problems if p not in problems]
    return Plan(newer.sha, older.sha, None, tuple(plans), tuple(problems))


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
    return (a.migrations, a.schema_sql, a.dialect) != (b.migrations, b.schema_sql, b.dialect)


def _plan_source(
    newer: SchemaSource | None,
    older: SchemaSource | None,
    snapshot: GitSnapshot,
    target: str,
    cache: PlanCache,
    now: datetime,
) -> SourcePlan:
    src = newer or older
    assert src is not None
    problems = list(
        dict.fromkeys((newer.problems if newer else ()) + (older.problems if older else ()))
    )
    notes = tuple(dict.fromkeys((newer.notes if newer else ()) + (older.notes if older else ())))
    base = SourcePlan(
        src.kind.value,
        src.path,
        src.manifest,
        src.dialect.value if src.dialect else None,
        None,
        HandwrittenDown(False, None),
        name=src.name,
        notes=notes,
    )
    if src.dialect is None:
        problems.append(
            f"{src.path}: cannot tell which database this is; "
            "set its dialect in .rollback-plan.yml or pass --dialect"
        )
        return _with(base, problems=problems)
    if src.kind is SourceKind.ATLAS_SCHEMA or src.schema_sql is not None:
        return _declarative(base, newer, older, src.dialect, cache, problems)
    return _versioned(base, newer, older, src.dialect, snapshot, target, cache, now, problems)


def _declarative(
    base: SourcePlan,
    newer: SchemaSource | None,
    older: SchemaSource | None,
    dialect: Dialect,
    cache: PlanCache,
    problems: list[str],
) -> SourcePlan:
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
    return _with(base, down=down, problems=problems)


def _versioned(
    base: SourcePlan,
    newer: SchemaSource | None,
    older: SchemaSource | None,
    dialect: Dialect,
    snapshot: GitSnapshot,
    target: str,
    cache: PlanCache,
    now: datetime,
    problems: list[str],
) -> SourcePlan:
    new_migs = [m for m in (newer.migrations if newer else ()) if not m.repeatable]
    old_migs = [m for m in (older.migrations if older else ()) if not m.repeatable]
    keep = _common_prefix(new_migs, old_migs)
    undone = new_migs[keep:]
    forward = old_migs[keep:]
    prefix = replay([_mig(m) for m in new_migs[:keep]], dialect, cache=cache.parses)
    at_newer = replay([_mig(m) for m in undone], dialect, prefix.schema, cache.parses)
    at_older = replay([_mig(m) for m in forward], dialect, prefix.schema, cache.parses)
    down = compute_down(at_newer.schema, at_older.schema, at_newer.steps if not forward else None)
    unknown = tuple(dict.fromkeys(prefix.unmodelled + down.unmodelled + at_older.unmodelled))
    down = Down(down.changes, down.statements, down.method, unknown, down.note)
    handwritten = HandwrittenDown(False, None)
    if undone and not forward:
        downs = [
            Migration(m.down_path or m.up_path, m.down) if m.down is not None else None
            for m in reversed(undone)
        ]
        handwritten = judge_downs(at_newer.schema, at_older.schema, downs)
    files: tuple[CompanionFile, ...] = ()
    if newer is not None and older is not None and newer.format is not None and down.statements:
        files = _companion_files(older, undone, forward, down, snapshot, target, now, problems)
    return _with(
        base,
        down=down,
        handwritten=handwritten,
        files=files,
        undone=tuple(m.up_path for m in undone),
        problems=problems,
    )


def _companion_files(
    older: SchemaSource,
    undone: Sequence[VersionedMigration],
    forward: Sequence[VersionedMigration],
    down: Down,
    snapshot: GitSnapshot,
    target: str,
    now: datetime,
    problems: list[str],
) -> tuple[CompanionFile, ...]:
    """Re-add what the revert removed (the database has it applied), then a migration that
    takes the database back, in the directory's own format."""
    if forward:
        # Not a revert of the newest migrations: re-adding files would reorder history.
        problems.append(
            f"{older.path}: the target adds migrations the deployed state lacks; "
            "no compensating migration was generated"
        )
        return ()
    assert older.format is not None
    out: list[CompanionFile] = []
    readded = "re-added: the database has this migration applied"
    if older.kind is SourceKind.DIRECTORY:
        paths = sorted({p for m in undone for p in (m.up_path, m.down_path) if p})
        read = snapshot.read_text(paths)
        problems += read.problems
        out += [CompanionFile(p, read.texts[p], readded) for p in paths if p in read.texts]
    else:
        # Files held in a manifest (ConfigMap data): the parsed migration is the file.
        out += [CompanionFile(m.up_path, m.up, readded) for m in undone]
    prefix = _directory_prefix(older, undone)
    existing = [*older.migrations, *undone]
    dir_files = {f.path[len(prefix) :]: f.content for f in out}
    for m in older.migrations:
        dir_files.setdefault(m.up_path[len(prefix) :], m.up)
    name = f"rollback_{target[:7]}"
    reapply = "\n".join(m.up.strip() for m in undone)
    undoes = ", ".join(m.up_path.rsplit("/", 1)[-1] for m in undone)
    note = (
        f"takes the database back to the schema of "
        f"{target[:12]} (undoes {undoes})"
    )
    try:
        added = render_migration(
            older.format,
            existing,
            dir_files,
            name,
            to_script(list(down.statements)),
            reapply,
            now,
            note=note,
            dialect=older.dialect,
        )
    except ValueError as err:
        problems.append(f"{older.path}: cannot write a compensating migration: {err}")
        return tuple(out)
    for rel, content in added:
        reason = (
            "compensating migration: takes the database back" if rel.endswith(".sql") else "updated"
        )
        out.append(CompanionFile(prefix + rel, content, reason))
    if older.kind is SourceKind.ATLAS_MIGRATION and older.manifest:
        out = _into_configmap(older, out, snapshot, problems)
    return tuple(out)


def _directory_prefix(source: SchemaSource, undone: Sequence[VersionedMigration]) -> str:
    """Where the source's files live: its directory, or for a ConfigMap built from a
    directory (kustomize, Helm .Files) the directory the files come from."""
    if source.kind is SourceKind.DIRECTORY:
        return "" if source.path in {"", "."} else f"{source.path}/"
    paths = [m.up_path for m in (*source.migrations, *undone)]
    if paths and "#" not in paths[0]:
        return paths[0].rsplit("/", 1)[0] + "/" if "/" in paths[0] else ""
    return f"{source.path}/"


def _into_configmap(
    source: SchemaSource, files: list[CompanionFile], snapshot: GitSnapshot, problems: list[str]
) -> list[CompanionFile]:
    """An AtlasMigration's directory lives in a ConfigMap: the files go into its `data`."""
    manifest_path, _, ref = source.path.partition("#configmap/")
    read = snapshot.read_text([manifest_path])
    text = read.texts.get(manifest_path)
    if text is None:
        problems.append(f"{manifest_path}: cannot read the ConfigMap to update it")
        return files
    docs = list(yaml.safe_load_all(text))
    for doc in docs:
        if (
            isinstance(doc, dict)
            and doc.get("kind") == "ConfigMap"
            and (doc.get("metadata", {}).get("name") == ref)
        ):
            data = doc.setdefault("data", {})
            for f in files:
                data[f.path.rsplit("/", 1)[-1]] = f.content
            content = yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False)
            return [
                CompanionFile(
                    manifest_path,
                    content,
                    f"ConfigMap {ref}: migration files re-added and the compensating migration added",
                )
            ]
    problems.append(f"{manifest_path}: ConfigMap {ref} not found to update")
    return files


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
