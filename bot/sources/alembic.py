"""Alembic: find a repository's migration environments, read the revision graph statically,
get each revision's SQL from Alembic's offline mode, and write a compensating revision.

Finding and ordering revisions never runs repository code: `alembic.ini` is read as an INI
file and every `versions/*.py` with `ast`. Only `offline_sql` runs Alembic (and so the
repository's env.py), in the sandbox of `bot.sources.pyrunner`; callers use it only when the
operator allowed running repository code.
"""

from __future__ import annotations

import ast
import configparser
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from posixpath import basename, dirname, join, normpath
from typing import TYPE_CHECKING, Protocol

from bot.core.model import Dialect
from bot.core.split import SplitError, split_statements
from bot.sources.model import DialectFrom, Format, SchemaSource, SourceKind, VersionedMigration
from bot.sources.pyrunner import RunError, Sandbox, checkout, run_tool

if TYPE_CHECKING:  # bot.sources.git imports the formats, which import this module
    import git  # only named here: `schema`/`diff` read directories and never load GitPython

    from bot.sources.git import TextRead

INI = "alembic.ini"
ENV_PY = "env.py"
VERSIONS = "versions"
# In offline mode no connection is made: a URL only tells Alembic which dialect to render.
DUMMY_URLS = {
    Dialect.POSTGRES: "postgresql://rollback-plan@127.0.0.1:9/rollback_plan",
    Dialect.MYSQL: "mysql://rollback-plan@127.0.0.1:9/rollback_plan",
    Dialect.SQLITE: "sqlite:///rollback_plan.db",
}
# Variables env.py files commonly read their URL from.
URL_VARIABLES = ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_URL", "DB_URL")
_OUR_INI = ".rollback-plan-alembic.ini"
_SCHEMES = {
    **dict.fromkeys(("postgresql", "postgres", "pgsql", "psycopg", "psycopg2"), Dialect.POSTGRES),
    **dict.fromkeys(("mysql", "mariadb"), Dialect.MYSQL),
    **dict.fromkeys(("sqlite",), Dialect.SQLITE),
}
_UNSUPPORTED = ("mssql", "oracle", "snowflake", "bigquery", "redshift", "clickhouse", "duckdb")
_MARKER = re.compile(r"^-- Running (upgrade|downgrade) (.*?) -> (.*?)$", re.MULTILINE)
_STAMP = re.compile(r"^[^\w]*\d{4}-\d{2}-\d{2}")
MAX_RESTARTS = 10


class TextSource(Protocol):
    """A tree whose files can be read as text (a GitSnapshot)."""

    def read_text(self, paths: Sequence[str]) -> TextRead: ...


@dataclass(frozen=True)
class Revision:
    """One revision file, read with `ast`."""

    id: str
    down: tuple[str, ...]  # down_revision: () at the base, several for a merge
    path: str  # repo-relative
    message: str
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Environment:
    """An Alembic migration environment: its script directory and the ini that names it."""

    script_location: str  # repo-relative directory holding env.py and versions/
    ini: str | None  # repo-relative alembic.ini, when one names it
    ini_text: str = ""
    url: str | None = None  # sqlalchemy.url as written


# --- finding environments -------------------------------------------------------------------


def find_environments(
    files: Sequence[str], read: Mapping[str, str]
) -> tuple[list[Environment], list[str]]:
    """Alembic environments among `files` (repo paths); `read` holds the text of every
    alembic.ini. An env.py beside a versions/ directory counts without an ini too."""
    present = set(files)
    problems: list[str] = []
    found: dict[str, Environment] = {}
    for ini in sorted(p for p in files if basename(p) == INI):
        text = read.get(ini)
        if text is None:
            continue
        options, problem = _ini_options(text)
        if problem:
            problems.append(f"{ini}: {problem}")
            continue
        here = dirname(ini)
        location = _script_location(options.get("script_location"), here, present)
        if location is None:
            # Flask-Migrate keeps alembic.ini inside the script directory, without the key
            guesses = [here, join(here, "migrations"), join(here, "alembic")]
            location = next((g for g in guesses if _join(g, ENV_PY) in present), None)
        if location is None:
            problems.append(
                f"{ini}: script_location {options.get('script_location', '(none)')!r} is not "
                "a directory with env.py in the repository; set the source in .rollback-plan.yml"
            )
            continue
        found.setdefault(location, Environment(location, ini, text, options.get("sqlalchemy.url")))
    for env in sorted(p for p in files if basename(p) == ENV_PY):
        location = dirname(env)
        if location in found:
            continue
        if any(f.startswith(_join(location, VERSIONS) + "/") and f.endswith(".py") for f in files):
            found[location] = Environment(location, None)
    return [found[k] for k in sorted(found)], problems


