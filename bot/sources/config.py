"""`.rollback-plan.yml`: the repository's own description of its schema sources.

The schema is documented in docs/config.md. Validation is strict (unknown keys are errors)
because a typo in a config that silently does nothing is worse than a clear refusal.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from bot.core.model import Dialect
from bot.sources.model import Format

CONFIG_PATH = ".rollback-plan.yml"
VERSION = 1


class ConfigError(ValueError):
    """The config file can't be used; each entry of `errors` names file, key and expectation."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(self.errors))


@dataclass(frozen=True)
class SqliteFunction:
    """A function the application registers on its SQLite connection, as an SQL expression."""

    name: str
    args: int  # -1: any number
    sql: str = "NULL"  # of ?1, ?2...: what the scratch engine computes in its place


@dataclass(frozen=True)
class EngineConfig:
    """How the project's migration tool runs SQL, so scratch engines run it the same way."""

    foreign_keys: bool | None = None  # SQLite PRAGMA foreign_keys (scratch default: on)
    foreign_key_checks: bool | None = None  # MySQL FOREIGN_KEY_CHECKS (server default: on)
    sql_mode: str | None = None  # MySQL sql_mode
    sqlite_functions: tuple[SqliteFunction, ...] = ()


@dataclass(frozen=True)
class SourceConfig:
    """A schema source the user names explicitly."""

    path: str  # repo-relative directory or manifest file, no trailing slash
    format: Format | None = None  # None: detect ("auto")
    dialect: Dialect | None = None
    name: str | None = None
    manifest: str | None = None
    policy: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    engine: EngineConfig = EngineConfig()


# {sha} must look like a commit id; any other placeholder is one path-free, non-empty run.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_PLACEHOLDER_PATTERNS = {"sha": "[0-9a-fA-F]{7,40}"}
_DEFAULT_PLACEHOLDER = "[^/:@]+?"


@dataclass(frozen=True)
class TagRule:
    """Maps a migration image's tag to the git ref its migrations were built from."""

    ref: str  # template, e.g. "{sha}" or "v{version}"
    pattern: str | None = None  # template over the tag, e.g. "sha-{sha}"
    regex: str | None = None  # or a full-match regex with named groups
    image: str | None = None  # only for this image (repository, without tag); None: any

    def _compiled(self) -> re.Pattern[str]:
        if self.regex is not None:
            return re.compile(self.regex)
        return re.compile(_template_regex(self.pattern or ""))

    def ref_for(self, image: str, tag: str) -> str | None:
        """The git ref for `image:tag`, or None when this rule does not apply."""
        if self.image is not None and _image_repository(image) != _image_repository(self.image):
            return None
        m = self._compiled().fullmatch(tag)
        if not m:
            return None
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        return _PLACEHOLDER.sub(lambda p: groups.get(p.group(1), p.group(0)), self.ref)


@dataclass(frozen=True)
class DatabaseRef:
    """Where the bot finds a read-only database URL at run time; never the URL itself."""

    url_env: str | None = None  # name of an environment variable holding the URL
    url_file: str | None = None  # absolute path of a file holding it (a mounted secret)


@dataclass(frozen=True)
class RepoConfig:
    version: int = VERSION
    default_branch: str | None = None
    sources: tuple[SourceConfig, ...] = ()
    tags: tuple[TagRule, ...] = ()
    policy: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    databases: Mapping[str, DatabaseRef] = field(default_factory=lambda: MappingProxyType({}))
    path: str = CONFIG_PATH
    column_order: str = "cosmetic"  # "exact": SQLite rebuilds a table to restore a position

    def ref_for_tag(self, image: str, tag: str) -> str | None:
        """The git ref of the first tag rule that matches `image:tag`."""
        for rule in self.tags:
            ref = rule.ref_for(image, tag)
            if ref is not None:
                return ref
        return None


