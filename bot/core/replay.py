"""Replay migration SQL into the schema model, statement by statement.

Each statement becomes zero or more `Change`s applied to a `State`. Changes an engine makes
implicitly (PostgreSQL dropping the indexes of a dropped column, MySQL creating an index for a
foreign key, CASCADE removing dependent objects) are emitted explicitly, so the list of changes
a migration made is complete and its reverse restores everything. What can't be modelled is
recorded as `Unmodelled` with file, line and reason, never skipped in silence.
"""

from __future__ import annotations

import gc
import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.core import changes as ch
from bot.core.model import Dialect, Schema
from bot.core.split import SplitError, Statement, split_statements
from bot.core.state import State, StateError

# sqlglot and the translators load on the first statement parsed: a history found in a
# ReplayStore is used without them (bench/diff.py, warm).
if TYPE_CHECKING:
    from bot.core.sqltext import ParsedStatement


@dataclass(frozen=True)
class Migration:
    """One migration's forward SQL, as read from a file."""

    path: str
    sql: str


@dataclass(frozen=True, slots=True)
class Unmodelled:
    """A statement whose effect on the schema is unknown to us."""

    file: str
    line: int
    sql: str
    reason: str


@dataclass(frozen=True, slots=True)
class DataStatement:
    """A statement that changes rows, not the schema (INSERT, UPDATE, DELETE, ...)."""

    file: str
    line: int
    sql: str


@dataclass(frozen=True)
class Allow:
    """`-- rollback-plan: allow <rule-id> <reason>` written on a migration statement: the
    rule is allowed for the objects that statement touches."""

    rule: str
    reason: str
    objects: tuple[str, ...]
    file: str
    line: int


@dataclass(frozen=True)
class Step:
    """What replaying one migration did."""

    path: str
    changes: tuple[ch.Change, ...]
    unmodelled: tuple[Unmodelled, ...] = ()
    data: tuple[DataStatement, ...] = ()
    allows: tuple[Allow, ...] = ()


@dataclass(frozen=True)
class History:
    """The schema a sequence of migrations produces, and what each step did."""

    schema: Schema
    steps: tuple[Step, ...] = ()

    @property
    def unmodelled(self) -> tuple[Unmodelled, ...]:
        return tuple(u for s in self.steps for u in s.unmodelled)


class ReplayStore(Protocol):
    """Where replayed histories outlive the process, by content key (bot/cache.py: on disk)."""

    def load(self, key: str) -> History | None: ...

    def save(self, key: str, history: History) -> None: ...


