"""Run the rules over a down, apply allows and the policy, and give the verdict.

Each change is judged against the schema just before it: the changes are walked with a
`State`, so a rule knows the column a DropColumn removes or the old type of an AlterColumn.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core import changes as ch
from bot.core.changes import Change, change_kind, change_object
from bot.core.model import Dialect, QName, Schema
from bot.core.render import Rendered
from bot.core.render.session import KIND as SESSION
from bot.core.render.session import Timeouts, duration
from bot.core.replay import Allow, Migration, Unmodelled, replay_one
from bot.core.risk import Category, Finding, Policy, Verdict, strictest
from bot.core.risk.rules import BY_ID, Context, data_loss, rules_for
from bot.core.risk.rules import unmodelled as unmodelled_rule
from bot.core.state import State, StateError


@dataclass(frozen=True)
class StepRisk:
    """One change of the down and what the rules found about it."""

    change: Change
    findings: tuple[Finding, ...]
    # per finding, a pattern naming which of the change's statements carries it (None: its first)
    at: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class Assessment:
    steps: tuple[StepRisk, ...]  # one per change of the down, in order
    unmodelled: tuple[Finding, ...]  # one per statement the engine could not model
    verdict: Verdict  # the strictest over every finding, under `policy`
    policy: Policy = field(default_factory=Policy)  # the policy the verdict was given under
    # data loss read from the shipped SQL that no change's finding covers: (statement, finding)
    shipped: tuple[tuple[int, Finding], ...] = ()
    # SQLite table swaps: the step of each rename and drop that renders nothing, and the step
    # whose statements (the rebuild) do it
    folded: tuple[tuple[int, int], ...] = ()

    def findings(self) -> list[Finding]:
        return (
            [f for s in self.steps for f in s.findings]
            + [f for _, f in self.shipped]
            + list(self.unmodelled)
        )


def assess(
    changes: Sequence[Change],
    before: Schema,
    *,
    policy: Policy | None = None,
    unmodelled: Sequence[Unmodelled] = (),
    allows: Sequence[Allow] = (),
    statements: Sequence[Rendered] = (),
    each: Callable[[Change, State], object] | None = None,
) -> Assessment:
    """Findings for every change of a down applied to `before`, and the verdict under `policy`.

    With `statements` (the SQL that ships), data loss is also read from the SQL itself, so a
    statement that loses data the changes don't show can never leave the down `safe`. `each`
    is called with every change and the state just before it (the gate's alternatives are
    made on the same walk), and must not change the state.
    """
    policy = policy if policy is not None else Policy()
    state = State(before.dialect, before)
    fresh: set[tuple[str, str]] = set()
    steps: list[StepRisk] = []
    filled, folded = _rebuilds(changes, before.dialect)
    # a swap's steps but its new table ship as one row-keeping rebuild: whichever order the
    # swap came in (rename first, or create first), the new table's shape is what is judged
    quiet = ({k for k, _ in folded} | {k for _, k in folded}) - filled.keys()
    for i, change in enumerate(changes):
        if each is not None:
            each(change, state)
        if i in quiet:
            # a swap's rename and drop ship as part of one row-keeping rebuild: what it loses
            # is read from its copy (sql_losses), what may fail from the new table's shape
            steps.append(StepRisk(change, (), ()))
            _follow_fresh(change, state, fresh)
            state.apply(change)
            continue
        source, rebuilt = filled.get(i, (None, None))
        ctx = Context(
            state,
            frozenset(fresh),
            policy.timeouts.lock_ms > 0,
            state.table(source) if source is not None else None,
            rebuilt,
        )
        located = [(f, at) for r in rules_for(change) for f, at in r.located(change, ctx)]
        found = tuple(_allowed(f, allows, policy, before.dialect) for f, _ in located)
        steps.append(StepRisk(change, found, tuple(at for _, at in located)))
        if source is None:  # a rebuild's new table is filled with the old one's rows
            _follow_fresh(change, state, fresh)
        state.apply(change)
    unknown = tuple(
        _allowed(unmodelled_rule.finding(u), allows, policy, before.dialect) for u in unmodelled
    )
    known = [f for s in steps for f in s.findings]
    lost = {k.object for k in known if k.category is Category.DATA_LOSS}
    shipped = tuple(
        (i, _allowed(f, allows, policy, before.dialect))
        for i, f in sql_losses(statements, before, changes)
        if not _covered(f, lost)
    )
    every = known + [f for _, f in shipped] + list(unknown)
    verdict = strictest([policy.verdict(f) for f in every])
    return Assessment(tuple(steps), unknown, verdict, policy, shipped, folded)


def statement_findings(
    assessment: Assessment, rendered: Sequence[Rendered]
) -> list[tuple[Rendered, tuple[Finding, ...]]]:
    """Each rendered statement with the findings of the change it implements.

    A change rendered as several statements (a SQLite rebuild, a re-created enum) has each
    finding on the statement its rule names (the enum's ALTER TABLE ... USING), else on the
    first. A change with no statement of its own (folded into a SQLite rebuild, or made by a
    later DROP COLUMN / DROP TABLE) has them on the statement about its table that does it.
    """
    attached: list[list[Finding]] = [[] for _ in rendered]
    pos = 0
    last: tuple[tuple[str, str], list[int]] | None = None  # the previous change's statements
    folded = dict(assessment.folded)
    # a rebuild's step -> the findings of its swap's others, each with the statement it names
    waiting: dict[int, list[tuple[Finding, str | None]]] = {}
    rebuilt: dict[int, list[int]] = {}  # a rebuild's step -> its statements

    def place(found: list[tuple[Finding, str | None]], own: list[int]) -> None:
        # a SQLite rebuild's findings are about its new table, not its PRAGMA or BEGIN; a
        # change that renders only the rebuild's closing check belongs to it as well
        home = next((j for j in own if _REBUILT.match(_sql(rendered[j]))), own[0])
        home = _rebuild_home(rendered, home)
        for finding, pattern in found:
            j = next(
                (j for j in own if pattern and re.search(pattern, _sql(rendered[j]), re.I | re.M)),
                home,
            )
            attached[j].append(finding)

    for n, step in enumerate(assessment.steps):
        patterns = step.at or (None,) * len(step.findings)
        mine = list(zip(step.findings, patterns, strict=True))
        if n in folded:  # renders nothing: its findings go with the rebuild that does it
            middle = folded[n]
            if middle in rebuilt:
                place(mine, rebuilt[middle])
            else:
                waiting.setdefault(middle, []).extend(mine)
            continue
        key = (change_kind(step.change), change_object(step.change))
        first = next(
            (
                j
                for j in range(pos, len(rendered))
                if (rendered[j].change, rendered[j].object) == key
            ),
            None,
        )
        if first is None and last is not None and last[0] == key:
            # two changes of one column (a comment, then its type) rendered as one group
            # of statements: each finding still goes to the statement its rule names
            own = last[1]
        elif first is None:
            at = _carrier(step.change, rendered, pos)
            if at is not None:
                attached[_rebuild_home(rendered, at)].extend(step.findings)
            continue
        else:
            own = [first]
            while (
                own[-1] + 1 < len(rendered)
                and (
                    rendered[own[-1] + 1].change,
                    rendered[own[-1] + 1].object,
                )
                == key
            ):
                own.append(own[-1] + 1)
            pos = own[-1] + 1
            last = (key, own)
        if n in waiting or n in folded.values():
            rebuilt[n] = own
            place(waiting.pop(n, []), own)
        place(mine, own)
    # the shipped findings were read from the statements before the session preamble
    offset = next((j for j, r in enumerate(rendered) if r.change != SESSION), len(rendered))
    for index, finding in assessment.shipped:
        if index + offset < len(rendered):
            attached[index + offset].append(finding)
    return [(r, tuple(f)) for r, f in zip(rendered, attached, strict=True)]


# the statement of a SQLite rebuild that makes its new table (bot/core/render/sqlite.py),
# and those that close it
_REBUILT = re.compile(r'CREATE TABLE "?_rp_new_')
_CLOSING = ("PRAGMA foreign_key_check", "COMMIT", "PRAGMA foreign_keys=ON")


def _sql(r: Rendered) -> str:
    """The statement without the comment lines the renderer may put before it."""
    return "\n".join(line for line in r.sql.splitlines() if not line.lstrip().startswith("--"))


def _rebuild_home(rendered: Sequence[Rendered], j: int) -> int:
    """`j`, or for a statement closing a SQLite rebuild (its PRAGMA foreign_key_check, COMMIT,
    PRAGMA foreign_keys=ON) the CREATE TABLE of its new table: what the findings of a change
    folded into the rebuild are about."""
    if not _sql(rendered[j]).startswith(_CLOSING):
        return j
    return next((k for k in range(j, -1, -1) if _REBUILT.match(_sql(rendered[k]))), j)


_COLUMN_STEPS = (ch.AlterColumn, ch.RenameColumn, ch.MoveColumn)
_COLUMN_KINDS = ("alter_column", "rename_column", "move_column")


def _carrier(change: Change, rendered: Sequence[Rendered], pos: int) -> int | None:
    """The statement that does a change which has none of its own: the next one about its
    table (the DROP COLUMN that takes an index with it), else the last one before (a SQLite
    rebuild that folded it in)."""
    table = _table(change)
    if table is None:
        return None

    def about(r: Rendered) -> bool:
        return r.object == table or r.object.startswith(table + ".")

    if (
        isinstance(change, _COLUMN_STEPS)
        and 0 < pos <= len(rendered)
        and rendered[pos - 1].change in _COLUMN_KINDS
        and about(rendered[pos - 1])
    ):
        # a MySQL run of column changes (rename, type, NOT NULL) is one CHANGE COLUMN,
        # rendered under the run's first change: the others are done there, not later
        return pos - 1
    after = next((j for j in range(pos, len(rendered)) if about(rendered[j])), None)
    if after is not None:
        return after
    return next((j for j in range(min(pos, len(rendered)) - 1, -1, -1) if about(rendered[j])), None)


def _table(change: Change) -> str | None:
    """The table a change belongs to, as statements name it."""
    match change:
        case (
            ch.AddColumn(t)
            | ch.DropColumn(t)
            | ch.RenameColumn(t)
            | ch.AlterColumn(t)
            | ch.MoveColumn(t)
            | ch.AddConstraint(t)
            | ch.DropConstraint(t)
            | ch.RenameConstraint(t)
            | ch.RenameIndex(t)
            | ch.SetTableComment(t)
        ):
            return str(t)
        case ch.CreateIndex(index) | ch.DropIndex(index):
            return str(index.table)
        case ch.CreateTable(table) | ch.DropTable(table):
            return str(table.name)
        case ch.RenameTable(old):
            return str(old)
    return None


# -- data loss read from the SQL that ships ----------------------------------------------------

_PART = r'(?:"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|[\w$]+)'
_NAME = rf"{_PART}(?:\s*\.\s*{_PART})?"
# A rebuild's copy: INSERT INTO new (cols) SELECT exprs FROM old
_COPY = re.compile(
    rf"\s*INSERT\s+INTO\s+(?P<into>{_NAME})\s*\((?P<cols>[^)]*)\)\s*SELECT\s+(?P<exprs>.*?)"
    rf"\s+FROM\s+(?P<src>{_NAME})(?:\s+WHERE\b.*)?\s*\Z",
    re.I | re.S,
)


def sql_losses(
    statements: Sequence[Rendered], before: Schema, changes: Sequence[Change] = ()
) -> list[tuple[int, Finding]]:
    """Data loss found in the statements themselves, replayed one by one from `before`.

    A DROP TABLE or DROP COLUMN deletes values, unless the table was created by these
    statements and holds no rows; a rebuild (create, copy, drop, rename) deletes the columns
    of the old table its copy leaves out. A CREATE or DROP INDEX rendered from one of
    `changes` (the changes the statements were rendered from) deletes nothing: that change
    moves the replay on, and its SQL is not parsed again.
    """
    state = State(before.dialect, before)
    fresh: set[tuple[str, str]] = set()
    copied: dict[tuple[str, str], set[str]] = {}  # table -> the columns a copy read from it
    out: list[tuple[int, Finding]] = []
    indexes = _IndexSteps(changes)
    for i, r in enumerate(statements):
        if r.change == SESSION:
            continue
        if indexes.applied(r, state):
            continue
        if copy := _COPY.match(_sql(r)):
            into, src = _qname(copy["into"], state.dialect), _qname(copy["src"], state.dialect)
            fresh.discard(state.key(into))  # it holds rows now
            read = {_unquote(w).lower() for w in re.findall(_PART, copy["exprs"])}
            copied.setdefault(state.key(src), set()).update(read)
            continue
        for change in replay_one(Migration(f"statement {i + 1}", r.sql), state).changes:
            out += [(i, f) for f in _losses(change, state, fresh, copied)]
            _follow_fresh_after(change, state, fresh, copied)
    return out


_INDEX_SQL = re.compile(r"\s*(?:CREATE\s+(?:UNIQUE\s+)?INDEX|DROP\s+INDEX)\b", re.I)


class _IndexSteps:
    """The index changes of a down, in order, for the index statements rendered from them."""

    def __init__(self, changes: Sequence[Change]) -> None:
        self._steps = [
            (change_kind(c), change_object(c), c)
            for c in changes
            if isinstance(c, (ch.CreateIndex, ch.DropIndex))
        ]
        self._next = 0

    def applied(self, statement: Rendered, state: State) -> bool:
        """Whether `statement` is the CREATE or DROP INDEX of the next such change, which is
        then applied to `state` (the statement's SQL would only say the same again)."""
        if not self._steps or statement.change not in ("create_index", "drop_index"):
            return False
        if not _INDEX_SQL.match(statement.sql):
            return False
        for n in range(self._next, len(self._steps)):
            kind, name, change = self._steps[n]
            if (kind, name) == (statement.change, statement.object):
                try:
                    state.apply(change)
                except StateError:
                    return False
                self._next = n + 1
                return True
        return False


def _losses(
    change: Change,
    state: State,
    fresh: set[tuple[str, str]],
    copied: dict[tuple[str, str], set[str]],
) -> list[Finding]:
    """The data-loss findings of one change read from the SQL (`state` is already past it)."""
    if isinstance(change, ch.DropTable):
        key = state.key(change.table.name)
        if key in fresh:
            return []
        if key in copied:
            return [
                Finding(
                    data_loss.drop_column.id,
                    Category.DATA_LOSS,
                    data_loss.drop_column.level,
                    f"the rebuild of {change.table.name} does not copy {c.name}: dropping the "
                    "old table deletes every value of it",
                    f"{change.table.name}.{c.name}",
                )
                for c in change.table.columns
                if c.generated is None and c.name.lower() not in copied[key]
            ]
    ctx = Context(state, frozenset(fresh))
    rules = (
        data_loss.drop_table,
        data_loss.drop_column,
        data_loss.lossy_type_change,
        data_loss.enum_values_removed,
    )
    return [f for r in rules for f in r.run(change, ctx)]


def _follow_fresh_after(
    change: Change,
    state: State,
    fresh: set[tuple[str, str]],
    copied: dict[tuple[str, str], set[str]],
) -> None:
    match change:
        case ch.CreateTable(table):
            fresh.add(state.key(table.name))
        case ch.DropTable(table):
            fresh.discard(state.key(table.name))
            copied.pop(state.key(table.name), None)
        case ch.RenameTable(old, new):
            for keys in (fresh,):
                if state.key(old) in keys:
                    keys.discard(state.key(old))
                    keys.add(state.key(new))
            if state.key(old) in copied:
                copied[state.key(new)] = copied.pop(state.key(old))


def _covered(finding: Finding, lost: set[str]) -> bool:
    """Whether the changes' own data-loss findings (`lost`: their objects) already report
    this loss: the same object, or one it is inside (the whole table of a column)."""
    name = finding.object
    return name in lost or any(name[:i] in lost for i, char in enumerate(name) if char == ".")


def _qname(text: str, dialect: Dialect) -> QName:
    parts = [p.strip() for p in re.findall(_PART, text)]
    names = [
        _unquote(p) if p[0] in '"`[' or dialect is not Dialect.POSTGRES else p.lower()
        for p in parts
    ]
    return QName(names[-1], names[0] if len(names) > 1 else None)


def _unquote(part: str) -> str:
    if part[:1] in ('"', "`") and part[-1:] == part[:1]:
        return part[1:-1].replace(part[0] * 2, part[0])
    if part[:1] == "[" and part[-1:] == "]":
        return part[1:-1]
    return part


def _rebuilds(
    changes: Sequence[Change], dialect: Dialect
) -> tuple[dict[int, tuple[QName, QName]], tuple[tuple[int, int], ...]]:
    """The CreateTables that SQLite's renderer turns into a row-keeping rebuild (a table swap),
    by position, with the table whose rows fill each one and the name it ends up with; and
    each swap's other two steps with the step that renders the rebuild."""
    if dialect is not Dialect.SQLITE or not any(isinstance(c, ch.CreateTable) for c in changes):
        return {}, ()
    from bot.core.render.sqlite import swap_steps

    filled: dict[int, tuple[QName, QName]] = {}
    folded: dict[int, int] = {}
    for table, steps in swap_steps(list(changes)).values():
        first = changes[steps[0]]
        if isinstance(first, ch.RenameTable):  # rename A to B, create A, drop B
            filled[steps[1]] = (first.new, table)
        else:  # create B, drop A, rename B to A
            filled[steps[0]] = (table, table)
        folded.update({k: steps[1] for k in steps if k != steps[1]})
    return filled, tuple(sorted(folded.items()))


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
    `refused` with a list of categories; `rules: {rule-id: verdict}`; `allow: {rule-id: reason}`;
    `timeouts: {lock: 5s, statement: 1h}` (what a shipped down sets first).
    """
    base = base if base is not None else Policy()
    if not isinstance(mapping, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(mapping).__name__}")
    categories = dict(base.categories)
    rules = dict(base.rules)
    allow = dict(base.allow)
    timeouts = base.timeouts
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
        elif key == "timeouts":
            timeouts = _timeouts(here, value, timeouts)
        else:
            known = [*_CATEGORY_KEYS, *_LIST_KEYS, "rules", "allow", "timeouts"]
            raise ValueError(
                f"{here}: unknown key; expected one of {', '.join(known)}"
                + _did_you_mean(key, known)
            )
    return Policy(categories, rules, allow, timeouts)


def policy_as_config(policy: Policy) -> dict[str, Any]:
    """The policy as plain values, in the shape `policy_from_config` reads (for the JSON plan)."""
    return {
        **{c.value.replace("-", "_"): policy.categories[c].value for c in policy.categories},
        "rules": {k: v.value for k, v in sorted(policy.rules.items())},
        "allow": dict(sorted(policy.allow.items())),
        "timeouts": {
            "lock": duration(policy.timeouts.lock_ms) if policy.timeouts.lock_ms else "off",
            "statement": (
                duration(policy.timeouts.statement_ms) if policy.timeouts.statement_ms else "off"
            ),
        },
    }


_DURATION = re.compile(r"(\d+)\s*(ms|s|min|h)?")
_UNIT_MS = {"ms": 1, "s": 1_000, "min": 60_000, "h": 3_600_000}
_MAX_MS = 86_400_000  # a day: past that a "timeout" protects nothing


def _timeouts(where: str, value: object, base: Timeouts) -> Timeouts:
    """`timeouts: {lock: 5s, statement: 1h}`; `0` or `off` leaves the engine's own setting."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{where}: expected a mapping with lock and statement, got {_shown(value)}"
        )
    out = {"lock": base.lock_ms, "statement": base.statement_ms}
    for raw, given in value.items():
        key = str(raw).strip().lower()
        if key not in out:
            raise ValueError(
                f"{where}.{raw}: unknown key; expected lock or statement"
                + _did_you_mean(key, list(out))
            )
        out[key] = _milliseconds(f"{where}.{raw}", given)
    return Timeouts(out["lock"], out["statement"])


def _milliseconds(where: str, value: object) -> int:
    expected = "a duration such as 500ms, 5s, 2min or 1h, or off"
    if value is False or (isinstance(value, str) and value.strip().lower() == "off"):
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        ms = value * 1_000  # a bare number is seconds, as in lock_wait_timeout
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value.strip().lower())):
        ms = int(m.group(1)) * _UNIT_MS[m.group(2) or "s"]
    else:
        raise ValueError(f"{where}: expected {expected}, got {_shown(value)}")
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"{where}: expected at most 24h (0 or off for none), got {_shown(value)}")
    return ms


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
