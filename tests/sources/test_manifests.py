"""Schema sources found in Kubernetes manifests: Atlas operator, ConfigMaps, kustomize, Helm, Jobs."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from bot.core.model import Dialect
from bot.sources.atlas_sum import atlas_sum
from bot.sources.manifests import (
    ManifestScan,
    MigrationJob,
    dialect_from_url,
    find_manifest_sources,
    scan_manifests,
)
from bot.sources.model import Format, SchemaSource, SourceKind


def scan(files: dict[str, str], extra: dict[str, str] | None = None) -> ManifestScan:
    """Scan like the caller does: YAML texts given, other repo files read on demand."""
    other = extra or {}
    asked: list[list[str]] = []

    def read(paths: Iterable[str]) -> dict[str, bytes]:
        wanted = list(paths)
        asked.append(wanted)
        return {p: other[p].encode() for p in wanted if p in other}

    result = scan_manifests(files, [*files, *other], read)
    assert len(asked) <= 1, "other files are read in one batch"
    return result


def only(sources: Iterable[SchemaSource], kind: SourceKind) -> SchemaSource:
    found = [s for s in sources if s.kind is kind]
    assert len(found) == 1, found
    return found[0]


USERS = "CREATE TABLE users (\n  id int NOT NULL,\n  email varchar(255) NOT NULL,\n  PRIMARY KEY (id)\n);\n"
POSTS = (
    "CREATE TABLE posts (\n  id int NOT NULL,\n  user_id int NOT NULL,\n  PRIMARY KEY (id)\n);\n"
)


def indent(text: str, spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in text.splitlines())


def atlas_dir_configmap(name: str = "migration-dir", namespace: str | None = None) -> str:
    files = {"20230316085611.sql": USERS, "20230316090502.sql": POSTS}
    files["atlas.sum"] = atlas_sum(files)
    ns = f"  namespace: {namespace}\n" if namespace else ""
    data = "".join(f"  {k}: |\n{indent(v, 4)}" for k, v in files.items())
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n{ns}data:\n{data}"


ATLAS_MIGRATION = """\
# Copyright header like the operator's samples: comments before the document.
apiVersion: db.atlasgo.io/v1alpha1
kind: AtlasMigration
metadata:
  labels:
    app.kubernetes.io/name: atlasmigration
  name: atlasmigration-sample
spec:
  urlFrom:
    secretKeyRef:
      key: url
      name: db-credentials
  dir:
    configMapRef:
      name: "migration-dir"
