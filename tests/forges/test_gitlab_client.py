"""GitLabForge through the real python-gitlab client against the fake GitLab over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from bot.forges import Check, CheckState, ForgeError, Permission, PullState
from bot.forges.gitlab import GitLabForge
from bot.forges.gitlab.client import DESCRIPTION_MAX, permission_for_level
from tests.fakes.gitlab import FakeGitLab

TOKEN = "glpat-test-token-0123456789"
REPO = "acme/shop"
MARKER = "<!-- rollback-plan:plan -->"
BASE_FILES = {
    "migrations/0001_init.sql": "CREATE TABLE t (id int);\n",
    "README.md": "shop\n",
}


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    # per_page=2 makes every list the client reads span several pages
    with FakeGitLab(per_page=2, hang_s=1.5) as server:
        server.add_user("rollback-bot", token=TOKEN, bot=True)
        for name in ("alice", "alicia", "bob", "gus", "carol", "dave", "olga", "nobody"):
            server.add_user(name)
        server.add_group("acme", members={"carol": 40, "olga": 50})
        server.add_group("acme/db-owners", members={"dave": 30})
        server.add_project(
            REPO,
            files=BASE_FILES,
            members={"rollback-bot": 40, "alice": 30, "alicia": 20, "bob": 20, "gus": 10},
        )
        server.add_project("mallory/shop", forked_from=REPO, members={"nobody": 50})
        yield server
        server.assert_clean()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def forge(fake: FakeGitLab, sleeps: list[float]) -> GitLabForge:
    return GitLabForge(url=fake.url, token=TOKEN, timeout=0.5, per_page=2, sleep=sleeps.append)


def _posts(fake: FakeGitLab, path_suffix: str) -> int:
    return sum(1 for c in fake.calls if c.method == "POST" and c.path.endswith(path_suffix))


def _revert_mr(fake: FakeGitLab) -> int:
    fake.push(REPO, "revert-1", {"migrations/0002_drop.sql": None}, 'Revert "add column"')
    return fake.add_merge_request(
        REPO, source_branch="revert-1", title='Revert "add column"', author="alice"
    )


# projects and merge requests


def test_default_branch_and_missing_project(forge: GitLabForge) -> None:
    assert forge.default_branch(REPO) == "main"
    with pytest.raises(ForgeError) as err:
        forge.default_branch("acme/nope")
    assert err.value.status == 404 and not err.value.transient


def test_pull_request_maps_the_merge_request(fake: FakeGitLab, forge: GitLabForge) -> None:
    iid = _revert_mr(fake)
    pr = forge.pull_request(REPO, iid)
    assert pr is not None
    assert (pr.number, pr.title, pr.author, pr.state) == (
        iid,
        'Revert "add column"',
        "alice",
        PullState.OPEN,
    )
    assert pr.state is PullState.OPEN  # GitLab's "opened", as our enum
    assert (pr.head_branch, pr.base_branch, pr.is_fork) == ("revert-1", "main", False)
    assert pr.head_sha == fake.branch_head(REPO, "revert-1")
    assert pr.url == f"{fake.url}/{REPO}/-/merge_requests/{iid}"
    assert forge.pull_request(REPO, 999) is None


def test_fork_merge_requests_are_forks_and_never_the_branch_mr(
    fake: FakeGitLab, forge: GitLabForge
) -> None:
    fake.push("mallory/shop", "rollback-plan/abc", {"x.sql": "DROP TABLE t;"}, "evil")
    iid = fake.add_merge_request(
        REPO, source_branch="rollback-plan/abc", source_project="mallory/shop", author="nobody"
    )
    pr = forge.pull_request(REPO, iid)
    assert pr is not None and pr.is_fork
    assert forge.pull_request_for_branch(REPO, "rollback-plan/abc") is None


def test_open_pull_request_then_find_and_update_it(fake: FakeGitLab, forge: GitLabForge) -> None:
    fake.push(REPO, "rollback-plan/0123456789ab", {"down.sql": "x"}, "plan")
    pr = forge.open_pull_request(
        REPO,
        head="rollback-plan/0123456789ab",
        base="main",
        title="Rollback plan: x",
        body="body 1",
        labels=("rollback-plan", "database"),
    )
    assert forge.pull_request_for_branch(REPO, "rollback-plan/0123456789ab") == pr
    (mr,) = fake.merge_requests(REPO)
    assert mr["labels"] == ["rollback-plan", "database"]
    assert mr["author"]["username"] == "rollback-bot"

    forge.update_pull_request(REPO, pr.number, title="Rollback plan: y", body="body 2")
    again = forge.pull_request(REPO, pr.number)
    assert again is not None and (again.title, again.body) == ("Rollback plan: y", "body 2")


def test_open_pull_request_twice_converges_on_one(fake: FakeGitLab, forge: GitLabForge) -> None:
    fake.push(REPO, "rollback-plan/aaa", {"down.sql": "x"}, "plan")
    first = forge.open_pull_request(
        REPO, head="rollback-plan/aaa", base="main", title="t", body="old", labels=()
    )
    second = forge.open_pull_request(
        REPO, head="rollback-plan/aaa", base="main", title="t", body="new", labels=()
    )
    assert second.number == first.number and second.body == "new"
    assert [m["description"] for m in fake.merge_requests(REPO)] == ["new"]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},  # refused before acting: re-sent
        {"status": 500, "apply": True},  # created, then 500: found, not re-sent
        {"status": 502, "apply": True, "times": 2},
        {"timeout": True},  # created, answer lost
    ],
)
def test_open_pull_request_survives_faults_without_duplicates(
    fake: FakeGitLab, forge: GitLabForge, fault: dict[str, object]
) -> None:
    fake.push(REPO, "rollback-plan/bbb", {"down.sql": "x"}, "plan")
    fake.fail_next("POST", r"/merge_requests$", **fault)  # type: ignore[arg-type]
    pr = forge.open_pull_request(
        REPO, head="rollback-plan/bbb", base="main", title="t", body="b", labels=("l",)
    )
    (mr,) = fake.merge_requests(REPO)
    assert mr["iid"] == pr.number
    expected_posts = 2 if fault == {"status": 500} else 1
    assert _posts(fake, "/merge_requests") == expected_posts


# branches and commits


def test_branch_sha(fake: FakeGitLab, forge: GitLabForge) -> None:
    assert forge.branch_sha(REPO, "main") == fake.branch_head(REPO, "main")
    assert forge.branch_sha(REPO, "no/such-branch") is None


def test_commit_files_creates_then_moves_the_branch(fake: FakeGitLab, forge: GitLabForge) -> None:
    base = fake.branch_head(REPO, "main")
    assert base is not None
    files = {
        "migrations/0001_init.sql": "CREATE TABLE t (id int, note text);\n",  # update
        "rollback/0003_down.sql": "ALTER TABLE t DROP COLUMN note;\n",  # create
    }
    sha = forge.commit_files(
        REPO, branch="rollback-plan/abc", start_sha=base, files=files, message="Rollback plan"
    )
    assert forge.branch_sha(REPO, "rollback-plan/abc") == sha
    for path, content in files.items():
        assert fake.file_at(REPO, "rollback-plan/abc", path) == content
    assert fake.file_at(REPO, "rollback-plan/abc", "README.md") == "shop\n"
    assert fake.commits[sha].parent_ids == [base]

    # same inputs again: nothing is written
    posts = _posts(fake, "/repository/commits")
    again = forge.commit_files(
        REPO, branch="rollback-plan/abc", start_sha=base, files=files, message="Rollback plan"
    )
    assert again == sha and _posts(fake, "/repository/commits") == posts

    # the revert moved: the branch is re-pointed onto the new base, one commit on top
    new_base = fake.push(REPO, "main", {"README.md": "shop v2\n"}, "later")
    moved = forge.commit_files(
        REPO,
        branch="rollback-plan/abc",
        start_sha=new_base,
        files={"rollback/0003_down.sql": "-- v2\n"},
        message="Rollback plan v2",
    )
    assert fake.commits[moved].parent_ids == [new_base]
    assert fake.file_at(REPO, "rollback-plan/abc", "rollback/0003_down.sql") == "-- v2\n"
    assert fake.file_at(REPO, "rollback-plan/abc", "README.md") == "shop v2\n"
    # the earlier update of 0001 is gone with the old commit
    assert (
        fake.file_at(REPO, "rollback-plan/abc", "migrations/0001_init.sql")
        == (BASE_FILES["migrations/0001_init.sql"])
    )


@pytest.mark.parametrize("fault", [{"timeout": True}, {"status": 503, "apply": True}])
def test_commit_files_lost_answer_makes_no_second_commit(
    fake: FakeGitLab, forge: GitLabForge, fault: dict[str, object]
) -> None:
    base = fake.branch_head(REPO, "main")
    assert base is not None
    fake.fail_next("POST", r"/repository/commits$", **fault)  # type: ignore[arg-type]
    sha = forge.commit_files(REPO, branch="rp/x", start_sha=base, files={"a.sql": "a"}, message="m")
    assert _posts(fake, "/repository/commits") == 1
    assert fake.branch_head(REPO, "rp/x") == sha


# comments


def test_find_comment_pages_through_notes_and_skips_others(
    fake: FakeGitLab, forge: GitLabForge
) -> None:
    iid = _revert_mr(fake)
    fake.add_note(REPO, iid, f"quoting {MARKER}", author="alice")  # a user pasted it
    fake.add_note(
        REPO, iid, f"changed the description {MARKER}", author="rollback-bot", system=True
    )
    for i in range(3):
        fake.add_note(REPO, iid, f"chatter {i}", author="bob")
    ours = fake.add_note(REPO, iid, f"{MARKER}\nthe plan", author="rollback-bot")
    found = forge.find_comment(REPO, iid, MARKER)
    assert found is not None and found.id == ours and found.author == "rollback-bot"
    assert any(c.query.get("page") == "3" for c in fake.calls if c.path.endswith("/notes"))
    assert forge.find_comment(REPO, iid, "<!-- rollback-plan:other -->") is None
    assert forge.find_comment(REPO, 999, MARKER) is None


def test_create_and_edit_comment(fake: FakeGitLab, forge: GitLabForge) -> None:
    iid = _revert_mr(fake)
    comment = forge.create_comment(REPO, iid, f"{MARKER}\nv1")
    forge.edit_comment(REPO, iid, comment.id, f"{MARKER}\nv2")
    assert [n["body"] for n in fake.mr_notes(REPO, iid)] == [f"{MARKER}\nv2"]
    assert forge.find_comment(REPO, iid, MARKER) == comment.__class__(
        comment.id, f"{MARKER}\nv2", "rollback-bot"
    )


@pytest.mark.parametrize(
    "fault", [{"status": 500}, {"status": 500, "apply": True}, {"timeout": True}]
)
def test_create_comment_survives_faults_without_duplicates(
    fake: FakeGitLab, forge: GitLabForge, fault: dict[str, object]
) -> None:
    iid = _revert_mr(fake)
    fake.fail_next("POST", r"/notes$", **fault)  # type: ignore[arg-type]
    comment = forge.create_comment(REPO, iid, f"{MARKER}\nplan")
    assert [n["id"] for n in fake.mr_notes(REPO, iid)] == [comment.id]


def test_an_older_identical_reply_is_not_taken_for_the_lost_one(
    fake: FakeGitLab, forge: GitLabForge
) -> None:
    iid = _revert_mr(fake)
    forge.create_comment(REPO, iid, "Unknown command. /rollback-plan help")
    forge.create_comment(REPO, iid, "something else")
    fake.fail_next("POST", r"/notes$", status=500)  # refused: nothing landed
    forge.create_comment(REPO, iid, "Unknown command. /rollback-plan help")
    bodies = [n["body"] for n in fake.mr_notes(REPO, iid)]
    assert bodies.count("Unknown command. /rollback-plan help") == 2


def test_comment_on_commit_is_one_discussion_edited_in_place(
    fake: FakeGitLab, forge: GitLabForge
) -> None:
    sha = fake.push(REPO, "main", {"migrations/0002.sql": None}, 'Revert "x"')
    forge.comment_on_commit(REPO, sha, f"{MARKER}\nv1", MARKER)
    forge.comment_on_commit(REPO, sha, f"{MARKER}\nv1", MARKER)
    puts = sum(1 for c in fake.calls if c.method == "PUT")
    assert puts == 0  # unchanged: not rewritten
    forge.comment_on_commit(REPO, sha, f"{MARKER}\nv2", MARKER)
    (discussion,) = fake.commit_discussions(REPO, sha)
    assert [n["body"] for n in discussion["notes"]] == [f"{MARKER}\nv2"]


def test_comment_on_commit_timeout_makes_no_duplicate(fake: FakeGitLab, forge: GitLabForge) -> None:
    sha = fake.branch_head(REPO, "main")
    assert sha is not None
    fake.fail_next("POST", r"/discussions$", timeout=True)
    forge.comment_on_commit(REPO, sha, f"{MARKER}\nplan", MARKER)
    assert len(fake.commit_discussions(REPO, sha)) == 1


def test_react_awards_the_emoji_once(fake: FakeGitLab, forge: GitLabForge) -> None:
    iid = _revert_mr(fake)
    note = fake.add_note(REPO, iid, "/rollback-plan approve", author="alice")
    fake.fail_next("POST", r"/award_emoji$", status=500, apply=True)
    forge.react(REPO, iid, note, "+1")
    forge.react(REPO, iid, note, "+1")
    forge.react(REPO, iid, note, "eyes")
    awards = fake.mr_notes(REPO, iid)[0]["award_emoji"]
    assert sorted(a["name"] for a in awards) == ["eyes", "thumbsup"]
    assert {a["user"]["username"] for a in awards} == {"rollback-bot"}


# checks


def test_check_round_trip_and_transitions(fake: FakeGitLab, forge: GitLabForge) -> None:
    sha = fake.branch_head(REPO, "main")
    assert sha is not None
    assert forge.get_check(REPO, sha, "rollback-plan") is None

    forge.set_check(REPO, sha, "rollback-plan", Check(CheckState.PENDING, "Planning", ""))
    forge.set_check(REPO, sha, "rollback-plan", Check(CheckState.PENDING, "Planning", ""))
    # running -> running with new words: GitLab says "Cannot transition", which is success
    forge.set_check(REPO, sha, "rollback-plan", Check(CheckState.PENDING, "Still planning", ""))
    got = forge.get_check(REPO, sha, "rollback-plan")
    assert got is not None and got.state is CheckState.PENDING
    assert [s["status"] for s in fake.commit_statuses(REPO, sha)] == ["running"]

    url = f"{fake.url}/{REPO}/-/merge_requests/1"
    needs = Check(CheckState.ACTION_REQUIRED, "Drops column note: approve with a command", "x")
    forge.set_check(REPO, sha, "rollback-plan", needs, details_url=url)
    got = forge.get_check(REPO, sha, "rollback-plan")
    assert got == Check(CheckState.ACTION_REQUIRED, needs.title, "")
    status = fake.commit_statuses(REPO, sha)[-1]
    assert status["status"] == "failed" and status["target_url"] == url
    assert status["description"].startswith("Approval required: ")

    forge.set_check(REPO, sha, "rollback-plan", Check(CheckState.SUCCESS, "Approved by carol", ""))
    got = forge.get_check(REPO, sha, "rollback-plan")
    assert got is not None and got.state is CheckState.SUCCESS

    forge.set_check(REPO, sha, "rollback-plan", Check(CheckState.FAILURE, "x" * 400, ""))
    status = fake.commit_statuses(REPO, sha)[-1]
    assert status["status"] == "failed" and len(status["description"]) == DESCRIPTION_MAX
    got = forge.get_check(REPO, sha, "rollback-plan")
    assert got is not None and got.state is CheckState.FAILURE


def test_check_on_unknown_commit(forge: GitLabForge) -> None:
    assert forge.get_check(REPO, "f" * 40, "rollback-plan") is None
    with pytest.raises(ForgeError) as err:
        forge.set_check(REPO, "f" * 40, "rollback-plan", Check(CheckState.SUCCESS, "ok", ""))
    assert err.value.status == 404


@pytest.mark.parametrize(
    "fault", [{"status": 500}, {"status": 500, "apply": True}, {"timeout": True}]
)
def test_set_check_survives_faults_with_one_status(
    fake: FakeGitLab, forge: GitLabForge, fault: dict[str, object]
) -> None:
    sha = fake.branch_head(REPO, "main")
    assert sha is not None
    fake.fail_next("POST", r"/statuses/", **fault)  # type: ignore[arg-type]
    forge.set_check(REPO, sha, "rollback-plan", Check(CheckState.SUCCESS, "Safe", ""))
    assert [s["status"] for s in fake.commit_statuses(REPO, sha)] == ["success"]


# people


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("alice", Permission.WRITE),  # developer
        ("alicia", Permission.READ),  # reporter; a `query` match for "alic" too
        ("gus", Permission.READ),  # guest
        ("carol", Permission.MAINTAIN),  # maintainer inherited from the group
        ("olga", Permission.ADMIN),  # owner inherited from the group
        ("dave", Permission.NONE),  # member of a subgroup only
        ("nobody", Permission.NONE),  # owner of the fork, not of the project
        ("ALICE", Permission.WRITE),  # GitLab usernames are case-insensitive
    ],
)
def test_permission(forge: GitLabForge, user: str, expected: Permission) -> None:
    assert forge.permission(REPO, user) is expected


def test_permission_levels() -> None:
    assert [permission_for_level(x) for x in (0, 5, 10, 15, 20, 30, 40, 50)] == [
        Permission.NONE,
        Permission.NONE,
        Permission.READ,
        Permission.READ,
        Permission.READ,
        Permission.WRITE,
        Permission.MAINTAIN,
        Permission.ADMIN,
    ]


def test_permission_on_missing_project_is_none(forge: GitLabForge) -> None:
    assert forge.permission("acme/nope", "alice") is Permission.NONE


def test_team_members_include_inherited(forge: GitLabForge) -> None:
    assert forge.team_members(REPO, "acme/db-owners") == {"dave", "carol", "olga"}
    assert forge.team_members(REPO, "acme/no-such-group") == frozenset()


# the retry policy at the edge


def test_rate_limit_waits_as_told_and_python_gitlab_never_resends(
    fake: FakeGitLab, forge: GitLabForge, sleeps: list[float]
) -> None:
    iid = _revert_mr(fake)
    fake.fail_next("POST", r"/notes$", status=429, headers={"Retry-After": "7"})
    forge.create_comment(REPO, iid, "hello")
    assert sleeps == [7.0]
    assert _posts(fake, "/notes") == 2  # the refused one and ours; none from the library
    assert len(fake.mr_notes(REPO, iid)) == 1


def test_rate_limit_reset_header_is_honoured(
    fake: FakeGitLab, forge: GitLabForge, sleeps: list[float]
) -> None:
    reset = int(time.time()) + 3
    fake.fail_next(
        "GET",
        r"^/projects/acme/shop$",
        status=429,
        headers={"RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)},
    )
    assert forge.default_branch(REPO) == "main"
    assert len(sleeps) == 1 and 2.0 < sleeps[0] <= 4.5


def test_persistent_5xx_gives_a_transient_forge_error(fake: FakeGitLab, forge: GitLabForge) -> None:
    fake.fail_next("GET", r"^/projects/acme/shop$", status=503, times=10)
    with pytest.raises(ForgeError) as err:
        forge.default_branch(REPO)
    assert err.value.transient
    assert sum(1 for c in fake.calls if c.path == "/projects/acme/shop") == 4  # max_attempts


def test_bad_token_is_not_retried_and_not_shown(fake: FakeGitLab) -> None:
    forge = GitLabForge(url=fake.url, token="glpat-wrong", timeout=0.5, sleep=lambda s: None)
    with pytest.raises(ForgeError) as err:
        forge.default_branch(REPO)
    assert err.value.status == 401 and not err.value.transient
    assert "glpat" not in str(err.value) and "glpat" not in repr(forge)


def test_fake_fails_loudly_on_unimplemented_requests(fake: FakeGitLab) -> None:
    answer = requests.get(
        f"{fake.url}/api/v4/projects/1/pipelines", headers={"PRIVATE-TOKEN": TOKEN}, timeout=5
    )
    assert answer.status_code == 501
    assert fake.errors == ["not implemented: GET /projects/1/pipelines"]
    fake.errors.clear()
