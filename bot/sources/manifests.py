"""Schema sources carried by Kubernetes manifests.

Recognised: the Atlas operator's AtlasSchema (declarative) and AtlasMigration (versioned, from
a ConfigMap or inline files), ConfigMaps mounted as migration directories, kustomize
configMapGenerators building them from files, Helm charts filling them with `.Files.Glob`, and
migration Jobs (plain, Helm hook or Argo CD hook) whose image tag decides which migrations run.

Paths of sources whose files live in a ConfigMap are `<file>#configmap/<name>`; the files of an
AtlasMigration's `spec.dir.local` live in the AtlasMigration's own manifest (path = manifest).
Nothing here follows a path out of the repository, and nothing raises on bad input: what can't
be read becomes a problem ("file: what is wrong") and the rest is still read.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from bot.core.model import Dialect
from bot.sources.formats import detect_format, parse_migrations
from bot.sources.model import Format, SchemaSource, SourceKind

ReadFiles = Callable[[Iterable[str]], Mapping[str, bytes]]

ATLAS_GROUP = "db.atlasgo.io/"
_WORKLOAD_KINDS = {
    "Pod",
    "Job",
    "CronJob",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Rollout",  # Argo Rollouts
}
_KUSTOMIZATION_NAMES = {"kustomization.yaml", "kustomization.yml", "Kustomization"}


@dataclass(frozen=True)
class MigrationJob:
    """A Job (or hook Pod, or init container) that runs a migration tool from an image."""

    manifest: str
    name: str  # the workload's metadata.name
    image: str  # repository without tag or digest, e.g. "ghcr.io/acme/shop-migrations"
    tag: str | None  # None when the image has no literal tag (digest only, templated, absent)
    tool: str  # "golang-migrate", "flyway", "atlas"... or "unknown" for a job named *migrat*
    kind: str = "Job"
    container: str | None = None
    hook: str | None = None  # "helm.sh/hook: pre-upgrade", "argocd.argoproj.io/hook: PreSync"
    digest: str | None = None
    dialect: Dialect | None = None


@dataclass(frozen=True)
class ManifestScan:
    sources: tuple[SchemaSource, ...]
    jobs: tuple[MigrationJob, ...]
    problems: tuple[str, ...]


def find_manifest_sources(
    snapshot_files: Mapping[str, str],
    all_paths: Sequence[str],
    read: ReadFiles | None = None,
) -> tuple[list[SchemaSource], list[str]]:
    """Schema sources in the repository's YAML files, and what could not be read."""
    scan = scan_manifests(snapshot_files, all_paths, read)
    return list(scan.sources), list(scan.problems)


def scan_manifests(
    snapshot_files: Mapping[str, str],
    all_paths: Sequence[str],
    read: ReadFiles | None = None,
) -> ManifestScan:
    """Sources, migration Jobs and problems of every *.yaml/*.yml file given.

    `read` fetches other files of the same tree in one batch (kustomize and Helm `.Files`
    inputs); `Snapshot.read` fits. Without it, only files in `snapshot_files` are available.
    """
    return _Scanner(snapshot_files, all_paths, read).run()


# --- dialects ---------------------------------------------------------------------------

_SCHEMES = {
    "postgres": Dialect.POSTGRES,
    "postgresql": Dialect.POSTGRES,
    "pgx": Dialect.POSTGRES,
    "pgx4": Dialect.POSTGRES,
    "pgx5": Dialect.POSTGRES,
    "mysql": Dialect.MYSQL,
    "maria": Dialect.MYSQL,
    "mariadb": Dialect.MYSQL,
    "sqlite": Dialect.SQLITE,
    "sqlite3": Dialect.SQLITE,
}
_SCHEME = re.compile(r"^(?:jdbc:)?([a-z][a-z0-9+.\-]*):")
_URL_IN_TEXT = re.compile(r"(?:jdbc:)?[A-Za-z][A-Za-z0-9+.\-]*://\S*")


def dialect_from_url(url: str) -> Dialect | None:
    """The dialect a database URL's scheme names; None when it names no supported one.

    Accepts driver suffixes (`postgresql+psycopg://`, `mysql+pymysql://`), JDBC URLs and
    Atlas dev URLs (`docker://postgres/15/dev`). Only the scheme is looked at.
    """
    m = _SCHEME.match(url.strip().lower())
    if not m:
        return None
    scheme = m.group(1).split("+", 1)[0]
    if scheme == "docker":
        rest = url.strip().lower()[m.end() :].lstrip("/")
        scheme = re.split(r"[/:?]", rest, maxsplit=1)[0]
    return _SCHEMES.get(scheme)


# --- migration tools --------------------------------------------------------------------

