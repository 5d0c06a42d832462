"""The companion change: the files that make git describe the database again after a
rollback (re-added migrations, the compensating migration, a restore script), in the
source's own format, written into its manifest when the migrations live in one."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

import yaml

from bot.core.plan import CompanionFile, SourcePlan
from bot.sources.atlas_sum import SUM_FILE, atlas_sum
from bot.sources.formats import DRIZZLE_JOURNAL, render_migration
from bot.sources.git import GitSnapshot
from bot.sources.model import Format, SchemaSource, SourceKind, VersionedMigration


def companion_files(
    older: SchemaSource,
    undone: Sequence[VersionedMigration],
    forward: Sequence[VersionedMigration],
    script: str,
    snapshot: GitSnapshot,
    target: str,
    now: datetime,
    problems: list[str],
    variant: bool = False,
    *,
    wrong_downs: bool = False,
) -> tuple[CompanionFile, ...]:
    """Re-add what the revert removed (the database has it applied), then a migration that
    takes the database back, in the directory's own format. `wrong_downs`: the plan judged
    the author's downs wrong, and the re-added files carrying them say so."""
    if forward:
        # Not a revert of the newest migrations: re-adding files would reorder history.
        edited = {m.up_path for m in undone} >= {m.up_path for m in forward}
        what = "edits migrations in place" if edited else "adds migrations the deployed state lacks"
        problems.append(f"{older.path}: the target {what}; no compensating migration was generated")
        return ()
    assert older.format is not None
    out: list[CompanionFile] = []
    readded = "re-added: the database has this migration applied"
    prefix = _directory_prefix(older, undone)
    # A ConfigMap generated from a directory (kustomize, Helm .Files): its files are real files.
    prefix_is_dir = all("#" not in m.up_path for m in undone) and older.path != older.manifest
    dir_files: dict[str, str] = {}
    deployed: dict[str, str] = {}
    if older.kind is SourceKind.DIRECTORY:
        # The deployed directory is the target's plus the undone migrations: the new
        # migration goes after it, and its sqitch.plan / atlas.sum already list them.
        read = snapshot.read_text(_directory_files(snapshot, prefix, older.format))
        problems += read.problems
        deployed = dict(read.texts)
        dir_files = {p[len(prefix) :]: t for p, t in read.texts.items()}
        paths = sorted({p for m in undone for p in _own_files(m, older, prefix)})
        downs = {m.down_path for m in undone if m.down_path and m.down is not None}
        downs |= {p for p in paths if p.startswith(prefix + "revert/")}  # sqitch
        out += [
            CompanionFile(p, read.texts[p], _WRONG_DOWN if wrong_downs and p in downs else readded)
            for p in paths
            if p in read.texts
        ]
    else:
        # Files held in a manifest (ConfigMap data): the parsed migration is the file.
        out += [CompanionFile(m.up_path, m.up, readded) for m in undone]
        for m in [*older.migrations, *undone]:
            dir_files[m.up_path[len(prefix) :]] = m.up
            if m.down is not None and m.down_path and m.down_path != m.up_path:
                dir_files[m.down_path[len(prefix) :]] = m.down
    in_manifest = older.kind in _IN_MANIFEST and bool(older.manifest) and not prefix_is_dir
    if not script.strip():
        # Nothing runs (the data-losing steps are kept): the reverted migrations stay applied,
        # so git gets them back as deployed, with the index listing them; adding an empty
        # migration instead would fail on MySQL ("Query was empty") and record nothing more.
        out += _index_files(older, prefix, dir_files, deployed)
        if in_manifest:
            out = _into_manifest(older, out, snapshot, problems, "migration files re-added")
        return tuple(out)
    existing = [*older.migrations, *undone]
    name = f"rollback_{target[:7]}"
    # Its own down re-applies the reverted change; after a data-preserving variant that is not
    # a plain re-apply (the kept column is still there), so then it ships without a down.
    reapply = None if variant else "\n".join(m.up.strip() for m in undone)
    undoes = ", ".join(short_name(m.up_path) for m in undone)
    note = f"takes the database back to the schema of {target[:12]} (undoes {undoes})"
    try:
        added = render_migration(
            older.format,
            existing,
            dir_files,
            name,
            script,
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
            "compensating migration: takes the database back"
            if rel.endswith((".sql", ".py"))
            else "updated"
        )
        out.append(CompanionFile(prefix + rel, content, reason))
    if in_manifest:
        out = _into_manifest(
            older,
            out,
            snapshot,
            problems,
            "migration files re-added and the compensating migration added",
        )
    return tuple(out)


_WRONG_DOWN = (
    "re-added: the database has this migration applied; its down, as the author wrote it, "
    "does not restore the previous schema (see the plan): fix it before anyone runs it"
)
# Sources whose migration files are the data of a manifest: the manifest is what changes.
_IN_MANIFEST = (SourceKind.ATLAS_MIGRATION, SourceKind.CONFIGMAP)
# Files listing a directory's migrations: the tool refuses a directory they don't match.
_INDEXES = (SUM_FILE, "sqitch.plan", DRIZZLE_JOURNAL)


