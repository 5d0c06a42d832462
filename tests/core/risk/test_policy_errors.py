"""A bad `policy:` in .rollback-plan.yml is reported whole: the key, what it accepts, and what
was written; and the policy shown in the JSON plan says `off` for a timeout that is off."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.risk.analyse import policy_as_config, policy_from_config

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


def test_a_day_is_the_longest_timeout_accepted() -> None:
    timeouts = policy_from_config({"timeouts": {"lock": "24h", "statement": 86_400}}).timeouts
    assert (timeouts.lock_ms, timeouts.statement_ms) == (86_400_000, 86_400_000)


def test_the_plan_shows_a_timeout_that_is_off_as_off() -> None:
    lock_off = policy_from_config({"timeouts": {"lock": "off", "statement": "1500ms"}})
    assert policy_as_config(lock_off)["timeouts"] == {"lock": "off", "statement": "1500ms"}
    statement_off = policy_from_config({"timeouts": {"lock": "2s", "statement": 0}})
    assert policy_as_config(statement_off)["timeouts"] == {"lock": "2s", "statement": "off"}