def _join(a: str, b: str) -> str:
    return join(a, b) if a else b


def _ini_options(text: str) -> tuple[dict[str, str], str | None]:
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(text)
    except configparser.Error as err:
        return {}, f"not a valid INI file ({str(err).splitlines()[0]})"
    if not parser.has_section("alembic"):
        return {}, None
    return dict(parser.items("alembic")), None


def _script_location(value: str | None, here: str, present: set[str]) -> str | None:
    """The repo-relative directory `script_location` names, if it holds an env.py."""
    if not value or "{" in value or "$" in value:
        return None
    value = value.replace("%(here)s", here or ".").strip()
    candidates = []
    if ":" in value and not value.startswith("/"):
        # package resource "myapp:migrations": the package may live under src/
        package, _, sub = value.partition(":")
        rel = join(package.replace(".", "/"), sub)
        candidates += [rel, join("src", rel), _join(here, rel)]
    else:
        candidates += [_join(here, value), value]
    for c in candidates:
        c = normpath(c).lstrip("/")
        c = "" if c == "." else c
        if not c.startswith("..") and _join(c, ENV_PY) in present:
            return c
    return None


def url_dialect(url: str | None) -> tuple[Dialect | None, str | None]:
    """The dialect a sqlalchemy.url names, and a problem when it names another database."""
    if not url or ("://" not in url and not url.startswith("sqlite:")):
        return None, None
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in _SCHEMES:
        return _SCHEMES[scheme], None
    if scheme in _UNSUPPORTED:
        return None, (
            f"sqlalchemy.url names {scheme}, a database rollback-plan does not plan "
            "(PostgreSQL, MySQL/MariaDB and SQLite only)"
        )
    return None, None  # "driver://user:pass@localhost/dbname": Alembic's template


# --- the revision graph ---------------------------------------------------------------------


def read_revision(path: str, text: str) -> tuple[Revision | None, str | None]:
    """The revision a file declares, read with `ast` (never imported)."""
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as err:
        return None, f"{path}: not valid Python (line {err.lineno}): not read as a revision"
    values: dict[str, object] = {}
    for node in tree.body:
        target: ast.expr | None = None
        value: ast.expr | None = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign):
            target, value = node.target, node.value
        if not isinstance(target, ast.Name) or value is None:
            continue
        if target.id in ("revision", "down_revision", "depends_on"):
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                values[target.id] = _NOT_LITERAL
    if "revision" not in values:
        return None, None  # a helper module beside the revisions
    rev = values["revision"]
    if not isinstance(rev, str) or not rev:
        return None, f"{path}: `revision` is not a literal string: not read as a revision"
    down = _ids(values.get("down_revision"))
    depends = _ids(values.get("depends_on"))
    if down is None or depends is None:
        return (
            None,
            f"{path}: `down_revision` or `depends_on` is not literal: not read as a revision",
        )
    doc = ast.get_docstring(tree) or ""
    message = doc.strip().splitlines()[0] if doc.strip() else basename(path)[: -len(".py")]
    return Revision(rev, down, path, message, depends), None


_NOT_LITERAL = object()