def _index_files(
    source: SchemaSource, prefix: str, dir_files: dict[str, str], deployed: dict[str, str]
) -> list[CompanionFile]:
    """atlas.sum / sqitch.plan as they list the re-added migrations: the deployed commit's
    (a directory), or recomputed (files held in a manifest, which keep no sum)."""
    why = "restored as deployed: it lists the re-added migrations"
    if source.kind is SourceKind.DIRECTORY:
        return [
            CompanionFile(prefix + n, deployed[prefix + n], why)
            for n in _INDEXES
            if prefix + n in deployed
        ]
    if source.format is Format.ATLAS:
        return [CompanionFile(prefix + SUM_FILE, atlas_sum(dir_files), why)]
    return []


def _directory_files(snapshot: GitSnapshot, prefix: str, fmt: Format | None) -> list[str]:
    """The migration directory's own files (one folder level down: Diesel, sqitch, Alembic's
    versions/)."""
    ends = (".sql", *_INDEXES, *((".py",) if fmt is Format.ALEMBIC else ()))
    return [
        e.path
        for e in snapshot.entries()
        if e.path.startswith(prefix)
        and not e.symlink
        and e.path[len(prefix) :].count("/") <= 1
        and e.path.endswith(ends)
    ]


def _own_files(m: VersionedMigration, source: SchemaSource, prefix: str) -> list[str]:
    """The files a migration consists of: its up, its down and, for sqitch, its verify."""
    paths = [m.up_path, *([m.down_path] if m.down_path else [])]
    if source.format is Format.SQITCH and m.up_path.startswith(prefix + "deploy/"):
        paths.append(prefix + "verify/" + m.up_path[len(prefix + "deploy/") :])
    return paths


def _directory_prefix(source: SchemaSource, undone: Sequence[VersionedMigration]) -> str:
    """Where the source's files live: its directory, or for a ConfigMap built from a
    directory (kustomize, Helm .Files) the directory the files come from."""
    if source.kind is SourceKind.DIRECTORY:
        return "" if source.path in {"", "."} else f"{source.path}/"
    paths = [m.up_path for m in (*source.migrations, *undone)]
    if paths and "#" not in paths[0]:
        return paths[0].rsplit("/", 1)[0] + "/" if "/" in paths[0] else ""
    return f"{source.path}/"


def _into_manifest(
    source: SchemaSource,
    files: list[CompanionFile],
    snapshot: GitSnapshot,
    problems: list[str],
    done: str,
) -> list[CompanionFile]:
    """An AtlasMigration's directory lives in a manifest: a ConfigMap's `data`, or its own
    `spec.dir.local`. The files go there, and the manifest is the companion file."""
    manifest_path, _, ref = source.path.partition("#configmap/")
    read = snapshot.read_text([manifest_path])
    text = read.texts.get(manifest_path)
    what = f"ConfigMap {ref}" if ref else f"AtlasMigration {source.name}"
    if text is None:
        problems.append(f"{manifest_path}: cannot read the {what} to update it")
        return files
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        problems.append(f"{manifest_path}: not valid YAML; cannot update the {what}")
        return files
    for doc in docs:
        data = _manifest_dir(doc, ref, source.name)
        if data is None:
            continue
        for f in files:
            data[f.path.rsplit("/", 1)[-1]] = f.content
        content = yaml.dump_all(docs, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True)
        return [
            CompanionFile(
                manifest_path,
                content,
                f"{what}: {done}",
            )
        ]
    problems.append(f"{manifest_path}: {what} not found to update")
    return files


def _manifest_dir(doc: object, configmap: str, name: str | None) -> dict[str, object] | None:
    """The mapping holding the migration files in this YAML document, if it is the one."""
    if not isinstance(doc, dict):
        return None
    meta = doc.get("metadata")
    doc_name = meta.get("name") if isinstance(meta, dict) else None
    if configmap:
        if doc.get("kind") != "ConfigMap" or doc_name != configmap:
            return None
        data = doc.setdefault("data", {})
        return data if isinstance(data, dict) else None
    if doc.get("kind") != "AtlasMigration" or doc_name != name:
        return None
    spec = doc.get("spec")
    d = spec.get("dir") if isinstance(spec, dict) else None
    local = d.get("local") if isinstance(d, dict) else None
    return local if isinstance(local, dict) else None


class _BlockDumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no types
    """Multi-line strings as `|` blocks: the files stay readable in the manifest."""


def _str_block(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(c in value for c in "\t\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str_block)


def short_name(path: str) -> str:
    """A migration as people name it: its file, or its folder for Diesel's `<version>/up.sql`."""
    parts = path.split("/")
    folder_named = {"up.sql", "down.sql", "migration.sql"}  # Diesel, Prisma
    return "/".join(parts[-2:]) if parts[-1] in folder_named else parts[-1]


def restore_file(plan: SourcePlan, restore: tuple[str, ...], target: str) -> CompanionFile:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", plan.name or plan.path).strip("-") or "schema"
    header = (
        f"-- Restore script from rollback-plan for {plan.path}: run it after the reverted change\n"
        f"-- is applied again, to bring back the data the rollback archived or set aside.\n"
    )
    return CompanionFile(
        f".rollback-plan/restore/{target[:12]}-{slug}.sql",
        header + "".join(f"{sql};\n" for sql in restore),
        "restore script: brings the archived data back when the change is re-applied",
    )