"""


# --- Atlas operator -------------------------------------------------------------------------


def test_atlas_migration_reads_its_configmap_directory() -> None:
    result = scan(
        {
            "config/samples/atlasmigration/resource.yaml": ATLAS_MIGRATION,
            "config/samples/atlasmigration/dir.yaml": atlas_dir_configmap(),
        }
    )
    src = only(result.sources, SourceKind.ATLAS_MIGRATION)
    assert src.path == "config/samples/atlasmigration/dir.yaml#configmap/migration-dir"
    assert src.manifest == "config/samples/atlasmigration/resource.yaml"
    assert src.name == "atlasmigration-sample"
    assert src.format is Format.ATLAS
    assert [m.version for m in src.migrations] == ["20230316085611", "20230316090502"]
    assert src.migrations[0].up == USERS
    # The URL lives in a Secret that is not in the repo: no dialect, and it says so.
    assert src.dialect is None
    assert any("Secret 'db-credentials'" in p and "dialect unknown" in p for p in src.problems)
    # The ConfigMap is the AtlasMigration's directory, not a second source.
    assert len(result.sources) == 1
    assert result.problems == ()


def test_atlas_migration_inline_dir_and_url_scheme() -> None:
    manifest = (
        "apiVersion: db.atlasgo.io/v1alpha1\nkind: AtlasMigration\nmetadata:\n  name: shop\n"
        "spec:\n  url: postgres://shop:secret@db.shop.svc:5432/shop?sslmode=disable\n"
        "  dir:\n    local:\n"
        f"      20240101000000_users.sql: |\n{indent(USERS, 8)}"
        f"      20240102000000_posts.sql: |\n{indent(POSTS, 8)}"
    )
    sources, problems = find_manifest_sources({"deploy/shop/migration.yaml": manifest}, [])
    (src,) = sources
    assert src.kind is SourceKind.ATLAS_MIGRATION
    assert src.path == "deploy/shop/migration.yaml"  # the files live in the manifest itself
    assert src.dialect is Dialect.POSTGRES
    assert [m.name for m in src.migrations] == ["users", "posts"]
    assert problems == []
    assert not any("secret" in p for p in src.problems)  # the URL's password is never echoed


def test_atlas_migration_credentials_scheme_gives_the_dialect() -> None:
    manifest = ATLAS_MIGRATION.replace(
        "  urlFrom:\n    secretKeyRef:\n      key: url\n      name: db-credentials\n",
        "  credentials:\n    scheme: mysql\n    host: mysql.default\n    user: root\n",
    )
    result = scan({"a/migration.yaml": manifest, "a/dir.yaml": atlas_dir_configmap()})
    assert only(result.sources, SourceKind.ATLAS_MIGRATION).dialect is Dialect.MYSQL


def test_atlas_migration_with_missing_configmap_is_a_problem_not_a_source() -> None:
    manifest = ATLAS_MIGRATION.replace("atlasmigration-sample", "app").replace(
        '"migration-dir"', "app-migrations"
    )
    sources, problems = find_manifest_sources({"deploy/app.yaml": manifest}, ["deploy/app.yaml"])
    assert sources == []
    assert problems == [
        "deploy/app.yaml: AtlasMigration 'app' refers to ConfigMap 'app-migrations', "
        "which is not in the repository"
    ]


def test_atlas_schema_inline_sql_with_mysql_url() -> None:
    manifest = (
        "apiVersion: db.atlasgo.io/v1alpha1\nkind: AtlasSchema\nmetadata:\n  name: myapp\n"
        "spec:\n  url: mysql://root:pass@mysql.default:3306/myapp\n"
        f"  schema:\n    sql: |\n{indent(USERS, 6)}"
    )
    (src,), problems = find_manifest_sources({"k8s/schema.yaml": manifest}, [])
    assert src.kind is SourceKind.ATLAS_SCHEMA
    assert src.schema_sql == USERS
    assert src.dialect is Dialect.MYSQL
    assert (src.path, src.manifest, src.name) == ("k8s/schema.yaml", "k8s/schema.yaml", "myapp")
    assert problems == []


def test_atlas_schema_configmap_key_ref_in_the_same_namespace() -> None:
    schema = (
        "apiVersion: db.atlasgo.io/v1alpha1\nkind: AtlasSchema\nmetadata:\n  name: app\n"
        "  namespace: prod\nspec:\n  url: maria://app@mariadb:3306/app\n"
        "  schema:\n    configMapKeyRef:\n      name: schema\n      key: schema.sql\n"
    )

    def cm(ns: str, sql: str) -> str:
        return (
            f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: schema\n  namespace: {ns}\n"
            f"data:\n  schema.sql: |\n{indent(sql, 4)}"
        )

    result = scan(
        {
            "deploy/schema.yaml": schema,
            # Same name in two namespaces, in one multi-document file.
            "deploy/configmaps.yaml": cm("staging", POSTS) + "---\n" + cm("prod", USERS),
        }
    )
    src = only(result.sources, SourceKind.ATLAS_SCHEMA)
    assert src.schema_sql == USERS
    assert src.dialect is Dialect.MYSQL
    assert src.path == "deploy/configmaps.yaml#configmap/schema"
    assert src.manifest == "deploy/schema.yaml"


def test_atlas_schema_missing_key_and_hcl_are_reported() -> None:
    schema = (
        "apiVersion: db.atlasgo.io/v1alpha1\nkind: AtlasSchema\nmetadata:\n  name: a\n"
        "spec:\n  url: postgres://x/y\n  schema:\n    configMapKeyRef: {name: s, key: schema.sql}\n"
        "---\napiVersion: db.atlasgo.io/v1alpha1\nkind: AtlasSchema\nmetadata:\n  name: b\n"
        'spec:\n  url: postgres://x/y\n  schema:\n    hcl: |\n      table "t" {}\n'
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: s}\ndata: {other.sql: 'select 1;'}\n"
    )
    sources, problems = find_manifest_sources({"s.yaml": schema}, [])
    assert sources == []
    assert "s.yaml: AtlasSchema 'a': ConfigMap 's' (s.yaml) has no key 'schema.sql'" in problems
    assert "s.yaml: AtlasSchema 'b': HCL schemas are not supported; use schema.sql" in problems


def test_atlas_url_in_a_repo_secret_gives_only_the_scheme() -> None:
    secret = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\n"
        "stringData:\n  url: postgresql://app:hunter2@db:5432/app\n"
    )
    result = scan(
        {
            "dev/secret.yaml": secret,
            "dev/migration.yaml": ATLAS_MIGRATION,
            "dev/dir.yaml": atlas_dir_configmap(),
        }
    )
    src = only(result.sources, SourceKind.ATLAS_MIGRATION)
    assert src.dialect is Dialect.POSTGRES
    assert "hunter2" not in repr(result)


# --- kustomize ------------------------------------------------------------------------------

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
  - migrate-job.yaml
configMapGenerator:
  - name: shop-migrations
    files:
      - ../../db/migrations/1_users.up.sql
      - ../../db/migrations/1_users.down.sql
      - 2_posts.up.sql=../../db/migrations/2_posts.up.sql
      - ../../db/migrations/3_missing.up.sql
      - ../../../outside.sql
"""

