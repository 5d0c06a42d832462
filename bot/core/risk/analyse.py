"""Run the rules over a down, apply allows and the policy, and give the verdict.

Each change is judged against the schema just before it: the changes are walked with a
`State`, so a rule knows the column a DropColumn removes or the old type of an AlterColumn.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core import changes as ch
from bot.core.changes import Change, change_kind, change_object
from bot.core.model import Dialect, Schema
from bot.core.render import Rendered
from bot.core.replay import Allow, Unmodelled
from bot.core.risk import Category, Finding, Policy, Verdict, strictest
from bot.core.risk.rules import BY_ID, RULES, Context
from bot.core.risk.rules import unmodelled as unmodelled_rule
from bot.core.state import State


@dataclass(frozen=True)
class StepRisk:
    """One change of the down and what the rules found about it."""

    change: Change
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Assessment:
    steps: tuple[StepRisk, ...]  # one per change of the down, in order
    unmodelled: tuple[Finding, ...]  # one per statement the engine could not model
    verdict: Verdict  # the strictest over every finding, under `policy`
    policy: Policy = field(default_factory=Policy)  # the policy the verdict was given under

    def findings(self) -> list[Finding]:
        return [f for s in self.steps for f in s.findings] + list(self.unmodelled)


def assess(
    changes: Sequence[Change],
    before: Schema,
    *,
    policy: Policy | None = None,
    unmodelled: Sequence[Unmodelled] = (),
    allows: Sequence[Allow] = (),
) -> Assessment:
    """Findings for every change of a down applied to `before`, and the verdict under `policy`."""
    policy = policy if policy is not None else Policy()
    state = State(before.dialect, before)
    fresh: set[tuple[str, str]] = set()
    steps: list[StepRisk] = []
    for change in changes:
        ctx = Context(state, frozenset(fresh))
        found = [
            _allowed(f, allows, policy, before.dialect) for r in RULES for f in r.run(change, ctx)
        ]
        steps.append(StepRisk(change, tuple(found)))
        _follow_fresh(change, state, fresh)
        state.apply(change)
    unknown = tuple(
        _allowed(unmodelled_rule.finding(u), allows, policy, before.dialect) for u in unmodelled
    )
    every = [f for s in steps for f in s.findings] + list(unknown)
    verdict = strictest([policy.verdict(f) for f in every])
    return Assessment(tuple(steps), unknown, verdict, policy)


def statement_findings(
    assessment: Assessment, rendered: Sequence[Rendered]
) -> list[tuple[Rendered, tuple[Finding, ...]]]:
    """Each rendered statement with the findings of the change it implements.

    A change rendered as several statements (a SQLite rebuild, a re-created enum) has its
    findings on the first of them. A change the renderer folded into an earlier statement
    (SQLite rebuilds a run of changes to one table at once) adds its findings to that one.
    """
    attached: list[list[Finding]] = [[] for _ in rendered]
    pos = 0
    for step in assessment.steps:
        key = (change_kind(step.change), change_object(step.change))
        at = next(
            (
                j
                for j in range(pos, len(rendered))
                if (rendered[j].change, rendered[j].object) == key
            ),
            None,
        )
        if at is None:
            at = pos - 1 if pos > 0 else (0 if rendered else None)
        else:
            pos = at + 1
            # skip the rest of this change's own statements
            while pos < len(rendered) and (rendered[pos].change, rendered[pos].object) == key:
                pos += 1
        if at is not None:
            attached[at].extend(step.findings)
    return [(r, tuple(f)) for r, f in zip(rendered, attached, strict=True)]


def _follow_fresh(change: Change, state: State, fresh: set[tuple[str, str]]) -> None:
    """Keep track of the tables this down created: they hold no rows yet."""
    match change:
        case ch.CreateTable(table):
            fresh.add(state.key(table.name))
        case ch.DropTable(table):
            fresh.discard(state.key(table.name))
        case ch.RenameTable(old, new) if state.key(old) in fresh:
            fresh.discard(state.key(old))
            fresh.add(state.key(new))


def _allowed(
    finding: Finding, allows: Sequence[Allow], policy: Policy, dialect: Dialect
) -> Finding:
    """The finding marked suppressed when an allow comment or the policy's `allow` covers it."""
    for allow in allows:
        if allow.rule == finding.rule and _covers(allow, finding.object, dialect):
            return replace(
                finding, suppressed=allow.reason or f"allowed at {allow.file}:{allow.line}"
            )
    if finding.rule in policy.allow:
        return replace(finding, suppressed=policy.allow[finding.rule] or "allowed by the policy")
    return finding


def _covers(allow: Allow, obj: str, dialect: Dialect) -> bool:
    """An allow covers the objects its statement touched, what is inside them (a table's
    columns), and, for an unmodelled statement, that statement's place."""

    def norm(name: str) -> str:
        return name if dialect is Dialect.POSTGRES else name.lower()

    target = norm(obj)
    names = [norm(o) for o in allow.objects] + [f"{allow.file}:{allow.line}"]
    return any(target == n or target.startswith(n + ".") for n in names)


# -- policy from .rollback-plan.yml ---------------------------------------------------------

