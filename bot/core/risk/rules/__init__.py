"""Every risk rule, in the order findings are reported (as sqlglot's optimizer lists its RULES).

A rule is a small pure function of one change and the schema just before it; see `base.Rule`.
docs/rules.md describes each id; a test keeps the two in step.
"""

from __future__ import annotations

from bot.core.changes import Change
from bot.core.risk.rules import (
    compatibility,
    data_loss,
    integrity,
    locks,
    might_fail,
    mysql,
    postgres,
    sqlite,
    unmodelled,
)
from bot.core.risk.rules.base import Context, Hit, Rule, rule

# Rules that look at changes, most serious category first.
RULES: tuple[Rule, ...] = (
    data_loss.drop_schema,
    data_loss.drop_table,
    data_loss.drop_column,
    data_loss.lossy_type_change,
    data_loss.enum_values_removed,
    might_fail.add_not_null_column,
    might_fail.set_not_null,
    might_fail.add_unique,
    might_fail.add_primary_key,
    might_fail.add_foreign_key,
    might_fail.rebuild_adds_constraint,
    might_fail.add_check,
    might_fail.narrowing_may_fail,
    might_fail.type_cast_may_fail,
    might_fail.sqlite_drop_table_referenced,
    postgres.pg_table_rewrite,
    postgres.index_without_concurrently,
    postgres.drop_index_locks,
    postgres.set_not_null_scan,
    postgres.constraint_without_not_valid,
    locks.lock_without_timeout,
    mysql.mysql_table_copy,
    sqlite.sqlite_table_rebuild,
    compatibility.rename_breaks_newer_app,
    compatibility.drop_breaks_newer_app,
    compatibility.required_column_breaks_newer_app,
    integrity.drop_foreign_key,
    integrity.drop_check,
    integrity.drop_unique,
    integrity.drop_primary_key,
    integrity.drop_not_null,
)

# Every rule id a finding can carry: the change rules and the one for unmodelled statements.
CATALOGUE: tuple[Rule, ...] = (*RULES, unmodelled.unmodelled)
BY_ID: dict[str, Rule] = {r.id: r for r in CATALOGUE}
_FOR_KIND: dict[type[Change], tuple[Rule, ...]] = {}


def rules_for(change: Change) -> tuple[Rule, ...]:
    """The RULES (in order) that can fire on `change`: its kind is in their `on`."""
    kind = type(change)
    found = _FOR_KIND.get(kind)
    if found is None:
        found = tuple(r for r in RULES if r.on is None or issubclass(kind, r.on))
        _FOR_KIND[kind] = found
    return found


__all__ = ["BY_ID", "CATALOGUE", "RULES", "Context", "Hit", "Rule", "rule", "rules_for"]
