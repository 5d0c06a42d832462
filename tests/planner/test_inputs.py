"""Bad input is reported and the rest is planned; the output contracts (JSON, Markdown)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli import main
from tests.planner.manifests_data import KUSTOMIZE_ATLAS
from tests.planner.repo import Repo, only_source, sqls
from tests.planner.test_shapes import CONFIG, EMAIL, USERS


def reverted(tmp_path: Path, extra: dict[str, str | bytes | None]) -> Repo:
    """A golang-migrate revert that plans fine, next to `extra` (bad) files."""
    repo = Repo(tmp_path / "app")
    repo.commit("Users", {".rollback-plan.yml": CONFIG, **USERS, **extra})
    repo.commit("Add email", EMAIL)
    repo.revert("HEAD")
    return repo


def run(repo: Repo, capsys: pytest.CaptureFixture[str], *more: str) -> tuple[int, str, str]:
    code = main(["plan", "--repo", str(repo.path), "--commit", "HEAD", *more])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({"k8s/broken.yaml": "kind: ConfigMap\ndata: [unclosed\n"}, "k8s/broken.yaml"),
        ({"k8s/atlas.yaml": KUSTOMIZE_ATLAS}, "ConfigMap 'billing-migrations'"),
        ({"db/migrations/000009_seed.up.sql": b"\x00\x01\x02binary"}, "000009_seed.up.sql"),
        pytest.param(
            {
                "k8s/atlas.yaml": KUSTOMIZE_ATLAS,
                "k8s/kustomization.yaml": (
                    "configMapGenerator:\n  - name: billing-migrations\n"
                    "    files:\n      - ../../etc/passwd\n"
                ),
            },
            "outside the repository",
        ),
    ],
    ids=["corrupt-yaml", "missing-configmap", "binary-sql", "dotdot-kustomize"],
)
def test_bad_files_are_reported_and_the_rest_planned(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: dict[str, str | bytes | None],
    said: str,
) -> None:
    repo = reverted(tmp_path, extra)
    plan = repo.plan()
    source = next(s for s in plan.sources if s.path == "db/migrations")
    assert sqls(source) == ["ALTER TABLE users DROP COLUMN email"]
    everything = [*plan.problems, *(p for s in plan.sources for p in s.problems)]
    assert any(said in p for p in everything), everything
    code, out, _ = run(repo, capsys)
    # Dropping the column loses data (refused, exit 1); the bad files don't stop the plan.
    assert code == 1 and "ALTER TABLE users DROP COLUMN email" in out
    assert "**Verdict: refused" in out


def test_symlink_out_of_the_repo_is_not_followed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "secret.sql"
    secret.write_text("DROP TABLE users;\n")
    repo = Repo(tmp_path / "app")
    repo.commit("Users", {".rollback-plan.yml": CONFIG, **USERS})
    os.symlink(secret, repo.path / "db/migrations/000005_evil.up.sql")
    repo.commit("Add email", EMAIL)
    repo.revert("HEAD")
    plan = repo.plan()
    assert any("000005_evil.up.sql: symbolic link, not followed" in p for p in plan.problems)
    assert sqls(only_source(plan)) == ["ALTER TABLE users DROP COLUMN email"]
    assert "DROP TABLE users" not in run(repo, capsys)[1]


def test_config_with_wrong_types(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = Repo(tmp_path / "app")
    bad = "version: 1\nsources:\n  - path: db/migrations\n    dialect: 42\n"
    repo.commit("Users", {".rollback-plan.yml": bad, **USERS})
    repo.commit("Add email", EMAIL)
    repo.revert("HEAD")
    plan = repo.plan()
    assert any(".rollback-plan.yml" in p and "dialect" in p for p in plan.problems), plan.problems
    code, out, _ = run(repo, capsys, "--dialect", "sqlite")
    assert code == 1 and "ALTER TABLE users DROP COLUMN email" in out
    assert "**Verdict: refused" in out  # the broken config loosens nothing


def test_shallow_clone_without_the_parent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = reverted(tmp_path, {})
    clone = Repo(tmp_path / "clone")
    clone.git("fetch", "-q", "--depth", "1", f"file://{repo.path}", "main")
    clone.git("checkout", "-q", "FETCH_HEAD")
    code, out, err = run(clone, capsys)
    assert code == 2 and out == ""
    assert "shallow clone" in err and err.count("\n") == 1


def test_nothing_plannable_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = Repo(tmp_path / "app")
    repo.commit("a", {".rollback-plan.yml": "sources: 3\n", "README.md": "a\n"})
    repo.commit("b", {"README.md": "b\n"})
    repo.revert("HEAD")
    code, out, err = run(repo, capsys)
    assert code == 2 and out == ""
    assert ".rollback-plan.yml" in err and "nothing could be planned" in err


def test_json_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = reverted(tmp_path, {})
    code, out, _ = run(repo, capsys, "--format", "json")
    assert code == 1  # refused: dropping the column loses data
    doc = json.loads(out)
    assert doc["schema_version"] == 1
    assert doc["verdict"] == "refused"
    assert doc["revert"]["commit"] == repo.head()
    assert doc["revert"]["reverts"] == [repo.git("rev-parse", "HEAD~1")]
    assert doc["revert"]["detected_by"] == "git-message"
    (source,) = doc["sources"]
    assert {"kind", "path", "manifest", "dialect", "statements", "unmodelled"} <= set(source)
    assert {"handwritten_down", "files"} <= set(source)
    assert (source["kind"], source["path"], source["manifest"], source["dialect"]) == (
        "directory",
        "db/migrations",
        None,
        "sqlite",
    )
    assert source["verdict"] == "refused"
    # Later issues add fields (risks); the documented ones must be there, unchanged.
    assert [{k: st[k] for k in ("sql", "change", "object")} for st in source["statements"]] == [
        {
            "sql": "ALTER TABLE users DROP COLUMN email",
            "change": "drop_column",
            "object": "users.email",
        }
    ]
    assert source["unmodelled"] == []
    down = source["handwritten_down"]
    assert (down["present"], down["restores"], down["differences"]) == (True, True, [])
    assert all(set(f) >= {"path", "content"} for f in source["files"])


def test_markdown_escapes_the_commit_title(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = reverted(tmp_path, {})
    repo.git(
        "commit",
        "-q",
        "--amend",
        "-m",
        'Revert "<script>alert(1)</script> *bold*"\n\n'
        f"This reverts commit {repo.git('rev-parse', 'HEAD~1')}.",
    )
    code, out, _ = run(repo, capsys)
    assert code == 1
    assert out.startswith("<!-- rollback-plan:plan -->")
    assert "```sql\nALTER TABLE users DROP COLUMN email;\n```" in out
    assert "<script>" not in out and "*bold*" not in out
    assert r"\<script\>" in out


def test_a_history_with_missing_objects_is_still_planned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A partial clone (blobs filtered out, like a mirror without its largest files): the
    earlier commits can't be diffed, but the plan of the two trees it has still comes out."""
    repo = Repo(tmp_path / "app")
    repo.commit(
        "a", {"notes.txt": "first\n", "db/migrations/0001_t.up.sql": "CREATE TABLE t (id int);\n"}
    )
    old_tree = repo.git("rev-parse", "HEAD^{tree}")
    repo.commit(
        "b", {"notes.txt": "second\n", "db/migrations/0002_u.up.sql": "CREATE TABLE u (id int);\n"}
    )
    repo.commit("c", {"other.txt": "c\n"})
    repo.revert("HEAD~1")
    (repo.path / ".git" / "objects" / old_tree[:2] / old_tree[2:]).unlink()
    code, out, err = run(repo, capsys, "--dialect", "sqlite")
    assert code == 1 and "Traceback" not in err  # refused: dropping table u loses data
    assert "the earlier commits were not searched" in out
    assert "DROP TABLE u;" in out
