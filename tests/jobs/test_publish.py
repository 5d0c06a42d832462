"""What the executor makes the forge say for a real plan: the companion PR/MR, the plan comment
and the check, word for word where people read them, and only the writes that change something.

The plans are computed by the planner on real git repositories (SQLite migrations); the forge
is the in-memory fake of tests/jobs/fake_forge.py, writing branches into the same repository.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from bot.approvals import Approval, ApprovalPolicy, plan_hash, read_approvals
from bot.core.plan import CompanionFile, Plan
from bot.executor import (
    BRANCH_PREFIX,
    CHECK_NAME,
    COMMENT_MARKER,
    Companion,
    Executor,
    Publication,
    files_hash,
    part_marker,
    reply_marker,
)
from bot.forges import CheckState, Permission, PullRequest
from bot.markdown.plan import plan_markdown
from tests.jobs.fake_forge import WRITES, FakeForge
from tests.planner.repo import Repo

REPO = "acme/app"
CONFIG = """\
version: 1
sources:
  - path: db/migrations
    format: golang-migrate
    dialect: sqlite
"""
USERS = {
    "db/migrations/1_users.up.sql": "CREATE TABLE users (id integer PRIMARY KEY);\n",
    "db/migrations/1_users.down.sql": "DROP TABLE users;\n",
}
EMAIL = {"db/migrations/2_email.up.sql": "ALTER TABLE users ADD COLUMN email text;\n"}
INDEX = {"db/migrations/2_idx.up.sql": "CREATE INDEX users_id ON users (id);\n"}
APPROVE_LOSS = "policy:\n  data_loss: needs-approval\n"
PLAN_MARK = "<!-- rollback-plan:plan -->"


@dataclass(frozen=True)
class Built:
    path: Path
    plan: Plan


def _build(path: Path, change: dict[str, str], policy: str = "") -> Built:
    """main: a users table, then `change`; the branch revert-x reverts the change."""
    repo = Repo(path)
    repo.commit("Users", {".rollback-plan.yml": CONFIG + policy, **USERS})
    repo.commit("Change", change)
    repo.git("checkout", "-q", "-b", "revert-x")
    repo.revert("HEAD")
    repo.git("checkout", "-q", "main")
    return Built(path, repo.plan("revert-x"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    root = tmp_path_factory.mktemp("plans")
    return {
        "refused": _build(root / "refused", EMAIL),
        "needs": _build(root / "needs", EMAIL, APPROVE_LOSS),
        "safe": _build(root / "safe", INDEX),
    }


@dataclass
class World:
    ex: Executor
    forge: FakeForge
    pr: PullRequest
    plan: Plan
    repo: Repo

    def files(self) -> tuple[CompanionFile, ...]:
        return tuple(f for s in self.plan.sources for f in s.files)

    def companion(self, **changes: object) -> Companion:
        c = Companion(
            BRANCH_PREFIX + self.pr.head_sha[:12],
            self.pr.head_branch,
            self.pr.head_sha,
            f"Rollback plan: {self.pr.title}",
            self.files(),
            self.pr.number,
            self.pr.head_sha,
            self.pr.author,
        )
        return replace(c, **changes)  # type: ignore[arg-type]

    def publication(self, **changes: object) -> Publication:
        """What the worker publishes for the revert PR, with no approval."""
        pub = Publication(
            self.plan,
            head_sha=self.pr.head_sha,
            number=self.pr.number,
            companion=self.companion(),
            plan_hash=plan_hash(self.plan),
            check=CheckState.FAILURE,
            revert_author=self.pr.author,
        )
        return replace(pub, **changes)  # type: ignore[arg-type]

    def writes(self) -> list[str]:
        return [c for c in self.forge.calls if c in WRITES]

    def comment(self, number: int = 1) -> str:
        (first,) = [c.body for c in self.forge.bot_comments(number) if COMMENT_MARKER in c.body]
        return first

    def check(self) -> tuple[CheckState, str, str]:
        check = self.forge.get_check(REPO, self.pr.head_sha, CHECK_NAME)
        assert check is not None
        return check.state, check.title, check.summary


def _world(built: Built, tmp_path: Path, **executor: object) -> World:
    path = tmp_path / "origin"
    shutil.copytree(built.path, path)
    repo = Repo(path)
    forge = FakeForge(REPO, path / ".git")
    pr = forge.add_pull_request(title="Revert x", head_branch="revert-x", author="ada")
    ex = Executor(forge, REPO, **executor)  # type: ignore[arg-type]
    return World(ex, forge, pr, built.plan, repo)


@pytest.fixture
def refused(built: dict[str, Built], tmp_path: Path) -> World:
    return _world(built["refused"], tmp_path)


def summary(body: str) -> str:
    """The comment's lines people read first: after the hidden markers, before the plan."""
    lines = body.split(PLAN_MARK)[0].splitlines()
    return "\n".join(line for line in lines if not line.startswith("<!--")).strip()


