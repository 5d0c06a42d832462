"""Split SQL scripts into statements the way each dialect's own client does.

sqlglot ends a statement at every top-level ``;``, which cuts trigger and routine
bodies in half, and it knows nothing of MySQL's ``DELIMITER``. This module only
finds statement boundaries; it never parses.

Speed: one compiled pattern per (dialect, delimiter, compound) jumps over plain
text, whole strings, quoted identifiers and line comments in C, and stops only at
a terminator or at something that needs Python (a nested or unterminated comment,
a dollar quote, a block keyword, an unterminated quote, the end of input).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

DIALECTS = ("postgres", "mysql", "sqlite")


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: its text without delimiter or leading comments, and where it starts."""

    text: str  # stripped; trailing and inner comments stay, leading ones do not
    line: int  # 1-based line of the first token
    comments: tuple[str, ...] = ()  # every comment since the previous statement, in order


class SplitError(ValueError):
    """The script has an unterminated quote, comment, dollar quote or block."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def split_statements(sql: str, dialect: str) -> list[Statement]:
    """Split ``sql`` into statements as ``dialect``'s command-line client would.

    Raises ``ValueError`` for an unknown dialect and ``SplitError`` for anything
    left open at the end of input.
    """
    if dialect not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    if len(sql) < _CACHE_FROM:
        return _Splitter(sql, dialect).run()
    # A large file is split by the replay and again by each engine replay of its history;
    # splitting 16 MB costs seconds, so the last few large results are kept (bounded by size).
    key = (dialect, sql)
    found = _LARGE.pop(key, None)
    if found is None:
        found = tuple(_Splitter(sql, dialect).run())
    _LARGE[key] = found
    while len(_LARGE) > 1 and sum(len(k[1]) for k in _LARGE) > _CACHE_CHARS:
        del _LARGE[next(iter(_LARGE))]
    return list(found)


_CACHE_FROM = 1 << 16  # characters: smaller files split in well under a millisecond
_CACHE_CHARS = 1 << 25  # characters of source kept, about what the replay holds anyway
_LARGE: dict[tuple[str, str], tuple[Statement, ...]] = {}


# --- pattern pieces -------------------------------------------------------------------
# All loops are possessive (*+, ++): the patterns never backtrack, so a failing
# match costs one pass and an unterminated quote cannot blow up.

_WORD_END = r"(?![\w$])"
# `t.end`, `@end`, `$end` are names, not keywords.
_WORD_START = r"(?<![\w$.@])"

_SQ = r"'[^']*+(?:''[^']*+)*+'"
_SQ_BACKSLASH = r"'[^'\\]*+(?:(?:''|\\[\s\S])[^'\\]*+)*+'"
_DQ = r'"[^"]*+(?:""[^"]*+)*+"'
_DQ_BACKSLASH = r'"[^"\\]*+(?:(?:""|\\[\s\S])[^"\\]*+)*+"'
_BACKTICK = r"`[^`]*+(?:``[^`]*+)*+`"
_BRACKET = r"\[[^\]]*+\]"

_LINE_COMMENT_START = r"--"
# MySQL needs whitespace (or the end) after `--`: `a--1` is `a - (-1)`.
_MYSQL_LINE_COMMENT_START = r"(?:--(?:(?=\s)|\Z)|\#)"
_BLOCK_START = r"/\*"
# `/*! ... */` is executed by MySQL, so it is statement text, not a comment.
_MYSQL_BLOCK_START = r"/\*(?!!)"
_BLOCK_REST = r"(?:[^*]++|\*(?!/))*+\*/"
# PostgreSQL nests block comments; the fast path takes only those without an
# inner opener and leaves the rest to `_Splitter._block_end`.
_PG_BLOCK = r"/\*(?:[^*/]++|\*(?!/)|/(?!\*))*+\*/"

# `$1` is a parameter and `a$b$` an identifier, so a tag starts with a letter and
# the `$` must not continue a word.
_DOLLAR = r"(?<![\w$])\$(?:[^\W\d]\w*+)?\$"

_PG_KEYWORDS = r"(?i:BEGIN\s+ATOMIC|CASE|END)"
_SQLITE_KEYWORDS = r"(?i:BEGIN|CASE|END)"
# IF EXISTS / IF NOT EXISTS and the REPEAT() function open nothing. The IF()
# function is told apart from the IF statement in Python (`_Splitter._if_opens`).
_MYSQL_KEYWORDS = (
    r"(?i:BEGIN|END(?:\s+(?:IF|LOOP|WHILE|REPEAT|CASE|FOR)" + _WORD_END + r")?|CASE"
    r"|IF(?!\s+(?:NOT\s+)?EXISTS" + _WORD_END + r")|LOOP|WHILE|REPEAT(?!\s*\())"
)


@dataclass(frozen=True, slots=True)
class _Dialect:
    """The lexical rules of one dialect, as regex source."""

    specials: str  # characters that may start a string, comment, terminator...
    strings: tuple[str, ...]  # complete strings and quoted identifiers
    line_comment_start: str  # a line comment runs from here to the end of the line
    block_start: str
    block: str
    open_quotes: str  # opening characters, to report an unterminated one
    string_quotes: str  # those of `open_quotes` that open a string, not a name
    dollar: bool
    nested_comments: bool
    keywords: str
    compound_head: str


_DIALECT_RULES = {
    "postgres": _Dialect(
        specials="'\"-/$",
        # E'...' honours backslash escapes; a plain '...' (standard_conforming_strings) does not.
        strings=(
            r"(?:(?<![eE])|(?<=[\w$][eE]))" + _SQ,
            r"(?<![\w$][eE])(?<=[eE])" + _SQ_BACKSLASH,
            _DQ,
        ),
        line_comment_start=_LINE_COMMENT_START,
        block_start=_BLOCK_START,
        block=_PG_BLOCK,
        open_quotes="'\"",
        string_quotes="'",
        dollar=True,
        nested_comments=True,
        keywords=_PG_KEYWORDS,
        compound_head=r"(?i:CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE))" + _WORD_END,
    ),
    "mysql": _Dialect(
        specials="'\"`-/#",
        # Without ANSI_QUOTES, "..." is a string, and both kinds take backslash escapes.
        strings=(_SQ_BACKSLASH, _DQ_BACKSLASH, _BACKTICK),
        line_comment_start=_MYSQL_LINE_COMMENT_START,
        block_start=_MYSQL_BLOCK_START,
        block=_MYSQL_BLOCK_START + _BLOCK_REST,
        open_quotes="'\"`",
        string_quotes="'\"",
        dollar=False,
        nested_comments=False,
        keywords=_MYSQL_KEYWORDS,
        compound_head=(
            r"(?i:CREATE\s+(?:OR\s+REPLACE\s+)?"
            r"(?:DEFINER\s*=\s*(?:CURRENT_USER(?:\s*\(\s*\))?|{u}(?:\s*@\s*{u})?)\s+)?"
            r"(?:AGGREGATE\s+)?(?:TRIGGER|PROCEDURE|FUNCTION|EVENT))"
        ).format(u=r"(?:'[^']*'|`[^`]*`|\"[^\"]*\"|[\w.%$-]+)")
        + _WORD_END,
    ),
    "sqlite": _Dialect(
        specials="'\"`[-/",
        strings=(_SQ, _DQ, _BACKTICK, _BRACKET),
        line_comment_start=_LINE_COMMENT_START,
        block_start=_BLOCK_START,
        block=_BLOCK_START + _BLOCK_REST,
        open_quotes="'\"`[",
        string_quotes="'",
        dollar=False,
        nested_comments=False,
        keywords=_SQLITE_KEYWORDS,
        compound_head=r"(?i:CREATE\s+(?:TEMP(?:ORARY)?\s+)?TRIGGER)" + _WORD_END,
    ),
}


def _char_class(chars: str) -> str:
    return "".join(re.escape(c) for c in dict.fromkeys(chars))


@functools.cache
def _body_pattern(dialect: str, delimiter: str, compound: bool) -> re.Pattern[str]:
    """The scanner for a statement body: filler, then one token (or the end).

    Token groups: term, block, dollar, kw, open. At the end of input no group matches.
    """
    rules = _DIALECT_RULES[dialect]
    tokens = [("term", re.escape(delimiter)), ("block", rules.block_start)]
    if rules.dollar:
        tokens.append(("dollar", _DOLLAR))
    keyword = _WORD_START + rules.keywords + _WORD_END
    if compound:
        tokens.append(("kw", keyword))
    tokens.append(("open", f"[{_char_class(rules.open_quotes)}]"))

    specials = _char_class(rules.specials + delimiter[0])
    any_token = "|".join(source for _, source in tokens)
    # In a compound statement words are taken whole, so a keyword is seen only at a word start.
    plain = [rf"[^{specials}\w]++", rf"(?!{keyword})\w++"] if compound else [rf"[^{specials}]++"]
    filler = "|".join(
        [
            *plain,
            *rules.strings,
            rules.line_comment_start + r"[^\n]*",
            rules.block,
            # A special character that starts no token: `-` of `a - b`, `$` of `$1`...
            rf"(?!{any_token})[{specials}]",
        ]
    )
    named = "|".join(f"(?P<{name}>{source})" for name, source in tokens)
    return re.compile(rf"(?:{filler})*+(?:{named}|\Z)")


@functools.cache
def _lead_pattern(dialect: str) -> re.Pattern[str]:
    """Whitespace, then at most one comment, before a statement."""
    rules = _DIALECT_RULES[dialect]
    return re.compile(
        rf"\s*+(?:{rules.line_comment_start}(?P<line>[^\n]*)|(?P<block>{rules.block_start}))?"
    )


@functools.cache
def _head_pattern(dialect: str) -> re.Pattern[str]:
    """Statements whose body may hold `;` inside BEGIN ... END (or CASE, IF...)."""
    return re.compile(_DIALECT_RULES[dialect].compound_head)


# The mysql client reads `DELIMITER x` as a command, not as SQL; x is its first word.
_DELIMITER = re.compile(r"(?i:DELIMITER)(?=\s|\Z)[ \t]*+(\S*)[^\n]*")
_NESTED_COMMENT = re.compile(r"/\*|\*/")
_LAST_WORD = re.compile(r"\w+\Z")
_TRIGGER_ORDER = re.compile(r"(?i:FOLLOWS|PRECEDES)\s+(?:`[^`]*`|\w+)\Z")
# Words after which a MySQL IF starts an IF statement rather than calling IF().
_STATEMENT_STARTERS = frozenset({"BEGIN", "ATOMIC", "THEN", "ELSE", "DO", "LOOP", "REPEAT"})


class _Lines:
    """Line numbers for offsets; counts forward from the last answer, so a scan stays linear."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0
        self._line = 1

    def at(self, pos: int) -> int:
        """The 1-based line of ``pos`` (CRLF counts once: only ``\\n`` is counted)."""
        if pos < self._pos:
            return self._text.count("\n", 0, pos) + 1
        self._line += self._text.count("\n", self._pos, pos)
        self._pos = pos
        return self._line


