"""Small pure helpers the statement families share."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlglot import exp

from bot.core.model import (
    Column,
    Constraint,
    Dialect,
    Index,
    QName,
    Table,
    Unique,
)
from bot.core.state import State

if TYPE_CHECKING:
    from bot.core.translate.base import TranslatorBase


def _what(flat: str) -> str:
    words = flat.split()[:3]
    return f"{' '.join(words).upper()} ... is not modelled"


# -- helpers ----------------------------------------------------------------------

_TYPE_SQL: dict[tuple[str, str], str] = {}


def _type_key(dtype: exp.DataType) -> str | None:
    """A cheap memo key for the common types (a name and literal parameters), else None."""
    params = []
    for p in dtype.expressions:
        lit = p.this if isinstance(p, exp.DataTypeParam) else None
        if not isinstance(lit, exp.Literal) or dtype.args.get("values") or dtype.args.get("kind"):
            return None
        params.append(str(lit.this))
    if any(v for k, v in dtype.args.items() if k not in {"this", "expressions", "nested"}):
        return None
    if not isinstance(dtype.this, exp.DataType.Type):
        return None  # a type sqlglot does not know (regconfig, oid, ...): read verbatim
    return f"{dtype.this.value}({','.join(params)})"


def _type_sql(dtype: exp.DataType, written: str, dialect: Dialect) -> str:
    """A type in sqlglot's canonical spelling, memoised by how it was written (hot in replay)."""
    key = (dialect.value, written)
    found = _TYPE_SQL.get(key) if written else None
    if found is None:
        found = dtype.sql(dialect.value)
        if written and len(_TYPE_SQL) < 10_000:
            _TYPE_SQL[key] = found
    return found


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_null(node: exp.Expr) -> bool:
    return isinstance(node, exp.Null)


def _property(tree: exp.Create, kind: type[exp.Expr]) -> exp.Expr | None:
    props = tree.args.get("properties")
    if props is None:
        return None
    for p in props.expressions:
        if isinstance(p, kind):
            return p.this if p.this is not None else p
    return None


def _single_column(node: exp.Expr, t: TranslatorBase) -> tuple[str, ...]:
    names = {
        t.name(c.this) for c in node.find_all(exp.Column) if isinstance(c.this, exp.Identifier)
    }
    return tuple(names) if len(names) == 1 else ()


def _expr_label(expression: str) -> str:
    m = re.match(r"\s*([A-Za-z_]\w*)", expression)
    return m.group(1).lower() if m else "expr"


_LONG = re.compile(r"(?i)\s*((tiny|medium|long)?(text|blob)|json)\b")


def long_unique(table: Table, key: Index | Unique) -> bool:
    """A MariaDB unique key over a TEXT or BLOB column without a prefix length: kept as a hash
    (USING HASH), which can't serve a foreign key (seen on MariaDB 10.11)."""
    if isinstance(key, Index):
        if not key.unique:
            return False
        whole = [p.expression for p in key.parts if p.is_column and not p.length]
    else:
        whole = list(key.columns)
    for name in whole:
        column = table.column(name, Dialect.MYSQL)
        if column is not None and _LONG.match(column.type):
            return True
    return False


def _has_index_prefix(table: Table, cols: tuple[str, ...], state: State) -> bool:
    keys = [tuple(c.lower() for c in cols)]
    candidates: list[tuple[str, ...]] = [
        tuple(p.expression.lower() for p in i.parts if p.is_column)
        for i in table.indexes
        if not long_unique(table, i)
    ]
    candidates += [
        tuple(c.lower() for c in u.columns) for u in table.uniques if not long_unique(table, u)
    ]
    if table.primary_key:
        candidates.append(tuple(c.lower() for c in table.primary_key.columns))
    return any(c[: len(keys[0])] == keys[0] for c in candidates)


def superseded_fk_indexes(table: Table, cols: tuple[str, ...]) -> list[Index]:
    """The indexes InnoDB made for earlier foreign keys on a leading part of `cols` (shorter
    than `cols`): it drops them when it makes the index for a key on `cols`, which then serves
    both (seen on MariaDB 10.11, in CREATE TABLE and ALTER TABLE alike)."""
    key = [c.lower() for c in cols]
    out = []
    for index in table.indexes:
        parts = [p.expression.lower() for p in index.parts if p.is_column and not p.length]
        if (
            index.implicit
            and len(parts) == len(index.parts)
            and 0 < len(parts) < len(key)
            and key[: len(parts)] == parts
        ):
            out.append(index)
    return out


def _pk_not_null(table: Table, state: State) -> Table:
    if table.primary_key is None:
        return table
    pk = {c.lower() for c in table.primary_key.columns}
    return replace(
        table,
        columns=tuple(
            replace(c, nullable=False) if c.name.lower() in pk else c for c in table.columns
        ),
    )


def _new_constraints(before: Table, after: Table) -> list[Constraint]:
    old = set(before.constraints())
    return [c for c in after.constraints() if c not in old]


def _copy_table(source: Table, name: QName) -> Table:
    # CREATE TABLE ... LIKE copies columns and indexes, not foreign keys.
    return replace(
        source,
        name=name,
        foreign_keys=(),
        indexes=tuple(replace(i, table=name) for i in source.indexes),
        comment=None,
    )


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quote = ""
    start = 0
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "'\"`":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _quote_name(name: str, dialect: Dialect) -> str:
    from bot.core.render.names import ident

    return ident(name, dialect)


