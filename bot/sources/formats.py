"""Versioned migration directories of each tool: detect the format, read the migrations in the
tool's own order (ups and the author's downs), and write a new migration in the same format.

Everything here works on in-memory file maps: paths relative to the migration directory
(forward slashes, subdirectories allowed) to text. Nothing reads the disk or the clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.model import Dialect
from bot.core.split import SplitError, split_statements
from bot.sources.atlas_sum import SUM_FILE, atlas_sum, verify_atlas_sum
from bot.sources.model import Format, VersionedMigration

Problems = list[str]


class Note(str):
    """A finding a parser reports that is worth saying but does not make the plan doubtful
    (a file the tool itself never runs): discover turns it into a source note."""

    __slots__ = ()


Parsed = tuple[list[VersionedMigration], Problems]

GENERATOR = "rollback-plan"
PLANNER = "rollback-plan <rollback-plan@localhost>"

_GOLANG = re.compile(r"^(\d+)_(.*)\.(up|down)\.sql$")
_VERSIONED = re.compile(r"^(\d+)_(.*)\.sql$")  # goose, dbmate
_ATLAS = re.compile(r"^([^_]+?)(?:_(.*))?\.sql$")
_FLYWAY = re.compile(r"^([VU])(\d+(?:[._]\d+)*)__(.*)\.sql$")
_FLYWAY_REPEATABLE = re.compile(r"^R__(.*)\.sql$")
_FLYWAY_CALLBACK = re.compile(r"^(before|after)[A-Z]\w*?(__.*)?\.sql$")
_DIESEL_DIR = re.compile(r"^(\d[\d-]*)_(.+)$")
_NUMBERED = re.compile(r"^(\d+)")
_PRISMA_DIR = re.compile(r"^(\d+)_(.+)$")
_SQLX = re.compile(r"^(\d+)_(.*?)(\.up|\.down)?\.sql$")

_GOOSE_ANNOTATION = re.compile(r"^\s*--\s*\+goose\s+(.*?)\s*$", re.IGNORECASE)
_DBMATE_UP = re.compile(r"^--\s*migrate:up\b", re.IGNORECASE)
_DBMATE_DOWN = re.compile(r"^--\s*migrate:down\b", re.IGNORECASE)

# Liquibase's own patterns (FormattedSqlChangeLogParser), case-insensitive like Liquibase.
_LB_HEADER = re.compile(r"^\s*--\s*liquibase\s*formatted.*", re.IGNORECASE)
_LB_CHANGESET = re.compile(
    r'^\s*--\s*changeset\s+("[^"]+"|[^:]+):\s*("[^"]+"|\S+).*', re.IGNORECASE
)
_LB_CHANGESET_BAD = re.compile(r"^\s*--\s*changeset\b.*", re.IGNORECASE)
_LB_ROLLBACK = re.compile(r"^\s*--\s*rollback (.*)$", re.IGNORECASE)
_LB_ROLLBACK_START = re.compile(r"^\s*/\*\s*liquibase\s*rollback\s*$", re.IGNORECASE)
_LB_ROLLBACK_END = re.compile(r".*\*/\s*$")
_LB_META = re.compile(
    r"^\s*--\s*(comments?:?\s|precondition|validCheckSum|ignoreLines:|property\s)", re.IGNORECASE
)
_LB_NO_ROLLBACK = {"not required", "empty"}

_SQITCH_PLAN = "sqitch.plan"
PRISMA_LOCK = "migration_lock.toml"
_PRISMA_PROVIDER = re.compile(r'^\s*provider\s*=\s*"([^"]*)"', re.MULTILINE)
_PRISMA_DIALECTS = {
    "postgresql": Dialect.POSTGRES,
    "postgres": Dialect.POSTGRES,
    "mysql": Dialect.MYSQL,
    "sqlite": Dialect.SQLITE,
}


# --- detection ------------------------------------------------------------------------------


def detect_format(files: Mapping[str, str]) -> Format | None:
    """The tool that owns this migration directory, or None when nothing looks like migrations.

    Format markers are checked before `atlas.sum`: Atlas also writes sums for the
    golang-migrate, goose, Flyway, Liquibase and dbmate layouts it can generate.
    """
    top = _top_level(files)
    sql_top = [n for n in top if n.endswith(".sql")]
    if _SQITCH_PLAN in files:
        return Format.SQITCH
    if any(n.endswith(".sql") and _is_liquibase(text) for n, text in files.items()):
        return Format.LIQUIBASE
    if any(_FLYWAY.match(_base(n)) or _FLYWAY_REPEATABLE.match(_base(n)) for n in files):
        return Format.FLYWAY
    if DRIZZLE_JOURNAL in files:
        return Format.DRIZZLE
    if PRISMA_LOCK in top or any(_prisma_folder(n) is not None for n in files):
        return Format.PRISMA
    if any(_diesel_folder(n) is not None for n in files):
        return Format.DIESEL
    if any(_GOLANG.match(n) for n in sql_top):
        return Format.GOLANG_MIGRATE
    if any(_goose_marked(top[n]) for n in sql_top):
        return Format.GOOSE
    if any(_dbmate_marked(top[n]) for n in sql_top):
        return Format.DBMATE
    if SUM_FILE in top:
        return Format.ATLAS
    if sql_top:
        return Format.PLAIN
    return None


def _top_level(files: Mapping[str, str]) -> dict[str, str]:
    return {n: t for n, t in files.items() if "/" not in n}


def _base(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _is_liquibase(text: str) -> bool:
    for line in text.lstrip("\ufeff").splitlines():
        if line.strip():
            return bool(_LB_HEADER.match(line))
    return False


def _goose_marked(text: str) -> bool:
    return any(
        (m := _GOOSE_ANNOTATION.match(line)) and m.group(1).lower() == "up"
        for line in text.splitlines()
    )


def _dbmate_marked(text: str) -> bool:
    return any(_DBMATE_UP.match(line) for line in text.splitlines())


def _diesel_folder(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) == 2 and parts[1] in ("up.sql", "down.sql") and _DIESEL_DIR.match(parts[0]):
        return parts[0]
    return None


def _prisma_folder(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) == 2 and parts[1] == "migration.sql" and _PRISMA_DIR.match(parts[0]):
        return parts[0]
    return None


def tool_dialect(fmt: Format, files: Mapping[str, str]) -> tuple[Dialect | None, str | None]:
    """The dialect the tool's own files name (Prisma's migration_lock.toml `provider`), and a
    problem when they name a database rollback-plan does not plan."""
    if fmt is Format.SUPABASE:
        return Dialect.POSTGRES, None
    if fmt is Format.DRIZZLE:
        return _drizzle_dialect(files)
    if fmt is not Format.PRISMA or PRISMA_LOCK not in files:
        return None, None
    m = _PRISMA_PROVIDER.search(files[PRISMA_LOCK])
    if m is None:
        return None, f"{PRISMA_LOCK}: no provider line"
    dialect = _PRISMA_DIALECTS.get(m.group(1).lower())
    if dialect is None:
        return None, (
            f"{PRISMA_LOCK}: provider {m.group(1)}, a database rollback-plan does not plan "
            "(PostgreSQL, MySQL/MariaDB and SQLite only)"
        )
    return dialect, None


# --- parsing --------------------------------------------------------------------------------


def parse_migrations(fmt: Format, files: Mapping[str, str], base: str = "") -> Parsed:
    """The directory's migrations, oldest first in the tool's own order, and the problems.

    A problem is "<path>: <reason>" for a file (or plan entry) that can't be used; the
    rest is still read. Paths are `base + "/" + relpath` ("" base keeps them relative).
    """
    migrations, problems = _PARSERS[fmt](files, _Paths(base))
    if fmt is not Format.ATLAS and SUM_FILE in files and not verify_atlas_sum(files):
        problems.append(_Paths(base)(SUM_FILE) + ": does not match the migration files")
    return migrations, problems


@dataclass(frozen=True)
class _Paths:
    base: str

    def __call__(self, rel: str) -> str:
        base = self.base.strip("/")
        return f"{base}/{rel}" if base else rel


def _duplicate(path: str, version: str, first: str) -> str:
    return f"{path}: version {version} appears twice (also {first})"


def _parse_golang(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    ups: dict[int, tuple[str, str, str]] = {}  # version -> (raw version, name, file)
    downs: dict[int, str] = {}
    for rel in sorted(_top_level(files)):
        if not rel.endswith(".sql"):
            continue
        m = _GOLANG.match(rel)
        if not m:
            problems.append(f"{at(rel)}: not a golang-migrate file name (expected N_name.up.sql)")
            continue
        number = int(m.group(1))
        if m.group(3) == "up":
            if number in ups:
                problems.append(_duplicate(at(rel), m.group(1), at(ups[number][2])))
                continue
            ups[number] = (m.group(1), m.group(2), rel)
        else:
            if number in downs:
                problems.append(_duplicate(at(rel), m.group(1), at(downs[number])))
                continue
            downs[number] = rel
    return _paired(files, at, ups, downs, problems)


def _paired(
    files: Mapping[str, str],
    at: _Paths,
    ups: Mapping[int, tuple[str, str, str]],
    downs: Mapping[int, str],
    problems: Problems,
) -> Parsed:
    """Numbered ups (number -> raw version, name, file) with their downs, in numeric order;
    a down without its up is a problem."""
    for number in sorted(set(downs) - set(ups)):
        problems.append(f"{at(downs[number])}: down migration without an up ({number})")
    out = []
    for number in sorted(ups):
        raw, name, rel = ups[number]
        down = downs.get(number)
        out.append(
            VersionedMigration(
                raw,
                name,
                at(rel),
                files[rel],
                files[down] if down else None,
                at(down) if down else None,
            )
        )
    return out, problems


def _numbered_files(
    files: Mapping[str, str], at: _Paths, tool: str, problems: Problems
) -> list[tuple[int, str, str, str]]:
    """(number, raw version, name, file) of `<version>_<name>.sql` files; numeric order."""
    seen: dict[int, str] = {}
    out = []
    for rel in sorted(_top_level(files)):
        if rel.endswith(".go") and tool == "goose":
            problems.append(f"{at(rel)}: Go migration, its SQL can't be read")
            continue
        if not rel.endswith(".sql"):
            continue
        m = _VERSIONED.match(rel)
        if not m:
            problems.append(f"{at(rel)}: not a {tool} file name (expected <version>_<name>.sql)")
            continue
        number = int(m.group(1))
        if number in seen:
            problems.append(_duplicate(at(rel), m.group(1), at(seen[number])))
            continue
        seen[number] = rel
        out.append((number, m.group(1), m.group(2), rel))
    return sorted(out)


def _parse_goose(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    out = []
    for _number, raw, name, rel in _numbered_files(files, at, "goose", problems):
        sections = _goose_sections(files[rel], at(rel), problems)
        if sections is None:
            continue
        up, down = sections
        out.append(
            VersionedMigration(raw, name, at(rel), up, down, at(rel) if down is not None else None)
        )
    return out, problems


def _goose_sections(text: str, path: str, problems: Problems) -> tuple[str, str | None] | None:
    """(up, down) of a goose SQL file, annotations stripped; None when it has no Up."""
    up: list[str] = []
    down: list[str] | None = None
    target: list[str] | None = None
    seen_up = False
    open_block = False
    stray = False
    for line in text.splitlines():
        m = _GOOSE_ANNOTATION.match(line)
        if not m:
            if target is not None:
                target.append(line)
            elif line.strip() and not line.lstrip().startswith("--"):
                stray = True
            continue
        command = " ".join(m.group(1).lower().split())
        if command == "up":
            seen_up, target = True, up
        elif command == "down":
            down = []
            target = down
        elif command == "statementbegin":
            open_block = True
        elif command == "statementend":
            open_block = False
        elif command not in ("no transaction", "envsub on", "envsub off"):
            problems.append(f"{path}: unknown goose annotation '-- +goose {m.group(1)}'")
    if not seen_up:
        problems.append(f"{path}: no '-- +goose Up' annotation, goose refuses the file")
        return None
    if stray:
        problems.append(f"{path}: SQL before '-- +goose Up' is outside any section, left out")
    if open_block:
        problems.append(f"{path}: '-- +goose StatementBegin' without StatementEnd")
    return _body(up), None if down is None else _body(down)


def _body(lines: list[str]) -> str:
    text = "\n".join(lines).strip()
    return text + "\n" if text else ""


def _parse_dbmate(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    rows = _numbered_files(files, at, "dbmate", problems)
    # dbmate applies files in file-name order (its versions are compared as strings).
    rows.sort(key=lambda row: row[3])
    out = []
    for _number, raw, name, rel in rows:
        up: list[str] | None = None
        down: list[str] | None = None
        target: list[str] | None = None
        stray = False
        for line in files[rel].splitlines():
            if _DBMATE_UP.match(line):
                up = []
                target = up
            elif _DBMATE_DOWN.match(line):
                down = []
                target = down
            elif target is not None:
                target.append(line)
            elif line.strip() and not line.lstrip().startswith("--"):
                stray = True
        if up is None:
            problems.append(f"{at(rel)}: no '-- migrate:up' block, dbmate refuses the file")
            continue
        if stray:
            problems.append(f"{at(rel)}: SQL outside the migrate:up/down blocks, left out")
        out.append(
            VersionedMigration(
                raw,
                name,
                at(rel),
                _body(up),
                None if down is None else _body(down),
                at(rel) if down is not None else None,
            )
        )
    return out, problems


def _flyway_key(version: str) -> tuple[int, ...]:
    """Flyway compares versions part by part as numbers; trailing zero parts don't count."""
    parts = [int(p) for p in re.split(r"[._]", version)]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _parse_flyway(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    ups: dict[tuple[int, ...], tuple[str, str, str]] = {}
    undos: dict[tuple[int, ...], str] = {}
    repeatable: list[tuple[str, str]] = []
    # Flyway scans its locations recursively.
    for rel in sorted(files):
        name = _base(rel)
        if not name.endswith(".sql") or _FLYWAY_CALLBACK.match(name):
            continue
        if m := _FLYWAY_REPEATABLE.match(name):
            repeatable.append((m.group(1), rel))
            continue
        m = _FLYWAY.match(name)
        if not m:
            problems.append(
                f"{at(rel)}: not a Flyway migration name (expected V<version>__<description>.sql)"
            )
            continue
        kind, raw, desc = m.groups()
        key = _flyway_key(raw)
        if kind == "V":
            if key in ups:
                problems.append(_duplicate(at(rel), raw, at(ups[key][2])))
                continue
            ups[key] = (raw.replace("_", "."), desc, rel)
        else:
            if key in undos:
                problems.append(_duplicate(at(rel), raw, at(undos[key])))
                continue
            undos[key] = rel
    for key in sorted(set(undos) - set(ups)):
        problems.append(f"{at(undos[key])}: undo migration without a versioned one")
    out = []
    for key in sorted(ups):
        version, desc, rel = ups[key]
        undo = undos.get(key)
        out.append(
            VersionedMigration(
                version,
                desc,
                at(rel),
                files[rel],
                files[undo] if undo else None,
                at(undo) if undo else None,
            )
        )
    # Repeatable migrations run after the versioned ones, ordered by description.
    for desc, rel in sorted(repeatable):
        out.append(VersionedMigration("", desc, at(rel), files[rel], repeatable=True))
    return out, problems


def _parse_atlas(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    out = []
    seen: dict[str, str] = {}
    # Atlas orders files by name, byte-wise.
    for rel in sorted((n for n in _top_level(files) if n.endswith(".sql")), key=str.encode):
        m = _ATLAS.match(rel)
        if not m:
            problems.append(f"{at(rel)}: not an Atlas file name (expected <version>_<name>.sql)")
            continue
        version, name = m.group(1), m.group(2) or ""
        if version in seen:
            problems.append(_duplicate(at(rel), version, at(seen[version])))
            continue
        seen[version] = rel
        out.append(VersionedMigration(version, name, at(rel), files[rel]))
    if SUM_FILE not in files:
        problems.append(f"{at(SUM_FILE)}: missing")
    elif not verify_atlas_sum(files):
        problems.append(
            f"{at(SUM_FILE)}: does not match the migration files (Atlas refuses the directory "
            "until `atlas migrate hash` is run)"
        )
    return out, problems


def _diesel_key(version: str) -> str:
    return version.replace("-", "")


def _parse_diesel(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    folders: dict[str, dict[str, str]] = {}
    for rel in sorted(files):
        parts = rel.split("/")
        if len(parts) == 1:
            if rel.endswith(".sql"):
                problems.append(f"{at(rel)}: not inside a <version>_<name>/ folder, left out")
            continue
        if len(parts) != 2:
            continue
        if not _DIESEL_DIR.match(parts[0]):
            if parts[1] in ("up.sql", "down.sql"):
                problems.append(f"{at(rel)}: folder is not named <version>_<name>")
            continue
        folders.setdefault(parts[0], {})[parts[1]] = rel
    rows = []
    seen: dict[str, str] = {}
    for folder, entries in folders.items():
        m = _DIESEL_DIR.match(folder)
        assert m is not None
        version, name = m.groups()
        if "up.sql" not in entries:
            if "down.sql" in entries:
                problems.append(f"{at(folder)}: has no up.sql")
            continue
        key = _diesel_key(version)
        if key in seen:
            problems.append(_duplicate(at(folder), version, at(seen[key])))
            continue
        seen[key] = folder
        rows.append((key, folder, version, name, entries))
    out = []
    # Diesel orders migrations by version, compared as text without the dashes.
    for _key, _folder, version, name, entries in sorted(rows):
        up, down = entries["up.sql"], entries.get("down.sql")
        out.append(
            VersionedMigration(
                version,
                name,
                at(up),
                files[up],
                files[down] if down else None,
                at(down) if down else None,
            )
        )
    return out, problems


def _parse_prisma(files: Mapping[str, str], at: _Paths) -> Parsed:
    """Prisma applies `<timestamp>_<name>/migration.sql` folders in folder-name order."""
    problems: Problems = []
    out = []
    for rel in sorted(files):
        parts = rel.split("/")
        if len(parts) == 1:
            if rel.endswith(".sql"):
                problems.append(f"{at(rel)}: not inside a <timestamp>_<name>/ folder, left out")
            continue
        if len(parts) != 2 or not parts[1].endswith(".sql"):
            continue
        m = _PRISMA_DIR.match(parts[0])
        if parts[1] != "migration.sql" or m is None:
            problems.append(f"{at(rel)}: Prisma only runs <timestamp>_<name>/migration.sql")
            continue
        out.append(VersionedMigration(m.group(1), m.group(2), at(rel), files[rel]))
    return out, problems


# Supabase CLI: `<digits>_<name>.sql`; other files are skipped by the CLI with a warning.
_SUPABASE = re.compile(r"^(\d+)_(.*)\.sql$")
SUPABASE_STAND_INS = "#supabase-platform"  # up_path suffix of the platform stand-in migration
# What the Supabase platform provides before the first migration, as far as histories use it.
# The same at every commit, so it is never part of a diff; the plan says it stood in.
SUPABASE_PLATFORM = """\
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS storage;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA extensions;
CREATE TABLE auth.users (id uuid PRIMARY KEY, aud varchar(255), role varchar(255),
  email varchar(255), phone text, encrypted_password varchar(255),
  email_confirmed_at timestamptz, phone_confirmed_at timestamptz, confirmed_at timestamptz,
  last_sign_in_at timestamptz, raw_user_meta_data jsonb, raw_app_meta_data jsonb,
  is_super_admin boolean, is_sso_user boolean NOT NULL DEFAULT false,
  is_anonymous boolean NOT NULL DEFAULT false, banned_until timestamptz,
  created_at timestamptz, updated_at timestamptz, deleted_at timestamptz);
CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $$ SELECT NULL::uuid $$;
CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS $$ SELECT NULL::text $$;
CREATE FUNCTION auth.email() RETURNS text LANGUAGE sql STABLE AS $$ SELECT NULL::text $$;
CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT NULL::jsonb $$;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL, owner uuid,
  owner_id text, public boolean DEFAULT false, avif_autodetection boolean DEFAULT false,
  file_size_limit bigint, allowed_mime_types text[], created_at timestamptz,
  updated_at timestamptz);
CREATE TABLE storage.objects (id uuid PRIMARY KEY, bucket_id text REFERENCES storage.buckets (id),
  name text, owner uuid, owner_id text, metadata jsonb, user_metadata jsonb, version text,
  path_tokens text[], created_at timestamptz, updated_at timestamptz,
  last_accessed_at timestamptz);
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE sql IMMUTABLE
  AS $$ SELECT (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1] $$;
CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT (string_to_array(name, '/'))[array_length(string_to_array(name, '/'), 1)] $$;
CREATE FUNCTION storage.extension(name text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT reverse(split_part(reverse(name), '.', 1)) $$;
"""


def _parse_supabase(files: Mapping[str, str], at: _Paths) -> Parsed:
    """Supabase CLI applies `<timestamp>_<name>.sql` in file-name order, after a stand-in for
    the platform's own schemas (the database already has them)."""
    out = []
    problems: Problems = []
    for rel in sorted(_top_level(files)):
        if not rel.endswith(".sql"):
            continue
        m = _SUPABASE.match(rel)
        if m is None:
            problems.append(f"{at(rel)}: not <timestamp>_<name>.sql, the Supabase CLI skips it")
            continue
        out.append(VersionedMigration(m.group(1), m.group(2), at(rel), files[rel]))
    platform = VersionedMigration(
        "0",
        "supabase_platform_stand_ins",
        at("").rstrip("/") + SUPABASE_STAND_INS,
        SUPABASE_PLATFORM,
    )
    return [platform, *out], problems


DRIZZLE_JOURNAL = "meta/_journal.json"
DRIZZLE_BREAKPOINT = "--> statement-breakpoint"
_DRIZZLE_DIALECTS = {
    "postgresql": Dialect.POSTGRES,
    "pg": Dialect.POSTGRES,
    "mysql": Dialect.MYSQL,
    "sqlite": Dialect.SQLITE,
    "turso": Dialect.SQLITE,
}


def _drizzle_journal(files: Mapping[str, str]) -> dict[str, object] | None:
    try:
        journal = json.loads(files.get(DRIZZLE_JOURNAL, ""))
    except ValueError:
        return None
    return journal if isinstance(journal, dict) else None


def _drizzle_entries(journal: Mapping[str, object]) -> list[dict[str, object]]:
    entries = journal.get("entries")
    return [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []


def _drizzle_dialect(files: Mapping[str, str]) -> tuple[Dialect | None, str | None]:
    journal = _drizzle_journal(files)
    name = journal.get("dialect") if journal else None
    dialect = _DRIZZLE_DIALECTS.get(str(name).lower()) if name else None
    if dialect is None and name:
        return None, f"{DRIZZLE_JOURNAL}: dialect {name}, a database rollback-plan does not plan"
    return dialect, None


def _parse_drizzle(files: Mapping[str, str], at: _Paths) -> Parsed:
    """Drizzle Kit runs `<tag>.sql` for each journal entry, in journal order."""
    journal = _drizzle_journal(files)
    if journal is None:
        return [], [f"{at(DRIZZLE_JOURNAL)}: not a JSON object, Drizzle cannot read it"]
    problems: Problems = []
    out = []
    listed: set[str] = set()
    for entry in _drizzle_entries(journal):
        tag = str(entry.get("tag", ""))
        rel = f"{tag}.sql"
        listed.add(rel)
        if rel not in files:
            problems.append(f"{at(DRIZZLE_JOURNAL)}: entry {tag}: {at(rel)} is missing")
            continue
        number, _, name = tag.partition("_")
        out.append(VersionedMigration(number, name, at(rel), _drizzle_sql(files[rel])))
    last = max((m.version for m in out), default="")
    for rel in sorted(_top_level(files)):
        if not rel.endswith(".sql") or rel in listed:
            continue
        text = f"{at(rel)}: not in {DRIZZLE_JOURNAL}, Drizzle never runs it"
        if rel.partition("_")[0] < last:
            # a leftover among journaled files: Drizzle skips it, and so does the plan
            problems.append(Note(text))
        else:
            # newer than the journal: the project may run these some other way, so the plan
            # cannot tell what the database has
            problems.append(text + "; if your deploy runs it some other way, plan by hand")
    return out, problems


def _parse_sqlx(files: Mapping[str, str], at: _Paths) -> Parsed:
    """sqlx: `<version>_<name>.sql`, or reversible `.up.sql`/`.down.sql`; numeric order."""
    problems: Problems = []
    ups: dict[int, tuple[str, str, str]] = {}  # version -> (raw version, name, file)
    downs: dict[int, str] = {}
    for rel in sorted(_top_level(files)):
        if not rel.endswith(".sql"):
            continue
        m = _SQLX.match(rel)
        if not m:
            problems.append(f"{at(rel)}: not a sqlx file name (expected <version>_<name>.sql)")
            continue
        number = int(m.group(1))
        if m.group(3) == ".down":
            if number in downs:
                problems.append(_duplicate(at(rel), m.group(1), at(downs[number])))
                continue
            downs[number] = rel
            continue
        if number in ups:
            problems.append(_duplicate(at(rel), m.group(1), at(ups[number][2])))
            continue
        ups[number] = (m.group(1), m.group(2), rel)
    return _paired(files, at, ups, downs, problems)


def _parse_plain(files: Mapping[str, str], at: _Paths) -> Parsed:
    out = []
    for rel in sorted((n for n in _top_level(files) if n.endswith(".sql")), key=_plain_key):
        stem = rel[: -len(".sql")]
        m = _NUMBERED.match(stem)
        version = m.group(1) if m else stem
        name = stem[len(version) :].lstrip("_-. ") if m else stem
        out.append(VersionedMigration(version, name, at(rel), files[rel]))
    return out, []


def _plain_key(name: str) -> tuple[int, int, str]:
    # Numbered files sort by number (2_x before 10_x), the rest by name, numbered ones first.
    m = _NUMBERED.match(name)
    return (0, int(m.group(1)), name) if m else (1, 0, name)


@dataclass
class _Changeset:
    author: str
    ident: str
    rel: str
    up: list[str]
    rollback: list[str]


def _parse_liquibase(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    out: list[VersionedMigration] = []
    for rel in sorted(n for n in files if n.endswith(".sql")):
        if not _is_liquibase(files[rel]):
            problems.append(f"{at(rel)}: no '--liquibase formatted sql' first line, left out")
            continue
        seen: set[str] = set()
        for cs in _changesets(files[rel], rel, at, problems):
            version = f"{cs.author}:{cs.ident}"
            if version in seen:
                problems.append(f"{at(rel)}: changeset {version} appears twice")
                continue
            seen.add(version)
            rollback = _body(cs.rollback)
            down = None if rollback.strip().lower() in _LB_NO_ROLLBACK or not rollback else rollback
            out.append(
                VersionedMigration(
                    version,
                    cs.ident,
                    at(rel),
                    _body(cs.up),
                    down,
                    at(rel) if down is not None else None,
                )
            )
    return out, problems


def _changesets(text: str, rel: str, at: _Paths, problems: Problems) -> list[_Changeset]:
    sets: list[_Changeset] = []
    current: _Changeset | None = None
    in_block_rollback = False
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if in_block_rollback:
            if _LB_ROLLBACK_END.match(line):
                in_block_rollback = False
                line = line[: line.rfind("*/")]
            if current is not None and line.strip():
                current.rollback.append(line)
            continue
        if m := _LB_CHANGESET.match(line):
            current = _Changeset(m.group(1).strip('"'), m.group(2).strip('"'), rel, [], [])
            sets.append(current)
            continue
        if _LB_CHANGESET_BAD.match(line):
            problems.append(f"{at(rel)}: line {number}: changeset without author:id, left out")
            current = None
            continue
        if current is None:
            continue
        if m := _LB_ROLLBACK.match(line):
            current.rollback.append(m.group(1))
        elif _LB_ROLLBACK_START.match(line):
            in_block_rollback = True
        elif not _LB_META.match(line):
            current.up.append(line)
    return sets


def _parse_sqitch(files: Mapping[str, str], at: _Paths) -> Parsed:
    problems: Problems = []
    plan = _sqitch_plan(files.get(_SQITCH_PLAN, ""), at, problems)
    out = []
    planned: set[str] = set()
    for change, script in plan:
        deploy, revert = f"deploy/{script}.sql", f"revert/{script}.sql"
        planned.add(deploy)
        if deploy not in files:
            problems.append(f"{at(_SQITCH_PLAN)}: change {change}: {at(deploy)} is missing")
            continue
        has_revert = revert in files
        out.append(
            VersionedMigration(
                script,
                change,
                at(deploy),
                files[deploy],
                files[revert] if has_revert else None,
                at(revert) if has_revert else None,
            )
        )
    for rel in sorted(files):
        if rel.startswith("deploy/") and rel.endswith(".sql") and rel not in planned:
            problems.append(f"{at(rel)}: not in sqitch.plan, sqitch never deploys it")
    return out, problems


def _sqitch_plan(text: str, at: _Paths, problems: Problems) -> list[tuple[str, str]]:
    """(change name, script name) in plan order; a reworked change's older copies are
    `<name>@<tag>` scripts, named after the first tag that follows them."""
    entries: list[tuple[str, str]] = []  # ("change" | "tag", name)
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        token = line.split()[0]
        if token.startswith("@"):
            entries.append(("tag", token[1:]))
        elif token.startswith("-"):
            problems.append(
                f"{at(_SQITCH_PLAN)}: line {number}: revert entry '{token}' not supported"
            )
        else:
            entries.append(("change", token.lstrip("+").split("[")[0]))
    out = []
    for i, (kind, name) in enumerate(entries):
        if kind != "change":
            continue
        later = [j for j in range(i + 1, len(entries)) if entries[j] == ("change", name)]
        if not later:
            out.append((name, name))
            continue
        tag = next((entries[j][1] for j in range(i + 1, later[0]) if entries[j][0] == "tag"), None)
        if tag is None:
            problems.append(
                f"{at(_SQITCH_PLAN)}: change {name} is planned twice without a tag between"
            )
            continue
        out.append((name, f"{name}@{tag}"))
    return out


def _parse_alembic(files: Mapping[str, str], at: _Paths) -> Parsed:
    """Revisions in graph order; their `up` is the Python file (SQL comes from offline mode)."""
    from bot.sources.alembic import revisions_of  # its sandbox stack only for Alembic trees

    revisions, problems = revisions_of(
        {at(n): t for n, t in files.items() if n.startswith("versions/") and n.endswith(".py")}
    )
    return [
        VersionedMigration(r.id, r.message, r.path, files[r.path[len(at("")) :]]) for r in revisions
    ], problems


_PARSERS: dict[Format, Callable[[Mapping[str, str], _Paths], Parsed]] = {
    Format.ATLAS: _parse_atlas,
    Format.GOLANG_MIGRATE: _parse_golang,
    Format.GOOSE: _parse_goose,
    Format.DBMATE: _parse_dbmate,
    Format.FLYWAY: _parse_flyway,
    Format.LIQUIBASE: _parse_liquibase,
    Format.SQITCH: _parse_sqitch,
    Format.DIESEL: _parse_diesel,
    Format.PLAIN: _parse_plain,
    Format.PRISMA: _parse_prisma,
    Format.SQLX: _parse_sqlx,
    Format.SUPABASE: _parse_supabase,
    Format.DRIZZLE: _parse_drizzle,
    Format.ALEMBIC: _parse_alembic,
}


# --- compensating migrations ----------------------------------------------------------------


def render_migration(
    fmt: Format,
    existing: Sequence[VersionedMigration],
    files: Mapping[str, str],
    name: str,
    up_sql: str,
    down_sql: str | None,
    now: datetime,
    *,
    note: str | None = None,
    dialect: Dialect | None = None,
) -> list[tuple[str, str]]:
    """Files to add so the directory gains one newest migration running `up_sql`.

    Paths are relative to the directory. `down_sql` goes where the format keeps a down
    (dropped for Atlas and plain directories, and for Flyway unless it already uses undo
    files). The version follows the directory's own style; `now` is used (as UTC) only
    where the style is a timestamp. When the directory has an `atlas.sum`, the
    recomputed sum is among the files; for sqitch, so is the extended `sqitch.plan`
    (both replace the existing file). `note` (one line) says why, in the header comment
    and the sqitch plan note. `dialect` only guides where goose needs StatementBegin/End.
    """
    if not existing:
        existing, _ = parse_migrations(fmt, files)
    versions = [m.version for m in existing if not m.repeatable]
    utc = (now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)).replace(
        microsecond=0
    )
    said = " ".join((note or "").split())
    what = (
        f"Generated by {GENERATOR}: {said}" if said else f"Generated by {GENERATOR} to undo {name}"
    )
    header = f"-- {what}\n"
    up = _sql(up_sql)
    down = None if down_sql is None else _sql(down_sql)
    added = _RENDERERS[fmt](_Render(versions, files, name, header, up, down, utc, what, dialect))
    if SUM_FILE in files or fmt is Format.ATLAS:
        merged = {**files, **dict(added)}
        added = [*added, (SUM_FILE, atlas_sum(merged))]
    return added


def _sql(text: str) -> str:
    text = text.strip()
    return text + "\n" if text else ""


@dataclass(frozen=True)
class _Render:
    versions: list[str]
    files: Mapping[str, str]
    name: str
    header: str
    up: str
    down: str | None
    now: datetime
    note: str
    dialect: Dialect | None


_TS14 = "%Y%m%d%H%M%S"


def _next_number(versions: Sequence[str], now: datetime) -> str:
    """The version after the highest of these all-digit versions, in their style:
    a later 14-digit timestamp, a later Unix time, or the next integer keeping zero padding."""
    digits = [v for v in versions if v.isdigit()]
    if not digits:
        return now.strftime(_TS14)
    return _next_after(max(digits, key=lambda v: (int(v), v)), digits, now)


def _next_after(top: str, digits: Sequence[str], now: datetime) -> str:
    if len(top) == 14 and top[:2] in ("19", "20"):
        try:
            last = datetime.strptime(top, _TS14).replace(tzinfo=UTC)
        except ValueError:
            return str(int(top) + 1)
        return max(now, last + timedelta(seconds=1)).strftime(_TS14)
    if len(top) == 10 and 1_000_000_000 <= int(top) < 4_000_000_000:
        # Unix seconds (golang-migrate -format unix) or a YYYYMMDDHH stamp: never smaller.
        return str(max(int(now.timestamp()), int(top) + 1))
    padded = any(len(v) > 1 and v.startswith("0") for v in digits)
    width = max(len(v) for v in digits) if padded else 0
    return str(int(top) + 1).zfill(width)


def _render_golang(r: _Render) -> list[tuple[str, str]]:
    version = _next_number(r.versions, r.now)
    out = [(f"{version}_{r.name}.up.sql", r.header + r.up)]
    if r.down is not None:
        out.append((f"{version}_{r.name}.down.sql", r.header + r.down))
    return out


def _goose_section(body: str, dialect: Dialect | None) -> str:
    """A goose section: goose splits on every `;`, so compound statements (function and
    trigger bodies) go inside StatementBegin/End, each on its own."""
    if "$$" not in body and not re.search(r"\bBEGIN\b[\s\S]*\bEND\b", body, re.IGNORECASE):
        return body
    # Without a dialect, `$$` means PostgreSQL; BEGIN...END splits the same in MySQL and SQLite.
    guess = dialect or (Dialect.POSTGRES if "$$" in body else Dialect.MYSQL)
    try:
        statements = split_statements(body, guess.value)
    except SplitError:
        return f"-- +goose StatementBegin\n{body}-- +goose StatementEnd\n"
    out: list[str] = []
    for st in statements:
        out.extend(f"-- {line}".rstrip() + "\n" for c in st.comments for line in c.splitlines())
        if ";" in st.text:
            out.append(f"-- +goose StatementBegin\n{st.text};\n-- +goose StatementEnd\n")
        else:
            out.append(f"{st.text};\n")
    return "".join(out)


def _render_goose(r: _Render) -> list[tuple[str, str]]:
    version = _next_number(r.versions, r.now)
    text = f"{r.header}\n-- +goose Up\n{_goose_section(r.up, r.dialect)}"
    if r.down is not None:
        text += f"\n-- +goose Down\n{_goose_section(r.down, r.dialect)}"
    return [(f"{version}_{r.name}.sql", text)]


def _render_dbmate(r: _Render) -> list[tuple[str, str]]:
    version = _next_number(r.versions, r.now)
    text = f"{r.header}\n-- migrate:up\n{r.up}"
    if r.down is not None:
        text += f"\n-- migrate:down\n{r.down}"
    return [(f"{version}_{r.name}.sql", text)]


def _render_atlas(r: _Render) -> list[tuple[str, str]]:
    version = _next_number(r.versions, r.now)
    return [(f"{version}_{r.name}.sql", r.header + r.up)]


def _render_flyway(r: _Render) -> list[tuple[str, str]]:
    raws: list[tuple[tuple[int, ...], str, str]] = []  # (key, version as written, file)
    uses_undo = False
    for rel in r.files:
        m = _FLYWAY.match(_base(rel))
        if m and m.group(1) == "V":
            raws.append((_flyway_key(m.group(2)), m.group(2), rel))
        uses_undo = uses_undo or bool(m and m.group(1) == "U")
    if raws:
        _key, raw, rel = max(raws)
        folder = rel[: -len(_base(rel))]
        parts = re.split(r"[._]", raw)
        sep = "_" if "_" in raw else "."
        parts[-1] = _next_number([parts[-1]], r.now)
        version = sep.join(parts)
    else:
        folder, version = "", "1"
    out = [(f"{folder}V{version}__{r.name}.sql", r.header + r.up)]
    # Undo files are a Flyway Teams feature; Community rejects them, so only where used already.
    if r.down is not None and uses_undo:
        out.append((f"{folder}U{version}__{r.name}.sql", r.header + r.down))
    return out


def _render_diesel(r: _Render) -> list[tuple[str, str]]:
    top = max(r.versions, key=_diesel_key, default="")
    dashed = "-" in top or not top
    stamp = r.now
    if _diesel_key(top).isdigit() and len(_diesel_key(top)) == 14:
        try:
            last = datetime.strptime(_diesel_key(top), _TS14).replace(tzinfo=UTC)
            stamp = max(stamp, last + timedelta(seconds=1))
        except ValueError:
            pass  # 00000000000000_diesel_initial_setup: any real time is later
    version = stamp.strftime("%Y-%m-%d-%H%M%S" if dashed else _TS14)
    if _diesel_key(version) <= _diesel_key(top):
        version = top + "1"
    folder = f"{version}_{r.name}"
    out = [(f"{folder}/up.sql", r.header + r.up)]
    if r.down is not None:
        out.append((f"{folder}/down.sql", r.header + r.down))
    return out


def _after_last(candidate: str, existing: Sequence[str], name: str) -> str:
    """`candidate` if it sorts after every existing path, else a name that does."""
    if not existing or candidate > max(existing):
        return candidate
    last = max(existing)
    # "<last stem>_x.sql" sorts right after "<last stem>.sql": "_" > ".".
    return f"{last[: -len('.sql')]}_{name}.sql"


def _render_liquibase(r: _Render) -> list[tuple[str, str]]:
    paths = sorted(n for n in r.files if n.endswith(".sql") and _is_liquibase(r.files[n]))
    folder = paths[-1][: -len(_base(paths[-1]))] if paths else ""
    numbers = [
        m.group(1)
        for p in paths
        if p.startswith(folder) and (m := _NUMBERED.match(p[len(folder) :]))
    ]
    version = _next_number(numbers, r.now)
    path = _after_last(f"{folder}{version}_{r.name}.sql", paths, r.name)
    text = f"--liquibase formatted sql\n{r.header}\n--changeset {GENERATOR}:{r.name}\n{r.up}"
    if r.down is not None:
        lines = [line for line in r.down.splitlines() if line.strip()]
        text += "".join(f"--rollback {line}\n" for line in lines)
    return [(path, text)]


def _render_plain(r: _Render) -> list[tuple[str, str]]:
    names = [n for n in _top_level(r.files) if n.endswith(".sql")]
    unnumbered = [n for n in names if not _NUMBERED.match(n)]
    if unnumbered:
        # Unnumbered files run after numbered ones, by name: sort after the last of them.
        return [(_after_last(f"{r.name}.sql", unnumbered, r.name), r.header + r.up)]
    numbers = [m.group(1) for n in names if (m := _NUMBERED.match(n))]
    version = _next_number(numbers, r.now) if numbers else "001"
    return [(f"{version}_{r.name}.sql", r.header + r.up)]


def _render_prisma(r: _Render) -> list[tuple[str, str]]:
    # Prisma has no down; a later timestamp so `prisma migrate deploy` applies it last.
    version = _next_number(r.versions, r.now)
    return [(f"{version}_{r.name}/migration.sql", r.header + r.up)]


def _render_sqlx(r: _Render) -> list[tuple[str, str]]:
    version = _next_number(r.versions, r.now)
    # sqlx refuses a directory mixing simple and reversible migrations: follow the existing.
    if not any(n.endswith((".up.sql", ".down.sql")) for n in _top_level(r.files)):
        return [(f"{version}_{r.name}.sql", r.header + r.up)]
    out = [(f"{version}_{r.name}.up.sql", r.header + r.up)]
    if r.down is not None:
        out.append((f"{version}_{r.name}.down.sql", r.header + r.down))
    return out


def _drizzle_sql(text: str) -> str:
    """Drizzle runs each chunk between breakpoints as one statement, `;` or not."""
    chunks = [c.strip() for c in text.split(DRIZZLE_BREAKPOINT)]
    return "".join(c + ("\n" if c.endswith(";") else ";\n") for c in chunks if c)


def _render_drizzle(r: _Render) -> list[tuple[str, str]]:
    """`<NNNN>_<name>.sql` with statement breakpoints, and the journal entry that runs it.
    The snapshot (meta/<NNNN>_snapshot.json) is not written: drizzle-kit regenerates it."""
    journal = _drizzle_journal(r.files)
    if journal is None:
        raise ValueError(f"{DRIZZLE_JOURNAL} is not a JSON object")
    entries = _drizzle_entries(journal)
    numbers = [v for v in (str(e.get("tag", "")).split("_")[0] for e in entries) if v.isdigit()]
    version = str(int(max(numbers, key=int)) + 1).zfill(4) if numbers else "0000"
    tag = f"{version}_{r.name}"
    breakpoints = all(e.get("breakpoints", True) is not False for e in entries)
    statements = _drizzle_statements(r.up, r.dialect)
    sep = f"\n{DRIZZLE_BREAKPOINT}\n" if breakpoints else "\n"
    whens = [w for e in entries if isinstance(w := e.get("when"), int)]
    when = max(int(r.now.timestamp() * 1000), max(whens, default=0) + 1)
    last = entries[-1] if entries else {}
    entry = {"idx": len(entries), "version": last.get("version", "7"), "when": when, "tag": tag}
    entry["breakpoints"] = breakpoints
    extended = {**journal, "entries": [*entries, entry]}
    indent = "\t" if "\n\t" in r.files[DRIZZLE_JOURNAL] else 2
    text = json.dumps(extended, indent=indent, ensure_ascii=False) + "\n"
    return [(f"{tag}.sql", r.header + sep.join(statements) + "\n"), (DRIZZLE_JOURNAL, text)]


def _drizzle_statements(sql: str, dialect: Dialect | None) -> list[str]:
    try:
        return [f"{st.text};" for st in split_statements(sql, (dialect or Dialect.POSTGRES).value)]
    except SplitError:
        return [sql.strip()]


def _render_sqitch(r: _Render) -> list[tuple[str, str]]:
    plan = r.files.get(_SQITCH_PLAN, "")
    taken = {name for name, _script in _sqitch_plan(plan, _Paths(""), [])}
    taken |= {n[len("deploy/") : -len(".sql")] for n in r.files if n.startswith("deploy/")}
    change, n = r.name, 1
    while change in taken:
        n += 1
        change = f"{r.name}_{n}"
    project = next(
        (
            line.split("=", 1)[1].strip()
            for line in plan.splitlines()
            if line.startswith("%project=")
        ),
        "",
    )
    label = f"{project}:{change}" if project else change
    note = " ".join(r.note.split())
    line = f"{change} {r.now.strftime('%Y-%m-%dT%H:%M:%SZ')} {PLANNER} # {note}\n"
    if plan and not plan.endswith("\n"):
        plan += "\n"
    out = [
        (f"deploy/{change}.sql", f"-- Deploy {label}\n{r.header}\n{r.up}"),
    ]
    if r.down is not None:
        out.append((f"revert/{change}.sql", f"-- Revert {label}\n{r.header}\n{r.down}"))
    out.append(
        (
            f"verify/{change}.sql",
            f"-- Verify {label}\n{r.header}\n-- Nothing to verify: the plan was proven by {GENERATOR}.\n",
        )
    )
    out.append((_SQITCH_PLAN, plan + line))
    return out


def _render_alembic(r: _Render) -> list[tuple[str, str]]:
    from bot.sources.alembic import render_revision  # its sandbox stack only for Alembic trees

    return render_revision(r.files, r.name, r.note, r.up, r.down, r.now, r.dialect)


_RENDERERS: dict[Format, Callable[[_Render], list[tuple[str, str]]]] = {
    Format.ATLAS: _render_atlas,
    Format.GOLANG_MIGRATE: _render_golang,
    Format.GOOSE: _render_goose,
    Format.DBMATE: _render_dbmate,
    Format.FLYWAY: _render_flyway,
    Format.LIQUIBASE: _render_liquibase,
    Format.SQITCH: _render_sqitch,
    Format.DIESEL: _render_diesel,
    Format.PLAIN: _render_plain,
    Format.PRISMA: _render_prisma,
    Format.SQLX: _render_sqlx,
    Format.DRIZZLE: _render_drizzle,
    Format.SUPABASE: _render_atlas,  # `<timestamp>_<name>.sql`, a later timestamp, no down
    Format.ALEMBIC: _render_alembic,
}
