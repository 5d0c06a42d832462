"""Schema sources in Kubernetes manifests: the plan and the manifest change that goes with it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.core.risk import Verdict
from bot.engines import ScratchServer
from bot.sources.atlas_sum import verify_atlas_sum
from tests.planner.manifests_data import (
    CHART,
    HELM_JOB,
    KUSTOMIZATION,
    KUSTOMIZE_ATLAS,
    MIGRATIONS_1,
    MIGRATIONS_2,
    atlas_configmap,
    atlas_local,
    atlas_schema,
    with_sum,
)
from tests.planner.repo import (
    APPROVE_DATA_LOSS,
    Repo,
    apply_directory,
    assert_proven,
    only_source,
    sqls,
)

DOWN = ["DROP INDEX invoices_customer_idx", "ALTER TABLE invoices DROP COLUMN customer"]


def reverted(tmp_path: Path, before: dict[str, str], after: dict[str, str]) -> Repo:
    """`before`, then `after`, then `git revert HEAD`; losing data needs approval (so the
    companion change carries the plain down, proven below to reach `before`'s schema)."""
    repo = Repo(tmp_path / "app")
    repo.commit("Billing database", {".rollback-plan.yml": APPROVE_DATA_LOSS, **before})
    repo.commit("Add customer to invoices", after)
    repo.revert("HEAD")
    return repo


def doc(text: str, kind: str) -> dict[str, Any]:
    found = [d for d in yaml.safe_load_all(text) if isinstance(d, dict) and d.get("kind") == kind]
    assert len(found) == 1
    return found[0]


def assert_manifest_dir_proven(server: ScratchServer, repo: Repo, files: dict[str, str]) -> None:
    """The migration files in the updated manifest reach the reverted-to schema."""
    assert set(files) >= {*MIGRATIONS_2, "atlas.sum"} and len(files) == len(MIGRATIONS_2) + 2
    for name, body in MIGRATIONS_2.items():
        assert files[name] == body  # re-added byte for byte
    assert verify_atlas_sum(files)
    assert (
        apply_directory(server, files, "sqlite").diff(
            apply_directory(server, MIGRATIONS_1, "sqlite")
        )
        == []
    )


def test_atlas_migration_configmap_gets_the_files_back(
    tmp_path: Path, sqlite_server: ScratchServer
) -> None:
    repo = reverted(
        tmp_path,
        {"k8s/billing.yaml": atlas_configmap(MIGRATIONS_1)},
        {"k8s/billing.yaml": atlas_configmap(MIGRATIONS_2)},
    )
    source = only_source(repo.plan())
    assert (source.kind, source.manifest, source.name) == (
        "atlas-migration",
        "k8s/billing.yaml",
        "billing",
    )
    assert source.dialect == "sqlite"  # from the sqlite:// URL
    assert sqls(source) == DOWN and source.complete
    assert source.verdict is Verdict.NEEDS_APPROVAL
    assert [f.path for f in source.files] == ["k8s/billing.yaml"]
    content = source.files[0].content
    assert doc(content, "AtlasMigration") == doc(
        repo.show("HEAD", "k8s/billing.yaml"), "AtlasMigration"
    )
    data = doc(content, "ConfigMap")["data"]
    assert any(k.endswith(f"_rollback_{repo.head()[:7]}.sql") for k in data)
    assert_manifest_dir_proven(sqlite_server, repo, data)


def test_atlas_migration_local_dir_is_updated_in_place(
    tmp_path: Path, sqlite_server: ScratchServer
) -> None:
    repo = reverted(
        tmp_path,
        {"k8s/billing.yaml": atlas_local(MIGRATIONS_1)},
        {"k8s/billing.yaml": atlas_local(MIGRATIONS_2)},
    )
    source = only_source(repo.plan())
    assert source.kind == "atlas-migration" and sqls(source) == DOWN
    assert source.problems == ()
    assert [f.path for f in source.files] == ["k8s/billing.yaml"]
    local = doc(source.files[0].content, "AtlasMigration")["spec"]["dir"]["local"]
    assert_manifest_dir_proven(sqlite_server, repo, local)


def test_atlas_schema_is_declarative(tmp_path: Path) -> None:
    before = "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL);"
    after = (
        "CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text);\n"
        "CREATE INDEX users_email_idx ON users (email);"
    )
    repo = reverted(
        tmp_path,
        {"k8s/schema.yaml": atlas_schema(before)},
        {"k8s/schema.yaml": atlas_schema(after)},
    )
    source = only_source(repo.plan())
    assert (source.kind, source.dialect, source.name) == ("atlas-schema", "postgres", "app")
    # PostgreSQL drops the column's index with it: an explicit DROP INDEX is optional.
    assert sqls(source)[-1] == "ALTER TABLE users DROP COLUMN email"
    assert set(sqls(source)) <= {
        "DROP INDEX users_email_idx",
        "ALTER TABLE users DROP COLUMN email",
    }
    # The reverted manifest already holds the desired schema: the operator applies the diff.
    assert source.files == () and source.undone == ()
    assert not source.handwritten.present


def test_kustomize_generator_companion_files_go_to_the_directory(
    tmp_path: Path, sqlite_server: ScratchServer
) -> None:
    def dir_files(migrations: dict[str, str]) -> dict[str, str]:
        return {f"k8s/migrations/{k}": v for k, v in with_sum(migrations).items()}

    repo = reverted(
        tmp_path,
        {
            "k8s/kustomization.yaml": KUSTOMIZATION,
            "k8s/atlas.yaml": KUSTOMIZE_ATLAS,
            **dir_files(MIGRATIONS_1),
        },
        dir_files(MIGRATIONS_2),
    )
    plan = repo.plan()
    assert plan.problems == ()
    source = only_source(plan)  # the directory is the generated ConfigMap's, not a second source
    assert (source.kind, source.manifest, source.dialect) == (
        "atlas-migration",
        "k8s/atlas.yaml",
        "sqlite",
    )
    assert sqls(source) == DOWN and source.problems == ()
    assert all(f.path.startswith("k8s/migrations/") for f in source.files)
    assert_proven(sqlite_server, repo, source, "k8s/migrations", "sqlite")


def test_helm_hook_job_with_templated_tag_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = Repo(tmp_path / "app")
    job = HELM_JOB.replace("{{ .Values.image.tag }}", '{{ include "app.tag" . }}')
    repo.commit("Chart", {"chart/Chart.yaml": CHART, "chart/templates/migrate.yaml": job})
    repo.commit(
        "Verbose migrations",
        {"chart/templates/migrate.yaml": job.replace('"up"]', '"up", "-verbose"]')},
    )
    repo.revert("HEAD")
    source = only_source(repo.plan())
    assert (source.kind, source.path, source.down) == (
        "migration-job",
        "chart/templates/migrate.yaml",
        None,
    )
    said = " ".join((*source.problems, *source.notes))
    assert "image tag is templated" in said and "check them by hand" in said
    # Nothing could be computed for it: that needs a person, never passes as safe.
    assert source.verdict is Verdict.NEEDS_APPROVAL
    assert main(["plan", "--repo", str(repo.path), "--commit", "HEAD"]) == 1
    out, err = capsys.readouterr()
    assert "image tag is templated" in out and err == ""


@pytest.mark.parametrize("manifest", [atlas_configmap, atlas_local])
def test_nothing_to_run_still_updates_the_manifest(
    tmp_path: Path, manifest: Callable[[dict[str, str]], str]
) -> None:
    """A refused plan whose data-keeping variant runs nothing: the migrations stay applied,
    so the manifest gets them (and the atlas.sum listing them) back, as deployed."""
    added = {**MIGRATIONS_1, "20261102000000_points.sql": "ALTER TABLE invoices ADD points int;\n"}
    repo = Repo(tmp_path / "app")
    repo.commit("Billing database", {"k8s/billing.yaml": manifest(MIGRATIONS_1)})
    repo.commit("Add points", {"k8s/billing.yaml": manifest(added)})
    repo.revert("HEAD")
    source = only_source(repo.plan())
    assert source.verdict is Verdict.REFUSED
    assert source.safe_variant is not None and source.safe_variant.statements == ()
    assert [f.path for f in source.files] == ["k8s/billing.yaml"]
    assert list(yaml.safe_load_all(source.files[0].content)) == list(
        yaml.safe_load_all(repo.show("HEAD~1", "k8s/billing.yaml"))
    )


def test_the_plan_says_why_no_compensating_migration(tmp_path: Path) -> None:
    from bot.markdown.plan import plan_markdown

    added = {**MIGRATIONS_1, "20261102000000_points.sql": "ALTER TABLE invoices ADD points int;\n"}
    repo = Repo(tmp_path / "app")
    repo.commit("Billing database", {"k8s/billing.yaml": atlas_configmap(MIGRATIONS_1)})
    repo.commit("Add points", {"k8s/billing.yaml": atlas_configmap(added)})
    repo.revert("HEAD")
    text = plan_markdown(repo.plan())
    assert "the reverted migrations stay applied" in text
    assert "- `k8s/billing.yaml`: ConfigMap billing-migrations: migration files re-added" in text
