"""Find the schema sources of a repository tree: configured ones, or detected.

Reads blobs in a few batches; decides nothing about plans. Everything it could not read is
returned as a problem ("path: why"), and the rest is still found.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from posixpath import basename, dirname

from bot.core.model import Dialect
from bot.sources.alembic import discover_alembic
from bot.sources.config import CONFIG_PATH, ConfigError, RepoConfig, load_config
from bot.sources.formats import (
    DRIZZLE_JOURNAL,
    PRISMA_LOCK,
    Note,
    detect_format,
    parse_migrations,
    tool_dialect,
)
from bot.sources.git import GitSnapshot
from bot.sources.manifests import MigrationJob, scan_manifests
from bot.sources.model import DialectFrom, FileEntry, Format, SchemaSource, SourceKind

MANIFEST_MAX_BYTES = 1024 * 1024
_MANIFEST = re.compile(r"\.(ya?ml)$")
# A directory of plain *.sql files counts as migrations only when it says so by its name or
# numbers its files; otherwise every folder of test fixtures would be a "source".
_MIGRATIONS_DIR = re.compile(r"(?i)(migrat|schema|(^|/)db(/|$)|(^|/)sql(/|$)|ddl|changelog)")
_NUMBERED = re.compile(r"^\d")


@dataclass(frozen=True)
class Discovery:
    sources: tuple[SchemaSource, ...]
    config: RepoConfig
    problems: tuple[str, ...] = ()
    jobs: tuple[MigrationJob, ...] = ()  # migration Jobs and hooks found in manifests


def discover(snapshot: GitSnapshot, dialect: Dialect | None = None) -> Discovery:
    """The schema sources in `snapshot`, each with its dialect and how it was decided;
    `dialect` (--dialect) is for the sources the config, a manifest or the directory name
    leave open."""
    problems: list[str] = []
    config = RepoConfig()
    entries = {e.path: e for e in snapshot.entries()}
    if CONFIG_PATH in entries:
        read = snapshot.read_text([CONFIG_PATH])
        problems += read.problems
        try:
            config = load_config(read.texts.get(CONFIG_PATH, ""), CONFIG_PATH)
        except ConfigError as err:
            problems.append(str(err))
    symlinks = [p for p, e in entries.items() if e.symlink and p.endswith(".sql")]
    problems += [f"{p}: symbolic link, not followed" for p in symlinks]
    files = [p for p, e in entries.items() if not e.symlink]

    alembic = discover_alembic(snapshot, files, problems)
    if config.sources:
        dirs = {s.path: s for s in config.sources}
        envs = {s.path: s for s in alembic if s.path in dirs}
        sql_dirs = [p for p in dirs if p not in envs and dirs[p].format is not Format.ALEMBIC]
        problems += [
            f"{config.path}: sources: {p} is not an Alembic script directory (env.py and "
            "versions/*.py revisions)"
            for p in dirs
            if p not in envs and dirs[p].format is Format.ALEMBIC
        ]
        found = _directories(
            snapshot, files, sql_dirs, problems, forced={p: dirs[p].format for p in sql_dirs}
        )
        by_path = {s.path: s for s in found} | envs
        sources = []
        for path, conf in dirs.items():
            src = by_path.get(path)
            if src is None:
                if not any(f.startswith(path + "/") for f in files) and path not in entries:
                    problems.append(f"{config.path}: sources: {path} is not in the repository")
                continue
            sources.append(
                replace(
                    src,
                    dialect=conf.dialect or src.dialect,
                    dialect_from=DialectFrom.CONFIG if conf.dialect else src.dialect_from,
                    name=conf.name,
                )
            )
    else:
        candidates = _candidate_dirs(files)
        sources = _directories(snapshot, files, candidates, problems) + alembic
    manifests, manifest_problems, jobs = _manifests(snapshot, files, entries)
    if not config.sources:
        # A directory a manifest builds its ConfigMap from (kustomize, Helm .Files) is that
        # manifest's source, which knows the database; not a second, dialect-less one.
        covered = {
            dirname(m.up_path) for s in manifests for m in s.migrations if "#" not in m.up_path
        }
        sources = [s for s in sources if s.path not in covered]
    sources += [
        replace(s, dialect_from=DialectFrom.MANIFEST) if s.dialect else s for s in manifests
    ]
    problems += manifest_problems
    sources = [_decide_dialect(s, dialect) for s in sources]
    return Discovery(tuple(sources), config, tuple(dict.fromkeys(problems)), jobs)


def _candidate_dirs(files: Iterable[str]) -> list[str]:
    """Directories that may hold migrations, outermost form (Diesel/sqitch folders fold up)."""
    dirs: set[str] = set()
    for path in files:
        name = path.rsplit("/", 1)[-1]
        if name in {"atlas.sum", "sqitch.plan", PRISMA_LOCK}:
            dirs.add(dirname(path))
        elif name == "migration.sql" and _PRISMA_FOLDER.match(basename(dirname(path))):
            dirs.add(dirname(dirname(path)))  # Prisma: <dir>/<timestamp>_<name>/migration.sql
        elif path.endswith(".sql"):
            d = dirname(path)
            if name in {"up.sql", "down.sql"} and d:
                d = dirname(d)  # Diesel: <dir>/<version>_<name>/up.sql
            dirs.add(d)
    # sqitch keeps deploy/revert/verify below the plan: those are not sources of their own.
    plans = {d for d in dirs if f"{d}/sqitch.plan".lstrip("/") in set(files)}
    return sorted(
        d for d in dirs if not any(d.startswith(p + "/" if p else "") and d != p for p in plans)
    )


def _directories(
    snapshot: GitSnapshot,
    files: list[str],
    dirs: list[str],
    problems: list[str],
    forced: dict[str, Format | None] | None = None,
) -> list[SchemaSource]:
    under: dict[str, list[str]] = defaultdict(list)
    for path in files:
        for d in dirs:
            prefix = f"{d}/" if d else ""
            if path.startswith(prefix) and (
                path.endswith(".sql")
                or path.endswith(("atlas.sum", "sqitch.plan", PRISMA_LOCK, DRIZZLE_JOURNAL))
            ):
                rel = path[len(prefix) :]
                if rel.count("/") <= 1:  # the directory and one level below (Diesel, sqitch)
                    under[d].append(path)
    read = snapshot.read_text([p for paths in under.values() for p in paths])
    problems += read.problems
    sources = []
    for d, paths in sorted(under.items()):
        prefix = f"{d}/" if d else ""
        texts = {p[len(prefix) :]: read.texts[p] for p in paths if p in read.texts}
        fmt = (forced or {}).get(d) or detect_format(texts)
        if fmt is None:
            continue
        if forced is None and _is_sqlx(snapshot, files, d, fmt, texts):
            fmt = Format.SQLX
        if forced is None and fmt is Format.PLAIN and f"/{d}".endswith("/supabase/migrations"):
            fmt = Format.SUPABASE
        if (
            fmt is Format.PLAIN
            and forced is None
            and not (_MIGRATIONS_DIR.search(d) or all(_NUMBERED.match(n) for n in texts))
        ):
            continue
        migrations, bad = parse_migrations(fmt, texts, d)
        variants = sorted(n for n in texts if _PER_DATABASE.search(n))
        if fmt is Format.PLAIN and variants:
            bad = [
                *bad,
                f"{prefix}{variants[0]}: one file per database side by side (the mautrix "
                "dbutil layout): rollback-plan reads this directory as plain ordered files and "
                "replays all of them, so the plan mixes databases: check it by hand",
            ]
        if not migrations and not bad:
            continue
        dialect, tool_problem = tool_dialect(fmt, texts)
        if fmt is Format.SQLX:
            dialect = _sqlx_dialect(snapshot, files, d)
        sources.append(
            SchemaSource(
                SourceKind.DIRECTORY,
                d or ".",
                dialect,
                format=fmt,
                migrations=tuple(migrations),
                problems=(
                    *(p for p in bad if not isinstance(p, Note)),
                    *([f"{prefix}{tool_problem}"] if tool_problem else []),
                ),
                dialect_from=DialectFrom.TOOL if dialect else None,
                notes=(
                    *(str(p) for p in bad if isinstance(p, Note)),
                    *(n.format(d) for f, n in _TOOL_NOTES if f is fmt),
                    *(_prisma_scripts(files, prefix) if fmt is Format.PRISMA else ()),
                ),
            )
        )
    return sources


_SCRIPT = (".ts", ".js", ".mjs", ".cjs", ".py", ".sh")


def _prisma_scripts(files: list[str], prefix: str) -> tuple[str, ...]:
    """Scripts beside Prisma's migration.sql (a project's data migrations, such as a
    `migration.ts`): `prisma migrate deploy` never runs them, and neither does this plan."""
    scripts = [
        p
        for p in files
        if p.startswith(prefix) and p[len(prefix) :].count("/") == 1 and p.endswith(_SCRIPT)
    ]
    if not scripts:
        return ()
    more = f" and {len(scripts) - 1} more" if len(scripts) > 1 else ""
    return (
        f"{scripts[0]}{more}: scripts beside the Prisma migrations are not run by "
        "`prisma migrate deploy` and are not read by this plan; if your deploy runs them, "
        "undo what they did to the data by hand",
    )


def _cargo_files(files: list[str], d: str) -> list[str]:
    """Cargo.toml files of `d` and its parents, nearest first."""
    parts = d.split("/") if d else []
    cargo = ["/".join([*parts[:i], "Cargo.toml"]) for i in range(len(parts), -1, -1)]
    present = set(files)
    return [c for c in cargo if c in present]


def _sqlx_dialect(snapshot: GitSnapshot, files: list[str], d: str) -> Dialect | None:
    """The one database feature the nearest Cargo.toml naming one turns on for sqlx."""
    read = snapshot.read_text(_cargo_files(files, d))
    for path in _cargo_files(files, d):
        lines = [ln for ln in read.texts.get(path, "").splitlines() if "sqlx" in ln]
        named = {
            _SQLX_FEATURES[w]
            for ln in lines
            for w in re.findall(r'"(\w+)"', ln)
            if w in _SQLX_FEATURES
        }
        if named:
            return named.pop() if len(named) == 1 else None
    return None


_SQLX_FEATURES = {"sqlite": Dialect.SQLITE, "postgres": Dialect.POSTGRES, "mysql": Dialect.MYSQL}


def _is_sqlx(
    snapshot: GitSnapshot, files: list[str], d: str, fmt: Format, texts: Mapping[str, str]
) -> bool:
    """`<version>_<name>[.up|.down].sql` files under a Cargo.toml that depends on sqlx: sqlx's
    layout (golang-migrate's and plain numbered files look the same)."""
    if fmt not in (Format.GOLANG_MIGRATE, Format.PLAIN):
        return False
    names = [n for n in texts if "/" not in n and n.endswith(".sql")]
    if not names or not all(_SQLX_NAME.match(n) for n in names):
        return False
    read = snapshot.read_text(_cargo_files(files, d))
    return any(_SQLX_DEPENDENCY.search(t) for t in read.texts.values())


_SUPABASE_NOTE = (
    "{}: the auth, storage and extensions schemas come from the Supabase platform: the replay "
    "and the proof use stand-ins for them (auth.users, auth.uid(), auth.role(), auth.email(), "
    "auth.jwt(), storage.buckets, storage.objects, storage.foldername() and the like; the proof also creates its roles anon, authenticated, "
    "service_role), not the platform's own definitions"
)
_DRIZZLE_NOTE = (
    "{}: a compensating migration rollback-plan writes is added to meta/_journal.json, but its "
    "meta/<NNNN>_snapshot.json is not written: run `drizzle-kit generate` after merging it so "
    "the next generated migration starts from the right schema"
)
_TOOL_NOTES = ((Format.SUPABASE, _SUPABASE_NOTE), (Format.DRIZZLE, _DRIZZLE_NOTE))
_SQLX_NAME = re.compile(r"^\d+_.*\.sql$")
_SQLX_DEPENDENCY = re.compile(r"(?m)^\s*sqlx\b|\[(workspace\.)?dependencies\.sqlx\]")
_PRISMA_FOLDER = re.compile(r"^\d+_.+$")


def _manifests(
    snapshot: GitSnapshot, files: list[str], entries: Mapping[str, FileEntry]
) -> tuple[list[SchemaSource], list[str], tuple[MigrationJob, ...]]:
    paths = [p for p in files if _MANIFEST.search(p) and p != CONFIG_PATH]
    small = [p for p in paths if entries[p].size <= MANIFEST_MAX_BYTES]
    problems = [f"{p}: manifest larger than 1 MiB, not read" for p in paths if p not in small]
    read = snapshot.read_text(small)
    problems += read.problems
    # kustomize and Helm .Files inputs are plain files: the scanner reads them in one batch.
    scan = scan_manifests(read.texts, files, read=snapshot.read)
    return list(scan.sources), problems + list(scan.problems), scan.jobs


# `02-name.postgres.sql` beside `02-name.sqlite.sql`: a tool picks one file per database
_PER_DATABASE = re.compile(r"\.(postgres|postgresql|sqlite3?|mysql|mariadb)\.sql$")
# Path words naming a database: one directory per database (migrations/mysql, db/db_sqlite3).
_NAMED = {
    # pgx: the Go PostgreSQL driver; sqlcipher and rqlite speak SQLite's SQL
    **dict.fromkeys(("postgres", "postgresql", "pg", "pgsql", "psql", "pgx"), Dialect.POSTGRES),
    **dict.fromkeys(("mysql", "mariadb"), Dialect.MYSQL),
    **dict.fromkeys(("sqlite", "sqlite3", "sqlcipher", "rqlite"), Dialect.SQLITE),
}
# ... and path words naming a database that is none of those: never guessed as one of them
_UNSUPPORTED = frozenset(
    "clickhouse ydb vertica spanner duckdb starrocks mssql sqlserver oracle snowflake "
    "bigquery cassandra".split()
)
_WORDS = re.compile(r"[/_.#\-]+")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
# Strong hints only: a wrong dialect would render SQL that does not run.
_HINTS = (
    (Dialect.MYSQL, re.compile(r"(?i)\bauto_increment\b|\bengine\s*=|`\w+`|\bunsigned\b")),
    (Dialect.SQLITE, re.compile(r"(?i)\bautoincrement\b|\bwithout\s+rowid\b|\bpragma\b")),
    (
        Dialect.POSTGRES,
        re.compile(
            r"(?i)\b(big)?serial\b|\$\$|::\w|\btimestamptz\b|\bjsonb\b|\bcreate\s+extension\b"
        ),
    ),
)


def _decide_dialect(source: SchemaSource, option: Dialect | None) -> SchemaSource:
    """The config and a manifest's URL decide first, then the directory name, then
    --dialect, then dialect-only syntax in the SQL; the plan says which."""
    if source.dialect is not None:
        return _unused_option(source, option)
    words = _WORDS.split(source.path.lower())
    other = next((w for w in words if w in _UNSUPPORTED), None)
    if other is not None:
        # ClickHouse's ENGINE = ... reads like MySQL: a guess here would plan the wrong database
        return replace(
            source,
            problems=(
                *source.problems,
                f"{source.path}: the directory name says {other}, a database rollback-plan "
                "does not plan (PostgreSQL, MySQL/MariaDB and SQLite only); set its dialect "
                "in .rollback-plan.yml if it is one of those",
            ),
        )
    named = {_NAMED[w] for w in words if w in _NAMED}
    if len(named) == 1:
        (by_name,) = named
        return _unused_option(
            _decided(
                source,
                by_name,
                DialectFrom.DIRECTORY_NAME,
                f"{source.path}: dialect {by_name.value}, from the directory name",
            ),
            option,
        )
    if option is not None:
        return _decided(source, option, DialectFrom.OPTION, None)
    if source.format is Format.ALEMBIC:
        return source  # its migrations are Python: no SQL to guess from
    text = "\n".join(m.up for m in source.migrations) + (source.schema_sql or "")
    # comments name other databases freely ("-- `col` is ...", "-- like MySQL's ENGINE=")
    text = _COMMENTS.sub(" ", text)
    votes = [d for d, pattern in _HINTS if pattern.search(text)]
    if len(votes) == 1:
        return _decided(
            source,
            votes[0],
            DialectFrom.SQL,
            f"{source.path}: dialect guessed from the SQL as {votes[0].value}; "
            "set it in .rollback-plan.yml or pass --dialect to be sure",
        )
    return source


def _decided(
    source: SchemaSource, dialect: Dialect, how: DialectFrom, note: str | None
) -> SchemaSource:
    return replace(
        source,
        dialect=dialect,
        dialect_from=how,
        # the decision answers the "dialect unknown" a manifest may have reported
        problems=tuple(p for p in source.problems if "dialect unknown" not in p),
        notes=(*source.notes, note) if note else source.notes,
    )


def _unused_option(source: SchemaSource, option: Dialect | None) -> SchemaSource:
    """--dialect names one database; a source known to be another keeps its own."""
    if option is None or option is source.dialect or source.dialect is None:
        return source
    why = {
        DialectFrom.CONFIG: "its dialect is set in .rollback-plan.yml",
        DialectFrom.MANIFEST: "its manifest's database URL names it",
        DialectFrom.DIRECTORY_NAME: "its directory name names it",
        DialectFrom.TOOL: "its migration tool's own configuration names it",
    }.get(source.dialect_from or DialectFrom.CONFIG, "")
    return replace(
        source,
        notes=(
            *source.notes,
            f"{source.path}: planned as {source.dialect.value}, not --dialect {option.value}: "
            f"{why}",
        ),
    )