_TOOL_WORDS = {
    "atlas": "atlas",
    "goose": "goose",
    "dbmate": "dbmate",
    "flyway": "flyway",
    "liquibase": "liquibase",
    "sqitch": "sqitch",
    "alembic": "alembic",
    "diesel": "diesel",
    "sql-migrate": "sql-migrate",
    "tern": "tern",
    "knex": "knex",
    "sequelize": "sequelize",
    "sequelize-cli": "sequelize",
    "typeorm": "typeorm",
    "prisma": "prisma",
    "db:migrate": "rails",
}
_TOOL_IMAGES = {
    "migrate": "golang-migrate",
    "flyway": "flyway",
    "liquibase": "liquibase",
    "atlas": "atlas",
    "dbmate": "dbmate",
    "sqitch": "sqitch",
    "goose": "goose",
}


def _tool(texts: Sequence[str], image: str) -> str | None:
    """The migration tool a container runs, from its command, args and image."""
    tokens = [t for text in texts for t in re.split(r"[\s;&|()\"'`]+", text) if t]
    names = [t.rsplit("/", 1)[-1].lower() for t in tokens]
    for name in names:
        if name in _TOOL_WORDS:
            return _TOOL_WORDS[name]
    if names[:1] == ["migrate"]:
        return "golang-migrate"
    repo = _split_image(image)[0].rsplit("/", 1)[-1].lower()
    if repo in _TOOL_IMAGES:
        return _TOOL_IMAGES[repo]
    for i, name in enumerate(names):
        if name == "migrate" and i and names[i - 1] == "manage.py":
            return "django"
    if any(t.lower().lstrip("-").removeprefix("url=").startswith("jdbc:") for t in tokens):
        return "flyway"  # `-url=jdbc:... migrate` in an image built on Flyway's
    if "migrate" in names and {"-path", "-source", "-database"} & set(names):
        return "golang-migrate"
    if any("migrat" in name for name in names):
        return "unknown"  # the app's own `migrate` subcommand
    return None


def _split_image(image: str) -> tuple[str, str | None, str | None]:
    """`registry:5000/org/app:1.2@sha256:...` -> ("registry:5000/org/app", "1.2", "sha256:...")."""
    digest = None
    if "@" in image:
        image, digest = image.split("@", 1)
    slash, colon = image.rfind("/"), image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1 :] or None, digest
    return image, None, digest


# --- Helm templates ---------------------------------------------------------------------

_EXPR = re.compile(r"\{\{.*?\}\}")
_MULTILINE_EXPR = re.compile(r"\{\{(?:(?!\}\}).)*\n.*?\}\}", re.DOTALL)
_PLACEHOLDER = re.compile(r"__tpl(\d+)__")
_VALUES_REF = re.compile(
    r"^\{\{-?\s*(?:\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)|\$?\.Chart\.AppVersion)"
    r"(\s*\|\s*(?:quote|toString|trim))*\s*-?\}\}$"
)
_FILES_GLOB = re.compile(r"\.Files\.Glob\s+\"([^\"]+)\"")
_FILES_GET = re.compile(r"^\{\{-?\s*\$?\.Files\.Get\s+\"([^\"]+)\"[^}]*\}\}$")
_FILES_GET_LINE = re.compile(
    r"^\{\{-?\s*\$?\.Files\.Get\s+\"[^\"]+\"\s*\|\s*n?indent\s+(\d+)\s*-?\}\}$"
)


@dataclass
class _Template:
    """What a templated file's `{{ }}` expressions were replaced with."""

    exprs: dict[str, str] = field(default_factory=dict)  # placeholder -> original
    dropped: list[str] = field(default_factory=list)  # expressions that filled a whole line

    def restore(self, text: str) -> str:
        return _PLACEHOLDER.sub(lambda m: self.exprs.get(m.group(0), m.group(0)), text)


def _detemplate(text: str) -> tuple[str, _Template]:
    """Replace template expressions so the rest parses as YAML; line numbers are kept."""
    tpl = _Template()

    def drop_multiline(m: re.Match[str]) -> str:
        tpl.dropped.append(m.group(0))
        return "\n" * m.group(0).count("\n")

    text = _MULTILINE_EXPR.sub(drop_multiline, text)
    out = []
    for line in text.split("\n"):
        exprs = _EXPR.findall(line)
        if not exprs:
            out.append(line)
        elif not _EXPR.sub("", line).strip():
            get = _FILES_GET_LINE.match(exprs[0]) if len(exprs) == 1 else None
            if get:
                # `{{ .Files.Get "f" | indent 4 }}` filling a block scalar: keep its place.
                key = f"__tpl{len(tpl.exprs)}__"
                tpl.exprs[key] = exprs[0]
                out.append(" " * int(get.group(1)) + key)
                continue
            # Control flow and `toYaml | nindent` lines: their output is unknown; drop them.
            tpl.dropped.extend(exprs)
            out.append("")
        else:

            def hold(m: re.Match[str]) -> str:
                key = f"__tpl{len(tpl.exprs)}__"
                tpl.exprs[key] = m.group(0)
                return key

            out.append(_EXPR.sub(hold, line))
    return "\n".join(out), tpl