MIGRATE_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: shop-migrate
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: migrate/migrate:v4.17.0
          args: ["-path", "/migrations", "-database", "$(DATABASE_URL)", "up"]
          env:
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef: {name: shop-db, key: url}
          volumeMounts:
            - name: migrations
              mountPath: /migrations
      volumes:
        - name: migrations
          configMap:
            name: shop-migrations
"""


def test_kustomize_generator_builds_the_migration_dir_from_repo_files() -> None:
    files = {
        "deploy/base/kustomization.yaml": KUSTOMIZATION,
        "deploy/base/migrate-job.yaml": MIGRATE_JOB,
    }
    sql = {
        "db/migrations/1_users.up.sql": USERS,
        "db/migrations/1_users.down.sql": "DROP TABLE users;\n",
        "db/migrations/2_posts.up.sql": POSTS,
    }
    result = scan(files, sql)
    src = only(result.sources, SourceKind.KUSTOMIZE)
    assert src.path == "deploy/base/kustomization.yaml#configmap/shop-migrations"
    assert src.format is Format.GOLANG_MIGRATE
    assert [(m.version, m.up, m.down) for m in src.migrations] == [
        ("1", USERS, "DROP TABLE users;\n"),
        ("2", POSTS, None),
    ]
    # Files map 1:1 to a repo directory: migrations point at the real files.
    assert src.migrations[0].up_path == "db/migrations/1_users.up.sql"
    assert any(
        "'../../db/migrations/3_missing.up.sql' is not in the repository" in p for p in src.problems
    )
    assert any("'../../../outside.sql' is outside the repository" in p for p in src.problems)
    # The Job mounts the generated ConfigMap: its migrations are that source, not its image.
    (job,) = result.jobs
    assert (job.name, job.tool, job.image, job.tag) == (
        "shop-migrate",
        "golang-migrate",
        "migrate/migrate",
        "v4.17.0",
    )
    assert not [s for s in result.sources if s.kind is SourceKind.MIGRATION_JOB]


def test_kustomize_generated_configmap_feeds_an_atlas_migration() -> None:
    kustomization = (
        "resources: [migration.yaml]\nconfigMapGenerator:\n  - name: migration-dir\n"
        "    files:\n      - migrations/20240101000000_users.sql\n      - migrations/atlas.sum\n"
    )
    dir_files = {"20240101000000_users.sql": USERS}
    other = {
        "k/migrations/20240101000000_users.sql": USERS,
        "k/migrations/atlas.sum": atlas_sum(dir_files),
    }
    result = scan(
        {"k/kustomization.yaml": kustomization, "k/migration.yaml": ATLAS_MIGRATION}, other
    )
    (src,) = result.sources
    assert src.kind is SourceKind.ATLAS_MIGRATION
    assert src.path == "k/kustomization.yaml#configmap/migration-dir"
    assert src.format is Format.ATLAS
    assert src.migrations[0].up_path == "k/migrations/20240101000000_users.sql"
    assert not [p for p in src.problems if "atlas.sum" in p]


# --- plain ConfigMaps and workloads -----------------------------------------------------------


def test_configmap_mounted_by_an_init_container_is_a_migration_dir() -> None:
    goose = "-- +goose Up\nCREATE TABLE users (id int);\n-- +goose Down\nDROP TABLE users;\n"
    manifests = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: db-schema\n"
        f"data:\n  00001_users.sql: |\n{indent(goose, 4)}"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-config\n"
        "data:\n  LOG_LEVEL: info\n"
        "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n"
        "  template:\n    spec:\n"
        "      initContainers:\n        - name: schema\n          image: ghcr.io/pressly/goose:3.20\n"
        '          command: ["goose", "-dir", "/db/migrations", "postgres", "up"]\n'
        "          env:\n            - name: GOOSE_DBSTRING\n"
        "              value: postgres://api@db:5432/api\n"
        "          volumeMounts:\n            - {name: schema, mountPath: /db/migrations}\n"
        "      containers:\n        - name: api\n          image: ghcr.io/acme/api:1.4.0\n"
        "          envFrom:\n            - configMapRef: {name: app-config}\n"
        "      volumes:\n        - name: schema\n          configMap: {name: db-schema}\n"
    )
    result = scan({"deploy/api.yaml": manifests})
    src = only(result.sources, SourceKind.CONFIGMAP)
    assert src.path == "deploy/api.yaml#configmap/db-schema"
    assert src.format is Format.GOOSE
    assert src.dialect is Dialect.POSTGRES
    assert src.migrations[0].down is not None and "DROP TABLE users" in src.migrations[0].down
    assert len(result.sources) == 1  # app-config is not a schema source
    assert [j.tool for j in result.jobs] == ["goose"]


def test_workload_mounting_a_missing_migration_configmap_says_so() -> None:
    job = MIGRATE_JOB.replace("shop-migrations", "gone")
    result = scan({"jobs/migrate.yaml": job})
    assert (
        "jobs/migrate.yaml: Job 'shop-migrate' refers to ConfigMap 'gone', which is not in the repository"
        in result.problems
    )


# --- migration Jobs: Helm hooks, Argo CD hooks ------------------------------------------------

HELM_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "shop.fullname" . }}-migrate
  labels:
    {{- include "shop.labels" . | nindent 4 }}
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-delete-policy": before-hook-creation
spec:
  backoffLimit: 1
  template:
    spec:
      restartPolicy: Never
      {{- with .Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: migrate
          image: "{{ .Values.migrations.image }}:{{ .Values.migrations.tag }}"
          command: ["/usr/local/bin/dbmate", "--no-dump-schema", "up"]
          env:
            - name: DATABASE_URL
              value: "mysql://shop@{{ .Values.db.host }}:3306/shop"
"""