def approval(user: str, plan: Plan | str, head: str, *, data_loss: bool = False) -> Approval:
    digest = plan if isinstance(plan, str) else plan_hash(plan)
    return Approval(user, data_loss, digest, head, "2026-11-03T12:00:00+00:00")


# -- a revert PR with a companion ---------------------------------------------------------


def test_an_approved_revert_gets_its_companion_comment_and_check(refused: World) -> None:
    w = refused
    head = w.pr.head_sha
    bob = approval("bob", w.plan, head, data_loss=True)
    eve = approval("eve", "e" * 64, "f" * 40)
    published = w.ex.publish(
        w.publication(
            approvals=(eve, bob), counting=(bob,), check=CheckState.SUCCESS,
            notice="@bob approved this plan accepting the data loss.",
        )
    )  # fmt: skip
    url = f"https://forge.test/{REPO}/pull/2"
    assert (published.comment_number, published.companion_number) == (1, 2)
    assert published.companion_url == url
    body = w.comment()
    assert summary(body) == (
        "### Rollback plan: approved\n\n"
        "- **Check `rollback-plan`:** success\n"
        f"- **Companion pull request:** {url} carries the compensating files.\n"
        f"- **Approved** by @bob (accepting the data loss) for this plan at `{head[:12]}`.\n"
        "- An approval by @eve was for an earlier plan or head (`ffffffffffff`): "
        "it no longer counts.\n"
        "- @bob approved this plan accepting the data loss."
    )
    assert body.endswith("\n" + plan_markdown(w.plan))
    record = w.ex.record(1)
    assert record is not None
    assert (record.plan_hash, record.head_sha, record.verdict) == (
        plan_hash(w.plan),
        head,
        "refused",
    )
    assert (record.companion_branch, record.companion_number) == (BRANCH_PREFIX + head[:12], 2)
    assert (record.revert_author, record.parts, record.approvals) == ("ada", 1, (eve, bob))
    assert w.check() == (
        CheckState.SUCCESS,
        "approved",
        "The rollback plan needed approval and has it, for this plan at this head.\n\n"
        f"- Approved by @bob (accepting the data loss), plan `{bob.plan_hash[:12]}` at "
        f"`{head[:12]}`.\n"
        "- The approval by @eve was for plan `eeeeeeeeeeee` at `ffffffffffff`: the plan or the "
        "head changed, so it no longer counts.\n\n"
        f"The compensating change: {url}\n",
    )
    assert w.forge.check_urls[head] == url