def _ids(value: object) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, tuple | list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def order_revisions(revisions: Sequence[Revision]) -> tuple[list[Revision], list[str]]:
    """Revisions in an order Alembic may apply them (each after its down revisions and
    dependencies), and the problems of the graph: duplicates, unknown parents, cycles."""
    problems: list[str] = []
    by_id: dict[str, Revision] = {}
    for r in revisions:
        if r.id in by_id:
            problems.append(f"{r.path}: revision {r.id} is also declared in {by_id[r.id].path}")
            continue
        by_id[r.id] = r
    for r in by_id.values():
        for parent in (*r.down, *r.depends_on):
            if parent not in by_id:
                problems.append(f"{r.path}: revises {parent}, which no revision file declares")
    ordered: list[Revision] = []
    state: dict[str, int] = {}  # 1: visiting, 2: done

    def visit(rid: str) -> None:
        # iterative: real histories are hundreds of revisions deep
        stack = [(rid, False)]
        while stack:
            node, leaving = stack.pop()
            if leaving:
                state[node] = 2
                ordered.append(by_id[node])
                continue
            if state.get(node) == 2:
                continue
            if state.get(node) == 1:
                problems.append(f"{by_id[node].path}: revision {node} is part of a cycle")
                continue
            state[node] = 1
            stack.append((node, True))
            r = by_id[node]
            parents = [p for p in (*r.down, *r.depends_on) if p in by_id]
            stack += [(p, False) for p in sorted(parents, reverse=True) if state.get(p) != 2]

    for rid in sorted(by_id, key=lambda i: by_id[i].path):
        visit(rid)
    return ordered, problems


def heads(revisions: Sequence[Revision]) -> list[str]:
    """Revisions no other revision revises, by id."""
    parents = {p for r in revisions for p in r.down}
    return sorted(r.id for r in revisions if r.id not in parents)


def revisions_of(files: Mapping[str, str]) -> tuple[list[Revision], list[str]]:
    """The revisions among `files` (paths to text), in order, and the problems."""
    revisions, problems = [], []
    for path in sorted(files):
        rev, problem = read_revision(path, files[path])
        if problem:
            problems.append(problem)
        if rev is not None:
            revisions.append(rev)
    ordered, graph_problems = order_revisions(revisions)
    return ordered, problems + graph_problems


def alembic_source(env: Environment, versions: Mapping[str, str]) -> SchemaSource:
    """The environment as a schema source: one migration per revision, in order, its `up`
    the revision file's Python until `with_offline_sql` replaces it with SQL."""
    revisions, problems = revisions_of(versions)
    dialect, problem = url_dialect(env.url)
    migrations = tuple(
        VersionedMigration(r.id, r.message, r.path, versions[r.path], None, None) for r in revisions
    )
    return SchemaSource(
        SourceKind.DIRECTORY,
        env.script_location or ".",
        dialect,
        format=Format.ALEMBIC,
        migrations=migrations,
        manifest=env.ini,  # the alembic.ini that names the environment, which offline mode reads
        problems=(*problems, *([f"{env.ini}: {problem}"] if problem and env.ini else [])),
        dialect_from=DialectFrom.TOOL if dialect else None,
        notes=(_CHECK.format(env.script_location or "."),),
    )


_CHECK = (
    "{}: a compensating revision rollback-plan writes runs the proven SQL through op.execute, "
    "with down_revision the current head: before merging, check that the revert also took the "
    "models back (or autogenerate will add the reverted columns again) and that no other "
    "branch added a revision since (`alembic heads` shows one head)"
)


def version_files(script_location: str, files: Sequence[str]) -> list[str]:
    """The revision files of an environment: `versions/*.py`, one level (Alembic's default)."""
    prefix = _join(script_location, VERSIONS) + "/"
    return sorted(
        f
        for f in files
        if f.startswith(prefix)
        and f.endswith(".py")
        and "/" not in f[len(prefix) :]
        and not f.endswith("/__init__.py")
    )


# --- offline mode ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineSQL:
    """What offline mode printed for each revision, and what went wrong."""

    ups: Mapping[str, str] = field(default_factory=dict)  # revision id -> SQL
    downs: Mapping[str, str] = field(default_factory=dict)  # revision id -> the author's down
    problems: tuple[str, ...] = ()
    failed: str | None = None  # the run failed before any revision: why


