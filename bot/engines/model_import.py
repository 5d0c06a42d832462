"""Catalog import: a live scratch database read back into the core's schema model.

Each engine is asked for its own definitions of what it holds (PostgreSQL ``pg_get_*def`` and
``format_type`` over ``pg_catalog``, MariaDB ``SHOW CREATE`` over ``information_schema``, SQLite
``sqlite_master``), written out as one DDL script in dependency order, and that script is
replayed by the same translator the static replay uses. So an imported schema spells types,
defaults and names exactly as a replayed one does, and diffing two imports (or an import and a
replay) compares like with like. What the replay can't read of that script is returned as
``unread``, never dropped.

Known normalisations (the engine's spelling wins): PostgreSQL view, check, index and default
text as the engine deparses it; sequence options written out in full; MariaDB ``DEFAULT NULL`` and table options (ENGINE, CHARSET) as ``SHOW CREATE TABLE`` prints
them. Not imported yet: grants, PostgreSQL rules, event triggers, aggregates, casts and
operators; MariaDB events. They are listed in ``skipped``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.model import Dialect, Schema
from bot.core.naming import serial_sequence
from bot.core.replay import Migration, Unmodelled, replay

Query = Callable[[str], list[tuple[Any, ...]]]

CATALOG_PATH = "<catalog>"


@dataclass(frozen=True)
class ImportedSchema:
    """The model read from an engine, the DDL it was read from, and what was not read."""

    schema: Schema
    ddl: tuple[str, ...]
    unread: tuple[Unmodelled, ...] = ()
    skipped: tuple[str, ...] = ()  # objects present but not imported (kinds listed above)


def import_schema(query: Query, dialect: Dialect, database: str | None = None) -> ImportedSchema:
    """Read the database behind ``query`` (a scratch database's ``query``) into the model.

    ``database`` names the MariaDB database to read (the connection's current one by default).
    """
    if dialect is Dialect.POSTGRES:
        ddl, skipped = postgres_ddl(query)
    elif dialect is Dialect.MYSQL:
        ddl, skipped = mysql_ddl(query, database)
    else:
        ddl, skipped = sqlite_ddl(query)
    history = replay([Migration(CATALOG_PATH, "".join(f"{s};\n" for s in ddl))], dialect)
    return ImportedSchema(history.schema, tuple(ddl), history.unmodelled, tuple(skipped))


# --- SQLite -----------------------------------------------------------------------------

_SQLITE_ORDER = {"table": 0, "index": 1, "view": 2, "trigger": 3}


def sqlite_ddl(query: Query) -> tuple[list[str], list[str]]:
    """The statements SQLite keeps for every object, tables first, as the author wrote them."""
    rows = query(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid"
    )
    # a virtual table's module makes its shadow tables (FTS5's <name>_data, ...): its own
    # CREATE VIRTUAL TABLE makes them again, so they are not objects of their own
    virtual = [
        str(name).lower() + "_"
        for _kind, name, sql in rows
        if re.match(r"(?is)\s*create\s+virtual\s+table\b", str(sql))
    ]
    rows = [
        row
        for row in rows
        if not (
            row[0] == "table"
            and str(row[1]).lower().startswith(tuple(virtual))
            and not re.match(r"(?is)\s*create\s+virtual\s+table\b", str(row[2]))
        )
    ]
    ordered = sorted(rows, key=lambda row: _SQLITE_ORDER.get(row[0], 4))
    return [sql for _kind, _name, sql in ordered], []


# --- MariaDB / MySQL --------------------------------------------------------------------

_DEFINER = re.compile(r"(?i)\s+DEFINER\s*=\s*(`[^`]*`|'[^']*'|\S+)@(`[^`]*`|'[^']*'|\S+)")
_VIEW_DEFAULTS = re.compile(r"(?i)\s+(ALGORITHM\s*=\s*UNDEFINED|SQL\s+SECURITY\s+DEFINER)\b")
_TABLE_ENGINE = re.compile(r"(?i)\s+ENGINE=\w+\s*$")
_AUTO_COUNTER = re.compile(r"(?i)\s+AUTO_INCREMENT=\d+")
# MariaDB prints the default integer display widths nobody wrote; others were written
_DISPLAY_WIDTH = re.compile(r"(?i)\b(tinyint|smallint|mediumint|int|bigint)\((\d+)\)( unsigned)?")
_DEFAULT_WIDTHS = {"tinyint": 4, "smallint": 6, "mediumint": 9, "int": 11, "bigint": 20}


def without_default_widths(sql: str) -> str:
    """MySQL text with the display widths the engine adds by default left out."""
    return _DISPLAY_WIDTH.sub(_default_width, sql)


def _default_width(m: re.Match[str]) -> str:
    kind, width, unsigned = m.group(1).lower(), int(m.group(2)), m.group(3) or ""
    default = _DEFAULT_WIDTHS[kind] - (1 if unsigned and kind != "bigint" else 0)
    return m.group(1) + unsigned if width == default else m.group(0)


def mysql_ddl(query: Query, database: str | None = None) -> tuple[list[str], list[str]]:
    """``SHOW CREATE`` of every table, view, routine and trigger of the database."""
    if database is None:
        ((database,),) = query("SELECT DATABASE()")
    db = _mysql_literal(str(database))
    tables = [
        str(name)
        for (name,) in query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"{db} AND table_type = 'BASE TABLE' ORDER BY table_name"
        )
    ]
    views = [
        str(name)
        for (name,) in query(
            "SELECT table_name FROM information_schema.views WHERE table_schema = "
            f"{db} ORDER BY table_name"
        )
    ]
    out = [
        _TABLE_ENGINE.sub("", str(query(f"SHOW CREATE SEQUENCE {_mysql_ident(str(name))}")[0][1]))
        for (name,) in query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            f"{db} AND table_type = 'SEQUENCE' ORDER BY table_name"
        )
    ]
    for table in tables:
        ((_, text),) = query(f"SHOW CREATE TABLE {_mysql_ident(table)}")
        # the next auto-increment value is data, not schema
        out.append(without_default_widths(_AUTO_COUNTER.sub("", str(text))))
    view_sql: dict[str, str] = {}
    for view in views:
        text = str(query(f"SHOW CREATE VIEW {_mysql_ident(view)}")[0][1])
        view_sql[view] = _VIEW_DEFAULTS.sub("", _DEFINER.sub("", text))
    out += _dependency_order(view_sql)
    for kind, name in query(
        "SELECT routine_type, routine_name FROM information_schema.routines WHERE "
        f"routine_schema = {db} ORDER BY routine_name"
    ):
        row = query(f"SHOW CREATE {kind} {_mysql_ident(str(name))}")[0]
        out.append(_DEFINER.sub("", str(row[2])))
    for (name,) in query(
        "SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = "
        f"{db} ORDER BY event_object_table, action_timing, event_manipulation, action_order"
    ):
        row = query(f"SHOW CREATE TRIGGER {_mysql_ident(str(name))}")[0]
        out.append(_DEFINER.sub("", str(row[2])))
    skipped = [
        f"event {name}"
        for (name,) in query(
            f"SELECT event_name FROM information_schema.events WHERE event_schema = {db}"
        )
    ]
    return out, skipped


def _mysql_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _mysql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _dependency_order(definitions: dict[str, str]) -> list[str]:
    """View definitions with each one after the views it names (MariaDB checks them)."""
    done: list[str] = []
    placed: set[str] = set()

    def place(name: str, path: frozenset[str]) -> None:
        if name in placed or name in path:
            return
        for other in definitions:
            if other != name and re.search(rf"`{re.escape(other)}`", _body(definitions[name])):
                place(other, path | {name})
        placed.add(name)
        done.append(definitions[name])

    for name in sorted(definitions):
        place(name, frozenset())
    return done


def _body(view_sql: str) -> str:
    # the view's own name precedes AS; only what it selects from counts
    _, _, body = view_sql.partition(" AS ")
    return body


# --- PostgreSQL -------------------------------------------------------------------------

_USER_NS = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'"
)


def _no_ext(catalog: str, oid: str) -> str:
    return (
        f"NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{catalog}'::regclass"
        f" AND x.objid = {oid} AND x.deptype = 'e')"
    )


def _pg_name(nsp: str) -> str:
    # objects of the default schema are modelled without a schema, as the replay does
    return f"CASE WHEN {nsp} = 'public' THEN '' ELSE quote_ident({nsp}) || '.' END"


_PG_SCHEMAS = f"""
SELECT quote_ident(n.nspname) FROM pg_namespace n
WHERE {_USER_NS} AND n.nspname <> 'public' AND {_no_ext("pg_namespace", "n.oid")} ORDER BY n.oid
"""
_PG_EXTENSIONS = """
SELECT quote_ident(e.extname), quote_ident(n.nspname) FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname <> 'plpgsql' ORDER BY e.oid
"""
_PG_ENUMS = f"""
SELECT {_pg_name("n.nspname")} || quote_ident(t.typname),
  ARRAY(SELECT quote_literal(e.enumlabel) FROM pg_enum e WHERE e.enumtypid = t.oid
        ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'e' AND {_USER_NS} AND {_no_ext("pg_type", "t.oid")} ORDER BY t.oid
"""
_PG_DOMAINS = f"""
SELECT {_pg_name("n.nspname")} || quote_ident(t.typname), format_type(t.typbasetype, t.typtypmod),
  t.typdefault, t.typnotnull,
  ARRAY(SELECT 'CONSTRAINT ' || quote_ident(c.conname) || ' ' || pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c' ORDER BY c.conname)
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.typtype = 'd' AND {_USER_NS} AND {_no_ext("pg_type", "t.oid")} ORDER BY t.oid
"""
# relkind: r table, p partitioned table, c composite type, v view, m materialized view
_PG_RELATIONS = f"""
SELECT c.oid, c.relkind, {_pg_name("n.nspname")} || quote_ident(c.relname),
  c.relpersistence = 'u', c.reloptions::text[],
  CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
  CASE WHEN c.relispartition THEN
    (SELECT {_pg_name("pn.nspname")} || quote_ident(p.relname) FROM pg_inherits i
     JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
     WHERE i.inhrelid = c.oid) END,
  pg_get_expr(c.relpartbound, c.oid),
  CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END,
  c.relispopulated,
  obj_description(c.oid, 'pg_class')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'c', 'v', 'm') AND {_USER_NS} AND {_no_ext("pg_class", "c.oid")}
ORDER BY c.oid
"""
_PG_COLUMNS = f"""
SELECT a.attrelid, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod), a.attnotnull,
  pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
       THEN quote_ident(co.collname) END,
  col_description(a.attrelid, a.attnum), a.attislocal,
  (SELECT s.seqrelid::regclass::text FROM pg_depend dep JOIN pg_sequence s ON s.seqrelid = dep.objid
   WHERE dep.classid = 'pg_class'::regclass AND dep.refobjid = a.attrelid
     AND dep.refobjsubid = a.attnum AND dep.deptype = 'a' LIMIT 1),
  t.typname
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
LEFT JOIN pg_collation co ON co.oid = a.attcollation
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'c') AND {_USER_NS}
ORDER BY a.attrelid, a.attnum
"""
# Constraints in the table body, foreign keys after every table exists.
_PG_CONSTRAINTS = """
SELECT c.conrelid, c.contype, 'CONSTRAINT ' || quote_ident(c.conname) || ' '
  || pg_get_constraintdef(c.oid)
FROM pg_constraint c WHERE c.conrelid <> 0 AND c.conislocal AND c.contype IN ('p', 'u', 'c', 'f', 'x')
ORDER BY c.conrelid, c.contype = 'f', c.conname
"""
_PG_INDEXES = f"""
SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_NS} AND {_no_ext("pg_class", "i.indrelid")}
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x'))
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
ORDER BY i.indexrelid
"""
_PG_SEQUENCES = f"""
SELECT c.oid::regclass::text, {_pg_name("n.nspname")} || quote_ident(c.relname),
  format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache,
  s.seqcycle,
  (SELECT quote_ident(a.attname) FROM pg_depend d JOIN pg_attribute a
     ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'a'),
  (SELECT {_pg_name("tn.nspname")} || quote_ident(t.relname) FROM pg_depend d
   JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i'))
FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE {_USER_NS} AND {_no_ext("pg_class", "c.oid")}
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'i')
ORDER BY c.oid
"""
_PG_FUNCTIONS = f"""
SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE {_USER_NS} AND p.prokind IN ('f', 'p') AND {_no_ext("pg_proc", "p.oid")} ORDER BY p.oid
"""
_PG_TRIGGERS = f"""
SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND {_USER_NS} ORDER BY t.oid
"""
_PG_RLS = f"""
SELECT {_pg_name("n.nspname")} || quote_ident(c.relname) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relrowsecurity AND {_USER_NS} ORDER BY c.oid
"""
_PG_POLICIES = f"""
SELECT quote_ident(p.polname), {_pg_name("n.nspname")} || quote_ident(c.relname), p.polpermissive,
  p.polcmd, ARRAY(SELECT CASE WHEN r = 0 THEN 'public' ELSE quote_ident(pg_get_userbyid(r)) END
                  FROM unnest(p.polroles) r),
  pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
