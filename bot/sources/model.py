"""What sources hand to the core: files at a commit, and the schema sources found in them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.core.model import Dialect


class Format(StrEnum):
    """Versioned migration directory formats."""

    ATLAS = "atlas"  # atlas.sum + <version>_<name>.sql
    GOLANG_MIGRATE = "golang-migrate"  # N_name.up.sql / N_name.down.sql
    GOOSE = "goose"  # -- +goose Up / -- +goose Down
    DBMATE = "dbmate"  # -- migrate:up / -- migrate:down
    FLYWAY = "flyway"  # V<ver>__<desc>.sql, U<ver>__ undo, R__ repeatable
    LIQUIBASE = "liquibase"  # --liquibase formatted sql, --changeset, --rollback
    SQITCH = "sqitch"  # sqitch.plan + deploy/ revert/ verify/
    DIESEL = "diesel"  # <version>_<name>/up.sql + down.sql
    PRISMA = "prisma"  # <timestamp>_<name>/migration.sql + migration_lock.toml
    SUPABASE = "supabase"  # supabase/migrations/<timestamp>_<name>.sql (PostgreSQL)
    DRIZZLE = "drizzle"  # <NNNN>_<name>.sql ordered by meta/_journal.json
    SQLX = "sqlx"  # <version>_<name>.sql, or reversible .up.sql / .down.sql (Cargo.toml: sqlx)
    ALEMBIC = "alembic"  # env.py + versions/*.py revisions; SQL from offline mode (--sql)
    PLAIN = "plain"  # ordered *.sql


# Layouts whose SQL comes from running the repository's own code (plan --run-repo-code, ci)
RUNS_CODE = frozenset({Format.ALEMBIC})


class DialectFrom(StrEnum):
    """How a source's dialect was decided, strongest first."""

    CONFIG = "config"  # .rollback-plan.yml
    MANIFEST = "manifest"  # the database URL in a Kubernetes manifest
    TOOL = "tool"  # the migration tool's own file, e.g. Prisma's migration_lock.toml
    DIRECTORY_NAME = "directory-name"  # e.g. migrations/mysql, db/db_sqlite3
    OPTION = "option"  # --dialect, for sources nothing else decides
    SQL = "sql"  # guessed from dialect-only syntax in the migrations


class SourceKind(StrEnum):
    DIRECTORY = "directory"  # a versioned migration directory in the repo
    ATLAS_MIGRATION = "atlas-migration"  # AtlasMigration manifest (ConfigMap or inline dir)
    ATLAS_SCHEMA = "atlas-schema"  # AtlasSchema manifest: declarative desired schema
    CONFIGMAP = "configmap"  # a ConfigMap mounted as a migration directory
    KUSTOMIZE = "kustomize"  # a kustomize configMapGenerator building a migration dir
    MIGRATION_JOB = "migration-job"  # a Job whose image tag decides which migrations run


@dataclass(frozen=True)
class FileEntry:
    """One file of a tree: a git blob (or a file on disk)."""

    path: str  # repo-relative, forward slashes
    sha: str  # git blob sha (content hash for directories)
    size: int
    symlink: bool = False


class Snapshot(Protocol):
    """A repository tree at one commit, read without checking it out."""

    @property
    def ref(self) -> str: ...

    def entries(self) -> Sequence[FileEntry]: ...

    def entry(self, path: str) -> FileEntry | None: ...

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Contents of many files in one batch; paths that are missing are left out."""
        ...


@dataclass(frozen=True)
class VersionedMigration:
    """One migration of a versioned directory, with the author's down when it has one."""

    version: str  # as the tool orders it ("20240101120000", "3", "1.2.1")
    name: str  # description part of the name
    up_path: str  # repo-relative path of the file holding the up
    up: str  # the up SQL
    down: str | None = None  # the author's down SQL, when the format has one
    down_path: str | None = None  # where the down lives (may equal up_path: goose, dbmate...)
    repeatable: bool = False  # Flyway R__: noted, not replayed as versioned


@dataclass(frozen=True)
class SchemaSource:
    """A place in the repository that describes a database schema."""

    kind: SourceKind
    path: str  # the migration directory, or the manifest file for declarative sources
    dialect: Dialect | None
    format: Format | None = None  # versioned sources
    migrations: tuple[VersionedMigration, ...] = ()
    schema_sql: str | None = None  # declarative sources (AtlasSchema)
    manifest: str | None = None  # the manifest that names this source, if any
    name: str | None = None  # e.g. the AtlasMigration's metadata.name
    problems: tuple[str, ...] = ()  # what could not be read, and why (file: reason)
    notes: tuple[str, ...] = ()  # worth saying, not a problem (e.g. a guessed dialect)
    dialect_from: DialectFrom | None = None

    @property
    def key(self) -> str:
        """Identifies the same source at two commits."""
        return f"{self.kind.value}:{self.manifest or ''}:{self.name or ''}:{self.path}"
