"""Each rule is asked only about the kinds of change it names in `on` (rules_for): whatever
any rule finds on the downs and the forward changes of every golden case, it is asked there."""

from __future__ import annotations

from bot.core.down import down_between
from bot.core.replay import Migration, replay
from bot.core.risk.rules import RULES, Context, rules_for
from bot.core.state import State, StateError
from tests.golden.test_golden import all_cases


def test_every_finding_comes_from_a_rule_asked_about_that_kind_of_change() -> None:
    asked = fired = 0
    for case in all_cases():
        older = [Migration("history.sql", case.history)]
        newer = [*older, Migration("migration.sql", case.migration)]
        for start, end in ((newer, older), (older, newer)):
            try:
                down = down_between(start, end, case.dialect)
                state = State(case.dialect, replay(start, case.dialect).schema)
            except Exception:  # a case about unreadable SQL: nothing to walk
                continue
            for change in down.changes:
                for lock_timeout in (True, False):
                    ctx = Context(state, frozenset(), lock_timeout)
                    for rule in RULES:
                        if rule.run(change, ctx):
                            fired += 1
                            assert rule in rules_for(change), (case.id, rule.id, change)
                asked += 1
                try:
                    state.apply(change)
                except StateError:
                    break
    assert asked > 1000 and fired > 500  # the golden cases cover many kinds of change