def test_the_companion_pr_carries_the_files_and_says_what_it_is(refused: World) -> None:
    w = refused
    head = w.pr.head_sha
    w.ex.publish(w.publication())
    companion = w.forge.pulls[2]
    branch = BRANCH_PREFIX + head[:12]
    assert (companion.title, companion.head_branch, companion.base_branch) == (
        "Rollback plan: Revert x", branch, "revert-x"
    )  # fmt: skip
    assert w.forge.labels[2] == ("rollback-plan",)
    assert w.repo.git("log", "-1", "--format=%B", branch) == (
        f"Rollback plan for {head[:12]}\n\nRollback plan: Revert x"
    )
    assert w.repo.git("rev-parse", f"{branch}~1") == head
    for f in w.files():
        assert w.repo.show(branch, f.path) == f.content + ("" if f.content.endswith("\n") else "\n")
    link = w.ex.companion_link(companion)
    assert link is not None
    assert (link.revert_pr, link.revert_sha, link.base, link.start_sha) == (
        1,
        head,
        "revert-x",
        head,
    )
    assert (link.commit, link.files, link.author) == (
        w.repo.git("rev-parse", branch), files_hash(w.files()), "ada"
    )  # fmt: skip
    text = companion.body.split(PLAN_MARK)[0].split(" -->\n", 1)[1]
    assert text == (
        "This pull request carries what the database needs when #1 is rolled back: the "
        "migrations the revert removed are added back (the database has them applied) and a "
        "compensating migration takes the schema back, **in its data-preserving variant, "
        "because the plain way back loses data**.\n\n"
        "**Verdict:** refused: the plain way back loses data.\n\n"
        "Merge it together with the revert, so that git describes the database again.\n\n"
        "**How to approve:** a person with write permission comments `/rollback-plan approve` "
        "(or `/rollback-plan approve data-loss` for a plan that loses data) on #1, or approves "
        "this pull request. The approval holds for this exact plan and revert head; a new push "
        "or a changed plan needs a new one.\n\n"
    )
    assert companion.body.endswith("\n" + plan_markdown(w.plan))


def test_a_refused_plan_says_who_may_accept_the_loss(refused: World) -> None:
    w = refused
    w.ex.publish(w.publication())
    how = (
        "a person with write permission (not the revert's author) comments "
        "`/rollback-plan approve data-loss`"
    )
    assert summary(w.comment()) == (
        "### Rollback plan: refused: the plain way back loses data\n\n"
        "- **Check `rollback-plan`:** failure\n"
        f"- **Companion pull request:** https://forge.test/{REPO}/pull/2 carries the "
        "compensating files.\n"
        f"- **To approve:** {how}"
    )
    state, title, text = w.check()
    assert (state, title) == (CheckState.FAILURE, "refused: the plain way back loses data")
    assert text.startswith(
        "The plain rollback loses data, so it is refused; the companion change carries the "
        "data-preserving variant. Syncing the revert as is needs an approval that accepts the "
        "loss.\n"
    )
    assert text.endswith(f"\nTo approve: {how}\n")


def test_the_policy_decides_who_may_approve(built: dict[str, Built], tmp_path: Path) -> None:
    policy = ApprovalPolicy(Permission.MAINTAIN, ("dba", "sre"), author_may_approve_data_loss=True)
    w = _world(built["refused"], tmp_path, policy=policy, pr_word="merge request")
    w.ex.publish(w.publication())
    who = "maintain permission or membership of dba, sre"
    assert f"- **To approve:** a person with {who} comments `/rollback-plan approve data-loss`" in (
        w.comment()
    )
    assert "- **Companion merge request:** https://" in w.comment()
    assert f"**How to approve:** a person with {who} comments" in w.forge.pulls[2].body
    assert "or approves this merge request." in w.forge.pulls[2].body
    assert w.forge.pulls[2].body.startswith("<!-- rollback-plan:companion ")
    assert "This merge request carries" in w.forge.pulls[2].body