def offline_sql(
    repo: git.Repo,
    sha: str,
    source: SchemaSource,
    ini: str | None,
    dialect: Dialect,
    sandbox: Sandbox,
    downgrade: tuple[str, str] | None = None,
) -> OfflineSQL:
    """Each revision's SQL from `alembic upgrade base:heads --sql` at `sha`, and, for
    `downgrade` (from, to), the author's downs from `alembic downgrade from:to --sql`.

    A revision whose upgrade fails in offline mode (it reads the database, say) is reported
    and skipped: the run starts again after it, at most MAX_RESTARTS times.
    """
    by_path = {m.up_path: m.version for m in source.migrations}
    ups: dict[str, str] = {}
    downs: dict[str, str] = {}
    problems: list[str] = []
    location = "" if source.path == "." else source.path
    try:
        with checkout(repo, sha) as root:
            config = _write_ini(root, location, ini, dialect)
            cwd = config.parent  # where people run `alembic`
            env = {v: DUMMY_URLS[dialect] for v in URL_VARIABLES}
            start = "base"
            for _ in range(MAX_RESTARTS + 1):
                args = ["-c", _DRIVER, "-c", str(config), "upgrade", f"{start}:heads", "--sql"]
                try:
                    out, error = run_tool(args, root, sandbox, env, cwd), None
                except RunError as err:
                    if err.stopped:
                        return OfflineSQL(failed=str(err))
                    out, error = err.partial, str(err)
                sections = _sections(out, "upgrade", dialect)
                for rev, why in _failures(out).items():
                    sections.pop(rev, None)
                    path = next((p for p, v in by_path.items() if v == rev), rev)
                    problems.append(_failed_in(path, why))
                if error is not None and _FLASK.search(_text(root / location / ENV_PY)):
                    error += f" ({_FLASK_HINT})"
                if error is None:
                    ups.update(sections)
                    break
                done = list(sections)
                if not done:
                    if not ups:
                        return OfflineSQL(failed=error)
                    problems.append(
                        f"{location or '.'}: offline mode failed after {start}: {error}"
                    )
                    break
                failed = done[-1]  # its section is cut short
                ups.update({k: v for k, v in sections.items() if k != failed})
                path = next((p for p, v in by_path.items() if v == failed), failed)
                problems.append(_failed_in(path, error))
                start = failed
            else:
                problems.append(
                    f"{location or '.'}: offline mode failed {MAX_RESTARTS} times: gave up"
                )
            if downgrade is not None:
                args = [
                    "-c",
                    _DRIVER,
                    "-c",
                    str(config),
                    "downgrade",
                    f"{downgrade[0]}:{downgrade[1]}",
                    "--sql",
                ]
                try:
                    out = run_tool(args, root, sandbox, env, cwd)
                    failed_downs = _failures(out, "downgrade")
                    if failed_downs:
                        rev, why = next(iter(failed_downs.items()))
                        path = next((p for p, v in by_path.items() if v == rev), rev)
                        problems.append(
                            f"{path}: its downgrade() fails in offline mode ({why}): the "
                            "author's down is not judged"
                        )
                    else:
                        downs.update(_sections(out, "downgrade", dialect))
                except RunError as err:
                    problems.append(
                        f"{location or '.'}: the author's downgrade() could not be read in "
                        f"offline mode: {err}"
                    )
    except RunError as err:
        return OfflineSQL(failed=str(err))
    return OfflineSQL(ups, downs, tuple(problems))


