"""Kubernetes manifests for planner tests, built as text the way people write them."""

from __future__ import annotations

from collections.abc import Mapping

from bot.sources.atlas_sum import atlas_sum

INIT = "CREATE TABLE invoices (id integer PRIMARY KEY, total integer NOT NULL);\n"
ADD = (
    "ALTER TABLE invoices ADD COLUMN customer text;\n"
    "CREATE INDEX invoices_customer_idx ON invoices (customer);\n"
)
MIGRATIONS_1 = {"20261101000000_init.sql": INIT}
MIGRATIONS_2 = {**MIGRATIONS_1, "20261102000000_customer.sql": ADD}


def block(data: Mapping[str, str], indent: int) -> str:
    pad = " " * indent
    return "".join(
        f"{pad}{name}: |\n" + "".join(f"{pad}  {line}\n" for line in body.splitlines())
        for name, body in data.items()
    )


def with_sum(migrations: Mapping[str, str]) -> dict[str, str]:
    return {**migrations, "atlas.sum": atlas_sum(migrations)}


def atlas_configmap(migrations: Mapping[str, str], url: str = "sqlite://billing.db") -> str:
    return (
        "apiVersion: db.atlasgo.io/v1alpha1\n"
        "kind: AtlasMigration\n"
        "metadata:\n  name: billing\n"
        f"spec:\n  url: {url}\n  dir:\n    configMapRef:\n      name: billing-migrations\n"
        "---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: billing-migrations\ndata:\n"
        + block(with_sum(migrations), 2)
    )


def atlas_local(migrations: Mapping[str, str]) -> str:
    return (
        "apiVersion: db.atlasgo.io/v1alpha1\n"
        "kind: AtlasMigration\n"
        "metadata:\n  name: billing\n"
        "spec:\n  url: sqlite://billing.db\n  dir:\n    local:\n" + block(with_sum(migrations), 6)
    )


def atlas_schema(sql: str) -> str:
    return (
        "apiVersion: db.atlasgo.io/v1alpha1\n"
        "kind: AtlasSchema\n"
        "metadata:\n  name: app\n"
        "spec:\n  url: postgres://app@db:5432/app\n  schema:\n    sql: |\n"
        + "".join(f"      {line}\n" for line in sql.splitlines())
    )


KUSTOMIZATION = """\
namespace: billing
resources:
  - atlas.yaml
configMapGenerator:
  - name: billing-migrations
    files:
      - migrations
"""

KUSTOMIZE_ATLAS = """\
apiVersion: db.atlasgo.io/v1alpha1
kind: AtlasMigration
metadata:
  name: billing
spec:
  url: sqlite://billing.db
  dir:
    configMapRef:
      name: billing-migrations
"""

HELM_JOB = """\
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ .Release.Name }}-migrate
  annotations:
    helm.sh/hook: pre-upgrade
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: "ghcr.io/acme/app-migrations:{{ .Values.image.tag }}"
          args: ["migrate", "-path", "/migrations", "-database", "postgres://db/app", "up"]
"""

CHART = "apiVersion: v2\nname: app\nversion: 0.1.0\n"
