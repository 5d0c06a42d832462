"""Build a small, realistic app repository and revert a schema change in it.

The repository has a golang-migrate directory for the app's PostgreSQL database and Kubernetes
manifests with an Atlas operator AtlasMigration whose migrations live in a ConfigMap (the
billing database). One commit adds a column, an index and a NOT NULL; `git revert` undoes it.

    python examples/demo_repo.py DIR     # creates DIR, prints the revert commit's sha
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ENV = {
    "GIT_AUTHOR_NAME": "Ada Example",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Example",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2026-11-02T10:00:00Z",
    "GIT_COMMITTER_DATE": "2026-11-02T10:00:00Z",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(
        ["git", *args], cwd=repo, env=ENV, check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def write(repo: Path, path: str, text: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(textwrap.dedent(text).lstrip())


def configmap(migrations: dict[str, str]) -> str:
    """The billing database's AtlasMigration and the ConfigMap holding its migration dir."""
    from bot.sources.atlas_sum import atlas_sum

    files = {**migrations, "atlas.sum": atlas_sum(migrations)}
    data = "".join(
        f"  {name}: |\n" + "".join(f"    {line}\n" for line in body.rstrip("\n").splitlines())
        for name, body in files.items()
    )
    return (
        textwrap.dedent(
            """\
            apiVersion: db.atlasgo.io/v1alpha1
            kind: AtlasMigration
            metadata:
              name: billing
              namespace: shop
            spec:
              urlFrom:
                secretKeyRef:
                  name: billing-db
                  key: url
              dir:
                configMapRef:
                  name: billing-migrations
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: billing-migrations
              namespace: shop
            data:
            """
        )
        + data
    )


BILLING_INIT = """\
CREATE TABLE invoices (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL,
  total_cents integer NOT NULL CHECK (total_cents >= 0),
  issued_at timestamptz NOT NULL DEFAULT now()
);
"""


def build(repo: Path) -> str:
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    write(repo, "README.md", "# shop\n\nThe shop service.\n")
    write(
        repo,
        ".rollback-plan.yml",
        """\
        version: 1
        default_branch: main
        sources:
          - path: db/migrations
            format: golang-migrate
            dialect: postgres
        """,
    )
    write(
        repo,
        "db/migrations/000001_create_customers.up.sql",
        """\
        CREATE TABLE customers (
          id         bigserial PRIMARY KEY,
          email      varchar(255) UNIQUE,
          name       text NOT NULL,
          created_at timestamptz NOT NULL DEFAULT now()
        );
        """,
    )
    write(repo, "db/migrations/000001_create_customers.down.sql", "DROP TABLE customers;\n")
    write(
        repo,
        "db/migrations/000002_create_orders.up.sql",
        """\
        CREATE TABLE orders (
          id          bigserial PRIMARY KEY,
          customer_id bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
          total_cents integer NOT NULL CHECK (total_cents >= 0),
          placed_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX orders_customer_idx ON orders (customer_id, placed_at DESC);
        """,
    )
    write(repo, "db/migrations/000002_create_orders.down.sql", "DROP TABLE orders;\n")
    write(
        repo,
        "deploy/k8s/billing.yaml",
        configmap({"20261101000000_init.sql": BILLING_INIT}),
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Initial schema")

    write(
        repo,
        "db/migrations/000003_loyalty_points.up.sql",
        """\
        -- Loyalty programme: points per customer, and every customer needs an email now.
        ALTER TABLE customers ADD COLUMN loyalty_points integer NOT NULL DEFAULT 0;
        CREATE INDEX customers_loyalty_idx ON customers (loyalty_points DESC);
        UPDATE customers SET email = id || '@unknown.invalid' WHERE email IS NULL;
        ALTER TABLE customers ALTER COLUMN email SET NOT NULL;
        """,
    )
    write(
        repo,
        "db/migrations/000003_loyalty_points.down.sql",
        """\
        DROP INDEX customers_loyalty_idx;
        ALTER TABLE customers DROP COLUMN loyalty_points;
        """,
    )
    write(
        repo,
        "deploy/k8s/billing.yaml",
        configmap(
            {
                "20261101000000_init.sql": BILLING_INIT,
                "20261102090000_invoice_points.sql": (
                    "ALTER TABLE invoices ADD COLUMN points_earned integer;\n"
                ),
            }
        ),
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add loyalty points to customers and invoices")
    git(repo, "revert", "--no-edit", "HEAD")
    return git(repo, "rev-parse", "HEAD")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: demo_repo.py DIR")
    print(build(Path(sys.argv[1])))