# --- the scan ---------------------------------------------------------------------------


@dataclass
class _Doc:
    path: str
    line: int  # 1-based line where the document starts
    body: dict[str, Any]
    tpl: _Template | None
    chart: str | None  # the Helm chart directory, for templated files

    @property
    def kind(self) -> str:
        return _s(self.body.get("kind")) or ""

    @property
    def name(self) -> str:
        return self.text(_m(self.body.get("metadata")).get("name")) or ""

    @property
    def namespace(self) -> str | None:
        ns = self.text(_m(self.body.get("metadata")).get("namespace"))
        return None if ns is None or self.templated(ns) else ns

    def text(self, value: object) -> str | None:
        """A scalar as text, with template placeholders turned back into `{{ }}`."""
        s = _s(value)
        if s is None:
            return None
        return self.tpl.restore(s) if self.tpl else s

    @staticmethod
    def templated(text: str) -> bool:
        return "{{" in text

    def label(self) -> str:
        return f"{self.kind} {self.name!r}"


@dataclass
class _ConfigMap:
    path: str  # the file defining or generating it
    name: str
    namespace: str | None
    data: dict[str, str]
    problems: list[str]
    origin: str  # "configmap", "kustomize", "helm"
    base: str | None = None  # the directory its files come from, when they map 1:1
    claimed: bool = False

    @property
    def source_path(self) -> str:
        return f"{self.path}#configmap/{self.name}"


@dataclass
class _Pending:
    """A ConfigMap whose data comes from other repository files, read in one batch later."""

    cm: _ConfigMap
    files: list[tuple[str, str]]  # (key, repo path)


