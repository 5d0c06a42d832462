"""Parsed statements that remember their source text.

sqlglot regenerates SQL in its own canonical form (`now()` becomes CURRENT_TIMESTAMP, `serial`
becomes an identity column). A down-migration must restore what the author wrote, or the
catalog differs, so expressions are cut from the original text by token positions and only
fall back to sqlglot's rendering when the cut text does not parse back to the same tree.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from functools import cache, lru_cache
from itertools import pairwise
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect
from sqlglot.tokenizer_core import Token, TokenType

from bot.core.model import Dialect

_PREFIX_OPS = {TokenType.DASH, TokenType.PLUS, TokenType.NOT, TokenType.TILDE}
_VALUE_END = {
    TokenType.VAR,
    TokenType.NUMBER,
    TokenType.STRING,
    TokenType.R_PAREN,
    TokenType.R_BRACKET,
    TokenType.IDENTIFIER,
}


@cache
def sqlglot_dialect(dialect: Dialect) -> SqlglotDialect:
    return SqlglotDialect.get_or_raise(dialect.value)


_SELF_EVIDENT = [
    [TokenType.STRING],
    [TokenType.NUMBER],
    [TokenType.VAR, TokenType.L_PAREN, TokenType.R_PAREN],
    [TokenType.DASH, TokenType.NUMBER],
]


_local = threading.local()
_PERSISTENT = re.compile(r"(?i)\bpersistent\b")


def _persistent_as_stored(tokens: list[Token]) -> None:
    """MariaDB's `AS (expr) PERSISTENT` is its spelling of STORED, which sqlglot can't read."""
    for prev, tok in pairwise(tokens):
        if (
            prev.token_type == TokenType.R_PAREN
            and tok.token_type == TokenType.VAR
            and tok.text.upper() == "PERSISTENT"
        ):
            tok.text = "STORED"


def _tools(dialect: Dialect) -> tuple[Any, Any]:
    """A tokenizer and a parser per dialect and thread: building them for every statement
    costs a tenth of a long replay, and they are not safe to share between threads."""
    tools: dict[Dialect, tuple[Any, Any]] | None = getattr(_local, "tools", None)
    if tools is None:
        tools = _local.tools = {}
    found = tools.get(dialect)
    if found is None:
        sg = sqlglot_dialect(dialect)
        found = tools[dialect] = (sg.tokenizer(), sg.parser())
    return found


class ParsedStatement:
    """One statement's text, tokens and sqlglot tree."""

    def __init__(
        self, text: str, dialect: Dialect, parse: bool = True, parse_text: str | None = None
    ) -> None:
        """`parse_text`, when given, is a prefix of `text` to parse (positions stay valid)."""
        self.text = text
        self.dialect = dialect
        # Read out of a DO block that swallows duplicate_object: skipped when its object exists
        self.guarded = False
        # Read out of a DO block's IF NOT EXISTS (... 'name' ...): skipped when `name` exists
        self.unless_exists: str | None = None
        self.tokens: list[Token] = []
        self.tree: exp.Expr | None = None
        if parse:
            tokenizer, parser = _tools(dialect)
            source = text if parse_text is None else parse_text
            self.tokens = tokenizer.tokenize(source)
            if dialect is Dialect.MYSQL and _PERSISTENT.search(source):
                _persistent_as_stored(self.tokens)
            trees = parser.parse(self.tokens, source)
            self.tree = next((t for t in trees if t is not None), None)
        self._starts: list[int] | None = None  # built on first use: most statements never need them
        self._ends: list[int] = []

    def token_range(self, node: exp.Expr) -> tuple[int, int] | None:
        """Indexes of the first and last token a node was parsed from, widened to balance."""
        lo = hi = -1
        for sub in node.walk():
            meta: dict[str, Any] = sub.meta if sub._meta is not None else {}
            start, end = meta.get("start"), meta.get("end")
            if start is None or end is None:
                continue
            lo = start if lo < 0 else min(lo, start)
            hi = max(hi, end)
        if lo < 0:
            return None
        if self._starts is None:
            self._starts = [t.start for t in self.tokens]
            self._ends = [t.end for t in self.tokens]
        i = bisect_left(self._starts, lo)
        j = bisect_left(self._ends, hi)
        if i >= len(self.tokens) or j >= len(self.tokens):
            return None
        toks = self.tokens
        # Unary operators carry no position of their own.
        while (
            i > 0
            and toks[i - 1].token_type in _PREFIX_OPS
            and (i < 2 or toks[i - 2].token_type not in _VALUE_END)
        ):
            i -= 1
        # Close whatever the span opened, then swallow call parentheses and `::type` casts.
        depth = sum(_paren(t) for t in toks[i : j + 1])
        while depth < 0 and i > 0:
            i -= 1
            depth += _paren(toks[i])
        while True:
            while depth > 0 and j + 1 < len(toks):
                j += 1
                depth += _paren(toks[j])
            if (
                j + 1 < len(toks)
                and toks[j + 1].token_type == TokenType.L_PAREN
                and (toks[j].token_type not in {TokenType.COMMA, TokenType.L_PAREN})
            ):
                j += 1
                depth = 1
                continue
            if j + 2 < len(toks) and toks[j + 1].token_type == TokenType.DCOLON:
                j += 2
                if j + 1 < len(toks) and toks[j + 1].token_type == TokenType.L_PAREN:
                    j += 1
                    depth = 1
                    continue
                while (
                    j + 2 < len(toks)
                    and toks[j + 1].token_type == TokenType.L_BRACKET
                    and toks[j + 2].token_type == TokenType.R_BRACKET
                ):
                    j += 2
                continue
            break
        return i, j

    def raw(self, node: exp.Expr) -> str:
        """The text the author wrote for `node`, or sqlglot's rendering when that can't be cut."""
        span = self.token_range(node)
        if span is not None:
            text = self.text[self.tokens[span[0]].start : self.tokens[span[1]].end + 1]
            # A lone literal or a bare call like now() is its own text; anything longer is
            # checked by parsing it back, since operators and keywords carry no positions.
            kinds = [t.token_type for t in self.tokens[span[0] : span[1] + 1]]
            self_evident = kinds in _SELF_EVIDENT and sum(1 for _ in node.walk()) <= 2
            if self_evident or _same_tree(text, node, self.dialect):
                return text
            # Keywords like IS NOT NULL or a leading NOT have no positions: widen the span a
            # few tokens at a time and keep the first cut that parses back to the same tree.
            for i, j in self._widenings(*span):
                # sqlglot accepts some unbalanced text (`['a']::text[`): never cut mid-bracket.
                if not _balanced(self.tokens[i : j + 1]) or self._cut_from_its_word(i):
                    continue
                text = self.text[self.tokens[i].start : self.tokens[j].end + 1]
                if _same_tree(text, node, self.dialect):
                    return text
        return node.sql(self.dialect.value)

    def _cut_from_its_word(self, i: int) -> bool:
        """`[` or `(` written right after a word (ARRAY[...], f(...)) belongs with it."""
        if i == 0 or self.tokens[i].token_type not in (TokenType.L_BRACKET, TokenType.L_PAREN):
            return False
        before = self.tokens[i - 1]
        return before.end + 1 == self.tokens[i].start and before.text[-1:].isalnum()

    def _widenings(self, i: int, j: int) -> list[tuple[int, int]]:
        last = len(self.tokens) - 1
        out = []
        for back in range(0, 4):
            for ahead in range(0, 9):
                if (back or ahead) and i - back >= 0 and j + ahead <= last:
                    out.append((i - back, j + ahead))
        return sorted(out, key=lambda p: (p[1] - p[0], -p[0]))

    def slice(self, first: int, last: int) -> str:
        """Source text from token `first` through token `last`."""
        return self.text[self.tokens[first].start : self.tokens[last].end + 1]

    def rest_after(self, token_index: int) -> str:
        """Source text after a token, to the end of the statement."""
        return self.text[self.tokens[token_index].end + 1 :].strip()


