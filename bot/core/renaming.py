"""How the engines rewrite SQL text when a name changes: PostgreSQL's stored view text after a
column rename, and a whole-identifier rename inside expressions, CHECKs and views."""

from __future__ import annotations

import re


def pg_view_rename(definition: str, old: str, new: str) -> str:
    """A view's SELECT after a column it reads was renamed (PostgreSQL semantics)."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(definition, read="postgres")
    except sqlglot.errors.ParseError:
        return rename_word(definition, old, new)
    if not isinstance(tree, exp.Select):
        return rename_word(definition, old, new)

    def name(text: str) -> exp.Identifier:
        # a name PostgreSQL would fold or read as a keyword must stay quoted
        bare = _BARE_WORD.match(text) and text == text.lower() and text not in _KEYWORDS
        return exp.to_identifier(text, quoted=not bare)

    items: list[exp.Expr] = []
    for item in tree.expressions:
        if (
            isinstance(item, exp.Alias)
            and isinstance(item.this, exp.Column)
            and (item.this.name == old and item.alias == new)
        ):
            items.append(exp.column(name(new), table=item.this.table or None))
        elif isinstance(item, exp.Column) and item.name == old:
            items.append(exp.alias_(exp.column(name(new), table=item.table or None), name(old)))
        else:
            items.append(item)
    tree.set("expressions", items)
    for col in tree.find_all(exp.Column):
        if col.name == old:
            col.set("this", name(new))
    return tree.sql("postgres")


def mentions(text: str, name: str) -> bool:
    """Whether `name` stands in `text` as a whole word (any case, maybe quoted)."""
    return re.search(rf"(?i)(?<![\w$]){re.escape(name)}(?![\w$])", text) is not None


def rename_word(text: str, old: str, new: str, quote: str = '"', *, fold: bool = False) -> str:
    """Replace `old` as a whole identifier (bare, double-quoted or in backticks) outside string
    literals.

    A quoted name stays quoted, as engines rewrite it (and as its author wrote it), a new
    name that can't stand bare (a keyword, a space) is quoted with `quote` (a backtick for
    MySQL), and an old name that is a keyword is only replaced where it is quoted. With
    `fold` (PostgreSQL) a new name with capitals is quoted too.
    """
    if text.isascii() and old.isascii() and old.lower() not in text.lower():
        return text  # most texts don't name it: skip the pattern
    o = re.escape(old)
    pattern = re.compile(
        rf"'(?:[^']|'')*'|(?<![\w$])(?:\"{o}\"|`{o}`|\"?{o}\"?)(?![\w$])", re.IGNORECASE
    )
    quoted = '"' + new.replace('"', '""') + '"'
    ticked = "`" + new.replace("`", "``") + "`"
    bare = (
        new
        if _BARE_WORD.match(new)
        and new.lower() not in _KEYWORDS
        # PostgreSQL folds a bare name to lower case: "Value" must stay quoted there
        and not (fold and new != new.lower())
        else None
    )

    # a keyword written bare is the keyword (SELECT, DESC), never the column of that name
    keyword = old.lower() in _KEYWORDS

    def sub(m: re.Match[str]) -> str:
        found = m.group(0)
        if found.startswith("'"):
            return found
        if found.startswith('"') and found.endswith('"'):
            return quoted
        if found.startswith("`"):
            return ticked
        if keyword:
            return found
        return bare or (ticked if quote == "`" else quoted)

    return pattern.sub(sub, text)


_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
# Words a renamed identifier can't be left bare as (in expressions, where it lands).
_KEYWORDS = frozenset(
    "select from where and or not null is in like between case when then else end as by "
    "order group having limit offset union all distinct table check default collate "
    "references primary foreign unique desc asc index".split()
)