def test_a_plan_needing_approval_asks_for_it(built: dict[str, Built], tmp_path: Path) -> None:
    w = _world(built["needs"], tmp_path)
    w.ex.publish(w.publication(check=CheckState.ACTION_REQUIRED))
    how = "a person with write permission comments `/rollback-plan approve`"
    assert summary(w.comment()).splitlines()[0] == "### Rollback plan: needs approval"
    assert summary(w.comment()).endswith(f"- **To approve:** {how}")
    state, title, text = w.check()
    assert (state, title) == (CheckState.ACTION_REQUIRED, "needs approval")
    assert text.startswith("The rollback plan needs approval before this revert is synced.\n")
    assert text.endswith(f"\nTo approve: {how}\n")
    body = w.forge.pulls[2].body
    assert "**Verdict:** needs approval." in body
    assert "takes the schema back.\n" in body and "data-preserving" not in body.split(PLAN_MARK)[0]
    # approved: the check turns green and says so
    ok = approval("bob", w.plan, w.pr.head_sha)
    w.ex.publish(w.publication(check=CheckState.SUCCESS, approvals=(ok,), counting=(ok,)))
    assert w.check()[:2] == (CheckState.SUCCESS, "approved")
    assert "To approve" not in w.comment() and "To approve" not in w.check()[2]


def test_a_safe_plan_passes_without_asking(built: dict[str, Built], tmp_path: Path) -> None:
    w = _world(built["safe"], tmp_path)
    w.ex.publish(w.publication(check=CheckState.SUCCESS))
    assert summary(w.comment()).splitlines()[:3] == [
        "### Rollback plan: safe", "", "- **Check `rollback-plan`:** success"
    ]  # fmt: skip
    assert w.check() == (
        CheckState.SUCCESS,
        "safe",
        "The rollback plan is safe: no step loses data or needs a person's judgement.\n\n"
        f"The compensating change: https://forge.test/{REPO}/pull/2\n",
    )
    assert "**Verdict:** safe." in w.forge.pulls[2].body


def test_a_revert_of_no_schema_change_says_there_is_nothing_to_do(refused: World) -> None:
    w = refused
    empty = Plan(w.pr.head_sha, w.pr.head_sha, None, ())
    w.ex.publish(w.publication(plan=empty, companion=None, check=CheckState.SUCCESS))
    assert w.check()[2] == (
        "The revert changes no schema source: nothing to roll back in the database.\n"
    )
    assert 2 not in w.forge.pulls


# -- converging: the same thing again writes nothing, a change writes only itself ---------


def test_publishing_the_same_plan_again_writes_nothing(refused: World) -> None:
    w = refused
    w.ex.publish(w.publication())
    writes = w.writes()
    assert sorted(writes) == ["commit_files", "create_comment", "open_pull_request", "set_check"]
    w.ex.publish(w.publication())
    assert w.writes() == writes
    assert len(w.forge.pulls) == 2


def test_a_new_title_edits_the_companion_without_a_new_commit(refused: World) -> None:
    w = refused
    w.ex.publish(w.publication())
    before = w.repo.git("rev-parse", w.forge.pulls[2].head_branch)
    w.ex.publish(w.publication(companion=w.companion(title="Rollback plan: Revert x again")))
    assert w.writes().count("commit_files") == 1
    assert w.writes().count("update_pull_request") == 1
    assert w.forge.pulls[2].title == "Rollback plan: Revert x again"
    assert w.repo.git("rev-parse", w.forge.pulls[2].head_branch) == before