# Flask-Migrate's env.py takes the URL and models from the running Flask application.
_FLASK = re.compile(r"\bcurrent_app\b")
_FLASK_HINT = (
    "this env.py is Flask-Migrate's: it reads Flask's current_app, which exists only inside "
    "`flask db`; rollback-plan runs plain Alembic, so it can't plan this environment yet"
)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _write_ini(root: Path, location: str, ini: str | None, dialect: Dialect) -> Path:
    """Our copy of the repository's alembic.ini, beside it (so %(here)s is the same), with
    the script directory and a dummy URL of the dialect."""
    parser = configparser.RawConfigParser(strict=False)
    if ini is not None:
        try:
            parser.read(root / ini, encoding="utf-8")
        except configparser.Error:
            parser = configparser.RawConfigParser(strict=False)
    if not parser.has_section("alembic"):
        parser.add_section("alembic")
    parser.set("alembic", "script_location", str(root / location) if location else str(root))
    parser.set("alembic", "sqlalchemy.url", DUMMY_URLS[dialect])
    for key in list(parser.options("alembic")):
        if "{" in (parser.get("alembic", key) or ""):
            parser.remove_option("alembic", key)  # a template (jupyterhub): not usable as is
    if not parser.has_option("alembic", "prepend_sys_path"):
        parser.set("alembic", "prepend_sys_path", ".")
    # env.py files call logging.config.fileConfig on the ini: it needs these sections
    for section, values in _LOGGING.items():
        if not parser.has_section(section):
            parser.add_section(section)
            for k, v in values.items():
                parser.set(section, k, v)
    # Beside alembic.ini, unless that is inside a package (jupyterhub/alembic.ini): running
    # there would put the package's own modules (jupyterhub/traitlets.py) before the libraries.
    here = (root / ini).parent if ini is not None else root
    target = (root if (here / "__init__.py").exists() else here) / _OUR_INI
    with target.open("w", encoding="utf-8") as fh:
        parser.write(fh)
    return target


_LOGGING = {
    "loggers": {"keys": "root"},
    "handlers": {"keys": "console"},
    "formatters": {"keys": "generic"},
    "logger_root": {"level": "WARN", "handlers": "console"},
    "handler_console": {"class": "StreamHandler", "args": "(sys.stderr,)", "formatter": "generic"},
    "formatter_generic": {"format": "%%(levelname)s %%(message)s"},
}


def _failed_in(path: str, why: str) -> str:
    return (
        f"{path}: Alembic's offline mode (--sql) failed in this revision: {why}; "
        "its SQL is missing from the plan"
    )


# `alembic`, with each revision's upgrade()/downgrade() caught: one that fails offline (it
# reads the database) prints why in its section and the run goes on, instead of a run per
# failure. Without the hook (another Alembic), failures end the run and it starts again.
_DRIVER = """\
import functools, sys
try:
    from alembic.runtime import migration as _m
    _init = _m.RevisionStep.__init__
    def _caught(self, *a, **k):
        _init(self, *a, **k)
        fn = self.migration_fn
        @functools.wraps(fn)
        def run(*args, **kw):
            try:
                return fn(*args, **kw)
            except Exception as exc:
                why = " ".join(f"{type(exc).__name__}: {exc}".split())
                print("\\n-- rollback-plan failed: " + why, flush=True)
        self.migration_fn = run
    _m.RevisionStep.__init__ = _caught
except (ImportError, AttributeError):
    pass
from alembic.config import main
main(argv=sys.argv[1:], prog="alembic")
"""
_FAILED = re.compile(r"^-- rollback-plan failed: (.*)$", re.MULTILINE)


def _failures(out: str, direction: str = "upgrade") -> dict[str, str]:
    """Revisions whose upgrade() (or downgrade()) raised under the driver, and why."""
    marks = [m for m in _MARKER.finditer(out) if m.group(1) == direction]
    found: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(out)
        if failed := _FAILED.search(out, m.end(), end):
            found[(m.group(3) if direction == "upgrade" else m.group(2)).strip()] = failed.group(1)
    return found


def _sections(out: str, direction: str, dialect: Dialect) -> dict[str, str]:
    """SQL per revision from offline output, in the order printed; Alembic's own bookkeeping
    (the version table, BEGIN/COMMIT) left out."""
    marks = [m for m in _MARKER.finditer(out) if m.group(1) == direction]
    sections: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(out)
        # upgrade a -> b is b's SQL; downgrade b -> a is b's
        rev = m.group(3) if direction == "upgrade" else m.group(2)
        sections[rev.strip()] = _without_bookkeeping(out[m.end() : end], dialect)
    return sections