def _balanced(tokens: list[Token]) -> bool:
    depth = {"(": 0, "[": 0}
    for t in tokens:
        if t.token_type in (TokenType.L_PAREN, TokenType.R_PAREN):
            depth["("] += 1 if t.token_type == TokenType.L_PAREN else -1
        elif t.token_type in (TokenType.L_BRACKET, TokenType.R_BRACKET):
            depth["["] += 1 if t.token_type == TokenType.L_BRACKET else -1
        if min(depth.values()) < 0:
            return False
    return not any(depth.values())


def _paren(token: Token) -> int:
    if token.token_type == TokenType.L_PAREN:
        return 1
    if token.token_type == TokenType.R_PAREN:
        return -1
    return 0


@lru_cache(maxsize=8192)
def _parse_expression(text: str, dialect: Dialect) -> exp.Expr | None:
    """Parsed once per distinct text: histories repeat the same defaults and checks."""
    try:
        return sqlglot.parse_one(text, read=dialect.value)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
        return None


def _same_tree(text: str, node: exp.Expr, dialect: Dialect) -> bool:
    again = _parse_expression(text, dialect)
    if again is None:
        return False
    # Parentheses the author wrote around the whole node are kept (a MySQL expression default
    # needs them); extra ones around a node that had none are harmless.
    if isinstance(again, exp.Paren) and not isinstance(node, exp.Paren):
        again = again.this
    return bool(again == node)