@pytest.mark.parametrize("what", ["files", "start", "pushed", "deleted"])
def test_a_companion_branch_that_no_longer_matches_is_committed_again(
    refused: World, what: str
) -> None:
    """Other files, another start, someone else's push onto the branch, or a deleted branch:
    the bot's commit is made again and the link says which one it is."""
    w = refused
    w.ex.publish(w.publication())
    branch = w.forge.pulls[2].head_branch
    companion = w.companion()
    if what == "files":
        extra = CompanionFile("db/migrations/9_more.up.sql", "SELECT 1;\n", "more")
        companion = w.companion(files=(*w.files(), extra))
    elif what == "start":
        start = w.repo.git("rev-parse", "main")
        companion = w.companion(start_sha=start)
    elif what == "pushed":
        w.repo.git("checkout", "-q", branch)
        w.repo.commit("Someone else's change", {"notes.txt": "x\n"})
        w.repo.git("checkout", "-q", "main")
    else:
        w.repo.git("branch", "-D", branch)
    w.ex.publish(w.publication(companion=companion))
    assert w.writes().count("commit_files") == 2
    tip = w.repo.git("rev-parse", branch)
    assert w.repo.git("rev-parse", f"{branch}~1") == companion.start_sha
    link = w.ex.companion_link(w.forge.pulls[2])
    assert link is not None
    assert (link.commit, link.start_sha) == (tip, companion.start_sha)
    assert link.files == files_hash(companion.files)


def test_the_files_hash_ignores_order_and_sees_every_byte() -> None:
    a = CompanionFile("a.sql", "x", "")
    b = CompanionFile("b.sql", "y", "")
    assert files_hash((a, b)) == files_hash((b, a))
    assert len(files_hash((a,))) == 16 and int(files_hash((a,)), 16) >= 0
    assert files_hash((a,)) != files_hash((CompanionFile("a.sql", "x ", ""),))
    # a path and its content are kept apart
    assert files_hash((CompanionFile("ab", "c", ""),)) != files_hash(
        (CompanionFile("a", "bc", ""),)
    )
    assert files_hash((a, b)) != files_hash((CompanionFile("a.sql", "xb.sqly", ""),))


# -- what gets no companion, no comment, no check -------------------------------------------


def test_a_fork_gets_no_companion_and_is_told_to_add_the_files(refused: World) -> None:
    w = refused
    w.ex.publish(w.publication(fork=True))
    assert list(w.forge.pulls) == [1] and "commit_files" not in w.writes()
    assert (
        "- **No companion pull request:** this pull request comes from a fork, and the bot "
        "never pushes to a fork. Add the files listed below to the revert by hand."
    ) in summary(w.comment())
    record = w.ex.record(1)
    assert record is not None and (record.companion_branch, record.companion_number) == ("", None)


def test_a_fork_whose_plan_needs_no_files_is_not_told_to_add_any(
    built: dict[str, Built], tmp_path: Path
) -> None:
    w = _world(built["refused"], tmp_path)
    bare = replace(w.plan, sources=tuple(replace(s, files=()) for s in w.plan.sources))
    w.ex.publish(w.publication(plan=bare, fork=True, companion=None))
    assert "No companion" not in w.comment()


def test_a_companion_with_no_files_is_not_opened(refused: World) -> None:
    w = refused
    published = w.ex.publish(w.publication(companion=w.companion(files=())))
    assert list(w.forge.pulls) == [1] and (published.companion_number, published.companion_url) == (
        None, ""
    )  # fmt: skip
    assert "Companion" not in w.comment()
    record = w.ex.record(1)
    # no branch was made: the next plan must not take one for granted
    assert record is not None and (record.companion_branch, record.companion_number) == ("", None)


def test_no_plan_opens_no_companion(refused: World) -> None:
    w = refused
    w.ex.publish(w.publication(plan=None, problem="the config file is not YAML"))
    assert list(w.forge.pulls) == [1]
    assert w.check()[:2] == (CheckState.FAILURE, "could not be planned")


def test_a_problem_is_shown_escaped_and_a_missing_one_is_named(refused: World) -> None:
    w = refused
    w.ex.publish(w.publication(plan=None, problem="bad *yaml* <b>"))
    assert w.check()[2].startswith(r"The plan could not be computed: bad \*yaml\* \<b\>")
    w.ex.publish(w.publication(plan=None, problem=None))
    assert w.check()[2].startswith("The plan could not be computed: unknown reason\n")
    how = "comment `/rollback-plan refresh` once the problem is fixed"
    assert w.check()[2].endswith(f"\n\nTo approve: {how}\n")
    assert summary(w.comment()) == (
        "### Rollback plan: could not be planned\n\n"
        "- **Check `rollback-plan`:** failure\n"
        f"- **To approve:** {how}"
    )
    record = w.ex.record(1)
    assert record is not None and (record.verdict, record.plan_hash) == ("", plan_hash(w.plan))