def chart(
    values: str, chart_yaml: str = "apiVersion: v2\nname: shop\nversion: 0.1.0\n"
) -> dict[str, str]:
    return {
        "charts/shop/Chart.yaml": chart_yaml,
        "charts/shop/values.yaml": values,
        "charts/shop/templates/migrate-job.yaml": HELM_JOB,
    }


def test_helm_hook_job_takes_its_image_tag_from_the_chart_values() -> None:
    values = "migrations:\n  image: ghcr.io/acme/shop-migrations\n  tag: sha-3f2a9c1\ndb:\n  host: mysql\n"
    result = scan(chart(values))
    (job,) = result.jobs
    assert job == MigrationJob(
        manifest="charts/shop/templates/migrate-job.yaml",
        name='{{ include "shop.fullname" . }}-migrate',
        image="ghcr.io/acme/shop-migrations",
        tag="sha-3f2a9c1",
        tool="dbmate",
        kind="Job",
        container="migrate",
        hook="helm.sh/hook: pre-install,pre-upgrade",
        dialect=Dialect.MYSQL,
    )
    src = only(result.sources, SourceKind.MIGRATION_JOB)
    assert (src.manifest, src.dialect, src.problems) == (job.manifest, Dialect.MYSQL, ())
    assert result.problems == ()


