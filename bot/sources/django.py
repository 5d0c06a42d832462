"""Django projects: find `manage.py` and its apps' migration modules, read the migration graph
statically (Python's `ast`, nothing imported or run), and write a compensating migration in
Django's own format.

The SQL of a Django migration exists only once Django computes it (`manage.py sqlmigrate`),
which runs the repository's code: `bot.planner.django_runner` does that, when allowed.
Nothing here runs code: files are read from the snapshot and parsed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from posixpath import dirname

from bot.core.model import Dialect
from bot.sources.model import (
    DialectFrom,
    Format,
    SchemaSource,
    Snapshot,
    SourceKind,
    VersionedMigration,
)

MANAGE = "manage.py"
# <app>/migrations/<name>.py: Django loads every module of the package not starting with _ or ~
_MIGRATION = re.compile(
    r"^(?:(?P<parent>.*)/)?(?P<app>[A-Za-z_]\w*)/migrations/(?P<name>[^_~/]\w*)\.py$"
)
_NUMBER = re.compile(r"^(\d+)_")
# Trees that hold other people's code: never the project's own apps
_VENDORED = re.compile(r"(^|/)(site-packages|dist-packages|node_modules|\.venv|venv|\.tox)/")
_SETTINGS_MODULE = re.compile(r"""DJANGO_SETTINGS_MODULE["']\s*,\s*["']([\w.]+)["']""")
# Database backends by ENGINE, as settings name them
_ENGINES = {
    "postgresql": Dialect.POSTGRES,
    "postgresql_psycopg2": Dialect.POSTGRES,
    "postgis": Dialect.POSTGRES,
    "mysql": Dialect.MYSQL,
    "sqlite3": Dialect.SQLITE,
    "spatialite": Dialect.SQLITE,
}
_ENGINE = re.compile(r"""["']django(?:\.contrib\.gis)?\.db\.backends\.(\w+)["']""")


@dataclass(frozen=True)
class DjangoMigration:
    """One migration module, as its source declares it."""

    app: str  # the app label Django gives it by default: the package's last name
    name: str  # the module name, e.g. 0003_add_email
    path: str  # repo-relative path of the module
    dependencies: tuple[tuple[str, str], ...]  # (app label, migration name) it declares
    code: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.name)


def project_roots(paths: Iterable[str]) -> list[str]:
    """Directories holding a `manage.py` ("" for the repository root), outside vendored trees."""
    return sorted(
        dirname(p) for p in paths if p.rsplit("/", 1)[-1] == MANAGE and not _VENDORED.search(p)
    )


def migration_paths(paths: Iterable[str], root: str) -> list[str]:
    """The migration modules of the apps below `root`."""
    prefix = f"{root}/" if root else ""
    return sorted(
        p for p in paths if p.startswith(prefix) and _MIGRATION.match(p) and not _VENDORED.search(p)
    )


def read_migration(path: str, code: str) -> tuple[DjangoMigration | None, str | None]:
    """The migration a module declares, or the reason it is not one Django would load."""
    m = _MIGRATION.match(path)
    if m is None:
        return None, f"{path}: not a migration module name"
    try:
        tree = ast.parse(code, filename=path)
    except (SyntaxError, ValueError) as err:
        return None, f"{path}: not valid Python ({err})"
    cls = next(
        (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Migration"), None
    )
    if cls is None:
        return None, f"{path}: no Migration class, Django refuses the module"
    deps: list[tuple[str, str]] = []
    for node in cls.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "dependencies" for t in node.targets
        ):
            deps += _pairs(node.value)
    return DjangoMigration(m.group("app"), m.group("name"), path, tuple(deps), code), None


def _pairs(node: ast.expr) -> list[tuple[str, str]]:
    """("app", "0001_x") tuples of a literal list; swappable dependencies name a setting."""
    if not isinstance(node, ast.List | ast.Tuple):
        return []
    out = []
    for item in node.elts:
        if isinstance(item, ast.Tuple) and len(item.elts) == 2:
            a, b = item.elts
            values = [e.value if isinstance(e, ast.Constant) else None for e in (a, b)]
            if all(isinstance(v, str) for v in values):
                out.append((str(values[0]), str(values[1])))
    return out


def graph_order(migrations: Sequence[DjangoMigration]) -> list[DjangoMigration]:
    """Dependencies first (those on apps outside the repository are already there); ties
    by app label and name, as Django's plan does."""
    by_key = {m.key: m for m in migrations}
    done: set[tuple[str, str]] = set()
    out: list[DjangoMigration] = []

    def visit(m: DjangoMigration, path: frozenset[tuple[str, str]]) -> None:
        if m.key in done or m.key in path:
            return  # a cycle is Django's to report; the order stays total
        for dep in sorted(m.dependencies):
            target = _resolve(dep, by_key)
            if target is not None:
                visit(target, path | {m.key})
        done.add(m.key)
        out.append(m)

    for m in sorted(migrations, key=lambda m: m.key):
        visit(m, frozenset())
    return out


def _resolve(
    dep: tuple[str, str], by_key: Mapping[tuple[str, str], DjangoMigration]
) -> DjangoMigration | None:
    app, name = dep
    if name in ("__first__", "__latest__"):
        names = sorted(k[1] for k in by_key if k[0] == app)
        if not names:
            return None
        name = names[0] if name == "__first__" else names[-1]
    return by_key.get((app, name))


def settings_module(manage_py: str) -> str | None:
    """The settings module manage.py sets (`os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`)."""
    m = _SETTINGS_MODULE.search(manage_py)
    return m.group(1) if m else None