def _quote_q(name: QName, dialect: Dialect) -> str:
    from bot.core.render.names import qname

    return qname(name, dialect)


def _undo_rls(verb: str) -> str:
    return {"ENABLE": "DISABLE", "DISABLE": "ENABLE", "FORCE": "NO FORCE", "NO FORCE": "FORCE"}[
        verb
    ]


def expand_star(definition: str, state: State) -> str:
    """A PostgreSQL view's SELECT with `*` and `t.*` spelled out as the columns they stand for
    now: the server stores the expansion, so a column added later is not in the view.

    Left as written when a source is not a table of the model, or a join merges columns
    (USING, NATURAL): then the expansion is not known for sure.
    """
    if state.dialect is not Dialect.POSTGRES or "*" not in definition:
        return definition
    import sqlglot

    try:
        tree = sqlglot.parse_one(definition, read="postgres")
    except sqlglot.errors.ParseError:
        return definition
    if not isinstance(tree, exp.Select) or not any(
        isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
        for p in tree.expressions
    ):
        return definition
    sources = query_sources(tree, state)
    if sources is None:
        return definition
    items: list[exp.Expr] = []
    for item in tree.expressions:
        star = isinstance(item, exp.Star) or (
            isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
        )
        if not star:
            items.append(item)
            continue
        qualifier = item.table if isinstance(item, exp.Column) else ""
        chosen = [(a, t) for a, t in sources if not qualifier or a == qualifier]
        if not chosen:
            return definition
        for alias, table in chosen:
            for col in table.columns:
                name = exp.to_identifier(
                    col.name, quoted=_quote_name(col.name, Dialect.POSTGRES) != col.name
                )
                items.append(exp.column(name, table=alias if len(sources) > 1 else None))
    tree.set("expressions", items)
    return tree.sql("postgres")


def query_sources(tree: exp.Select, state: State) -> list[tuple[str, Table]] | None:
    """The tables a SELECT reads, by the name the query calls them; None when one is not a
    table of the model or a join merges columns (USING, NATURAL)."""
    from_ = tree.args.get("from_") or tree.args.get("from")
    joins = tree.args.get("joins") or []
    if from_ is None or any(j.args.get("using") or j.args.get("method") for j in joins):
        return None
    sources: list[tuple[str, Table]] = []
    for node in [from_.this, *(j.this for j in joins)]:
        if not isinstance(node, exp.Table) or not isinstance(node.this, exp.Identifier):
            return None
        db = node.args.get("db")
        schema = _ident(db) if isinstance(db, exp.Identifier) else None
        table = state.table(QName(_ident(node.this), None if schema == "public" else schema))
        if table is None:
            return None
        sources.append((node.alias_or_name, table))
    return sources


def query_columns(tree: exp.Expr, state: State) -> list[Column] | None:
    """The columns CREATE TABLE ... AS gives a PostgreSQL table: each output column of the
    SELECT, typed as the column it reads (or its cast), nullable, without default. None
    when one is an expression whose type is not known here."""
    if not isinstance(tree, exp.Select):
        return None
    sources = query_sources(tree, state)
    if sources is None:
        return None

    def source_column(ref: exp.Column) -> Column | None:
        name = _ident(ref.this) if isinstance(ref.this, exp.Identifier) else None
        found = [
            c
            for alias, table in sources
            if not ref.table or alias == ref.table
            for c in table.columns
            if c.name == name
        ]
        return found[0] if len(found) == 1 else None

    out: list[Column] = []
    for item in tree.expressions:
        named = item.args.get("alias") if isinstance(item, exp.Alias) else None
        if isinstance(named, exp.TableAlias):
            named = named.this
        alias = _ident(named) if isinstance(named, exp.Identifier) else None
        if isinstance(item, exp.Alias) and alias is None:
            return None
        node = item.this if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Star) or (
            isinstance(node, exp.Column) and isinstance(node.this, exp.Star)
        ):
            qualifier = node.table if isinstance(node, exp.Column) else ""
            chosen = [t for a, t in sources if not qualifier or a == qualifier]
            if not chosen:
                return None
            out += [_plain(c, c.name) for t in chosen for c in t.columns]
            continue
        cast = node.args.get("to") if isinstance(node, exp.Cast) else None
        inner = node.this if isinstance(node, exp.Cast) else node
        if not isinstance(inner, exp.Column):
            return None
        col = source_column(inner)
        if col is None:
            return None
        name = alias or col.name
        typed = _plain(col, name)
        if isinstance(cast, exp.DataType):
            typed = replace(typed, type=cast.sql("postgres"), collation=None)
        out.append(typed)
    names = [c.name for c in out]
    return out if len(set(names)) == len(names) else None


def _plain(col: Column, name: str) -> Column:
    """A column as a query hands it on: its type and collation, nothing else."""
    serial = {"serial": "INT", "bigserial": "BIGINT", "smallserial": "SMALLINT"}
    kind = col.auto.value if col.auto is not None else ""
    return Column(
        name,
        serial.get(kind, col.type) if col.type.lower() == kind else col.type,
        collation=col.collation,
    )


def _ident(node: exp.Identifier) -> str:
    return str(node.this) if node.quoted else str(node.this).lower()