def test_helm_job_with_a_tag_only_known_at_install_time_is_reported() -> None:
    files = chart("migrations:\n  image: ghcr.io/acme/shop-migrations\n")
    files["charts/shop/templates/migrate-job.yaml"] = HELM_JOB.replace(
        "{{ .Values.migrations.tag }}", "{{ .Values.tag }}"
    )
    result = scan(files)
    (job,) = result.jobs
    assert job.tag is None
    src = only(result.sources, SourceKind.MIGRATION_JOB)
    assert (
        "charts/shop/templates/migrate-job.yaml: image tag is templated ({{ .Values.tag }}); "
        "cannot tell which migrations run"
    ) in src.problems


def test_argocd_presync_flyway_job() -> None:
    job = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: billing-db-migrate
  namespace: billing
  annotations:
    argocd.argoproj.io/hook: PreSync
    argocd.argoproj.io/hook-delete-policy: HookSucceeded
spec:
  template:
    spec:
      containers:
        - name: flyway
          image: registry.acme.io:5000/billing/migrations:v2.31.0
          args:
            - -url=jdbc:postgresql://billing-db:5432/billing
            - -connectRetries=10
            - migrate
"""
    result = scan({"apps/billing/presync-migrate.yaml": job})
    (found,) = result.jobs
    assert (found.tool, found.image, found.tag, found.hook, found.dialect) == (
        "flyway",
        "registry.acme.io:5000/billing/migrations",
        "v2.31.0",
        "argocd.argoproj.io/hook: PreSync",
        Dialect.POSTGRES,
    )
    src = only(result.sources, SourceKind.MIGRATION_JOB)
    assert (src.name, src.path) == ("billing-db-migrate", "apps/billing/presync-migrate.yaml")


def test_app_deployments_and_unrelated_jobs_are_not_migration_jobs() -> None:
    manifests = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - name: web\n          image: nginx:1.27\n"
        '          command: ["nginx", "-g", "daemon off;"]\n'
        "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup}\nspec:\n"
        "  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n"
        '            - {name: dump, image: "postgres:16", command: ["pg_dump"]}\n'
    )
    result = scan({"deploy/web.yaml": manifests})
    assert result == ManifestScan((), (), ())


def test_helm_configmap_filled_from_chart_files() -> None:
    configmap = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-migrations
data:
{{- range $path, $_ := .Files.Glob "migrations/*.sql" }}
  {{ base $path }}: |-
{{ $.Files.Get $path | indent 4 }}
{{- end }}
"""
    job = HELM_JOB.replace(
        '          command: ["/usr/local/bin/dbmate", "--no-dump-schema", "up"]\n',
        '          command: ["dbmate", "--migrations-dir", "/db/migrations", "up"]\n'
        "          volumeMounts:\n            - {name: migrations, mountPath: /db/migrations}\n",
    ).replace(
        "      containers:\n",
        "      volumes:\n        - name: migrations\n          configMap:\n"
        "            name: {{ .Release.Name }}-migrations\n      containers:\n",
    )
    dbmate = "-- migrate:up\nCREATE TABLE users (id int);\n\n-- migrate:down\nDROP TABLE users;\n"
    files = {
        "charts/shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
        "charts/shop/values.yaml": "migrations:\n  image: ghcr.io/acme/m\n  tag: '7'\n",
        "charts/shop/templates/migrations-cm.yaml": configmap,
        "charts/shop/templates/migrate-job.yaml": job,
    }
    result = scan(
        files,
        {
            "charts/shop/migrations/20240101120000_users.sql": dbmate,
            "charts/shop/migrations/README.md": "not a migration",
        },
    )
    src = only(result.sources, SourceKind.CONFIGMAP)
    assert (
        src.path
        == "charts/shop/templates/migrations-cm.yaml#configmap/{{ .Release.Name }}-migrations"
    )
    assert src.format is Format.DBMATE
    assert [m.up_path for m in src.migrations] == [
        "charts/shop/migrations/20240101120000_users.sql"
    ]
    assert src.problems == ()
    assert result.problems == ()