def settings_paths(root: str, module: str | None, paths: Iterable[str]) -> list[str]:
    """Files that may be the settings module (or its package) below `root`."""
    prefix = f"{root}/" if root else ""
    if module:
        stem = prefix + module.replace(".", "/")
        # the module, its package, and its siblings (settings/dev.py importing settings/base.py)
        parent = stem.rsplit("/", 1)[0] + "/" if "/" in stem else prefix
        wanted = [
            p
            for p in paths
            if p.endswith(".py")
            and (p.startswith(f"{stem}/") or (p.startswith(parent) and "/" not in p[len(parent) :]))
        ]
        if any(p == f"{stem}.py" or p.startswith(f"{stem}/") for p in wanted):
            return sorted(wanted)
    return sorted(
        p
        for p in paths
        if p.startswith(prefix)
        and p.endswith(".py")
        and "settings" in p[len(prefix) :]
        and not _VENDORED.search(p)
    )


def settings_dialect(texts: Mapping[str, str]) -> tuple[Dialect | None, str | None]:
    """The one database the settings' ENGINE strings name, with the file that names it."""
    found: dict[Dialect, str] = {}
    for path, text in sorted(texts.items()):
        for m in _ENGINE.finditer(text):
            dialect = _ENGINES.get(m.group(1))
            if dialect is not None:
                found.setdefault(dialect, path)
    if len(found) == 1:
        ((dialect, path),) = found.items()
        return dialect, path
    return None, None


def django_sources(snapshot: Snapshot, files: Sequence[str]) -> list[SchemaSource]:
    """One source per Django project (`manage.py` with migration modules below it): its
    migrations in graph order, their SQL not yet generated (`up` empty, `code` the module)."""
    out = []
    roots = project_roots(files)
    for root in roots:
        # a project nested in another one owns its own apps
        inner = [r for r in roots if r != root and (not root or r.startswith(root + "/"))]
        paths = [
            p for p in migration_paths(files, root) if not any(p.startswith(r + "/") for r in inner)
        ]
        if not paths:
            continue
        manage = f"{root}/{MANAGE}" if root else MANAGE
        module = settings_module(snapshot_text(snapshot, [manage]).get(manage, ""))
        texts = snapshot_text(snapshot, paths)
        problems = [f"{p}: could not be read" for p in paths if p not in texts]
        migrations = []
        for path in paths:
            if path not in texts:
                continue
            m, problem = read_migration(path, texts[path])
            if problem:
                problems.append(problem)
            elif m is not None:
                migrations.append(m)
        if not migrations:
            continue
        settings = snapshot_text(snapshot, settings_paths(root, module, files))
        dialect, named_in = settings_dialect(settings)
        notes = [
            f"{root or '.'}: Django project, settings module {module or '(not set in manage.py)'}"
        ]
        if named_in:
            notes.append(
                f"{root or '.'}: dialect {dialect.value if dialect else ''}, from the ENGINE in {named_in}"
            )
        out.append(
            SchemaSource(
                SourceKind.DIRECTORY,
                root or ".",
                dialect,
                format=Format.DJANGO,
                migrations=tuple(
                    VersionedMigration(f"{m.app}.{m.name}", m.name, m.path, "", code=m.code)
                    for m in graph_order(migrations)
                ),
                problems=tuple(problems),
                notes=tuple(notes),
                dialect_from=DialectFrom.TOOL if dialect else None,
            )
        )
    return out


def snapshot_text(snapshot: Snapshot, paths: Sequence[str]) -> dict[str, str]:
    """UTF-8 text of the files that are text."""
    out = {}
    for path, data in snapshot.read(paths).items():
        try:
            out[path] = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            continue
    return out


def migration_graph(source: SchemaSource) -> list[DjangoMigration]:
    """The source's migrations as declared (dependencies included), in graph order."""
    out = []
    for v in source.migrations:
        m, _ = read_migration(v.up_path, v.code or "")
        if m is not None:
            out.append(m)
    return graph_order(out)


# --- the compensating migration --------------------------------------------------------------


def next_name(app_names: Iterable[str], name: str) -> str:
    """`NNNN_<name>` numbered after the app's highest migration number."""
    numbers = [int(m.group(1)) for n in app_names if (m := _NUMBER.match(n))]
    return f"{max(numbers, default=0) + 1:04d}_{name}"


def render_django_migration(
    dependencies: Sequence[tuple[str, str]],
    statements: Sequence[str],
    reverse: Sequence[str] | None,
    note: str,
) -> str:
    """A migration module running `statements` with `migrations.RunSQL` (each statement its
    own string, so every backend runs it as written), after `dependencies`."""
    deps = "".join(f"        ({a!r}, {b!r}),\n" for a, b in dependencies)
    reverse_sql = (
        "migrations.RunSQL.noop"
        if reverse is None
        else "[\n" + "".join(f"                {s!r},\n" for s in reverse) + "            ]"
    )
    if reverse is not None and not reverse:
        reverse_sql = "migrations.RunSQL.noop"
    sql = "".join(f"                {s!r},\n" for s in statements)
    header = "".join(f"# {line}\n" for line in _wrap(note))
    return (
        f"{header}"
        "from django.db import migrations\n"
        "\n\n"
        "class Migration(migrations.Migration):\n"
        "\n"
        f"    dependencies = [\n{deps}    ]\n"
        "\n"
        "    operations = [\n"
        "        migrations.RunSQL(\n"
        f"            sql=[\n{sql}            ],\n"
        f"            reverse_sql={reverse_sql},\n"
        "        ),\n"
        "    ]\n"
    )


def _wrap(text: str, width: int = 96) -> list[str]:
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines
