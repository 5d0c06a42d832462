"""A live PostgreSQL schema as DDL, rebuilt from the system catalogs.

Not pg_dump: it takes an ACCESS SHARE lock on every table (which queues behind a pending ALTER
and can stall the application), needs SELECT on every table, needs the password on a child
process's command line and a client at least as new as the server. Catalog reads need none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.core.model import AutoKind

Query = Callable[[str], list[tuple[Any, ...]]]


_USER_SCHEMA = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'"
)
_NOT_EXTENSION = (
    "NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = '{cat}'::regclass"
    " AND x.objid = {oid} AND x.deptype = 'e')"
)
_SERIAL = {
    "integer": AutoKind.SERIAL,
    "bigint": AutoKind.BIGSERIAL,
    "smallint": AutoKind.SMALLSERIAL,
}


def _qi(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qn(schema: str, name: str) -> str:
    return _qi(name) if schema == "public" else f"{_qi(schema)}.{_qi(name)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def postgres_ddl(query: Query) -> str:
    """The user schemas of a PostgreSQL database as CREATE statements, rebuilt from catalogs."""
    out: list[str] = []
    for (name,) in query(
        f"SELECT n.nspname FROM pg_namespace n WHERE {_USER_SCHEMA} AND n.nspname <> 'public'"
        f" AND {_NOT_EXTENSION.format(cat='pg_namespace', oid='n.oid')} ORDER BY 1"
    ):
        out.append(f"CREATE SCHEMA {_qi(name)};")
    for (name,) in query(
        "SELECT e.extname FROM pg_extension e WHERE e.extname <> 'plpgsql' ORDER BY 1"
    ):
        out.append(f"CREATE EXTENSION IF NOT EXISTS {_qi(name)};")
    for schema, name, labels in query(
        "SELECT n.nspname, t.typname, ARRAY(SELECT e.enumlabel::text FROM pg_enum e"
        " WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder)"
        " FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        f" WHERE t.typtype = 'e' AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_type', oid='t.oid')} ORDER BY 1, 2"
    ):
        values = ", ".join(_literal(v) for v in labels)
        out.append(f"CREATE TYPE {_qn(schema, name)} AS ENUM ({values});")

    # sequences a serial column owns come back as that serial column, not as sequences
    owned: dict[str, str] = {}  # "schema.table.column" -> sequence oid text
    for seq_oid, owner in query(
        "SELECT d.objid::text, rn.nspname || '.' || rc.relname || '.' || ra.attname"
        " FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
        " JOIN pg_class rc ON rc.oid = d.refobjid JOIN pg_namespace rn ON rn.oid = rc.relnamespace"
        " JOIN pg_attribute ra ON ra.attrelid = d.refobjid AND ra.attnum = d.refobjsubid"
        " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
        " AND d.deptype = 'a'"
    ):
        owned[str(owner)] = str(seq_oid)
    for schema, name, oid, typ, start, inc, _min, smax, cache, cycle in query(
        "SELECT n.nspname, c.relname, c.oid::text, format_type(s.seqtypid, NULL), s.seqstart,"
        " s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle"
        " FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid"
        f" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE {_USER_SCHEMA}"
        " AND NOT EXISTS (SELECT 1 FROM pg_depend i WHERE i.objid = c.oid AND i.deptype = 'i')"
        " ORDER BY 1, 2"
    ):
        if str(oid) in owned.values():
            continue
        options = []
        if typ != "bigint":
            options.append(f"AS {typ}")
        if start != (1 if inc > 0 else smax):
            options.append(f"START WITH {start}")
        if inc != 1:
            options.append(f"INCREMENT BY {inc}")
        if cache != 1:
            options.append(f"CACHE {cache}")
        if cycle:
            options.append("CYCLE")
        out.append(f"CREATE SEQUENCE {_qn(schema, name)}{''.join(' ' + o for o in options)};")

    columns: dict[str, list[str]] = {}
    comments: list[str] = []
    for (
        schema,
        table,
        column,
        typ,
        notnull,
        default,
        identity,
        generated,
        collation,
        comment,
    ) in query(
        "SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),"
        " a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated,"
        " CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END,"
        " col_description(c.oid, a.attnum)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"
        " JOIN pg_type t ON t.oid = a.atttypid"
        " LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum"
        f" WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}"
        " ORDER BY 1, 2, a.attnum"
    ):
        key = _qn(schema, table)
        parts = [_qi(column)]
        serial = _SERIAL.get(typ)
        if (
            serial is not None
            and default is not None
            and str(default).startswith("nextval(")
            and f"{schema}.{table}.{column}" in owned
        ):
            parts.append(serial.value)
            default = None
        else:
            parts.append(typ)
        if collation:
            parts.append(f"COLLATE {collation}")
        if identity:
            parts.append(
                "GENERATED ALWAYS AS IDENTITY"
                if identity == "a"
                else "GENERATED BY DEFAULT AS IDENTITY"
            )
        if generated:
            parts.append(
                f"GENERATED ALWAYS AS ({default}) {'STORED' if generated == 's' else 'VIRTUAL'}"
            )
        elif default is not None:
            parts.append(f"DEFAULT {default}")
        if notnull and not identity:
            parts.append("NOT NULL")
        columns.setdefault(key, []).append(" ".join(parts))
        if comment is not None:
            comments.append(f"COMMENT ON COLUMN {key}.{_qi(column)} IS {_literal(comment)};")

    constraints: dict[str, list[str]] = {}
    foreign: list[str] = []
    for schema, table, name, contype, definition in query(
        "SELECT n.nspname, c.relname, co.conname, co.contype, pg_get_constraintdef(co.oid)"
        " FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE co.contype IN ('p', 'u', 'c', 'f', 'x') AND {_USER_SCHEMA}"
        " ORDER BY 1, 2, co.contype, co.conname"
    ):
        text = f"CONSTRAINT {_qi(name)} {definition}"
        if contype == "f":
            # after every table exists, so a reference never points forward
            foreign.append(f"ALTER TABLE {_qn(schema, table)} ADD {text};")
        else:
            constraints.setdefault(_qn(schema, table), []).append(text)

    for schema, table, comment in query(
        "SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class')"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')} ORDER BY 1, 2"
    ):
        key = _qn(schema, table)
        body = ",\n  ".join([*columns.get(key, []), *constraints.get(key, [])])
        out.append(f"CREATE TABLE {key} (\n  {body}\n);")
        if comment is not None:
            comments.append(f"COMMENT ON TABLE {key} IS {_literal(comment)};")
    out += foreign

    for (definition,) in query(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE {_USER_SCHEMA} AND c.relkind IN ('r', 'p', 'm')"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid"
        "   AND co.conrelid = i.indrelid)"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')}"
        " ORDER BY 1"
    ):
        out.append(f"{_unpublic(str(definition))};")

    for schema, name, kind, definition in query(
        "SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE c.relkind IN ('v', 'm') AND {_USER_SCHEMA}"
        f" AND {_NOT_EXTENSION.format(cat='pg_class', oid='c.oid')} ORDER BY c.oid"
    ):
        what = "MATERIALIZED VIEW" if kind == "m" else "VIEW"
        out.append(f"CREATE {what} {_qn(schema, name)} AS\n{str(definition).strip().rstrip(';')};")

    for (definition,) in query(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        f" WHERE {_USER_SCHEMA} AND p.prokind IN ('f', 'p')"
        f" AND {_NOT_EXTENSION.format(cat='pg_proc', oid='p.oid')} ORDER BY p.oid"
    ):
        out.append(f"{str(definition).strip()};")
    for (definition,) in query(
        "SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t"
        " JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace"
        f" WHERE NOT t.tgisinternal AND {_USER_SCHEMA} ORDER BY t.oid"
    ):
        out.append(f"{definition};")
    out += comments
    return "\n\n".join(out) + ("\n" if out else "")


def _unpublic(definition: str) -> str:
    # pg_get_indexdef qualifies the table (ON public.users); history files usually don't
    return definition.replace(" ON public.", " ON ", 1).replace(" ON ONLY public.", " ON ONLY ", 1)