# --- bad input --------------------------------------------------------------------------------


def test_corrupt_document_is_reported_with_its_line_and_the_others_are_read() -> None:
    text = (
        atlas_dir_configmap()
        + "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\n"
        + "data:\n  key: [unclosed\n"
        + "---\n"
        + ATLAS_MIGRATION
    )
    broken_line = text.splitlines().index("  key: [unclosed") + 1
    result = scan({"deploy/all.yaml": text})
    assert only(result.sources, SourceKind.ATLAS_MIGRATION).format is Format.ATLAS
    (problem,) = result.problems
    assert problem.startswith(f"deploy/all.yaml: line {broken_line}: not valid YAML")
    assert problem.endswith("skipped")


def test_binary_files_unsafe_paths_and_non_manifests_are_skipped() -> None:
    result = scan(
        {
            "assets/logo.yaml": "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "../escape/dir.yaml": atlas_dir_configmap(),
            "values.yaml": "- just\n- a list\n",
            "notes.yml": "plain scalar\n",
            "empty.yaml": "# nothing here\n",
        }
    )
    assert result.sources == ()
    assert set(result.problems) == {
        "assets/logo.yaml: binary file, not YAML; skipped",
        "../escape/dir.yaml: path leaves the repository; skipped",
    }


def test_inline_file_names_that_climb_out_are_refused() -> None:
    manifest = (
        "apiVersion: db.atlasgo.io/v1alpha1\nkind: AtlasMigration\nmetadata:\n  name: x\n"
        "spec:\n  url: sqlite://file.db\n  dir:\n    local:\n"
        "      ../../etc/passwd.sql: 'CREATE TABLE a (id int);'\n"
        "      1_ok.sql: 'CREATE TABLE b (id int);'\n"
    )
    (src,), _ = find_manifest_sources({"m.yaml": manifest}, [])
    assert src.dialect is Dialect.SQLITE
    assert [m.up for m in src.migrations] == ["CREATE TABLE b (id int);"]
    assert any("../../etc/passwd.sql" in p for p in src.problems)


@pytest.mark.parametrize(
    ("url", "dialect"),
    [
        ("postgres://u:p@db:5432/app", Dialect.POSTGRES),
        ("postgresql://db/app?sslmode=disable", Dialect.POSTGRES),
        ("postgresql+psycopg://db/app", Dialect.POSTGRES),
        ("jdbc:postgresql://db:5432/app", Dialect.POSTGRES),
        ("pgx5://db/app", Dialect.POSTGRES),
        ("mysql://root@tcp(db:3306)/app", Dialect.MYSQL),
        ("maria://root:pass@mariadb:3306/app", Dialect.MYSQL),
        ("mariadb://root@db/app", Dialect.MYSQL),
        ("MySQL+pymysql://db/app", Dialect.MYSQL),
        ("sqlite://file.db?_fk=1", Dialect.SQLITE),
        ("sqlite3:///var/lib/app.db", Dialect.SQLITE),
        ("docker://postgres/15/dev", Dialect.POSTGRES),
        ("docker://mysql/8/dev", Dialect.MYSQL),
        ("sqlserver://db/app", None),
        ("oracle://db", None),
        ("db.internal:5432", None),
        ("", None),
    ],
)
def test_dialect_from_url_scheme(url: str, dialect: Dialect | None) -> None:
    assert dialect_from_url(url) is dialect
