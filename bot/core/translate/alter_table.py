"""ALTER TABLE statements as a whole: the actions sqlglot parses, and those it cannot, one at a
time with our own fallbacks."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp

from bot.core import changes as ch
from bot.core import naming
from bot.core.model import (
    AutoKind,
    Constraint,
    Dialect,
    Opaque,
    PrimaryKey,
    QName,
    Unique,
)
from bot.core.sqltext import ParsedStatement
from bot.core.state import StateError
from bot.core.translate.alter import AlterStatements
from bot.core.translate.base import (
    Unsupported,
)
from bot.core.translate.commands import _ident_text
from bot.core.translate.common import (
    _quote_name,
    _quote_q,
    _split_top_level,
    _undo_rls,
)


class AlterTable(AlterStatements):
    """ALTER TABLE statements, read into actions."""

    def alter(self, tree: exp.Alter) -> None:
        kind = str(tree.args.get("kind") or "").upper()
        if kind != "TABLE":
            self.command()
            return
        name = self.qname(tree.this)
        if self.state.table(name) is None:
            if tree.args.get("exists"):
                return
            raise StateError(f"table {name} does not exist")
        actions = tree.args.get("actions") or []
        # sqlglot reads `RENAME c TO d` (COLUMN omitted) as a table rename with leftovers in
        # `options`; a parse with leftovers is not trusted, the text is read action by action.
        if (
            not actions
            or tree.args.get("options")
            or re.search(r"(?i)\badd\s+constraint\s+\S+\s+exclude\b", self.p.text)
        ):
            self.alter_table_text(name, self._alter_actions_text())
            return
        if self.dialect is Dialect.MYSQL:
            _unique_then_first(tree)
        if self.dialect is Dialect.POSTGRES:
            # PostgreSQL runs an ALTER TABLE's drops first, whatever their place: `SET DEFAULT 1,
            # DROP DEFAULT` on one column leaves the default 1
            actions = sorted(actions, key=lambda a: not _pg_drop_pass(a))
        for action in actions:
            name = self.alter_action(name, action)

    def _alter_actions_text(self) -> str:
        m = re.match(
            r"(?is)\s*alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?((?:[`\"][^`\"]+[`\"]|[\w$]+)(?:\s*\.\s*(?:[`\"][^`\"]+[`\"]|[\w$]+))?)\s*(.*)$",
            self.p.text,
        )
        if not m:
            raise Unsupported("cannot read ALTER TABLE")
        return m.group(2)

    def _add_placed(self, name: QName, placed: re.Match[str]) -> bool:
        """ADD COLUMN ... UNIQUE AFTER x: the column read without its position, then placed."""
        sub = ParsedStatement(
            f"ALTER TABLE {_quote_q(name, self.dialect)} ADD COLUMN {placed.group(1)}",
            self.dialect,
        )
        actions = sub.tree.args.get("actions") if isinstance(sub.tree, exp.Alter) else None
        if not actions or not isinstance(actions[0], exp.ColumnDef):
            return False
        cd = actions[0]
        if placed.group(3) is not None:
            position = exp.ColumnPosition(this=exp.to_identifier(placed.group(3).strip("`")))
            position.set("position", "AFTER")
        else:
            position = exp.ColumnPosition(position="FIRST")
        cd.set("position", position)
        inner = type(self)(self.state, sub)
        inner.add_column(name, cd)
        self.applied.extend(inner.applied)
        self.unmodelled.extend(inner.unmodelled)
        return True

    def alter_table_text(self, name: QName, actions: str) -> None:
        """Actions sqlglot could not parse together: one at a time, with our own fallbacks."""
        for action in _split_top_level(actions):
            if not action.strip():
                continue
            if self.table_option(name, action):
                continue
            if self._alter_fallback(name, action):
                continue
            sub = ParsedStatement(
                f"ALTER TABLE {_quote_q(name, self.dialect)} {action}", self.dialect
            )
            if not isinstance(sub.tree, exp.Alter) or not sub.tree.args.get("actions"):
                self.unmodelled.append(f"ALTER TABLE action not modelled: {action.strip()[:120]}")
                continue
            inner = type(self)(self.state, sub)
            for act in sub.tree.args["actions"]:
                name = inner.alter_action(name, act)
            self.applied.extend(inner.applied)
            self.unmodelled.extend(inner.unmodelled)

    def _alter_fallback(self, name: QName, action: str) -> bool:
        """ALTER TABLE actions sqlglot does not parse, recognised by shape."""
        a = " ".join(action.split())
        placed = _PLACED_COLUMN.match(a) if self.dialect is Dialect.MYSQL else None
        if placed and self._add_placed(name, placed):
            return True
        m = (
            re.match(r"(?i)add\s+(check)\b(.*)$", a)
            if self.dialect is Dialect.MYSQL
            else re.match(r"(?i)add\s+(check|unique|primary\s+key|foreign\s+key)\b(.*)$", a)
        )
        if m:
            # sqlglot needs a name here; parse with a placeholder and name it as PostgreSQL would.
            sub = ParsedStatement(
                f"ALTER TABLE {_quote_q(name, self.dialect)} ADD CONSTRAINT rp__unnamed {m.group(1)}{m.group(2)}",
                self.dialect,
            )
            if isinstance(sub.tree, exp.Alter) and sub.tree.args.get("actions"):
                inner = type(self)(self.state, sub)
                inner._unnamed = True
                inner.alter_action(name, sub.tree.args["actions"][0])
                self.applied.extend(inner.applied)
                return True
            return False
        m = re.match(
            r"(?i)alter\s+(?:column\s+)?(\S+)\s+add\s+generated\s+(always|by\s+default)\s+as\s+identity\b",
            a,
        )
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            auto = (
                AutoKind.IDENTITY_ALWAYS
                if m.group(2).lower() == "always"
                else AutoKind.IDENTITY_BY_DEFAULT
            )
            # a new sequence, named after the table and column as they are now unless named
            named = re.search(r"(?i)\(\s*sequence\s+name\s+([^\s()]+)\s*\)", a[m.end() :])
            sequence = self.name(_ident_text(named.group(1))) if named else None
            if sequence == naming.serial_sequence(name.name, col.name):
                sequence = None
            after = replace(col, auto=auto, nullable=False, sequence=sequence)
            self.emit(ch.AlterColumn(name, col, after))
            return True
        m = re.match(r"(?i)alter\s+(?:column\s+)?(\S+)\s+drop\s+identity(\s+if\s+exists)?\b", a)
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            if col.auto not in {AutoKind.IDENTITY_ALWAYS, AutoKind.IDENTITY_BY_DEFAULT}:
                if m.group(2):  # a serial or plain column: nothing to drop, the default stays
                    return True
                raise StateError(f"column {name}.{col.name} is not an identity column")
            self.emit(ch.AlterColumn(name, col, replace(col, auto=None, sequence=None)))
            return True
        m = re.match(r"(?i)alter\s+(?:column\s+)?(\S+)\s+set\s+expression\s+as\s+\((.*)\)$", a)
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            self.emit(ch.AlterColumn(name, col, replace(col, generated=m.group(2).strip())))
            return True
        m = re.fullmatch(
            r"(?i)alter constraint (\S+)((?: not)? deferrable)?( initially (?:deferred|immediate))?",
            a,
        )
        if m and self.dialect is Dialect.POSTGRES and (m.group(2) or m.group(3)):
            self._alter_constraint(name, self.name(_ident_text(m.group(1))), a.lower())
            return True
        m = re.match(r"(?i)alter\s+(?:column\s+)?(\S+)\s+drop\s+expression\b", a)
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            self.emit(ch.AlterColumn(name, col, replace(col, generated=None)))
            return True
        m = re.match(r"(?i)rename\s+(?:column\s+)?(?!to\b|constraint\b)(\S+)\s+to\s+(\S+)$", a)
        # MySQL spells a column rename only with COLUMN; `RENAME x TO y` there is a table rename.
        if m and (self.dialect is not Dialect.MYSQL or a.lower().startswith("rename column")):
            old, new = self.name(_ident_text(m.group(1))), self.name(_ident_text(m.group(2)))
            self.state.column(name, old)
            self.emit(ch.RenameColumn(name, old, new))
            return True
        m = re.match(
            r"(?i)alter\s+(?:column\s+)?(\S+)\s+set\s+generated\s+(always|by\s+default)$", a
        )
        if m:
            col = self.state.column(name, self.name(_ident_text(m.group(1))))
            if col.auto not in {AutoKind.IDENTITY_ALWAYS, AutoKind.IDENTITY_BY_DEFAULT}:
                raise StateError(f"column {name}.{col.name} is not an identity column")
            auto = (
                AutoKind.IDENTITY_ALWAYS
                if m.group(2).lower() == "always"
                else AutoKind.IDENTITY_BY_DEFAULT
            )
            self.emit(ch.AlterColumn(name, col, replace(col, auto=auto)))
            return True
        m = re.match(r"(?i)set\s+schema\s+(\S+)$", a)
        if m and self.dialect is Dialect.POSTGRES:
            schema: str | None = self.name(_ident_text(m.group(1)))
            if schema == "public":
                schema = None
            self.emit(ch.RenameTable(name, QName(name.name, schema)))
            return True
        m = re.match(r"(?is)add\s+constraint\s+(\S+)\s+(exclude\b.*)$", a)
        if m and self.dialect is Dialect.POSTGRES:
            # EXCLUDE constraints are kept verbatim: a down drops or restores them as written.
            con_name = self.name(_ident_text(m.group(1)))
            table_sql = _quote_q(name, self.dialect)
            self.put_opaque(
                Opaque(
                    "constraint",
                    f"{con_name} on {name}",
                    f"ALTER TABLE {table_sql} ADD CONSTRAINT {_quote_name(con_name, self.dialect)} {m.group(2)}",
                    f"ALTER TABLE {table_sql} DROP CONSTRAINT {_quote_name(con_name, self.dialect)}",
                    name,
                ),
                replaceable=False,
            )
            return True
        m = re.match(
            r"(?i)add\s+constraint\s+(\S+)\s+(unique|primary\s+key)\s+using\s+index\s+(\S+)"
            r"(?:\s+(?:deferrable|not\s+deferrable|initially\s+\w+))*$",
            a,
        )
        if m and self.dialect is Dialect.POSTGRES:
            # The index becomes the constraint's (and takes its name).
            idx = self.state.find_index(self.name(_ident_text(m.group(3))), name.schema)
            if idx is None or not all(p.is_column for p in idx.parts):
                raise StateError(f"index {m.group(3)} does not exist or is not on plain columns")
            cols = tuple(p.expression for p in idx.parts)
            con_name = self.name(_ident_text(m.group(1)))
            con: Constraint = (
                PrimaryKey(con_name, cols)
                if m.group(2).lower().startswith("primary")
                else Unique(con_name, cols)
            )
            self.emit(ch.DropIndex(idx))
            self._emit_constraint(name, con)
            return True
        m = re.match(r"(?i)rename\s+constraint\s+(\S+)\s+to\s+(\S+)$", a)
        if m:
            old, new = self.name(_ident_text(m.group(1))), self.name(_ident_text(m.group(2)))
            found = self.state.find_constraint(name, old)
            if found is None:
                raise StateError(f"constraint {old} does not exist on {name}")
            if self.dialect is Dialect.POSTGRES:
                # A rename keeps the index and whatever depends on it (foreign keys).
                self.emit(ch.RenameConstraint(name, old, new))
            else:
                self.emit(ch.DropConstraint(name, found))
                self.emit(ch.AddConstraint(name, replace(found, name=new)))
            return True
        m = re.match(r"(?i)(enable|disable|force|no\s+force)\s+row\s+level\s+security$", a)
        if m:
            verb = " ".join(m.group(1).upper().split())
            ident = f"{verb.lower()} on {name}"
            obj = Opaque(
                "row level security",
                ident,
                f"ALTER TABLE {_quote_q(name, self.dialect)} {verb} ROW LEVEL SECURITY",
                f"ALTER TABLE {_quote_q(name, self.dialect)} {_undo_rls(verb)} ROW LEVEL SECURITY",
                name,
            )
            if (obj.kind, obj.identity) not in self.state.opaque:
                self.emit(ch.CreateOpaque(obj))
            return True
        m = re.match(r"(?i)comment\s*=?\s*'((?:[^']|'')*)'$", a)
        if m and self.dialect is Dialect.MYSQL:
            table = self.state.require_table(name)
            self.emit(
                ch.SetTableComment(name, table.comment, m.group(1).replace("''", "'") or None)
            )
            return True
        m = re.match(r"(?i)add\s+(?:column\s+)?\((.*)\)$", a)
        if m and self.dialect is Dialect.MYSQL:
            for coldef in _split_top_level(m.group(1)):
                self.alter_table_text(name, f"ADD COLUMN {coldef}")
            return True
        return False


# MySQL's ADD COLUMN with a column constraint and a position, which sqlglot can't read together
def _unique_then_first(tree: exp.Alter) -> None:
    """`ADD COLUMN a INT UNIQUE FIRST`: sqlglot reads FIRST as the name of the UNIQUE, which a
    column's UNIQUE can't have in MySQL; it is the column's position (fuzz_cli seed 7350)."""
    for cd in tree.find_all(exp.ColumnDef):
        if cd.args.get("position") is not None:
            continue
        for con in cd.args.get("constraints") or []:
            kind = con.args.get("kind")
            named = kind.this if isinstance(kind, exp.UniqueColumnConstraint) else None
            if (
                isinstance(named, exp.Identifier)
                and not named.quoted
                and named.name.upper() == "FIRST"
            ):
                kind.set("this", None)
                cd.set("position", exp.ColumnPosition(position="FIRST"))


_PLACED_COLUMN = re.compile(r"(?is)add\s+(?:column\s+)?(.+?)\s+(first|after\s+(\S+))$")


def _pg_drop_pass(action: exp.Expr) -> bool:
    """Whether PostgreSQL runs this ALTER TABLE action in its first pass (AT_PASS_DROP)."""
    if isinstance(action, exp.Drop):
        return str(action.args.get("kind") or "").upper() in ("COLUMN", "CONSTRAINT")
    if isinstance(action, exp.AlterColumn) and action.args.get("drop"):
        rest = {k for k, v in action.args.items() if v is not None and k != "this"}
        return rest <= {"drop", "allow_null"}  # DROP DEFAULT, DROP NOT NULL
    return False