@dataclass
class ParseCache:
    """Parsed statements by content hash: the same file is parsed once per process."""

    entries: dict[tuple[str, str], list[tuple[Statement, ParsedStatement | str]]] = field(
        default_factory=dict
    )
    # Whole histories by a key of their files' names and contents and of the history they
    # start from: planning again on the same history replays nothing.
    histories: dict[str, History] = field(default_factory=dict)
    hits: int = 0
    store: ReplayStore | None = None
    # The key of each schema a cached history produced (by id; the history keeps it alive),
    # so a replay starting from it is keyed too.
    keys: dict[int, str] = field(default_factory=dict)

    def history(self, key: str) -> History | None:
        """The history replayed under `key`, from memory or the store."""
        found = self.histories.get(key)
        if found is None and self.store is not None:
            found = self.store.load(key)
            if found is not None:
                self._remember(key, found)
        if found is not None:
            self.hits += 1
        return found

    def put_history(self, key: str, history: History) -> None:
        self._remember(key, history)
        if self.store is not None:
            self.store.save(key, history)

    def key(self, migrations: list[Migration], dialect: Dialect, base: Schema | None) -> str | None:
        """The content key of replaying `migrations` onto `base`; None for a base of unknown
        origin (a schema this cache did not produce)."""
        if base is None:
            origin = ""
        elif (found := self.keys.get(id(base))) is not None:
            origin = found
        else:
            return None
        h = hashlib.blake2b(f"{dialect.value}\0{origin}".encode(), digest_size=20)
        for m in migrations:
            h.update(f"\0{m.path}\0{_digest(m.sql)}".encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _remember(self, key: str, history: History) -> None:
        self.histories[key] = history
        self.keys[id(history.schema)] = key

    def get(
        self, sql: str, dialect: Dialect
    ) -> list[tuple[Statement, ParsedStatement | str]] | None:
        found = self.entries.get((dialect.value, _digest(sql)))
        if found is not None:
            self.hits += 1
        return found

    def put(
        self, sql: str, dialect: Dialect, parsed: list[tuple[Statement, ParsedStatement | str]]
    ) -> None:
        self.entries[(dialect.value, _digest(sql))] = parsed


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


# Statements recognised by their first words without parsing: cheap on 50 MB seed files.
_DATA = re.compile(
    r"(?is)\s*(insert|update|delete|replace|merge|copy|truncate|load\s+data|select|with|values)\b"
)
_SESSION = re.compile(
    r"(?is)\s*(begin|commit|end|start\s+transaction|rollback|savepoint|release|set|reset|use|"
    r"pragma|analyze|analyse|vacuum|lock|unlock|checkpoint|discard|listen|notify|show|explain|"
    r"flush|optimize|deallocate|\\)\b"
)
# Statements that run code we do not see: a procedure's body, or SQL built at run time.
_RUNS_CODE = (
    (
        re.compile(r"(?is)\s*call\b"),
        "CALL runs a stored procedure: its effect on the schema is unknown",
    ),
    (
        re.compile(r"(?is)\s*(prepare|execute)\b"),
        "dynamic SQL (PREPARE/EXECUTE): the statement it runs is not analysed",
    ),
)
_ANONYMOUS = re.compile(r"(?is)\s*do\b")
# COMMENT ON ... IS NULL is not parsed by sqlglot; all COMMENT statements are read by pattern.
_COMMENT = re.compile(r"(?is)\s*comment\s+on\b")
# Procedural bodies: sqlglot splits or rejects them; they are identified by their header alone.
_PROCEDURAL = re.compile(
    r"(?is)\s*create\s+(or\s+replace\s+)?(definer\s*=\s*\S+\s+)?(aggregate\s+)?"
    r"(constraint\s+)?(temp(orary)?\s+)?(function|procedure|trigger|event)\b"
)

# A table constraint's closing parenthesis (or its REFERENCES clause) followed, after some
# whitespace and no comma, by the next table constraint.
_SQLITE_UNSEPARATED = re.compile(
    r"(?i)(\)(?:\s+(?:on\s+(?:delete|update)\s+(?:cascade|restrict|no\s+action|set\s+null|"
    r"set\s+default)|match\s+\w+|(?:not\s+)?deferrable(?:\s+initially\s+(?:deferred|immediate))?))*)"
    r"\s(?=(?:\s|--[^\n]*\n|(?s:/\*.*?\*/))*(?:constraint\s+\S+\s+)?"
    r"(?:foreign\s+key|primary\s+key|unique|check)\s*\()"
)
_DROP_ROUTINES = re.compile(r"(?is)\s*drop\s+(function|procedure)\b")

MAX_FILE_BYTES = 64 * 1024 * 1024
# A larger file's trees are not kept: thousands of statements would hold hundreds of MB of
# them. Its statements are parsed one at a time as the replay reaches them.
CACHED_FILE_BYTES = 1024 * 1024
_ALLOW = re.compile(r"(?i)\s*rollback-plan:\s*allow\s+([a-z0-9-]+)\s*(.*)$")


def parse_migration(
    sql: str, dialect: Dialect, cache: ParseCache | None = None
) -> list[tuple[Statement, ParsedStatement | str]]:
    """Split and parse a file. Each statement comes with its tree, or a string: the reason
    it could not be parsed (``"data"`` and ``"session"`` mark statements that need no tree).

    Raises SplitError for text that cannot be split (an unterminated quote or comment).
    """
    if cache is not None:
        found = cache.get(sql, dialect)
        if found is not None:
            return found
    was_enabled = gc.isenabled()
    gc.disable()  # see replay(): the parsed trees live as long as the cache
    try:
        out = list(_each_parsed(split_statements(sql, dialect.value), dialect, collect=False))
    finally:
        if was_enabled:
            gc.enable()
    if cache is not None:
        cache.put(sql, dialect, out)
    return out


def _parse_lazily(
    sql: str, dialect: Dialect, cache: ParseCache | None
) -> Iterable[tuple[Statement, ParsedStatement | str]]:
    """parse_migration's pairs; for a file over CACHED_FILE_BYTES, made as they are read and
    not cached. Raises SplitError before any tree is made."""
    if len(sql) <= CACHED_FILE_BYTES:
        return parse_migration(sql, dialect, cache)
    return _each_parsed(split_statements(sql, dialect.value), dialect)


def _each_parsed(
    statements: list[Statement], dialect: Dialect, collect: bool = True
) -> Iterator[tuple[Statement, ParsedStatement | str]]:
    # A text seen among the last few statements is not parsed again: a file that repeats a
    # statement (or its whole content) thousands of times takes as long as its distinct ones.
    # Trees are not changed once parsed (the cache shares them between replays as well).
    recent: dict[str, ParsedStatement | str] = {}
    for n, stmt in enumerate(statements, 1):
        for piece in _one_object_each(stmt):
            if piece.text not in recent:
                recent[piece.text] = _parse_one(piece, dialect)
            yield piece, recent[piece.text]
        if n % 256 == 0:
            recent.clear()
            if collect:
                # replay() pauses the collector, and a sqlglot tree is a cycle (parent links):
                # the trees made since the last pass, now unused, are freed by a pass over
                # the youngest objects (a tree kept past it would outlive its use)
                gc.collect(0)


_DROP_LIST = re.compile(
    r"(?is)\s*drop\s+(index|table|view|materialized\s+view|type|sequence)\s+"
    r"((?:concurrently\s+)?(?:if\s+exists\s+)?)(.+?)(\s+(?:cascade|restrict))?\s*$"
)


def _one_object_each(stmt: Statement) -> list[Statement]:
    """`DROP INDEX a, b` as two statements: sqlglot accepts a list only for some kinds."""
    m = _DROP_LIST.match(stmt.text)
    if not m or "," not in m.group(3) or "(" in m.group(3):
        return [stmt]
    names = [n.strip() for n in m.group(3).split(",")]
    head = f"DROP {m.group(1).upper()} {m.group(2)}"
    tail = m.group(4) or ""
    return [Statement(f"{head}{n}{tail}", stmt.line, stmt.comments) for n in names]


# SQLite table options sqlglot does not parse; cut before parsing, read back by the translator.
_SQLITE_TABLE_OPTIONS = re.compile(
    r"(?is)\)\s*((?:without\s+rowid|strict)(?:\s*,\s*(?:without\s+rowid|strict))*)\s*$"
)


# MySQL CREATE INDEX forms sqlglot rejects (FULLTEXT/SPATIAL, USING before ON or after the
# columns) are parsed in their equivalent ALTER TABLE ... ADD INDEX spelling.
_MYSQL_CREATE_INDEX = re.compile(
    r"(?is)\s*create\s+(unique\s+|fulltext\s+|spatial\s+)?index\s+(\S+)\s+"
    r"(?:using\s+(\w+)\s+)?on\s+(\S+)\s*(\(.*\))\s*(?:using\s+(\w+))?\s*"
    r"((?:algorithm|lock)\s*=?\s*\w+\s*)*$"
)
# Views are read by pattern in MySQL (ALGORITHM / SQL SECURITY / CHECK OPTION are lost or
# rejected by sqlglot) and wherever a CHECK OPTION is present.
_VIEW = re.compile(
    r"(?is)\s*(create(\s+or\s+replace)?|alter)\s+((algorithm|definer|sql\s+security)\b.*?\s+)?view\b"
)


_IDENTITY_SEQUENCE = re.compile(r"(?i)(?<=identity)\s*\(\s*sequence\s+name\s+[^\s()]+\s*\)")


def _parse_one(stmt: Statement, dialect: Dialect) -> ParsedStatement | str:
    import sqlglot

    from bot.core.sqltext import ParsedStatement

    text = stmt.text
    m = _MYSQL_CREATE_INDEX.match(text) if dialect is Dialect.MYSQL else None
    if m and (
        (m.group(1) or "").strip().lower() in {"fulltext", "spatial"} or m.group(3) or m.group(6)
    ):
        kind = (m.group(1) or "").strip().upper()
        using = m.group(3) or m.group(6)
        text = (
            f"ALTER TABLE {m.group(4)} ADD {kind + ' ' if kind else ''}INDEX {m.group(2)} "
            f"{m.group(5)}{' USING ' + using if using else ''}"
        )
        stmt = Statement(text, stmt.line, stmt.comments)
    if _DATA.match(text):
        return "data"
    if _SESSION.match(text) and not re.match(r"(?is)\s*set\s+(schema|search_path)\b", text):
        return "session"
    for pattern, reason in _RUNS_CODE:
        if pattern.match(text):
            return reason
    if dialect is Dialect.POSTGRES and (inner := _guarded_body(text)) is not None:
        guarded = _parse_one(Statement(inner, stmt.line, ()), dialect)
        if not isinstance(guarded, str) and guarded.tree is not None:
            guarded.guarded = True
            return guarded
    if dialect is Dialect.POSTGRES and (found := _if_missing_body(text)) is not None:
        name, inner = found
        guarded = _parse_one(Statement(inner, stmt.line, ()), dialect)
        if not isinstance(guarded, str) and guarded.tree is not None:
            guarded.unless_exists = name
            return guarded
    if _ANONYMOUS.match(text):
        return "anonymous code block (DO): its effect on the schema is unknown"
    view = _VIEW.match(text)
    if view and (
        dialect is Dialect.MYSQL
        or view.group(1).lower() == "alter"
        or re.search(r"(?i)\bcheck\s+option\s*$", text)
    ):
        return ParsedStatement(text, dialect, parse=False)
    if _PROCEDURAL.match(text) or _COMMENT.match(text):
        return ParsedStatement(text, dialect, parse=False)
    parse_text = text
    if dialect is Dialect.SQLITE and (m := _SQLITE_TABLE_OPTIONS.search(text)):
        parse_text = text[: m.start() + 1]
    if dialect is Dialect.POSTGRES:
        # sqlglot can't read an identity's `(SEQUENCE NAME x)` (pg_dump's, and our schema
        # output's): blanked for the parser, every position kept; the translator reads it
        parse_text = _IDENTITY_SEQUENCE.sub(lambda m: " " * len(m.group(0)), parse_text)
    try:
        return ParsedStatement(text, dialect, parse_text=parse_text)
    except (sqlglot.errors.ParseError, sqlglot.errors.TokenError) as err:
        if _DROP_ROUTINES.match(text):
            # sqlglot reads one routine per DROP; ours reads the list (DROP FUNCTION a, b).
            return ParsedStatement(text, dialect, parse=False)
        if dialect is Dialect.SQLITE and _SQLITE_UNSEPARATED.search(parse_text):
            # SQLite accepts table constraints with no comma between them; sqlglot does not.
            # A space becomes the comma, so every position in the text stays where it was.
            separated = _SQLITE_UNSEPARATED.sub(lambda m: m.group(1) + ",", parse_text)
            try:
                return ParsedStatement(text, dialect, parse_text=separated)
            except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
                pass
        return f"syntax error: {_first_line(str(err))}"
    except RecursionError:
        return "nested too deeply to analyse"


# Drizzle and Prisma write "create unless it exists" as a DO block whose one statement's
# duplicate_object error is swallowed: read as that statement, skipped when its object exists.
_GUARDED = re.compile(
    r"(?is)\s*do\s+(\$\w*\$)\s*begin\s+(?P<body>.+?)\s*exception\s+when\s+duplicate_object\s+"
    r"then\s+(?:null|raise\s+notice\s+'(?:[^']|'')*'(?:\s*,[^;]*)?)\s*;\s*end\s*;?\s*\1"
    r"(?:\s+language\s+plpgsql)?\s*;?\s*$"
)


def _guarded_body(text: str) -> str | None:
    """The one statement of a DO block that only swallows duplicate_object, or None."""
    m = _GUARDED.match(text)
    if m is None:
        return None
    try:
        statements = split_statements(m.group("body"), Dialect.POSTGRES)
    except SplitError:
        return None
    if len(statements) != 1 or _ANONYMOUS.match(statements[0].text):
        return None
    return statements[0].text


# "Create unless it exists" written as a DO block testing the catalog for the object's name
# (IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'x') THEN CREATE ... x ...; END IF).
_IF_MISSING = re.compile(
    r"(?is)\s*do\s+(\$\w*\$)\s*begin\s+if\s+not\s+exists\s*\(\s*(?P<query>select\b[^;]*?)\)\s*"
    r"then\s+(?P<body>[^;]+;)\s*end\s+if\s*;\s*end\s*;?\s*\1(?:\s+language\s+plpgsql)?\s*;?\s*$"
)
_CREATES = re.compile(
    r"(?is)\s*(?:create\s+(?:unique\s+)?index\s+(?:concurrently\s+)?|create\s+(?:table|type|"
    r"sequence|view|materialized\s+view|schema)\s+|alter\s+table\s+\S+\s+add\s+constraint\s+)"
    r"(?:if\s+not\s+exists\s+)?(?:\S+\.)?\"?(?P<name>[\w$]+)\"?"
)


def _if_missing_body(text: str) -> tuple[str, str] | None:
    """(name, statement) of a DO block that runs one statement creating `name` only when the
    catalog query it tests finds nothing named `name`; None for any other block."""
    m = _IF_MISSING.match(text)
    if m is None:
        return None
    names = re.findall(r"'((?:[^']|'')*)'", m.group("query"))
    made = _CREATES.match(m.group("body"))
    if made is None or len(names) != 1 or names[0] != made.group("name"):
        return None
    return names[0], m.group("body").strip().rstrip(";").strip()


def _named_object_exists(state: State, name: str) -> bool:
    """Whether a relation, type, schema or constraint of that name is in the schema."""
    return (
        name in state.names_in_use()
        or any(key[1] == name for key in (*state.tables, *state.views, *state.sequences))
        or any(key[1] == name for key in state.enums)
        or name in state.namespaces
    )


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return re.sub(r"\x1b\[[0-9;]*m", "", line)[:200]


def replay(
    migrations: Iterable[Migration],
    dialect: Dialect,
    base: Schema | None = None,
    cache: ParseCache | None = None,
) -> History:
    """Replay migrations in order, starting from `base` (an empty database by default)."""
    migrations = list(migrations)
    key = cache.key(migrations, dialect, base) if cache is not None else None
    if key is not None and cache is not None and (found := cache.history(key)) is not None:
        return found
    state = State(dialect, base)
    # Replay allocates many small objects that live until it ends: pausing the collector
    # avoids repeated full scans of them (bench/replay.py measures the effect).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        steps = [replay_one(m, state, cache) for m in migrations]
    finally:
        if was_enabled:
            gc.enable()
    history = History(state.snapshot(), tuple(steps))
    if key is not None and cache is not None:
        cache.put_history(key, history)
    return history


def replay_one(migration: Migration, state: State, cache: ParseCache | None = None) -> Step:
    """Replay one migration into `state` (mutated) and report what it did."""
    from bot.core import translate

    dialect = state.dialect
    if len(migration.sql) > MAX_FILE_BYTES:
        size = len(migration.sql) / 1024 / 1024
        return Step(
            migration.path,
            (),
            (Unmodelled(migration.path, 1, "", f"file too large to analyse ({size:.0f} MB)"),),
        )
    try:
        parsed = _parse_lazily(migration.sql, dialect, cache)
    except SplitError as err:
        return Step(
            migration.path,
            (),
            (Unmodelled(migration.path, err.line, "", f"cannot split statements: {err.message}"),),
        )
    changes: list[ch.Change] = []
    unmodelled: list[Unmodelled] = []
    data: list[DataStatement] = []
    allows: list[Allow] = []
    # Statements that failed and changed nothing, by text, since the state last changed: the
    # same text on the same state fails the same way (a file repeating a statement thousands
    # of times is translated once, not once per copy).
    failed: dict[str, str] = {}
    for stmt, tree in parsed:
        if tree == "data":
            data.append(DataStatement(migration.path, stmt.line, stmt.text))
            continue
        if tree == "session":
            continue
        if isinstance(tree, str):
            unmodelled.append(Unmodelled(migration.path, stmt.line, stmt.text, tree))
            continue
        if tree.guarded and _exists_already(state, tree):
            continue  # the block swallows the engine's duplicate_object: nothing happens
        if tree.unless_exists is not None and _named_object_exists(state, tree.unless_exists):
            continue  # the block's IF NOT EXISTS finds the object: nothing happens
        if not stmt.comments and (reason := failed.get(stmt.text)) is not None:
            unmodelled.append(Unmodelled(migration.path, stmt.line, stmt.text, reason))
            continue
        translator = translate.Translator(state, tree)
        reason = None
        try:
            made = translator.translate()
        except (StateError, translate.Unsupported) as err:
            reason = str(err)
            made = translator.applied
        except (translate.SqlglotError, RecursionError) as err:
            # A part of the statement the parser could not read (or nest): report, go on.
            reason = f"not understood: {_first_line(str(err)) or type(err).__name__}"
            made = translator.applied
        if reason is not None:
            unmodelled.append(Unmodelled(migration.path, stmt.line, stmt.text, reason))
        if made or translator.unmodelled:
            failed.clear()
        elif reason is not None:
            failed[stmt.text] = reason
        changes.extend(made)
        for comment in stmt.comments:
            if m := _ALLOW.match(comment):
                objects = tuple(dict.fromkeys(ch.change_object(c) for c in made))
                allows.append(
                    Allow(m.group(1), m.group(2).strip(), objects, migration.path, stmt.line)
                )
        unmodelled.extend(
            Unmodelled(migration.path, stmt.line, stmt.text, reason)
            for reason in translator.unmodelled
        )
    return Step(migration.path, tuple(changes), tuple(unmodelled), tuple(data), tuple(allows))


# What duplicate_object is raised for (others raise duplicate_table, duplicate_function...)
_DUPLICATE_OBJECT_KINDS = frozenset({"trigger", "extension", "policy", "type", "domain", "rule"})


def _exists_already(state: State, tree: ParsedStatement) -> bool:
    """Whether the guarded statement would fail with duplicate_object: translated on a copy of
    the state, it creates a type, constraint, trigger, extension or policy that exists."""
    from bot.core import translate

    trial = State(state.dialect, state.snapshot())
    try:
        made = translate.Translator(trial, tree).translate()
    except StateError as err:
        # the translator refuses a type, trigger... that exists: the engine's duplicate_object
        kind, _, rest = str(err).partition(" ")
        return kind in _DUPLICATE_OBJECT_KINDS and rest.endswith(" already exists")
    except (translate.Unsupported, translate.SqlglotError, RecursionError):
        return False  # the real translation reports it
    for change in made:
        match change:
            case ch.CreateEnum(enum) if state.key(enum.name) in state.enums:
                return True
            case ch.AddConstraint(table, con) if con.name is not None:
                if state.table(table) is not None and state.find_constraint(table, con.name):
                    return True
            case ch.CreateOpaque(obj) if obj.kind in _DUPLICATE_OBJECT_KINDS:
                if (obj.kind, obj.identity) in state.opaque:
                    return True
    return False


def replay_sql(
    sql: str, dialect: Dialect, base: Schema | None = None, path: str = "<sql>"
) -> History:
    """Convenience for tests and the CLI: replay one SQL text."""
    return replay([Migration(path, sql)], dialect, base)