class _Splitter:
    """One pass over one script."""

    def __init__(self, sql: str, dialect: str) -> None:
        self.sql = sql
        self.dialect = dialect
        self.rules = _DIALECT_RULES[dialect]
        self.lines = _Lines(sql)

    def run(self) -> list[Statement]:
        """Alternate between the gap before a statement and the statement itself."""
        sql = self.sql
        size = len(sql)
        lead = _lead_pattern(self.dialect)
        head = _head_pattern(self.dialect)
        is_mysql = self.dialect == "mysql"
        statements: list[Statement] = []
        texts: dict[str, str] = {}
        comments: list[str] = []
        delimiter = ";"
        pos = 1 if sql.startswith("\ufeff") else 0
        while True:
            gap = lead.match(sql, pos)
            assert gap is not None  # every part of the lead pattern is optional
            pos = gap.end()
            if gap.group("line") is not None:
                comments.append(gap.group("line").strip())
                continue
            if gap.group("block") is not None:
                end = self._block_end(gap.start("block"))
                comments.append(sql[gap.end("block") : end - 2].strip())
                pos = end
                continue
            if pos >= size:
                return statements
            if sql.startswith(delimiter, pos):  # an empty statement
                pos += len(delimiter)
                continue
            if is_mysql and (command := _DELIMITER.match(sql, pos)) and self._at_line_start(pos):
                if not command.group(1):
                    raise SplitError(self.lines.at(pos), "DELIMITER needs a value")
                delimiter = command.group(1)
                pos = command.end()
                continue
            # With a custom delimiter the author already made inner `;` harmless.
            compound = delimiter == ";" and head.match(sql, pos) is not None
            end, after = self._statement_end(pos, delimiter, compound)
            text = sql[pos:end].rstrip()
            # one string per distinct text: a file repeating a statement a million times
            # holds it once (16 MB of `SELECT 1;` took 550 MB)
            text = texts.setdefault(text, text)
            statements.append(Statement(text, self.lines.at(pos), tuple(comments)))
            comments = []
            pos = after

    def _statement_end(self, start: int, delimiter: str, compound: bool) -> tuple[int, int]:
        """Where the statement starting at ``start`` ends, and where the next one may start."""
        sql = self.sql
        pattern = _body_pattern(self.dialect, delimiter, compound)
        blocks: list[tuple[str, int]] = []  # open BEGIN/CASE/IF/... with their offsets
        pos = start
        while True:
            match = pattern.match(sql, pos)
            assert match is not None  # the filler stops only where a token or the end matches
            kind = match.lastgroup
            if kind is None:
                if blocks:
                    opener, at = blocks[0]
                    raise SplitError(self.lines.at(at), f"unterminated {opener} block")
                return len(sql), len(sql)
            at, pos = match.span(kind)
            token = match.group(kind)
            if kind == "term":
                if not blocks:
                    return at, pos
            elif kind == "block":
                pos = self._block_end(at)
            elif kind == "dollar":
                close = sql.find(token, pos)
                if close < 0:
                    raise SplitError(
                        self.lines.at(at), f"unterminated dollar-quoted string {token}"
                    )
                pos = close + len(token)
            elif kind == "open":
                what = "string" if token in self.rules.string_quotes else "quoted identifier"
                raise SplitError(self.lines.at(at), f"unterminated {what}")
            else:
                self._keyword(token, at, start, blocks)

    def _keyword(self, token: str, at: int, start: int, blocks: list[tuple[str, int]]) -> None:
        """Open or close a block.

        A closer pops down to the nearest opener it can close, so an opener taken by
        mistake (the IF() function inside a CASE expression) is dropped at the next
        END instead of swallowing the rest of the script.
        """
        words = token.upper().split()
        if words[0] == "END":
            closes = {words[1]} if len(words) > 1 else {"BEGIN", "CASE"}
            for index in range(len(blocks) - 1, -1, -1):
                if blocks[index][0] in closes:
                    del blocks[index:]
                    return
        elif words[0] != "IF" or self._if_opens(at, start, bool(blocks)):
            blocks.append((words[0], at))

    def _if_opens(self, at: int, start: int, nested: bool) -> bool:
        """Whether a MySQL IF at ``at`` starts an IF statement (judged by the token before it)."""
        before = self.sql[max(start, at - 64) : at].rstrip()
        word = _LAST_WORD.search(before)
        last = word.group().upper() if word else ""
        if nested:
            return before.endswith(";") or last in _STATEMENT_STARTERS
        # Outside any block only a trigger or event body can be a bare IF statement.
        return last in ("ROW", "DO") or _TRIGGER_ORDER.search(before) is not None

    def _block_end(self, start: int) -> int:
        """The offset just past the block comment that opens at ``start``."""
        sql = self.sql
        if not self.rules.nested_comments:
            close = sql.find("*/", start + 2)
            if close < 0:
                raise SplitError(self.lines.at(start), "unterminated block comment")
            return close + 2
        depth = 0
        pos = start
        while True:
            mark = _NESTED_COMMENT.search(sql, pos)
            if mark is None:
                raise SplitError(self.lines.at(start), "unterminated block comment")
            depth += 1 if mark.group() == "/*" else -1
            pos = mark.end()
            if depth == 0:
                return pos

    def _at_line_start(self, pos: int) -> bool:
        """Only blanks between the previous newline (or the start) and ``pos``."""
        line_start = self.sql.rfind("\n", 0, pos) + 1
        return self.sql[line_start:pos].strip(" \t\ufeff") == ""