def load_config(text: str, path: str = CONFIG_PATH) -> RepoConfig:
    """Parse and validate the config; raise ConfigError listing every problem found."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as err:
        raise ConfigError([f"{path}: {_yaml_error(err)}"]) from None
    except yaml.YAMLError as err:
        raise ConfigError([f"{path}: not valid YAML: {err}"]) from None
    docs = [d for d in docs if d is not None]
    if not docs:
        return RepoConfig(path=path)
    if len(docs) > 1:
        raise ConfigError([f"{path}: expected one YAML document, got {len(docs)}"])
    return _Validator(path).config(docs[0])


def _yaml_error(err: yaml.MarkedYAMLError) -> str:
    mark = err.problem_mark or err.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    what = "; ".join(p for p in (err.context, err.problem) if p)
    return f"{where}not valid YAML: {what or 'syntax error'}"


def _template_regex(template: str) -> str:
    out, pos = [], 0
    for m in _PLACEHOLDER.finditer(template):
        out.append(re.escape(template[pos : m.start()]))
        name = m.group(1)
        out.append(f"(?P<{name}>{_PLACEHOLDER_PATTERNS.get(name, _DEFAULT_PLACEHOLDER)})")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return "".join(out)


def _image_repository(image: str) -> str:
    """`registry/repo:tag@digest` -> `registry/repo` (a registry port's colon is kept)."""
    image = image.split("@", 1)[0]
    slash = image.rfind("/")
    colon = image.rfind(":")
    return image[:colon] if colon > slash else image


def _kind(value: object) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({value!r})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_KEYS = {"url", "dsn", "uri", "password", "user", "username", "host", "connection", "conn"}


class _Validator:
    """Collects every error of one file, each as "file: key: what was expected"."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.errors: list[str] = []

    def error(self, key: str, message: str) -> None:
        self.errors.append(f"{self.path}: {key}: {message}" if key else f"{self.path}: {message}")

    def keys(self, where: str, value: Mapping[Any, Any], allowed: Sequence[str]) -> None:
        for key in value:
            if not isinstance(key, str):
                self.error(where, f"keys must be strings, got {_kind(key)}")
            elif key not in allowed:
                hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                also = f"; did you mean {hint[0]!r}?" if hint else ""
                self.error(
                    f"{where}.{key}" if where else key,
                    f"unknown key (expected one of {', '.join(allowed)}){also}",
                )

    def string(self, key: str, value: object) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.error(key, f"expected a non-empty string, got {_kind(value)}")
        return None

    def repo_path(self, key: str, value: object) -> str | None:
        text = self.string(key, value)
        if text is None:
            return None
        if text.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", text):
            self.error(key, f"expected a path relative to the repository root, got {text!r}")
            return None
        norm = posixpath.normpath(text.replace("\\", "/"))
        if norm == ".." or norm.startswith("../"):
            self.error(key, f"path {text!r} leaves the repository")
            return None
        return "" if norm == "." else norm

    def config(self, doc: object) -> RepoConfig:
        if not isinstance(doc, dict):
            self.errors.append(
                f"{self.path}: expected a mapping at the top level, got {_kind(doc)}"
            )
            raise ConfigError(self.errors)
        self.keys(
            "",
            doc,
            ("version", "default_branch", "sources", "tags", "policy", "databases", "column_order"),
        )
        column_order = doc.get("column_order", "cosmetic")
        if column_order not in ("cosmetic", "exact"):
            self.error("column_order", f"expected cosmetic or exact, got {_kind(column_order)}")
            column_order = "cosmetic"
        version = doc.get("version", VERSION)
        if isinstance(version, bool) or version != VERSION:
            self.error("version", f"expected {VERSION}, got {_kind(version)}")
        branch = None
        if doc.get("default_branch") is not None:
            branch = self.string("default_branch", doc["default_branch"])
        config = RepoConfig(
            version=VERSION,
            default_branch=branch,
            sources=self.sources(doc.get("sources")),
            tags=self.tags(doc.get("tags")),
            policy=self.policy("policy", doc.get("policy")),
            databases=self.databases(doc.get("databases")),
            path=self.path,
            column_order=column_order,
        )
        if self.errors:
            raise ConfigError(self.errors)
        return config

    def sources(self, value: object) -> tuple[SourceConfig, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error("sources", f"expected a list of sources, got {_kind(value)}")
            return ()
        out: list[SourceConfig] = []
        seen: dict[tuple[str, str | None, str | None], int] = {}
        for i, item in enumerate(value):
            where = f"sources[{i}]"
            if not isinstance(item, dict):
                self.error(where, f"expected a mapping with at least 'path', got {_kind(item)}")
                continue
            self.keys(
                where, item, ("path", "format", "dialect", "name", "manifest", "policy", "engine")
            )
            if "path" not in item:
                self.error(f"{where}.path", "required (the migration directory or manifest)")
                continue
            path = self.repo_path(f"{where}.path", item["path"])
            fmt = self.format(f"{where}.format", item.get("format", "auto"))
            dialect = None
            if item.get("dialect") is not None:
                dialect = self.dialect(f"{where}.dialect", item["dialect"])
            name = manifest = None
            if item.get("name") is not None:
                name = self.string(f"{where}.name", item["name"])
            if item.get("manifest") is not None:
                manifest = self.repo_path(f"{where}.manifest", item["manifest"])
            policy = self.policy(f"{where}.policy", item.get("policy"))
            engine = self.engine(f"{where}.engine", item.get("engine"))
            if path is None:
                continue
            ident = (path, name, manifest)
            if ident in seen:
                self.error(f"{where}.path", f"{path!r} is already listed as sources[{seen[ident]}]")
                continue
            seen[ident] = i
            out.append(SourceConfig(path, fmt, dialect, name, manifest, policy, engine))
        return tuple(out)

    def engine(self, key: str, value: object) -> EngineConfig:
        if value is None:
            return EngineConfig()
        if not isinstance(value, dict):
            self.error(key, f"expected a mapping, got {_kind(value)}")
            return EngineConfig()
        allowed = ("foreign_keys", "foreign_key_checks", "sql_mode", "sqlite_functions")
        self.keys(key, value, allowed)
        flags: dict[str, bool | None] = {}
        for flag in ("foreign_keys", "foreign_key_checks"):
            got = value.get(flag)
            if got is not None and not isinstance(got, bool):
                self.error(f"{key}.{flag}", f"expected true or false, got {_shown(got)}")
                got = None
            flags[flag] = got
        mode = value.get("sql_mode")
        if mode is not None and not (
            isinstance(mode, str) and re.fullmatch(r"[A-Za-z_]*(,[A-Za-z_]+)*", mode.strip())
        ):
            self.error(
                f"{key}.sql_mode", f"expected comma-separated mode names, got {_shown(mode)}"
            )
            mode = None
        return EngineConfig(
            flags["foreign_keys"],
            flags["foreign_key_checks"],
            mode.strip() if isinstance(mode, str) else None,
            self.sqlite_functions(f"{key}.sqlite_functions", value.get("sqlite_functions")),
        )

    def sqlite_functions(self, key: str, value: object) -> tuple[SqliteFunction, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(key, f"expected a list of functions, got {_kind(value)}")
            return ()
        out: list[SqliteFunction] = []
        for i, item in enumerate(value):
            where = f"{key}[{i}]"
            if not isinstance(item, dict):
                self.error(where, f"expected a mapping with name and args, got {_kind(item)}")
                continue
            self.keys(where, item, ("name", "args", "sql"))
            name = self.string(f"{where}.name", item.get("name"))
            if name is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                self.error(f"{where}.name", f"expected an SQL function name, got {name!r}")
                name = None
            args = item.get("args")
            if isinstance(args, bool) or not isinstance(args, int) or not -1 <= args <= 127:
                self.error(f"{where}.args", f"expected a number from -1 to 127, got {_shown(args)}")
                args = None
            sql = item.get("sql", "NULL")
            if not isinstance(sql, str) or not sql.strip():
                self.error(f"{where}.sql", f"expected an SQL expression, got {_kind(sql)}")
                sql = None
            if name is not None and args is not None and sql is not None:
                out.append(SqliteFunction(name, args, sql.strip()))
        return tuple(out)

    def format(self, key: str, value: object) -> Format | None:
        choices = ["auto", *(f.value for f in Format)]
        if isinstance(value, str) and value.strip().lower() in choices:
            text = value.strip().lower()
            return None if text == "auto" else Format(text)
        self.error(key, f"expected one of {', '.join(choices)}, got {_shown(value)}")
        return None

    def dialect(self, key: str, value: object) -> Dialect | None:
        if isinstance(value, str):
            try:
                return Dialect.parse(value)
            except ValueError:
                pass
        choices = ", ".join(d.value for d in Dialect)
        self.error(key, f"expected one of {choices}, got {_shown(value)}")
        return None

    def policy(self, key: str, value: object) -> Mapping[str, Any]:
        # The policy's own keys belong to the risk rules; here only its shape is checked.
        if value is None:
            return MappingProxyType({})
        if not isinstance(value, dict):
            self.error(key, f"expected a mapping, got {_kind(value)}")
            return MappingProxyType({})
        for k in value:
            if not isinstance(k, str):
                self.error(key, f"keys must be strings, got {_kind(k)}")
        return MappingProxyType(dict(value))

    def tags(self, value: object) -> tuple[TagRule, ...]:
        if value is None:
            return ()
        items: list[object]
        if isinstance(value, dict):
            items, single = [value], True
        elif isinstance(value, list):
            items, single = list(value), False
        else:
            self.error("tags", f"expected a list of tag rules, got {_kind(value)}")
            return ()
        out: list[TagRule] = []
        for i, item in enumerate(items):
            where = "tags" if single else f"tags[{i}]"
            if not isinstance(item, dict):
                self.error(where, f"expected a mapping with 'pattern' and 'ref', got {_kind(item)}")
                continue
            rule = self.tag_rule(where, item)
            if rule is not None:
                out.append(rule)
        return tuple(out)

    def tag_rule(self, where: str, item: dict[Any, Any]) -> TagRule | None:
        self.keys(where, item, ("image", "pattern", "regex", "ref"))
        image = self.string(f"{where}.image", item["image"]) if "image" in item else None
        if ("pattern" in item) == ("regex" in item):
            self.error(where, "expected exactly one of 'pattern' (e.g. \"sha-{sha}\") or 'regex'")
            return None
        if "ref" not in item:
            self.error(
                f"{where}.ref", 'required: the git ref template (e.g. "{sha}", "v{version}")'
            )
            return None
        ref = self.string(f"{where}.ref", item["ref"])
        groups: set[str]
        if "pattern" in item:
            pattern = self.string(f"{where}.pattern", item["pattern"])
            if pattern is None:
                return None
            groups = set(_PLACEHOLDER.findall(pattern))
            if not groups:
                self.error(
                    f"{where}.pattern",
                    f"expected at least one placeholder such as {{sha}} or {{version}}, got {pattern!r}",
                )
                return None
            regex = None
        else:
            pattern = None
            regex = self.string(f"{where}.regex", item["regex"])
            if regex is None:
                return None
            try:
                groups = set(re.compile(regex).groupindex)
            except re.error as err:
                self.error(f"{where}.regex", f"not a valid regular expression: {err}")
                return None
        if ref is None:
            return None
        unknown = sorted(set(_PLACEHOLDER.findall(ref)) - groups)
        if unknown:
            have = ", ".join(f"{{{g}}}" for g in sorted(groups)) or "none"
            self.error(
                f"{where}.ref",
                f"uses {', '.join(f'{{{u}}}' for u in unknown)}, which the tag does not capture (captured: {have})",
            )
            return None
        return TagRule(ref=ref, pattern=pattern, regex=regex, image=image)

    def databases(self, value: object) -> Mapping[str, DatabaseRef]:
        if value is None:
            return MappingProxyType({})
        if not isinstance(value, dict):
            self.error(
                "databases",
                f"expected a mapping of source name to url_env/url_file, got {_kind(value)}",
            )
            return MappingProxyType({})
        out: dict[str, DatabaseRef] = {}
        for name, item in value.items():
            where = f"databases.{name}"
            if not isinstance(name, str):
                self.error("databases", f"source names must be strings, got {_kind(name)}")
                continue
            if isinstance(item, str):
                self.error(
                    where,
                    _NO_URL
                    if "://" in item
                    else f"expected a mapping with url_env or url_file, got {_kind(item)}",
                )
                continue
            if not isinstance(item, dict):
                self.error(where, f"expected a mapping with url_env or url_file, got {_kind(item)}")
                continue
            secrets = [k for k in item if isinstance(k, str) and k.lower() in _SECRET_KEYS]
            for key in secrets:
                self.error(f"{where}.{key}", _NO_URL)
            self.keys(
                where,
                {
                    k: v
                    for k, v in item.items()
                    if not (isinstance(k, str) and k.lower() in _SECRET_KEYS)
                },
                ("url_env", "url_file"),
            )
            env = file = None
            if "url_env" in item:
                env = self.env_name(f"{where}.url_env", item["url_env"])
            if "url_file" in item:
                file = self.secret_file(f"{where}.url_file", item["url_file"])
            if "url_env" not in item and "url_file" not in item:
                if not secrets:
                    self.error(where, "expected url_env (an environment variable name) or url_file")
                continue
            out[name] = DatabaseRef(url_env=env, url_file=file)
        return MappingProxyType(out)

    def env_name(self, key: str, value: object) -> str | None:
        if isinstance(value, str) and "://" in value:
            self.error(key, _NO_URL)
            return None
        text = self.string(key, value)
        if text is not None and not _ENV_NAME.match(text):
            self.error(
                key, f"expected an environment variable name such as DATABASE_URL, got {text!r}"
            )
            return None
        return text

    def secret_file(self, key: str, value: object) -> str | None:
        if isinstance(value, str) and "://" in value:
            self.error(key, _NO_URL)
            return None
        text = self.string(key, value)
        if text is not None and not text.startswith("/"):
            # A relative path would be a file in the repository, i.e. a URL in the repo.
            self.error(
                key,
                f"expected an absolute path outside the repository (a mounted secret), got {text!r}",
            )
            return None
        return text


_NO_URL = (
    "database URLs and credentials never go in the repository; put the URL in an environment "
    "variable and name it in url_env, or in a mounted secret file named in url_file"
)


def _shown(value: object) -> str:
    return repr(value) if isinstance(value, str) else _kind(value)
