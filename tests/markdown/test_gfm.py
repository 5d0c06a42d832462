"""The demo plan as GitHub renders it (cmark-gfm, GitHub's own Markdown library): tables,
collapsed sections and code blocks come out as HTML structure, not as stray text."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import git
import pytest

from bot.markdown.plan import plan_markdown
from bot.planner import plan_commit

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> ET.Element:
    cmark = shutil.which("cmark-gfm")
    if cmark is None:
        if os.environ.get("CI") == "true":
            pytest.fail("cmark-gfm is not installed (.ci/run installs it)")
        pytest.skip("cmark-gfm is not installed (apt-get install cmark-gfm)")
    repo = tmp_path_factory.mktemp("gfm") / "demo"
    subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo_repo.py"), str(repo)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    text = plan_markdown(plan_commit(git.Repo(repo), "HEAD", now=datetime.now(UTC)))
    # GitHub's extensions; raw HTML kept (GitHub allows <details>, then sanitizes)
    rendered = subprocess.run(
        [
            cmark,
            "--unsafe",
            "-e",
            "table",
            "-e",
            "strikethrough",
            "-e",
            "autolink",
            "-e",
            "tagfilter",
        ],
        input=text,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # well-formed: every raw tag the template writes is closed where it should be
    return ET.fromstring(f"<root>{rendered}</root>")


def _text(e: ET.Element) -> str:
    return "".join(e.itertext())


def test_the_summary_table_is_a_table(html: ET.Element) -> None:
    (table,) = html.findall("table")
    head = [_text(th) for th in table.findall("thead/tr/th")]
    assert head == ["Source", "Database", "Steps", "Verdict", "Author's down", "Status"]
    rows = [[_text(td) for td in tr.findall("td")] for tr in table.findall("tbody/tr")]
    assert [r[0] for r in rows] == [
        "db/migrations",
        "deploy/k8s/billing.yaml#configmap/billing-migrations",
    ]
    assert all(len(r) == 6 for r in rows)


def test_headings_and_the_marker(html: ET.Element) -> None:
    assert _text(html.find("h2")).startswith("Rollback plan for ")  # type: ignore[arg-type]
    assert [_text(h) for h in html.findall("h3")] == [
        "db/migrations",
        "deploy/k8s/billing.yaml#configmap/billing-migrations",
    ]
    assert "rollback-plan:plan" not in _text(html)  # the hidden marker stays hidden


def test_collapsed_sections_hold_their_code(html: ET.Element) -> None:
    details = html.findall("details")
    assert details
    for d in details:
        summary = d.find("summary")
        assert summary is not None and _text(summary).endswith(".sql")
        code = d.find("pre/code")
        assert code is not None and code.get("class") == "language-sql"
        assert "ALTER TABLE" in _text(code)


def test_code_blocks_are_code_and_no_fence_leaks(html: ET.Element) -> None:
    blocks = [c for c in html.iter("code") if c.get("class") == "language-sql"]
    assert len(blocks) >= 4 and all(_text(b).endswith(";\n") for b in blocks)
    assert "```" not in _text(html)
    # escaped user text reads as written: no backslashes left by the escaping
    (note,) = html.findall("blockquote")
    assert _text(note).strip().startswith("deploy/k8s/billing.yaml#configmap/billing-migrations:")
    assert "\\" not in _text(html)
