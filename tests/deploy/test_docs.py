"""docs/deploy.md covers what the deployment artifacts use: every setting, every entry point,
every chart value."""

from __future__ import annotations

import re

from tests.deploy.conftest import CHART_DIR, DEPLOY, DOCS, ENTRY_POINTS, REPO
from tests.deploy.helmrender import Chart


def _settings_in(text: str) -> set[str]:
    return set(re.findall(r"ROLLBACK_PLAN_[A-Z0-9_]*[A-Z0-9]", text))


def test_every_setting_the_bot_reads_is_documented() -> None:
    source = (REPO / "bot" / "settings.py").read_text()
    names = {"ROLLBACK_PLAN_" + name for name in re.findall(r'reader\.\w+\(\s*"([A-Z_]+)"', source)}
    assert "ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET" in names, "the settings reader has moved"
    documented = _settings_in(DOCS.read_text())
    assert names - documented == set()


def test_every_setting_the_deployment_sets_is_documented() -> None:
    used: set[str] = set()
    for path in [*DEPLOY.rglob("*"), REPO / "app.yml"]:
        if path.is_file() and path.suffix in ("", ".yml", ".yaml", ".py", ".example", ".tpl"):
            used |= _settings_in(path.read_text())
    chart = Chart(CHART_DIR)
    used |= {"ROLLBACK_PLAN_" + key for key in chart.values["config"]}
    documented = _settings_in(DOCS.read_text())
    # `_FILE` variants are documented once, as a rule for every secret
    missing = {name for name in used - documented if name.removesuffix("_FILE") not in documented}
    assert missing == set()


def test_entry_points_and_chart_values_are_documented() -> None:
    docs = DOCS.read_text()
    for command in ENTRY_POINTS:
        shown = " ".join(f'"{w}"' if ":" in w else w for w in command)
        assert shown in docs or " ".join(command) in docs, shown
    for key in Chart(CHART_DIR).values:
        assert f"`{key}" in docs, f"chart value {key} is not documented"
