"""A bad `policy:` in .rollback-plan.yml is reported whole: the key, what it accepts, and what
was written; the JSON plan says `off` for a timeout that is off; any lock timeout counts."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.risk import Category, Verdict
from bot.core.risk.analyse import policy_as_config, policy_from_config
from tests.core.risk.helpers import rollback

_CATEGORIES = "data_loss, might_fail, locking, compatibility, integrity, unmodelled"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"unmodelled": "safe"},
            "policy.unmodelled: a statement the engine could not read always needs a person; "
            "expected needs-approval or refused (an allow comment can accept one statement)",
        ),
        ({"locking": 3}, "policy.locking: expected one of safe, needs-approval, refused, got 3"),
        (
            {"locking": None},
            "policy.locking: expected one of safe, needs-approval, refused, got None",
        ),
        ({"rules": "x"}, "policy.rules: expected a mapping of rule id to value, got 'x'"),
        ({"allow": ["x"]}, "policy.allow: expected a mapping of rule id to value, got list"),
        (
            {"rules": {"drop-check": "maybe"}},
            "policy.rules.drop-check: expected one of safe, needs-approval, refused, got 'maybe'",
        ),
        (
            {"allow": {"drop-colum": "x"}},
            "policy.allow: unknown rule 'drop-colum' (docs/rules.md lists them); "
            "did you mean 'drop-column'?",
        ),
        (
            {"rules": {"drop-colum": "refused"}},
            "policy.rules: unknown rule 'drop-colum' (docs/rules.md lists them); "
            "did you mean 'drop-column'?",
        ),
        (
            {"allow": {"drop-check": 3}},
            "policy.allow.drop-check: expected the reason as text, got 3",
        ),
        ({"safe": "locking"}, "policy.safe: expected a list of categories, got 'locking'"),
        (
            {"safe": ["data_loss"]},
            "policy.safe: losing data is never safe; expected needs-approval or refused",
        ),
        (
            {"refused": ["speed"]},
            f"policy.refused: unknown category 'speed'; expected {_CATEGORIES}",
        ),
        (
            {"zzz": 1},
            f"policy.zzz: unknown key; expected one of {_CATEGORIES}, safe, needs_approval, "
            "refused, rules, allow, timeouts",
        ),
        (
            {"timeouts": ["5s"]},
            "policy.timeouts: expected a mapping with lock and statement, got list",
        ),
        (
            {"timeouts": {"lock": [1]}},
            "policy.timeouts.lock: expected a duration such as 500ms, 5s, 2min or 1h, or off, "
            "got list",
        ),
        (
            {"timeouts": {"lock": "25h"}},
            "policy.timeouts.lock: expected at most 24h (0 or off for none), got '25h'",
        ),
    ],
)
def test_a_bad_policy_value_is_named_with_what_was_written(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        policy_from_config(config)
    assert str(raised.value) == message


def test_a_policy_that_is_not_a_mapping_says_what_it_is() -> None:
    with pytest.raises(ValueError) as raised:
        policy_from_config(["locking"])  # type: ignore[arg-type]
    assert str(raised.value) == "policy: expected a mapping, got list"


def test_a_list_of_categories_accepts_dashes() -> None:
    policy = policy_from_config({"needs-approval": ["might-fail", "Compatibility "]})
    assert policy.categories[Category.MIGHT_FAIL] is Verdict.NEEDS_APPROVAL
    assert policy.categories[Category.COMPATIBILITY] is Verdict.NEEDS_APPROVAL


def test_a_day_is_the_longest_timeout_accepted() -> None:
    timeouts = policy_from_config({"timeouts": {"lock": "24h", "statement": 86_400}}).timeouts
    assert (timeouts.lock_ms, timeouts.statement_ms) == (86_400_000, 86_400_000)


def test_the_plan_shows_a_timeout_that_is_off_as_off() -> None:
    lock_off = policy_from_config({"timeouts": {"lock": "off", "statement": "1500ms"}})
    assert policy_as_config(lock_off)["timeouts"] == {"lock": "off", "statement": "1500ms"}
    statement_off = policy_from_config({"timeouts": {"lock": "2s", "statement": 0}})
    assert policy_as_config(statement_off)["timeouts"] == {"lock": "2s", "statement": "off"}


@pytest.mark.parametrize(("lock", "warned"), [("1ms", False), ("off", True)])
def test_any_lock_timeout_quiets_lock_without_timeout(lock: str, warned: bool) -> None:
    policy = policy_from_config({"timeouts": {"lock": lock}})
    rename = "ALTER TABLE users RENAME COLUMN name TO full_name;"
    _, assessment = rollback("postgres", "CREATE TABLE users (id int, name text);", rename, policy)
    assert ("lock-without-timeout" in {f.rule for f in assessment.findings()}) is warned
