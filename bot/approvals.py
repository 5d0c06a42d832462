"""Who may approve a rollback plan, what an approval is bound to, and what the check says.

The bot keeps no state of its own: approvals are written into the plan comment as hidden
markers (by the executor) and read back from it. An approval names the plan's hash and the
revert's head SHA it was given for; when either changes it no longer counts.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.plan import Plan, plan_json
from bot.core.risk import Verdict
from bot.forges import CheckState, Permission

APPROVAL_MARKER = "<!-- rollback-plan:approval "
_APPROVAL = re.compile(r"<!-- rollback-plan:approval (\{[^<>]*\}) -->")
# Fields that change without changing what would run against the database.
_VOLATILE = ("from", "to", "revert")


class PermissionSource(Protocol):
    """The two forge reads an approval decision needs."""

    def permission(self, repo: str, user: str) -> Permission: ...

    def team_members(self, repo: str, team: str) -> frozenset[str]: ...


@dataclass(frozen=True)
class ApprovalPolicy:
    """Who may approve: a minimum permission, or membership of one of the teams/groups."""

    minimum: Permission = Permission.WRITE
    teams: tuple[str, ...] = ()
    author_may_approve_data_loss: bool = False


@dataclass(frozen=True)
class Approval:
    """One accepted approval, bound to what it approved."""

    user: str
    data_loss: bool  # `approve data-loss`: accepts a refused plan too
    plan_hash: str
    head_sha: str
    at: str  # ISO 8601, for people reading the comment

    def counts_for(self, plan_hash: str, head_sha: str) -> bool:
        return self.plan_hash == plan_hash and self.head_sha == head_sha


@dataclass(frozen=True)
class Denied:
    """An approval that was not accepted, and why (shown to the person who asked)."""

    reason: str


def plan_hash(plan: Plan) -> str:
    """sha256 of the canonical plan JSON, without the refs (the head SHA is bound separately)."""
    data = {k: v for k, v in plan_json(plan).items() if k not in _VOLATILE}
    for source in data.get("sources", []):
        if source.get("verification"):
            source["verification"] = {**source["verification"], "seconds": 0}
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def decide(
    forge: PermissionSource,
    repo: str,
    user: str,
    *,
    data_loss: bool,
    verdict: Verdict,
    revert_author: str | None,
    policy: ApprovalPolicy,
) -> Denied | None:
    """None when `user` may give this approval, else why not."""
    if verdict is Verdict.REFUSED and not data_loss:
        return Denied(
            "this plan loses data, so a plain approval is not enough: "
            "a person who accepts the loss comments `/rollback-plan approve data-loss`"
        )
    if (
        data_loss
        and revert_author is not None
        and user.lower() == revert_author.lower()
        and not policy.author_may_approve_data_loss
    ):
        return Denied("the author of the revert cannot approve losing data with it")
    level = forge.permission(repo, user)
    if level.rank >= policy.minimum.rank:
        return None
    for team in policy.teams:
        if user.lower() in {m.lower() for m in forge.team_members(repo, team)}:
            return None
    teams = f" or membership of {', '.join(policy.teams)}" if policy.teams else ""
    return Denied(
        f"approving needs {policy.minimum.value} permission{teams}; "
        f"@{user} has {level.value} permission"
    )


def counting(approvals: Iterable[Approval], plan_hash: str, head_sha: str) -> tuple[Approval, ...]:
    return tuple(a for a in approvals if a.counts_for(plan_hash, head_sha))


def check_state(verdict: Verdict, approvals: Sequence[Approval]) -> CheckState:
    """success when safe or approved; action_required when approval is needed; failure when
    refused and not approved as data loss. `approvals` are the ones that count."""
    if verdict is Verdict.SAFE:
        return CheckState.SUCCESS
    if verdict is Verdict.NEEDS_APPROVAL:
        return CheckState.SUCCESS if approvals else CheckState.ACTION_REQUIRED
    return CheckState.SUCCESS if any(a.data_loss for a in approvals) else CheckState.FAILURE


def approval_marker(approval: Approval) -> str:
    return f"{APPROVAL_MARKER}{hidden_json(_as_dict(approval))} -->"


def read_approvals(text: str) -> tuple[Approval, ...]:
    """The approvals recorded in a plan comment; malformed markers are skipped."""
    out: list[Approval] = []
    for m in _APPROVAL.finditer(text):
        try:
            d = json.loads(m.group(1))
            out.append(
                Approval(
                    str(d["user"]),
                    bool(d["data_loss"]),
                    str(d["plan_hash"]),
                    str(d["head_sha"]),
                    str(d.get("at", "")),
                )
            )
        except (ValueError, KeyError, TypeError):
            continue
    return tuple(out)


def hidden_json(data: dict[str, Any]) -> str:
    """JSON that can sit inside an HTML comment: no `<`, `>` or `--` (escaped in strings)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    # Only strings can hold these characters (no negative numbers are stored).
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("-", "\\u002d")


def _as_dict(a: Approval) -> dict[str, Any]:
    return {
        "user": a.user,
        "data_loss": a.data_loss,
        "plan_hash": a.plan_hash,
        "head_sha": a.head_sha,
        "at": a.at,
    }