def test_a_report_has_no_check_and_asks_no_approval(refused: World) -> None:
    w = refused
    w.ex.publish(Publication(w.plan, number=1, report=True))
    assert summary(w.comment()) == (
        "### Reversibility report: what reverting this change would take"
    )
    assert w.forge.checks == {} and list(w.forge.pulls) == [1]
    record = w.ex.record(1)
    assert record is not None and (record.head_sha, record.verdict) == ("", "refused")


@pytest.mark.parametrize("head", [True, False])
def test_a_check_is_set_only_with_a_head_and_a_state(refused: World, head: bool) -> None:
    w = refused
    pub = w.publication(check=None) if head else w.publication(head_sha=None)
    w.ex.publish(pub)
    assert w.forge.checks == {}
    if head:
        assert "Check `rollback-plan`" not in w.comment() and "To approve" not in w.comment()


# -- a pushed revert: the companion holds the comment, the commit gets its first part --------


def _pushed(w: World) -> Publication:
    return w.publication(number=None, commit=w.pr.head_sha, companion=w.companion(revert_pr=None))


def test_a_pushed_revert_is_planned_on_its_companion(refused: World) -> None:
    w = refused
    published = w.ex.publish(_pushed(w))
    url = f"https://forge.test/{REPO}/pull/2"
    assert published == type(published)(2, 2, url)
    assert w.forge.bot_comments(1) == []
    body = w.comment(2)
    assert [c.body for c in w.forge.commit_comments[w.pr.head_sha]] == [body]
    record = w.ex.record(2)
    assert record is not None and record.companion_number == 2
    text = w.forge.pulls[2].body
    sha12 = w.pr.head_sha[:12]
    assert f"needs when the revert `{sha12}` is rolled back: the migrations" in text
    assert "(or `/rollback-plan approve data-loss` for a plan that loses data) on this pull " in (
        text
    )
    link = w.ex.companion_link(w.forge.pulls[2])
    assert link is not None and link.revert_pr is None
    # delivered again: the commit's comment is found by its marker (the forge edits it only
    # when it differs), nothing else is written
    writes = w.writes()
    w.ex.publish(_pushed(w))
    assert w.writes() == [*writes, "comment_on_commit"]
    assert [c.body for c in w.forge.commit_comments[w.pr.head_sha]] == [body]


def test_a_long_plan_is_split_and_the_commit_links_the_rest(
    built: dict[str, Built], tmp_path: Path
) -> None:
    w = _world(built["refused"], tmp_path, comment_limit=1000)
    w.ex.publish(_pushed(w))
    parts = [c.body for c in w.forge.bot_comments(2)]
    record = w.ex.record(2)
    assert len(parts) > 2 and record is not None and record.parts == len(parts)
    for i, part in enumerate(parts[1:], start=1):
        assert part.startswith(f"{part_marker(i)}\n*Rollback plan, continued (part {i + 1}).*\n")
    (on_commit,) = w.forge.commit_comments[w.pr.head_sha]
    url = f"https://forge.test/{REPO}/pull/2"
    assert on_commit.body == parts[0] + f"\n*The plan continues in {url}.*\n"