ORDER BY p.oid
"""
_PG_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
_PG_SKIPPED = f"""
SELECT 'rule ' || r.rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE r.rulename <> '_RETURN' AND {_USER_NS}
UNION ALL SELECT 'event trigger ' || evtname FROM pg_event_trigger
UNION ALL SELECT 'aggregate ' || p.proname FROM pg_proc p JOIN pg_namespace n
  ON n.oid = p.pronamespace WHERE p.prokind = 'a' AND {_USER_NS} AND {_no_ext("pg_proc", "p.oid")}
"""

_SERIALS = {"int4": "serial", "int8": "bigserial", "int2": "smallserial"}
_SEQ_DEFAULTS = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


def postgres_ddl(query: Query) -> tuple[list[str], list[str]]:
    """A script that rebuilds the database, written from ``pg_catalog``."""
    out = [f"CREATE SCHEMA {name}" for (name,) in query(_PG_SCHEMAS)]
    out += [
        f"CREATE EXTENSION IF NOT EXISTS {name} WITH SCHEMA {nsp}"
        for name, nsp in query(_PG_EXTENSIONS)
    ]
    out += [
        f"CREATE TYPE {name} AS ENUM ({', '.join(labels)})" for name, labels in query(_PG_ENUMS)
    ]
    for name, base, default, notnull, checks in query(_PG_DOMAINS):
        parts = [f"CREATE DOMAIN {name} AS {base}"]
        parts += [f"DEFAULT {default}"] if default is not None else []
        parts += ["NOT NULL"] if notnull else []
        out.append(" ".join(parts + list(checks)))
    columns: dict[int, list[tuple[Any, ...]]] = {}
    for row in query(_PG_COLUMNS):
        columns.setdefault(row[0], []).append(row[1:])
    constraints: dict[int, list[tuple[str, str]]] = {}
    for rel, kind, text in query(_PG_CONSTRAINTS):
        constraints.setdefault(rel, []).append((kind, text))
    serial_seqs: set[str] = set()
    relations = query(_PG_RELATIONS)
    tables, views, comments, foreign = [], [], [], []
    for (
        oid,
        kind,
        name,
        unlogged,
        options,
        partkey,
        parent,
        bound,
        viewdef,
        populated,
        note,
    ) in relations:
        cols = columns.get(oid, [])
        if kind == "c":
            body = ", ".join(f"{c[0]} {c[1]}" for c in cols)
            tables.append(f"CREATE TYPE {name} AS ({body})")
            continue
        if kind in ("v", "m"):
            mat = "MATERIALIZED " if kind == "m" else ""
            check = [o for o in options or [] if o.startswith("check_option=")]
            rest = [o for o in options or [] if o not in check]
            with_opts = f" WITH ({', '.join(rest)})" if rest else ""
            tail = " WITH NO DATA" if kind == "m" and not populated else ""
            if check:
                tail += f" WITH {check[0].partition('=')[2].upper()} CHECK OPTION"
            views.append(
                f"CREATE {mat}VIEW {name}{with_opts} AS {viewdef.strip().rstrip(';')}{tail}"
            )
            if note is not None:
                comments.append(f"COMMENT ON {mat}VIEW {name} IS {_pg_literal(note)}")
            continue
        items = []
        for col in cols if parent is None else [c for c in cols if c[8]]:
            items.append(_pg_column(name, col, serial_seqs))
            if col[7] is not None:
                comments.append(f"COMMENT ON COLUMN {name}.{col[0]} IS {_pg_literal(col[7])}")
        for ckind, text in constraints.get(oid, []):
            # CREATE TABLE validates what it holds: a NOT VALID check is added after
            if ckind == "f" or text.endswith(" NOT VALID"):
                foreign.append(f"ALTER TABLE {name} ADD {text}")
            else:
                items.append(text)
        head = f"CREATE {'UNLOGGED ' if unlogged else ''}TABLE {name}"
        if parent is not None:
            body = f" ({', '.join(items)})" if items else ""
            sql = f"{head} PARTITION OF {parent}{body} {bound}"
        else:
            sql = f"{head} ({', '.join(items)})"
        if partkey:
            sql += f" PARTITION BY {partkey}"
        if options:
            sql += f" WITH ({', '.join(options)})"
        tables.append(sql)
        if note is not None:
            comments.append(f"COMMENT ON TABLE {name} IS {_pg_literal(note)}")
    sequences, owned = [], []
    for regclass, name, typ, start, inc, lo, hi, cache, cycle, column, table in query(
        _PG_SEQUENCES
    ):
        if regclass in serial_seqs:
            continue
        sequences.append(
            f"CREATE SEQUENCE {name}{_seq_options(typ, start, inc, lo, hi, cache, cycle)}"
        )
        if column is not None and table is not None:
            owned.append(f"ALTER SEQUENCE {name} OWNED BY {table}.{column}")
    out += sequences + tables + owned + foreign
    out += [str(sql).strip() for (sql,) in query(_PG_FUNCTIONS)]
    out += views
    # after the views: materialized views have indexes too
    out += [str(sql) for (sql,) in query(_PG_INDEXES)]
    out += [f"ALTER TABLE {name} ENABLE ROW LEVEL SECURITY" for (name,) in query(_PG_RLS)]
    out += [_pg_policy(*row) for row in query(_PG_POLICIES)]
    out += [str(sql) for (sql,) in query(_PG_TRIGGERS)]
    out += comments
    return out, [str(what) for (what,) in query(_PG_SKIPPED)]


def _pg_policy(
    name: str, table: str, permissive: bool, cmd: str, roles: list[str], using: Any, check: Any
) -> str:
    parts = [f"CREATE POLICY {name} ON {table}"]
    parts += [] if permissive else ["AS RESTRICTIVE"]
    parts += [] if cmd == "*" else [f"FOR {_PG_COMMANDS[cmd]}"]
    parts += [] if roles == ["public"] else [f"TO {', '.join(roles)}"]
    parts += [] if using is None else [f"USING ({using})"]
    parts += [] if check is None else [f"WITH CHECK ({check})"]
    return " ".join(parts)


def _pg_column(table: str, col: Sequence[Any], serial_seqs: set[str]) -> str:
    name, typ, notnull, default, identity, generated, collation, _note, _local, seq, typname = col
    bare_table = table.rsplit(".", 1)[-1].strip('"')
    serial = _SERIALS.get(typname)
    if (
        serial
        and seq is not None
        and default is not None
        and default.startswith("nextval(")
        and seq.rsplit(".", 1)[-1].strip('"') == f"{bare_table}_{name.strip(chr(34))}_seq"
    ):
        # SERIAL is a type, its default and an owned sequence: written back as one word
        serial_seqs.add(seq)
        return f"{name} {serial}{' NOT NULL' if notnull else ''}"
    parts = [name, typ]
    if collation:
        parts.append(f"COLLATE {collation}")
    if identity in ("a", "d"):
        parts.append(f"GENERATED {'ALWAYS' if identity == 'a' else 'BY DEFAULT'} AS IDENTITY")
        if seq is not None:
            serial_seqs.add(seq)
            # a sequence that kept its name through a rename of the table or the column
            bare_seq = seq.rsplit(".", 1)[-1]
            if bare_seq.strip('"') != serial_sequence(bare_table, name.strip('"')):
                parts.append(f"(SEQUENCE NAME {bare_seq})")
    elif generated == "s":
        parts.append(f"GENERATED ALWAYS AS ({default}) STORED")
    elif default is not None:
        parts.append(f"DEFAULT {default}")
    if notnull and identity not in ("a", "d"):
        parts.append("NOT NULL")
    return " ".join(parts)


def _seq_options(typ: str, start: int, inc: int, lo: int, hi: int, cache: int, cycle: bool) -> str:
    """Only the options that differ from what a bare CREATE SEQUENCE of that type gets."""
    parts = [] if typ == "bigint" else [f"AS {typ}"]
    top = _SEQ_DEFAULTS.get(typ, 9223372036854775807)
    if inc != 1:
        parts.append(f"INCREMENT BY {inc}")
    if lo != (1 if inc > 0 else -top - 1):
        parts.append(f"MINVALUE {lo}")
    if hi != (top if inc > 0 else -1):
        parts.append(f"MAXVALUE {hi}")
    if start != (lo if inc > 0 else hi):
        parts.append(f"START WITH {start}")
    if cache != 1:
        parts.append(f"CACHE {cache}")
    if cycle:
        parts.append("CYCLE")
    return "".join(f" {p}" for p in parts)


def _pg_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