def _without_bookkeeping(sql: str, dialect: Dialect) -> str:
    try:
        statements = split_statements(sql, dialect.value)
    except SplitError:
        return sql.strip() + "\n"
    kept = [
        st.text for st in statements if not _BOOKKEEPING.match(st.text) and not _TX.match(st.text)
    ]
    return "".join(f"{s};\n\n" for s in kept)


_BOOKKEEPING = re.compile(
    r"(?is)^(create\s+table|insert\s+into|update|delete\s+from)\s+[\w\".]*alembic_version\b"
)
_TX = re.compile(r"(?i)^(begin|commit|start\s+transaction)(\s+transaction)?$")


# --- the compensating revision --------------------------------------------------------------


def render_revision(
    files: Mapping[str, str],
    name: str,
    note: str,
    up: str,
    down: str | None,
    now: datetime,
    dialect: Dialect | None,
) -> list[tuple[str, str]]:
    """A new revision file under versions/ (paths relative to the script directory) whose
    down_revision is the current head (all heads: it then merges them) and whose upgrade()
    runs `up` through op.execute; downgrade() runs `down` when given."""
    revisions, _ = revisions_of(
        {p: t for p, t in files.items() if p.startswith(VERSIONS + "/") and p.endswith(".py")}
    )
    tips = heads(revisions)
    if not tips and revisions:
        raise ValueError("the revision graph has no head")
    rev = hashlib.sha1(f"{name}:{','.join(tips)}".encode()).hexdigest()[:12]
    revises: str | tuple[str, ...] | None = (
        tips[0] if len(tips) == 1 else tuple(tips) if tips else None
    )
    dialect_name = (dialect or Dialect.POSTGRES).value
    body = _executes(up, dialect_name)
    undo = _executes(down, dialect_name) if down is not None and down.strip() else None
    text = (
        f'"""{name}: {note}\n\n'
        f"Revision ID: {rev}\n"
        f"Revises: {', '.join(tips)}\n"
        f"Create Date: {now.strftime('%Y-%m-%d %H:%M:%S')}\n\n"
        f"Generated by rollback-plan from SQL it proved for {dialect_name}: check it before "
        "merging (see the plan).\n"
        '"""\n'
        "from alembic import op\n\n"
        "# revision identifiers, used by Alembic.\n"
        f"revision = {rev!r}\n"
        f"down_revision = {revises!r}\n"
        "branch_labels = None\n"
        "depends_on = None\n\n\n"
        f"def upgrade() -> None:\n{body}\n\n"
        "def downgrade() -> None:\n"
        + (
            f"    # re-applies the reverted revisions, as their upgrade() printed it offline\n{undo}"
            if undo
            else '    raise NotImplementedError("re-apply the reverted revisions instead")\n'
        )
    )
    slug = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return [(f"{VERSIONS}/{rev}_{slug}.py", text)]


def _executes(sql: str, dialect: str) -> str:
    """`op.execute(...)` lines, one per statement; comments stay as comments."""
    try:
        statements = split_statements(sql, dialect)
    except SplitError:
        return f"    op.execute({_literal(sql.strip())})\n"
    lines: list[str] = []
    for st in statements:
        for comment in st.comments:
            for line in comment.splitlines():
                text = line.strip().removeprefix("--").removeprefix("/*").removesuffix("*/")
                lines.append(f"    # {text.strip()}".rstrip())
        lines.append(f"    op.execute({_literal(st.text)})")
    return "\n".join(lines or ["    pass"]) + "\n"


# SQLAlchemy's text() reads `:name` as a bind parameter; `\:` is a literal colon.
_BIND = re.compile(r"(?<![:\w\\]):(?=\w)")


def _literal(sql: str) -> str:
    return repr(_BIND.sub(r"\\:", sql))