def test_a_plan_in_two_parts_links_the_second_from_the_commit(
    built: dict[str, Built], tmp_path: Path
) -> None:
    whole = _world(built["refused"], tmp_path / "whole")
    whole.ex.publish(_pushed(whole))
    # a limit that leaves room for a little more than half of the comment
    limit = len(whole.comment(2)) // 2 + 400
    w = _world(built["refused"], tmp_path / "split", comment_limit=limit)
    w.ex.publish(_pushed(w))
    first, second = [c.body for c in w.forge.bot_comments(2)]
    assert second.startswith(f"{part_marker(1)}\n*Rollback plan, continued (part 2).*\n")
    (on_commit,) = w.forge.commit_comments[w.pr.head_sha]
    assert (
        on_commit.body == first + f"\n*The plan continues in https://forge.test/{REPO}/pull/2.*\n"
    )


def test_a_pushed_revert_without_a_companion_comments_on_the_commit_only(
    built: dict[str, Built], tmp_path: Path
) -> None:
    w = _world(built["refused"], tmp_path, comment_limit=1000)
    published = w.ex.publish(w.publication(number=None, commit=w.pr.head_sha, companion=None))
    assert published == type(published)(None, None, "")
    (on_commit,) = w.forge.commit_comments[w.pr.head_sha]
    # no other comment holds the rest: the commit comment says it is cut, and where to see it
    assert on_commit.body.endswith(
        "\n*The plan is longer than one comment and is cut here: "
        f"`rollback-plan plan --commit {w.pr.head_sha[:12]}` prints it whole.*\n"
    )
    assert len(on_commit.body) <= 1000
    assert w.forge.comments == {} and list(w.forge.pulls) == [1]


def test_a_forge_without_pr_urls_links_the_companion_by_number(refused: World) -> None:
    w = refused
    w.forge._url = lambda n: ""  # type: ignore[method-assign]
    published = w.ex.publish(w.publication())
    assert published.companion_url == "#2"
    assert "- **Companion pull request:** #2 carries the compensating files." in w.comment()


# -- approvals kept, parts, replies, reactions, links -------------------------------------


def test_the_comment_keeps_the_last_twenty_distinct_approvals(refused: World) -> None:
    w = refused
    many = tuple(approval(f"user{i}", "e" * 64, "f" * 40) for i in range(25))
    w.ex.publish(w.publication(approvals=(*many, many[-1], many[-1])))
    record = w.ex.record(1)
    assert record is not None and record.approvals == many[5:]
    assert read_approvals(w.comment()) == many[5:]


def test_the_default_limit_is_githubs(built: dict[str, Built], tmp_path: Path) -> None:
    w = _world(built["refused"], tmp_path)
    w.ex.publish(w.publication(plan=None, problem="x " * 32_000))
    assert len(w.forge.bot_comments(1)) == 1
    w.ex.publish(w.publication(plan=None, problem="x " * 33_000))
    assert len(w.forge.bot_comments(1)) == 2
    assert all(len(c.body) <= 65536 for c in w.forge.bot_comments(1))


def test_a_reply_per_key_is_edited_never_repeated(refused: World) -> None:
    w = refused
    w.ex.reply(1, "c7", "first")
    w.ex.reply(1, "c7", "second")
    w.ex.reply(1, "c8", "other")
    assert [c.body for c in w.forge.bot_comments(1)] == [
        f"{reply_marker('c7')}\nsecond", f"{reply_marker('c8')}\nother"
    ]  # fmt: skip


def test_a_command_gets_an_eyes_reaction_by_default(refused: World) -> None:
    w = refused
    c = w.forge.add_comment(1, "/rollback-plan refresh", "ada")
    w.ex.react(1, c.id)
    w.ex.react(1, c.id, "rocket")
    assert w.forge.reactions == [(1, c.id, "eyes"), (1, c.id, "rocket")]


def test_only_the_bots_own_branches_are_companions(refused: World) -> None:
    w = refused
    w.ex.publish(w.publication())
    ours = w.forge.pulls[2]
    assert w.ex.companion_link(ours) is not None
    assert w.ex.companion_link(replace(ours, is_fork=True)) is None
    assert w.ex.companion_link(replace(ours, head_branch="feature/" + ours.head_branch)) is None