_CATEGORY_KEYS = {c.value.replace("-", "_"): c for c in Category}
_VERDICT_WORDS = {
    "safe": Verdict.SAFE,
    "needs-approval": Verdict.NEEDS_APPROVAL,
    "needs_approval": Verdict.NEEDS_APPROVAL,
    "refused": Verdict.REFUSED,
    "refuse": Verdict.REFUSED,
}
_LIST_KEYS = {
    "safe": Verdict.SAFE,
    "needs_approval": Verdict.NEEDS_APPROVAL,
    "refused": Verdict.REFUSED,
}


def policy_from_config(
    mapping: Mapping[str, Any], base: Policy | None = None, *, where: str = "policy"
) -> Policy:
    """The `policy:` section of .rollback-plan.yml, layered on `base` (the repository's policy
    when reading a source's). Raises ValueError naming the bad key and what it accepts.

    Keys (`-` and `_` are the same): one per category (`data_loss`, `might_fail`, `locking`,
    `compatibility`, `integrity`, `unmodelled`) with a verdict; `safe`/`needs_approval`/
    `refused` with a list of categories; `rules: {rule-id: verdict}`; `allow: {rule-id: reason}`.
    """
    base = base if base is not None else Policy()
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    categories = dict(base.categories)
    rules = dict(base.rules)
    allow = dict(base.allow)
    for raw_key, value in mapping.items():
        key = str(raw_key).strip().lower().replace("-", "_")
        here = f"{where}.{raw_key}"
        if key in _CATEGORY_KEYS:
            categories[_CATEGORY_KEYS[key]] = _category_verdict(here, _CATEGORY_KEYS[key], value)
        elif key in _LIST_KEYS:
            if not isinstance(value, list):
                raise ValueError(f"{here}: expected a list of categories, got {_shown(value)}")
            for item in value:
                name = str(item).strip().lower().replace("-", "_")
                if name not in _CATEGORY_KEYS:
                    raise ValueError(
                        f"{here}: unknown category {_shown(item)}; expected "
                        f"{_choices(_CATEGORY_KEYS)}{_did_you_mean(name, _CATEGORY_KEYS)}"
                    )
                categories[_CATEGORY_KEYS[name]] = _category_verdict(
                    here, _CATEGORY_KEYS[name], _LIST_KEYS[key].value
                )
        elif key == "rules":
            for rule_id, verdict in _mapping(here, value).items():
                rule = _rule(here, rule_id)
                chosen = _verdict(f"{here}.{rule_id}", verdict)
                if rule.category is Category.DATA_LOSS and chosen is Verdict.SAFE:
                    raise ValueError(
                        f"{here}.{rule_id}: losing data is never safe; use needs-approval, or "
                        f"an allow comment on the statement"
                    )
                rules[rule.id] = chosen
        elif key == "allow":
            for rule_id, reason in _mapping(here, value).items():
                rule = _rule(here, rule_id)
                if reason is not None and not isinstance(reason, str):
                    raise ValueError(
                        f"{here}.{rule_id}: expected the reason as text, got {_shown(reason)}"
                    )
                allow[rule.id] = (reason or "").strip()
        else:
            known = [*_CATEGORY_KEYS, *_LIST_KEYS, "rules", "allow"]
            raise ValueError(
                f"{here}: unknown key; expected one of {', '.join(known)}"
                + _did_you_mean(key, known)
            )
    return Policy(categories, rules, allow)


def policy_as_config(policy: Policy) -> dict[str, Any]:
    """The policy as plain values, in the shape `policy_from_config` reads (for the JSON plan)."""
    return {
        **{c.value.replace("-", "_"): policy.categories[c].value for c in policy.categories},
        "rules": {k: v.value for k, v in sorted(policy.rules.items())},
        "allow": dict(sorted(policy.allow.items())),
    }


def _category_verdict(where: str, category: Category, value: object) -> Verdict:
    chosen = _verdict(where, value)
    if category is Category.DATA_LOSS and chosen is Verdict.SAFE:
        raise ValueError(f"{where}: losing data is never safe; expected needs-approval or refused")
    if category is Category.UNMODELLED and chosen is Verdict.SAFE:
        raise ValueError(
            f"{where}: a statement the engine could not read always needs a person; expected "
            "needs-approval or refused (an allow comment can accept one statement)"
        )
    return chosen


def _verdict(where: str, value: object) -> Verdict:
    text = value.strip().lower() if isinstance(value, str) else None
    if text is None or text not in _VERDICT_WORDS:
        raise ValueError(
            f"{where}: expected one of safe, needs-approval, refused, got {_shown(value)}"
        )
    return _VERDICT_WORDS[text]


def _mapping(where: str, value: object) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping of rule id to value, got {_shown(value)}")
    return {str(k): v for k, v in value.items()}


def _rule(where: str, rule_id: str) -> Any:
    rule = BY_ID.get(rule_id.strip().lower())
    if rule is None:
        raise ValueError(
            f"{where}: unknown rule {rule_id!r} (docs/rules.md lists them)"
            + _did_you_mean(rule_id, BY_ID)
        )
    return rule


def _did_you_mean(word: str, choices: Sequence[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _choices(choices: Mapping[str, Any]) -> str:
    return ", ".join(choices)


def _shown(value: object) -> str:
    return (
        repr(value)
        if isinstance(value, (str, int, float, bool)) or value is None
        else (type(value).__name__)
    )
