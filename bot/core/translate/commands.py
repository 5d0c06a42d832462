"""Statements sqlglot hands us as text: functions, triggers, views, grants, comments, opaque objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from sqlglot import exp

from bot.core import changes as ch
from bot.core.model import (
    Dialect,
    Opaque,
    QName,
    View,
)
from bot.core.state import StateError
from bot.core.translate.base import TranslatorBase, Unsupported
from bot.core.translate.common import (
    _quote_name,
    _quote_q,
    _split_top_level,
    _what,
    expand_star,
)

if TYPE_CHECKING:
    from bot.core.translate.translator import Translator


class OpaqueStatements(TranslatorBase):
    """Statements kept verbatim or read with patterns, not by the parser."""

    def command(self) -> None:
        text = self.p.text
        flat = " ".join(text.split())
        for pattern, handler in _COMMANDS:
            m = pattern.match(flat)
            if m:
                # Every instance is a Translator; the family classes only split the code.
                handler(cast("Translator", self), m, text)
                return
        raise Unsupported(_what(flat))

    def _drop_opaque(self, kind: str, ident: str, exists: bool, table: QName | None = None) -> None:
        key = self._find_opaque(kind, ident, table)
        if key is None:
            if exists:
                return
            raise StateError(f"{kind} {ident} does not exist")
        self.emit(ch.DropOpaque(self.state.opaque[key]))

    def _find_opaque(
        self, kind: str, ident: str, table: QName | None = None
    ) -> tuple[str, str] | None:
        if (kind, ident) in self.state.opaque:
            return (kind, ident)
        # DROP FUNCTION f without arguments: the only overload of that name.
        base = ident.split("(")[0]
        found = [
            k
            for k, o in self.state.opaque.items()
            if o.kind == kind
            and o.identity.split("(")[0].split(" on ")[0] == base
            and (
                table is None or o.table is None or self.state.key(o.table) == self.state.key(table)
            )
        ]
        return found[0] if len(found) == 1 else None

    def put_opaque(self, obj: Opaque, replaceable: bool) -> None:
        key = (obj.kind, obj.identity)
        existing = self.state.opaque.get(key)
        if existing is None:
            self.emit(ch.CreateOpaque(obj))
        elif replaceable:
            if existing.definition != obj.definition:
                self.emit(ch.ReplaceOpaque(existing, obj))
        else:
            raise StateError(f"{obj.kind} {obj.identity} already exists")


# -- command handlers (regex on whitespace-folded text) ---------------------------------

_NAME = r"((?:[`\"][^`\"]+[`\"]|[\w$]+)(?:\.(?:[`\"][^`\"]+[`\"]|[\w$]+))?)"


def _qn(t: Translator, text: str) -> QName:
    parts = _split_dotted(text)
    if len(parts) == 2:
        schema = t.name(_ident_text(parts[0]))
        name = QName(t.name(_ident_text(parts[1])), schema)
        if t.dialect is not Dialect.POSTGRES or schema == "public":
            name = QName(name.name)
        return name
    return QName(t.name(_ident_text(parts[0])))


def _split_dotted(text: str) -> list[str]:
    out, cur, quote = [], "", ""
    for c in text:
        if quote:
            cur += c
            if c == quote:
                quote = ""
        elif c in '`"':
            quote = c
            cur += c
        elif c == ".":
            out.append(cur)
            cur = ""
        else:
            cur += c
    out.append(cur)
    return out


def _ident_text(text: str) -> exp.Identifier:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '`"':
        return exp.Identifier(this=text[1:-1], quoted=True)
    return exp.Identifier(this=text, quoted=False)


def _function(t: Translator, m: re.Match[str], text: str) -> None:
    kind = m.group(2).lower()
    name = _qn(t, m.group(3))
    args = _function_args(text, t.dialect) if t.dialect is Dialect.POSTGRES else ""
    ident = f"{name}({args})" if t.dialect is Dialect.POSTGRES else str(name)
    drop = f"DROP {kind.upper()} {_quote_q(name, t.dialect)}" + (
        f"({args})" if t.dialect is Dialect.POSTGRES else ""
    )
    t.put_opaque(Opaque(kind, ident, text, drop), replaceable=bool(m.group(1)))


def _function_args(text: str, dialect: Dialect) -> str:
    """The argument types of a function signature, as PostgreSQL identifies overloads."""
    inside = _parenthesised(text)
    if inside is None:
        return ""
    types = []
    for arg in _split_top_level(inside):
        words = re.split(r"(?i)\s+(?:default\b|=)", arg.strip(), maxsplit=1)[0].split()
        if not words:
            continue
        if words[0].lower() == "out":
            continue  # OUT arguments are not part of the identity
        if words[0].lower() in {"in", "inout", "variadic"}:
            words = words[1:]
        if len(words) > 1 and not _starts_type(words):
            words = words[1:]
        types.append(_arg_type(" ".join(words)))
    return ", ".join(types)


# PostgreSQL's own names for the types an argument may be spelled with.
_ARG_TYPES = {
    "int": "integer",
    "int4": "integer",
    "int8": "bigint",
    "int2": "smallint",
    "float8": "double precision",
    "float": "double precision",
    "float4": "real",
    "bool": "boolean",
    "varchar": "character varying",
    "char": "character",
    "bpchar": "character",
    "decimal": "numeric",
    "timestamptz": "timestamp with time zone",
    "timestamp": "timestamp without time zone",
    "timetz": "time with time zone",
    "time": "time without time zone",
}


def _arg_type(text: str) -> str:
    """An argument type as the server names it: `int4` and `int` are `integer`, and a length
    or precision is not part of it (PostgreSQL ignores them in a signature)."""
    if '"' in text:
        return text
    base = " ".join(re.sub(r"\([^)]*\)", " ", text.lower()).split())
    arrays = ""
    while base.endswith("[]"):
        base, arrays = base[:-2].rstrip(), arrays + "[]"
    return _ARG_TYPES.get(base, base) + arrays


_ARG_TOKEN = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[()]|[^-/'\"()]+|.", re.S
)


def _parenthesised(text: str) -> str | None:
    """What the first parentheses of `text` hold, comments left out (a comment may hold a
    comma or a parenthesis, and is not part of any type)."""
    depth = 0
    out: list[str] = []
    for m in _ARG_TOKEN.finditer(text):
        token = m.group(0)
        if token.startswith(("--", "/*")):
            out.append(" ")
            continue
        if token == "(":
            depth += 1
            if depth == 1:
                continue
        elif token == ")" and depth > 0:
            depth -= 1
            if depth == 0:
                return "".join(out)
        if depth > 0:
            out.append(token)
    return None


_MULTIWORD_TYPES = (
    "double precision",
    "character varying",
    "timestamp with",
    "timestamp without",
    "time with",
    "time without",
    "bit varying",
)


def _starts_type(words: list[str]) -> bool:
    head = " ".join(words[:2]).lower()
    return any(head.startswith(t) for t in _MULTIWORD_TYPES)


def _trigger(t: Translator, m: re.Match[str], text: str) -> None:
    name_text = m.group(2)
    on = re.search(r"(?is)\bon\s+" + _NAME, " ".join(text.split())[m.end(2) :])
    if not on:
        raise Unsupported("CREATE TRIGGER without ON table")
    table = _qn(t, on.group(1))
    name = t.name(_ident_text(name_text))
    if t.dialect is Dialect.POSTGRES:
        ident = f"{name} on {table}"
        drop = f"DROP TRIGGER {_quote_name(name, t.dialect)} ON {_quote_q(table, t.dialect)}"
    else:
        ident = name
        drop = f"DROP TRIGGER {_quote_name(name, t.dialect)}"
    t.put_opaque(Opaque("trigger", ident, text, drop, table), replaceable=bool(m.group(1)))


def _simple_opaque(kind: str, drop_word: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        name = _qn(t, m.group(2))
        exists = bool(m.group(1))
        obj = Opaque(kind, str(name), text, f"DROP {drop_word} {_quote_q(name, t.dialect)}")
        if (kind, obj.identity) in t.state.opaque and exists:
            return
        t.put_opaque(obj, replaceable=False)

    return handler


def _scoped_opaque(kind: str, drop_word: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        name = t.name(_ident_text(m.group(2)))
        table = _qn(t, m.group(3))
        obj = Opaque(
            kind,
            f"{name} on {table}",
            text,
            f"DROP {drop_word} {_quote_name(name, t.dialect)} ON {_quote_q(table, t.dialect)}",
            table,
        )
        t.put_opaque(obj, replaceable=bool(m.group(1)))

    return handler


def _drop_function(t: Translator, m: re.Match[str], text: str) -> None:
    exists = bool(m.group(2))
    kind = m.group(1).lower()
    for part in _split_top_level(m.group(3)):
        part = re.sub(r"(?i)\s+(cascade|restrict)\s*$", "", part.strip())
        nm = re.match(_NAME + r"\s*(\(.*\))?$", part)
        if not nm:
            raise Unsupported(f"cannot read DROP {kind.upper()} {part}")
        name = _qn(t, nm.group(1))
        if t.dialect is Dialect.POSTGRES and nm.group(2) is not None:
            ident = f"{name}({_function_args(nm.group(2), t.dialect)})"
        else:
            ident = str(name)
        if re.search(r"(?i)\bcascade\s*$", text):
            # The triggers that call it go with it.
            calls = re.compile(
                rf"(?i)\bexecute\s+(function|procedure)\s+{re.escape(name.name)}\s*\("
            )
            for obj in list(t.state.opaque.values()):
                if obj.kind == "trigger" and calls.search(obj.definition):
                    t.emit(ch.DropOpaque(obj))
        t._drop_opaque(kind, ident, exists)


def _drop_trigger(t: Translator, m: re.Match[str], text: str) -> None:
    exists = bool(m.group(1))
    name = t.name(_ident_text(m.group(2).split(".")[-1]))
    table = _qn(t, m.group(3)) if m.group(3) else None
    ident = f"{name} on {table}" if table is not None and t.dialect is Dialect.POSTGRES else name
    t._drop_opaque("trigger", ident, exists, table)


def _rename_trigger(t: Translator, m: re.Match[str], text: str) -> None:
    """PostgreSQL ALTER TRIGGER ... RENAME TO: the trigger is kept as its CREATE text, which
    now names it anew (undone by dropping it and creating it under the old name)."""
    table = _qn(t, m.group(2))
    old = t.name(_ident_text(m.group(1)))
    new = t.name(_ident_text(m.group(3)))
    key = t._find_opaque("trigger", f"{old} on {table}", table)
    if key is None:
        raise StateError(f"trigger {old} on {table} does not exist")
    obj = t.state.opaque[key]
    if t._find_opaque("trigger", f"{new} on {table}", table) is not None and new != old:
        raise StateError(f"trigger {new} on {table} already exists")
    head = re.compile(
        r"(?is)(create\s+(?:or\s+replace\s+)?(?:constraint\s+)?trigger\s+)"
        + r"(?:[`\"][^`\"]+[`\"]|[\w$]+)"
    )
    if not head.match(obj.definition.lstrip()):
        raise Unsupported(f"cannot rename trigger {old}: its definition is not a CREATE TRIGGER")
    quoted = _quote_name(new, t.dialect)
    renamed = replace(
        obj,
        identity=f"{new} on {table}",
        definition=head.sub(lambda h: h.group(1) + quoted, obj.definition.lstrip(), count=1),
        drop=f"DROP TRIGGER {quoted} ON {_quote_q(table, t.dialect)}",
    )
    t.emit(ch.DropOpaque(obj))
    t.emit(ch.CreateOpaque(renamed))


def _drop_scoped(kind: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        name = t.name(_ident_text(m.group(2)))
        table = _qn(t, m.group(3))
        t._drop_opaque(kind, f"{name} on {table}", bool(m.group(1)), table)

    return handler


def _drop_simple(kind: str) -> Handler:
    def handler(t: Translator, m: re.Match[str], text: str) -> None:
        for part in _split_top_level(re.sub(r"(?i)\s+(cascade|restrict)\s*$", "", m.group(2))):
            t._drop_opaque(kind, str(_qn(t, part.strip())), bool(m.group(1)))

    return handler


def _alter_type(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(1))
    rest = m.group(2)
    enum = t.state.enums.get(t.state.key(name))
    if enum is None:
        if re.match(r"(?i)owner\s+to\b", rest):
            return
        raise Unsupported(f"ALTER TYPE {name}: not an enum this history created")
    add = re.match(
        r"(?i)add\s+value\s+(if\s+not\s+exists\s+)?'((?:[^']|'')*)'(?:\s+(before|after)\s+'((?:[^']|'')*)')?$",
        rest,
    )
    if add:
        value = add.group(2).replace("''", "'")
        if value in enum.values:
            if add.group(1):
                return
            raise StateError(f"enum {name} already has value {value!r}")
        values = list(enum.values)
        if add.group(3):
            anchor = add.group(4).replace("''", "'")
            if anchor not in values:
                raise StateError(f"enum {name} has no value {anchor!r}")
            pos = values.index(anchor) + (1 if add.group(3).lower() == "after" else 0)
            values.insert(pos, value)
        else:
            values.append(value)
        t.emit(ch.AlterEnum(enum, replace(enum, values=tuple(values))))
        return
    ren = re.match(r"(?i)rename\s+value\s+'((?:[^']|'')*)'\s+to\s+'((?:[^']|'')*)'$", rest)
    if ren:
        old, new = ren.group(1).replace("''", "'"), ren.group(2).replace("''", "'")
        if old not in enum.values:
            raise StateError(f"enum {name} has no value {old!r}")
        t.emit(
            ch.AlterEnum(
                enum, replace(enum, values=tuple(new if v == old else v for v in enum.values))
            )
        )
        return
    rename = re.match(r"(?i)rename\s+to\s+" + _NAME + "$", rest)
    if rename:
        t.emit(ch.RenameEnum(name, QName(t.name(_ident_text(rename.group(1))), name.schema)))
        return
    if re.match(r"(?i)owner\s+to\b", rest):
        return
    raise Unsupported(f"ALTER TYPE {name} {rest[:60]} is not modelled")


def _alter_sequence(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(2))
    seq = t.state.sequences.get(t.state.key(name))
    rest = m.group(3).strip()
    if seq is None:
        # Sequences owned by serial/identity columns live inside the column in our model.
        if re.match(r"(?i)(owned\s+by|owner\s+to)\b", rest):
            return
        # A serial's own: spelled out from now on, so it can be altered and renamed.
        seq = t.state.sequence(name)
        if seq is None:
            if m.group(1):
                return
            raise Unsupported(f"ALTER SEQUENCE {name}: sequence not created by this history")
    if re.match(r"(?i)owned\s+by\b", rest):
        t.emit(ch.AlterSequence(seq, replace(seq, owned_by=rest[9:].strip())))
        return
    rename = re.match(r"(?i)rename\s+to\s+" + _NAME + "$", rest)
    if rename:
        new = QName(t.name(_ident_text(rename.group(1))), seq.name.schema)
        if t.state.sequence(new) is not None or t.state.table(new) is not None:
            raise StateError(f"relation {new} already exists")
        t.emit(ch.AlterSequence(seq, replace(seq, name=new)))
        return
    if re.match(r"(?i)(owner\s+to|set\s+schema)\b", rest):
        if re.match(r"(?i)owner\s+to\b", rest):
            return
        raise Unsupported(f"ALTER SEQUENCE {name} {rest[:40]} is not modelled")
    t.emit(
        ch.AlterSequence(seq, replace(seq, definition=merge_sequence_options(seq.definition, rest)))
    )


# MariaDB also writes `INCREMENT = n`, `MAXVALUE = n`...; ENGINE and COMMENT are table options
# of its CREATE SEQUENCE, kept so the sequence can be created again as it was.
_SEQ_OPTION = re.compile(
    r"(?i)\b(as\s+[\w.]+|increment(?:\s+by\s+|\s*=\s*|\s+)-?\d+|no\s*minvalue|"
    r"minvalue(?:\s*=)?\s*-?\d+|no\s*maxvalue|maxvalue(?:\s*=)?\s*-?\d+|"
    r"start(?:\s+with)?(?:\s*=)?\s*-?\d+|restart(?:(?:\s+with)?(?:\s*=)?\s*-?\d+)?|no\s*cache|"
    r"cache(?:\s*=)?\s*\d+|no\s*cycle|cycle|engine(?:\s*=)?\s*\w+)\b"
    r"|\b(comment(?:\s*=)?\s*'(?:[^']|'')*')"
)


def merge_sequence_options(definition: str, change: str) -> str:
    """Sequence options after ALTER SEQUENCE: a restated option replaces the earlier one.

    RESTART moves the current value only; it is not part of the definition.
    """
    merged: dict[str, str] = {}
    for text in (definition, change):
        for m in _SEQ_OPTION.finditer(text):
            clause = " ".join((m.group(1) or m.group(2)).split())
            word = re.findall(r"[a-z]+", clause.lower().replace("no ", "no"))[0]
            key = word[2:] if word.startswith("no") and word != "no" else word
            if key != "restart":
                merged[key] = clause
    # MariaDB takes table options only after the sequence's own
    table_options = [merged.pop(key) for key in ("engine", "comment") if key in merged]
    return " ".join([*merged.values(), *table_options])


def _alter_index(t: Translator, m: re.Match[str], text: str) -> None:
    name = t.name(_ident_text(_split_dotted(m.group(2))[-1]))
    rest = m.group(3)
    idx = t.state.find_index(name)
    ren = re.match(r"(?i)rename\s+to\s+" + _NAME + "$", rest)
    if idx is None:
        # PostgreSQL: the index behind a primary key or unique constraint carries its name,
        # and renaming the index renames the constraint.
        owner = next(
            (
                (table.name, con)
                for table in t.state.tables.values()
                for con in (table.primary_key, *table.uniques)
                if con is not None and con.name is not None and t.state.same(con.name, name)
            ),
            None,
        )
        if owner is not None and ren and t.dialect is Dialect.POSTGRES:
            t.emit(ch.RenameConstraint(owner[0], name, t.name(_ident_text(ren.group(1)))))
            return
        if m.group(1):
            return
        raise StateError(f"index {name} does not exist")
    if ren:
        t.emit(ch.RenameIndex(idx.table, idx.name, t.name(_ident_text(ren.group(1)))))
        return
    if re.match(r"(?i)(set|reset|owner|alter\s+column\s+\S+\s+set\s+statistics)\b", rest):
        return
    raise Unsupported(f"ALTER INDEX {rest[:60]} is not modelled")


def _rename_tables(t: Translator, m: re.Match[str], text: str) -> None:
    for pair in _split_top_level(m.group(1)):
        pm = re.match(r"\s*" + _NAME + r"\s+to\s+" + _NAME + r"\s*$", pair, re.I)
        if not pm:
            raise Unsupported(f"cannot read RENAME TABLE {pair}")
        t.emit(ch.RenameTable(_qn(t, pm.group(1)), _qn(t, pm.group(2))))


def _alter_view(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(2))
    rest = m.group(3)
    view = t.state.views.get(t.state.key(name))
    if view is None:
        if m.group(1):
            return
        raise StateError(f"view {name} does not exist")
    ren = re.match(r"(?i)rename\s+to\s+" + _NAME + "$", rest)
    if ren:
        new = replace(view, name=QName(t.name(_ident_text(ren.group(1))), name.schema))
        t.emit(ch.DropView(view))
        t.emit(ch.CreateView(new))
        return
    if re.match(r"(?i)(owner\s+to|set\s*\(|reset\s*\()", rest):
        return
    raise Unsupported(f"ALTER VIEW {rest[:60]} is not modelled")


def _alter_table_cmd(t: Translator, m: re.Match[str], text: str) -> None:
    name = _qn(t, m.group(2))
    if t.state.table(name) is None:
        if m.group(1):
            return
        raise StateError(f"table {name} does not exist")
    t.alter_table_text(name, t._alter_actions_text())


def _grant(t: Translator, m: re.Match[str], text: str) -> None:
    flat = " ".join(text.split())
    g = re.match(r"(?i)grant\s+(.+?)\s+on\s+(.+?)\s+to\s+(.+?)(\s+with\s+grant\s+option)?$", flat)
    if not g:
        raise Unsupported("GRANT of roles is not modelled")
    drop = f"REVOKE {g.group(1)} ON {g.group(2)} FROM {g.group(3)}"
    t.put_opaque(Opaque("grant", flat, text, drop), replaceable=True)


def _revoke(t: Translator, m: re.Match[str], text: str) -> None:
    flat = " ".join(text.split())
    for _key, obj in list(t.state.opaque.items()):
        if obj.kind == "grant" and " ".join(obj.drop.split()).lower() == flat.lower():
            t.emit(ch.DropOpaque(obj))
            return
    raise Unsupported("REVOKE of a privilege not granted by these migrations")


_VIEW_CMD = re.compile(
    r"(?is)\s*(create(?:\s+or\s+replace)?|alter)\s+((?:(?:algorithm\s*=\s*\w+|definer\s*=\s*\S+|"
    r"sql\s+security\s+\w+)\s+)*)(materialized\s+)?view\s+(if\s+not\s+exists\s+)?"
    + _NAME
    + r"\s*(\([^)]*\))?\s+as\s+(.*?)(\s+with\s+(?:(?:cascaded|local)\s+)?check\s+option)?\s*$"
)


def _view(t: Translator, m: re.Match[str], text: str) -> None:
    vm = _VIEW_CMD.match(text)
    if not vm:
        raise Unsupported("cannot read this view definition")
    verb = " ".join(vm.group(1).lower().split())
    # DEFINER names an account of one server: not part of the schema.
    options = " ".join(
        o for o in re.findall(r"(?i)algorithm\s*=\s*\w+|sql\s+security\s+\w+", vm.group(2) or "")
    )
    options = " ".join(options.upper().replace(" = ", "=").split())
    if vm.group(8):
        options = f"{options} {' '.join(vm.group(8).upper().split())}".strip()
    name = _qn(t, vm.group(5))
    columns = (
        tuple(t.name(_ident_text(c)) for c in _split_top_level(vm.group(6)[1:-1]))
        if vm.group(6)
        else ()
    )
    definition = expand_star(vm.group(7).strip(), t.state)
    view = View(name, definition, bool(vm.group(3)), columns, options or None)
    existing = t.state.views.get(t.state.key(name))
    if existing is None:
        if verb == "alter":
            raise StateError(f"view {name} does not exist")
        t.emit(ch.CreateView(view))
    elif verb == "create" and not vm.group(4):
        raise StateError(f"view {name} already exists")
    elif verb != "create":
        t.emit(ch.ReplaceView(existing, view))


def _comment(t: Translator, m: re.Match[str], text: str) -> None:
    kind, target, value_text = m.group(1).lower(), m.group(2), m.group(3)
    value = None if value_text.upper() == "NULL" else value_text[1:-1].replace("''", "'")
    if kind == "table":
        tname = _qn(t, target)
        table = t.state.require_table(tname)
        if table.comment != value:
            t.emit(ch.SetTableComment(tname, table.comment, value))
        return
    if kind == "column":
        parts = _split_dotted(target)
        if len(parts) < 2:
            raise Unsupported("COMMENT ON COLUMN needs table.column")
        tname = _qn(t, ".".join(parts[:-1]))
        col = t.state.column(tname, t.name(_ident_text(parts[-1])))
        if col.comment != value:
            t.emit(ch.AlterColumn(tname, col, replace(col, comment=value)))
        return
    # Comments on other objects are kept verbatim, keyed by what they are on.
    ident = f"{kind} {' '.join(target.split()).lower()}"
    existing = t.state.opaque.get(("comment", ident))
    if value is None:
        if existing is not None:
            t.emit(ch.DropOpaque(existing))
        return
    obj = Opaque("comment", ident, text, f"COMMENT ON {m.group(1).upper()} {target} IS NULL")
    t.put_opaque(obj, replaceable=True)


def _ignore(t: Translator, m: re.Match[str], text: str) -> None:
    return None


Handler = Callable[["Translator", re.Match[str], str], None]

_COMMANDS: list[tuple[re.Pattern[str], Handler]] = [
    (
        re.compile(
            r"(?is)(create(\s+or\s+replace)?|alter)\s+((algorithm|definer|sql\s+security)\b.*?\s+)?(materialized\s+)?view\b"
        ),
        _view,
    ),
    (
        re.compile(
            r"(?is)create\s+(or\s+replace\s+)?(?:definer\s*=\s*\S+\s+)?(function|procedure)\s+"
            + _NAME
        ),
        _function,
    ),
    (
        re.compile(
            r"(?is)create\s+(or\s+replace\s+)?(?:definer\s*=\s*\S+\s+)?(?:constraint\s+)?(?:temp(?:orary)?\s+)?trigger\s+(?:if\s+not\s+exists\s+)?"
            + _NAME
        ),
        _trigger,
    ),
    (
        re.compile(r"(?is)create\s+extension\s+(if\s+not\s+exists\s+)?" + _NAME),
        _simple_opaque("extension", "EXTENSION"),
    ),
    (
        # SQLite: FTS5, R*Tree and other modules' tables (and their shadow tables)
        re.compile(r"(?is)create\s+virtual\s+table\s+(if\s+not\s+exists\s+)?" + _NAME),
        _simple_opaque("virtual table", "TABLE"),
    ),
    (re.compile(r"(?is)create\s+domain\s+()" + _NAME), _simple_opaque("domain", "DOMAIN")),
    (re.compile(r"(?is)create\s+type\s+()" + _NAME), _simple_opaque("type", "TYPE")),
    (
        re.compile(
            r"(?is)create\s+(?:definer\s*=\s*\S+\s+)?event\s+(if\s+not\s+exists\s+)?" + _NAME
        ),
        _simple_opaque("event", "EVENT"),
    ),
    (
        re.compile(r"(?is)create\s+()policy\s+" + _NAME + r"\s+on\s+" + _NAME),
        _scoped_opaque("policy", "POLICY"),
    ),
    (
        re.compile(
            r"(?is)create\s+(or\s+replace\s+)?rule\s+" + _NAME + r"\s+as\s+on\s+\w+\s+to\s+" + _NAME
        ),
        _scoped_opaque("rule", "RULE"),
    ),
    (re.compile(r"(?is)drop\s+(function|procedure)\s+(if\s+exists\s+)?(.+)$"), _drop_function),
    (
        re.compile(
            r"(?is)drop\s+trigger\s+(if\s+exists\s+)?"
            + _NAME
            + r"(?:\s+on\s+"
            + _NAME
            + r")?(?:\s+(?:cascade|restrict))?$"
        ),
        _drop_trigger,
    ),
    (re.compile(r"(?is)drop\s+extension\s+(if\s+exists\s+)?(.+)$"), _drop_simple("extension")),
    (re.compile(r"(?is)drop\s+domain\s+(if\s+exists\s+)?(.+)$"), _drop_simple("domain")),
    (re.compile(r"(?is)drop\s+event\s+(if\s+exists\s+)?(.+)$"), _drop_simple("event")),
    (
        re.compile(r"(?is)drop\s+policy\s+(if\s+exists\s+)?" + _NAME + r"\s+on\s+" + _NAME),
        _drop_scoped("policy"),
    ),
    (
        re.compile(r"(?is)drop\s+rule\s+(if\s+exists\s+)?" + _NAME + r"\s+on\s+" + _NAME),
        _drop_scoped("rule"),
    ),
    (
        re.compile(
            r"(?is)alter\s+trigger\s+"
            + _NAME
            + r"\s+on\s+"
            + _NAME
            + r"\s+rename\s+to\s+"
            + _NAME
            + "$"
        ),
        _rename_trigger,
    ),
    (re.compile(r"(?is)alter\s+type\s+" + _NAME + r"\s+(.+)$"), _alter_type),
    (
        re.compile(r"(?is)alter\s+sequence\s+(if\s+exists\s+)?" + _NAME + r"\s+(.+)$"),
        _alter_sequence,
    ),
    (re.compile(r"(?is)alter\s+index\s+(if\s+exists\s+)?" + _NAME + r"\s+(.+)$"), _alter_index),
    (
        re.compile(
            r"(?is)alter\s+(?:materialized\s+)?view\s+(if\s+exists\s+)?" + _NAME + r"\s+(.+)$"
        ),
        _alter_view,
    ),
    (
        re.compile(r"(?is)alter\s+table\s+(if\s+exists\s+)?(?:only\s+)?" + _NAME + r"\s+.+$"),
        _alter_table_cmd,
    ),
    (re.compile(r"(?is)rename\s+tables?\s+(.+)$"), _rename_tables),
    (re.compile(r"(?is)grant\s+.+$"), _grant),
    (re.compile(r"(?is)revoke\s+.+$"), _revoke),
    (
        re.compile(
            r"(?is)comment\s+on\s+(table|column|index|view|materialized\s+view|type|sequence|function|procedure|trigger|schema|extension|constraint|domain|policy)\s+(.+?)\s+is\s+('(?:[^']|'')*'|null)\s*$"
        ),
        _comment,
    ),
    (
        re.compile(
            r"(?is)alter\s+(function|procedure|schema|extension|domain|database|role|user|default\s+privileges|publication|subscription)\b.*\bowner\s+to\b"
        ),
        _ignore,
    ),
    (re.compile(r"(?is)(create|alter|drop)\s+(role|user)\b"), _ignore),
]