def _s(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    return None


def _m(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _looks_binary(text: str) -> bool:
    head = text[:8192]
    return "\x00" in head or sum(c < " " and c not in "\t\r\n\f" for c in head) > len(head) // 10


def _unsafe_path(path: str) -> bool:
    return path.startswith("/") or ".." in path.replace("\\", "/").split("/")


def _join(base: str, rel: str) -> str | None:
    """`rel` resolved against the repo directory `base`; None when it leaves the repository."""
    if rel.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", rel):
        return None
    joined = posixpath.normpath(posixpath.join(base, rel.replace("\\", "/")))
    if joined == ".." or joined.startswith("../") or joined.startswith("/"):
        return None
    return joined


_MIGRATION_KEY = re.compile(
    r"^(\d+.*\.sql|[VUR]\d*__.+\.sql|.+\.(up|down)\.sql|atlas\.sum|sqitch\.plan)$", re.IGNORECASE
)


def _looks_like_migrations(keys: Iterable[str]) -> bool:
    return any(_MIGRATION_KEY.match(posixpath.basename(k)) for k in keys)


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """Helm's `.Files.Glob`: `*` stays within a directory, `**` crosses them."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


class _Scanner:
    def __init__(
        self, files: Mapping[str, str], all_paths: Sequence[str], read: ReadFiles | None
    ) -> None:
        self.files = files
        self.paths = set(all_paths) | set(files)
        self.read_more = read
        self.problems: list[str] = []
        self.docs: list[_Doc] = []
        self.configmaps: list[_ConfigMap] = []
        self.pending: list[_Pending] = []
        self.sources: list[SchemaSource] = []
        self.jobs: list[MigrationJob] = []
        self.values: dict[str, dict[str, Any]] = {}  # chart dir -> values.yaml

    def run(self) -> ManifestScan:
        for path in sorted(self.files):
            self.load(path, self.files[path])
        for doc in self.docs:
            if doc.kind == "ConfigMap":
                self.configmap(doc)
            elif posixpath.basename(doc.path) in _KUSTOMIZATION_NAMES:
                self.kustomization(doc)
        self.read_pending()
        for doc in self.docs:
            if (_s(doc.body.get("apiVersion")) or "").startswith(ATLAS_GROUP):
                if doc.kind == "AtlasSchema":
                    self.atlas_schema(doc)
                elif doc.kind == "AtlasMigration":
                    self.atlas_migration(doc)
        for doc in self.docs:
            if doc.kind in _WORKLOAD_KINDS:
                self.workload(doc)
        for cm in self.configmaps:
            if not cm.claimed and _looks_like_migrations(cm.data):
                self.emit_configmap(cm, None, None)
        return ManifestScan(tuple(self.sources), tuple(self.jobs), tuple(self.problems))

    # -- loading -------------------------------------------------------------------------

    def load(self, path: str, text: str) -> None:
        if _unsafe_path(path):
            self.problems.append(f"{path}: path leaves the repository; skipped")
            return
        if _looks_binary(text):
            self.problems.append(f"{path}: binary file, not YAML; skipped")
            return
        tpl = None
        chart = None
        if "{{" in text:
            text, tpl = _detemplate(text)
            chart = self.chart_of(path)
        for start, chunk in _split_documents(text):
            try:
                loaded = yaml.safe_load(chunk)
            except yaml.MarkedYAMLError as err:
                mark = err.problem_mark or err.context_mark
                line = start + (mark.line if mark is not None else 0)
                what = err.problem or err.context or "syntax error"
                self.problems.append(f"{path}: line {line}: not valid YAML ({what}); skipped")
                continue
            except yaml.YAMLError as err:
                self.problems.append(f"{path}: line {start}: not valid YAML ({err}); skipped")
                continue
            if not isinstance(loaded, dict):
                continue  # comments only, a list, a scalar: not a manifest
            if loaded.get("kind") == "List" and isinstance(loaded.get("items"), list):
                for item in loaded["items"]:
                    if isinstance(item, dict):
                        self.docs.append(_Doc(path, start, item, tpl, chart))
                continue
            self.docs.append(_Doc(path, start, loaded, tpl, chart))

    def chart_of(self, path: str) -> str | None:
        d = posixpath.dirname(path)
        while True:
            if posixpath.join(d, "Chart.yaml") in self.paths:
                return d
            if not d:
                return None
            d = posixpath.dirname(d)

    def chart_values(self, chart: str) -> dict[str, Any]:
        if chart not in self.values:
            text = self.files.get(posixpath.join(chart, "values.yaml"))
            try:
                self.values[chart] = _m(yaml.safe_load(text)) if text else {}
            except yaml.YAMLError:
                self.values[chart] = {}  # reported when the file itself is scanned
        return self.values[chart]

    def resolve(self, doc: _Doc, text: str) -> tuple[str, list[str]]:
        """Fill `.Values.x.y` and `.Chart.AppVersion` from the chart; list what stays templated."""
        if doc.tpl is None:
            return text, []
        left: list[str] = []

        def fill(m: re.Match[str]) -> str:
            expr = doc.tpl.exprs.get(m.group(0), m.group(0)) if doc.tpl else m.group(0)
            value = self.helm_value(doc, expr)
            if value is None:
                left.append(expr)
                return expr
            return value

        return _PLACEHOLDER.sub(fill, text), left

    def helm_value(self, doc: _Doc, expr: str) -> str | None:
        m = _VALUES_REF.match(expr)
        if not m or doc.chart is None:
            return None
        if m.group(1) is None:
            chart = self.files.get(posixpath.join(doc.chart, "Chart.yaml"))
            try:
                return _s(_m(yaml.safe_load(chart or "")).get("appVersion"))
            except yaml.YAMLError:
                return None
        node: object = self.chart_values(doc.chart)
        for part in m.group(1).strip(".").split("."):
            node = _m(node).get(part)
        return _s(node)

    # -- ConfigMaps ----------------------------------------------------------------------

    def configmap(self, doc: _Doc) -> None:
        where = f"{doc.path}: ConfigMap {doc.name!r}"
        cm = _ConfigMap(doc.path, doc.name, doc.namespace, {}, [], "configmap")
        files: list[tuple[str, str]] = []
        templated: list[str] = []
        for key, value in _m(doc.body.get("data")).items():
            k, v = doc.text(key), _s(value)
            if k is None or v is None:
                cm.problems.append(f"{where}: data key {key!r} is not a string; skipped")
            elif doc.tpl and (doc.templated(k) or _PLACEHOLDER.search(v)):
                got = self.helm_file(doc, v)
                if got is not None and not doc.templated(k):
                    files.append((k, got))
                else:
                    templated.append(k)
            else:
                cm.data[k] = v
        for key in _m(doc.body.get("binaryData")):
            cm.problems.append(f"{where}: binaryData {key!r} is binary, not SQL; skipped")
        exprs = [*doc.tpl.dropped, *doc.tpl.exprs.values()] if doc.tpl else []
        globs = [g for expr in exprs for g in _FILES_GLOB.findall(expr)]
        if globs and doc.chart is not None:
            # `range .Files.Glob` / `.AsConfig` fill the data with the chart's files,
            # keyed by base name; the templated keys seen above were that loop.
            cm.origin = "helm"
            templated = []
            for pattern in globs:
                rx = _glob_regex(pattern)
                prefix = f"{doc.chart}/" if doc.chart else ""
                files.extend(
                    (posixpath.basename(p), p)
                    for p in sorted(self.paths)
                    if p.startswith(prefix) and rx.fullmatch(p[len(prefix) :])
                )
            dirs = {posixpath.dirname(p) for _, p in files}
            if len(dirs) == 1 and all(k == posixpath.basename(p) for k, p in files):
                cm.base = dirs.pop()
        elif globs:
            cm.problems.append(f"{where}: uses .Files.Glob outside a Helm chart (no Chart.yaml)")
        for k in templated:
            cm.problems.append(f"{where}: data {k!r} is templated; its content is unknown")
        self.configmaps.append(cm)
        if files:
            self.pending.append(_Pending(cm, files))

    def helm_file(self, doc: _Doc, value: str) -> str | None:
        """The chart file a `{{ .Files.Get "path" }}` value reads, when that is all it is."""
        if doc.tpl is None or doc.chart is None:
            return None
        expr = doc.tpl.exprs.get(value.strip())
        m = _FILES_GET.match(expr or "")
        return _join(doc.chart, m.group(1)) if m else None

    def kustomization(self, doc: _Doc) -> None:
        base = posixpath.dirname(doc.path)
        ns = doc.text(doc.body.get("namespace"))
        for i, gen in enumerate(_l(doc.body.get("configMapGenerator"))):
            gen = _m(gen)
            name = doc.text(gen.get("name"))
            where = f"{doc.path}: configMapGenerator[{i}]"
            if not name:
                self.problems.append(f"{where}: has no name; skipped")
                continue
            cm = _ConfigMap(
                doc.path,
                name,
                doc.text(gen.get("namespace")) or ns,
                {},
                [],
                "kustomize",
            )
            files: list[tuple[str, str]] = []
            for entry in _l(gen.get("files")):
                text = doc.text(entry)
                if not text:
                    continue
                key, _, rel = text.partition("=") if "=" in text else ("", "", text)
                target = _join(base, rel.strip())
                if target is None:
                    cm.problems.append(
                        f"{doc.path}: configMapGenerator {name!r}: file {rel!r} is outside the repository; skipped"
                    )
                    continue
                if target in self.paths:
                    files.append((key.strip() or posixpath.basename(target), target))
                    continue
                children = sorted(
                    p
                    for p in self.paths
                    if posixpath.dirname(p) == target and "/" not in p[len(target) + 1 :]
                )
                if children and not key:
                    files.extend((posixpath.basename(p), p) for p in children)
                else:
                    cm.problems.append(
                        f"{doc.path}: configMapGenerator {name!r}: file {rel!r} is not in the repository"
                    )
            for entry in _l(gen.get("literals")):
                text = doc.text(entry)
                if text and "=" in text:
                    k, _, v = text.partition("=")
                    cm.data[k.strip()] = v
            dirs = {posixpath.dirname(p) for k, p in files if k == posixpath.basename(p)}
            if files and len(dirs) == 1 and all(k == posixpath.basename(p) for k, p in files):
                cm.base = dirs.pop()
            self.configmaps.append(cm)
            if files:
                self.pending.append(_Pending(cm, files))

    def read_pending(self) -> None:
        wanted = {p for pending in self.pending for _, p in pending.files}
        texts: dict[str, str] = {p: self.files[p] for p in wanted if p in self.files}
        missing = sorted(wanted - set(texts))
        if missing and self.read_more is not None:
            for path, blob in self.read_more(missing).items():
                try:
                    text = blob.decode("utf-8-sig")
                except UnicodeDecodeError:
                    text = "\x00"
                texts[path] = text
        for pending in self.pending:
            for key, path in pending.files:
                got = texts.get(path)
                if got is None:
                    pending.cm.problems.append(
                        f"{pending.cm.path}: ConfigMap {pending.cm.name!r}: {path} could not be read"
                    )
                elif "\x00" in got[:8192]:
                    pending.cm.problems.append(
                        f"{pending.cm.path}: ConfigMap {pending.cm.name!r}: {path} is binary; skipped"
                    )
                else:
                    pending.cm.data[key] = got

    def find_cm(self, doc: _Doc, name: str, what: str) -> _ConfigMap | None:
        """The ConfigMap `name` as seen from `doc`: same namespace, nearest directory."""
        ns = doc.namespace
        found = [
            cm
            for cm in self.configmaps
            if cm.name == name and (ns is None or cm.namespace is None or cm.namespace == ns)
        ]
        if not found:
            self.problems.append(
                f"{doc.path}: {what} refers to ConfigMap {name!r}, which is not in the repository"
            )
            return None
        here = doc.path.split("/")

        def closeness(cm: _ConfigMap) -> tuple[int, int, int]:
            there = cm.path.split("/")
            common = 0
            for a, b in zip(here[:-1], there[:-1], strict=False):
                if a != b:
                    break
                common += 1
            return (-(cm.path == doc.path), -common, -(cm.namespace == ns))

        found.sort(key=closeness)
        return found[0]

    # -- Atlas ---------------------------------------------------------------------------

    def target_dialect(self, doc: _Doc, spec: dict[str, Any]) -> tuple[Dialect | None, list[str]]:
        """The dialect of an Atlas resource's target database, from the URL's scheme only."""
        where = f"{doc.path}: {doc.label()}"
        url = _s(spec.get("url"))
        if url:
            url, left = self.resolve(doc, url)
            if left:
                return None, [f"{where}: database URL is templated ({left[0]}); dialect unknown"]
            found = dialect_from_url(url)
            # Only the scheme is ever shown: the rest of a URL may hold credentials.
            shown = url.split(":", 1)[0]
            return found, [] if found else [f"{where}: unsupported database URL scheme {shown!r}"]
        raw_scheme = _s(_m(spec.get("credentials")).get("scheme"))
        if raw_scheme:
            scheme, left = self.resolve(doc, raw_scheme)
            found = None if left else dialect_from_url(f"{scheme}://")
            return found, [] if found else [
                f"{where}: credentials.scheme {scheme!r} names no supported dialect"
            ]
        ref = _m(_m(spec.get("urlFrom")).get("secretKeyRef"))
        if ref:
            found = self.secret_dialect(doc, ref)
            if found:
                return found, []
            return None, [
                f"{where}: database URL comes from Secret {doc.text(ref.get('name'))!r}; "
                "dialect unknown (set it in .rollback-plan.yml or pass --dialect)"
            ]
        dev = doc.text(spec.get("devURL"))
        if dev and dialect_from_url(dev):
            return dialect_from_url(dev), []
        return None, [f"{where}: no database URL; dialect unknown"]

    def secret_dialect(self, doc: _Doc, ref: dict[str, Any]) -> Dialect | None:
        """The scheme of a URL kept in a Secret manifest of the repository, if there is one.

        Only the scheme is read; the rest of the value is never kept.
        """
        name, key = doc.text(ref.get("name")), doc.text(ref.get("key")) or ""
        for other in self.docs:
            if other.kind != "Secret" or other.name != name:
                continue
            if doc.namespace and other.namespace and other.namespace != doc.namespace:
                continue
            value = _s(_m(other.body.get("stringData")).get(key))
            if value is None:
                raw = _s(_m(other.body.get("data")).get(key))
                try:
                    value = base64.b64decode(raw or "", validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    value = None
            if value:
                return dialect_from_url(value)
        return None

    def atlas_schema(self, doc: _Doc) -> None:
        spec = _m(doc.body.get("spec"))
        schema = _m(spec.get("schema"))
        dialect, notes = self.target_dialect(doc, spec)
        where = f"{doc.path}: AtlasSchema {doc.name!r}"
        path = doc.path
        sql = doc.text(schema.get("sql"))
        if sql is not None and doc.tpl and "{{" in sql:
            self.problems.append(f"{where}: schema.sql is templated; cannot tell the schema")
            return
        if sql is None and schema.get("configMapKeyRef") is not None:
            ref = _m(schema.get("configMapKeyRef"))
            name, key = doc.text(ref.get("name")) or "", doc.text(ref.get("key")) or ""
            cm = self.find_cm(doc, name, f"AtlasSchema {doc.name!r}")
            if cm is None:
                return
            cm.claimed = True
            notes.extend(cm.problems)
            if key not in cm.data:
                self.problems.append(f"{where}: ConfigMap {name!r} ({cm.path}) has no key {key!r}")
                return
            sql, path = cm.data[key], cm.source_path
        if sql is None:
            if schema.get("hcl") is not None:
                self.problems.append(f"{where}: HCL schemas are not supported; use schema.sql")
            else:
                self.problems.append(f"{where}: spec.schema has neither sql nor configMapKeyRef")
            return
        self.sources.append(
            SchemaSource(
                kind=SourceKind.ATLAS_SCHEMA,
                path=path,
                dialect=dialect,
                schema_sql=sql,
                manifest=doc.path,
                name=doc.name,
                problems=tuple(notes),
            )
        )

    def atlas_migration(self, doc: _Doc) -> None:
        spec = _m(doc.body.get("spec"))
        d = _m(spec.get("dir"))
        where = f"{doc.path}: AtlasMigration {doc.name!r}"
        dialect, notes = self.target_dialect(doc, spec)
        if d.get("configMapRef") is not None:
            name = doc.text(_m(d.get("configMapRef")).get("name")) or ""
            cm = self.find_cm(doc, name, f"AtlasMigration {doc.name!r}")
            if cm is None:
                return
            cm.claimed = True
            self.emit_versioned(
                SourceKind.ATLAS_MIGRATION,
                cm.source_path,
                cm.data,
                cm.base or cm.source_path,
                dialect,
                doc.path,
                doc.name,
                [*notes, *cm.problems],
            )
        elif d.get("local") is not None:
            files: dict[str, str] = {}
            for key, value in _m(d.get("local")).items():
                k, v = doc.text(key), _s(value)
                if k is None or v is None or _unsafe_path(k):
                    notes.append(
                        f"{where}: dir.local key {key!r} is not a usable file name; skipped"
                    )
                    continue
                files[k] = v
            self.emit_versioned(
                SourceKind.ATLAS_MIGRATION,
                doc.path,
                files,
                doc.path,
                dialect,
                doc.path,
                doc.name,
                notes,
            )
        elif _m(d.get("remote")).get("name"):
            remote = doc.text(_m(d.get("remote")).get("name"))
            self.problems.append(
                f"{where}: migrations come from Atlas Cloud directory {remote!r}, not the repository"
            )
        else:
            self.problems.append(f"{where}: spec.dir has neither configMapRef nor local")

    def emit_versioned(
        self,
        kind: SourceKind,
        path: str,
        files: Mapping[str, str],
        base: str,
        dialect: Dialect | None,
        manifest: str | None,
        name: str | None,
        notes: list[str],
    ) -> None:
        fmt: Format | None = detect_format(files)
        if fmt is None:
            where = f"{manifest}: {name!r}" if manifest else path
            # Say why the files were unusable (e.g. a path outside the repository) too.
            self.problems.extend(notes)
            self.problems.append(f"{where}: no migration files recognised in {path}")
            return
        migrations, problems = parse_migrations(fmt, files, base)
        self.sources.append(
            SchemaSource(
                kind=kind,
                path=path,
                dialect=dialect,
                format=fmt,
                migrations=tuple(migrations),
                manifest=manifest,
                name=name,
                problems=tuple([*notes, *problems]),
            )
        )

    def emit_configmap(
        self, cm: _ConfigMap, workload: _Doc | None, dialect: Dialect | None
    ) -> None:
        cm.claimed = True
        kind = SourceKind.KUSTOMIZE if cm.origin == "kustomize" else SourceKind.CONFIGMAP
        self.emit_versioned(
            kind,
            cm.source_path,
            cm.data,
            cm.base or cm.source_path,
            dialect,
            cm.path,
            cm.name,
            list(cm.problems),
        )

    # -- workloads -----------------------------------------------------------------------

    def workload(self, doc: _Doc) -> None:
        spec = _m(doc.body.get("spec"))
        if doc.kind == "Pod":
            pod = spec
        elif doc.kind == "CronJob":
            pod = _m(_m(_m(_m(spec.get("jobTemplate")).get("spec")).get("template")).get("spec"))
        else:
            pod = _m(_m(spec.get("template")).get("spec"))
        containers = [_m(c) for c in _l(pod.get("containers"))]
        inits = [_m(c) for c in _l(pod.get("initContainers"))]
        dialect = self.workload_dialect(doc, containers + inits)
        migration_dir = self.mounted_configmaps(doc, pod, containers + inits, dialect)
        # A Deployment's main containers are the app itself; only its init containers count.
        candidates = inits + containers if doc.kind in {"Job", "Pod", "CronJob"} else inits
        self.migration_job(doc, candidates, dialect, migration_dir)

    def workload_dialect(self, doc: _Doc, containers: list[dict[str, Any]]) -> Dialect | None:
        for c in containers:
            texts = [doc.text(t) or "" for t in _l(c.get("command")) + _l(c.get("args"))]
            for env in _l(c.get("env")):
                env = _m(env)
                if env.get("value") is not None:
                    texts.append(doc.text(env.get("value")) or "")
                ref = _m(_m(env.get("valueFrom")).get("secretKeyRef"))
                if ref and re.search(r"(URL|DSN|URI)$", _s(env.get("name")) or "", re.I):
                    found = self.secret_dialect(doc, ref)
                    if found:
                        return found
            for text in texts:
                for url in _URL_IN_TEXT.findall(text):
                    found = dialect_from_url(url)
                    if found:
                        return found
        return None

    def mounted_configmaps(
        self,
        doc: _Doc,
        pod: dict[str, Any],
        containers: list[dict[str, Any]],
        dialect: Dialect | None,
    ) -> bool:
        """Emit the ConfigMaps this pod mounts as migration directories; True when any."""
        mounts: dict[str, list[str]] = {}
        for c in containers:
            for mount in _l(c.get("volumeMounts")):
                vm = _m(mount)
                vol_name, mount_path = doc.text(vm.get("name")), doc.text(vm.get("mountPath"))
                if vol_name and mount_path:
                    mounts.setdefault(vol_name, []).append(mount_path)
        any_dir = False
        for volume in _l(pod.get("volumes")):
            vol = _m(volume)
            refs = [_m(vol.get("configMap"))] if vol.get("configMap") is not None else []
            refs += [
                _m(_m(s).get("configMap"))
                for s in _l(_m(vol.get("projected")).get("sources"))
                if _m(s).get("configMap") is not None
            ]
            at = mounts.get(doc.text(vol.get("name")) or "", [])
            for ref in refs:
                name = doc.text(ref.get("name")) or ""
                by_path = any("migrat" in p.lower() for p in at)
                cm = self.find_cm(doc, name, doc.label()) if by_path else self.quiet_cm(doc, name)
                if cm is None:
                    continue
                if not (by_path or _looks_like_migrations(cm.data)):
                    continue
                any_dir = True
                if cm.claimed:
                    continue
                items = [_m(i) for i in _l(ref.get("items"))]
                if items:
                    # `items` renames keys to paths: the directory the tool sees.
                    renamed = {}
                    for item in items:
                        k, p = doc.text(item.get("key")), doc.text(item.get("path"))
                        if k in cm.data and p and not _unsafe_path(p):
                            renamed[p] = cm.data[k]
                    cm.data, cm.base = renamed, None
                self.emit_configmap(cm, doc, dialect)
        return any_dir

    def quiet_cm(self, doc: _Doc, name: str) -> _ConfigMap | None:
        before = len(self.problems)
        cm = self.find_cm(doc, name, doc.label())
        del self.problems[before:]  # an unrelated ConfigMap (app config) may live elsewhere
        return cm

    def migration_job(
        self,
        doc: _Doc,
        containers: list[dict[str, Any]],
        dialect: Dialect | None,
        has_dir: bool,
    ) -> None:
        ann = _m(_m(doc.body.get("metadata")).get("annotations"))
        hooks = [
            f"{k}: {doc.text(ann[k])}"
            for k in ("helm.sh/hook", "argocd.argoproj.io/hook")
            if doc.text(ann.get(k))
        ]
        for c in containers:
            texts = [doc.text(t) or "" for t in _l(c.get("command")) + _l(c.get("args"))]
            raw_image = _s(c.get("image")) or ""
            tool = _tool(texts, raw_image)
            if tool is None and doc.kind in {"Job", "Pod"} and "migrat" in doc.name.lower():
                tool = "unknown"
            if tool is None:
                continue
            self.add_job(doc, c, raw_image, tool, hooks, dialect, has_dir)
            return

    def add_job(
        self,
        doc: _Doc,
        container: dict[str, Any],
        raw_image: str,
        tool: str,
        hooks: list[str],
        dialect: Dialect | None,
        has_dir: bool,
    ) -> None:
        where = f"{doc.path}: {doc.label()}"
        notes: list[str] = []
        image, left = self.resolve(doc, raw_image)
        repo, tag, digest = _split_image(image)
        if left and tag is not None and "{{" in tag:
            notes.append(
                f"{doc.path}: image tag is templated ({', '.join(left)}); cannot tell which migrations run"
            )
            tag = None
        elif left and "{{" in repo:
            notes.append(f"{where}: image is templated ({', '.join(left)})")
        elif not raw_image:
            notes.append(f"{where}: container has no image")
        elif tag is None and digest is None:
            notes.append(f"{where}: image {image!r} has no tag (it runs whatever 'latest' is)")
        elif tag is None:
            notes.append(f"{where}: image is pinned by digest only; cannot map it to a git ref")
        job = MigrationJob(
            manifest=doc.path,
            name=doc.name,
            image=repo,
            tag=tag,
            tool=tool,
            kind=doc.kind,
            container=doc.text(container.get("name")),
            hook=", ".join(hooks) or None,
            digest=digest,
            dialect=dialect,
        )
        self.jobs.append(job)
        if has_dir:
            return  # its migrations are the mounted ConfigMap, already a source
        if dialect is None:
            notes.append(f"{where}: database URL not in the manifest; dialect unknown")
        self.sources.append(
            SchemaSource(
                kind=SourceKind.MIGRATION_JOB,
                path=doc.path,
                dialect=dialect,
                manifest=doc.path,
                name=doc.name,
                problems=tuple(notes),
            )
        )


_SEPARATOR = re.compile(r"^(---|\.\.\.)(\s.*)?$")


def _split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Each YAML document with its 1-based start line, so one corrupt document spares the rest.

    Earlier lines are blanked rather than cut so that parse errors report file line numbers.
    """
    lines = text.split("\n")
    start = 0
    for i, line in enumerate([*lines, "---"]):
        if _SEPARATOR.match(line):
            chunk = lines[start:i]
            if any(x.strip() and not x.lstrip().startswith("#") for x in chunk):
                yield start + 1, "\n".join(chunk)
            start = i + 1