def with_sql(source: SchemaSource, offline: OfflineSQL, only_downs: set[str]) -> SchemaSource:
    """The source with each revision's `up` the SQL offline mode printed (empty, with a
    problem already said, for one it could not print) and the author's downs for `only_downs`."""
    migrations = []
    for m in source.migrations:
        down = offline.downs.get(m.version) if m.version in only_downs else None
        migrations.append(
            replace(
                m,
                up=offline.ups.get(m.version, ""),
                down=down,
                down_path=m.up_path if down is not None else None,
            )
        )
    return replace(
        source,
        migrations=tuple(migrations),
        problems=tuple(dict.fromkeys((*source.problems, *offline.problems))),
    )


def discover_alembic(
    snapshot: TextSource, files: Sequence[str], problems: list[str]
) -> list[SchemaSource]:
    """The Alembic environments of a tree as schema sources (read statically)."""
    inis = snapshot.read_text([p for p in files if basename(p) == INI])
    problems += inis.problems
    envs, bad = find_environments(files, inis.texts)
    problems += bad
    sources = []
    for env in envs:
        read = snapshot.read_text(version_files(env.script_location, files))
        problems += read.problems
        if not read.texts:
            continue
        source = alembic_source(env, read.texts)
        if source.migrations or source.problems:
            sources.append(source)
    return sources


def off_problem(source: SchemaSource, undone: Sequence[str]) -> str:
    """What the plan says when running repository code is off."""
    what = f"undoes {', '.join(undone[:5])}" if undone else "changes its revisions"
    return (
        f"{source.path}: Alembic history ({len(source.migrations)} revisions); this change "
        f"{what}. Their SQL comes from Alembic's offline mode (`alembic upgrade --sql`), which "
        "runs the repository's env.py, and running repository code is off here. To plan it: "
        f"`rollback-plan plan --run-repo-code`, `rollback-plan ci` (on by default), or for "
        f"the bot set {RUN_CODE_ENV}=true"
    )


RUN_CODE_ENV = "ROLLBACK_PLAN_RUN_REPO_CODE"


def materialize(
    repo: git.Repo,
    newer: tuple[str, SchemaSource | None],
    older: tuple[str, SchemaSource | None],
    dialect: Dialect,
    sandbox: Sandbox,
) -> tuple[SchemaSource | None, SchemaSource | None, str | None]:
    """Both sides with their SQL from offline mode (the deployed side also with the author's
    downs of the revisions the change undoes), or a problem saying why there is none."""
    (new_sha, a), (old_sha, b) = newer, older
    old_ids = {m.version for m in b.migrations} if b else set()
    undone = [m.version for m in a.migrations if m.version not in old_ids] if a else []
    out: list[SchemaSource | None] = []
    for sha, src, downgrade in (
        (new_sha, a, _downgrade_range(a, b, undone)),
        (old_sha, b, None),
    ):
        if src is None:
            out.append(None)
            continue
        offline = offline_sql(repo, sha, src, src.manifest, dialect, sandbox, downgrade)
        if offline.failed is not None:
            where = _join(src.path if src.path != "." else "", ENV_PY)
            return (
                a,
                b,
                (
                    f"{where}: Alembic's offline mode (`alembic upgrade --sql`) failed at "
                    f"{sha[:12]}: {offline.failed}"
                ),
            )
        out.append(with_sql(src, offline, set(undone)))
    return out[0], out[1], None


def _downgrade_range(
    a: SchemaSource | None, b: SchemaSource | None, undone: Sequence[str]
) -> tuple[str, str] | None:
    """(from, to) for `alembic downgrade from:to --sql` over the undone revisions: only for
    one head on each side, the older side's revisions all still there."""
    if a is None or not undone:
        return None
    revs_a = [_as_revision(m) for m in a.migrations]
    revs_b = [_as_revision(m) for m in b.migrations] if b else []
    tips_a, tips_b = heads(revs_a), heads(revs_b)
    if len(tips_a) != 1 or len(tips_b) > 1:
        return None
    if not {r.id for r in revs_b} <= {r.id for r in revs_a}:
        return None
    return tips_a[0], tips_b[0] if tips_b else "base"


def _as_revision(m: VersionedMigration) -> Revision:
    rev, _ = read_revision(m.up_path, m.up)
    return rev if rev is not None else Revision(m.version, (), m.up_path, m.name)
