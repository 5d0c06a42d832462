"""GitHubForge (real PyGithub) against the fake GitHub on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import requests

from bot.forges import Check, CheckState, ForgeError, Permission, PullState
from bot.forges.github import GitHubCredentials, GitHubForge
from bot.forges.retry import TransientHTTP, call_with_retry
from tests.fakes.github import FakeGitHub

REPO = "acme/app"
MARKER = "<!-- rollback-plan:plan -->"
INSTALLATION = 77


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.add_repo(REPO, files={"db/001_init.sql": "CREATE TABLE t (id int);\n"})
        server.add_installation(INSTALLATION)
        server.add_token("pat-secret", "ci-bot")
        yield server
        assert server.errors == [], "the client called endpoints the fake does not implement"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def app(fake: FakeGitHub, sleeps: list[float]) -> GitHubForge:
    return GitHubForge.for_installation(
        fake.app_id,
        fake.private_key_pem,
        INSTALLATION,
        api_url=fake.api_url,
        timeout=1,
        sleep=sleeps.append,
        throttle=False,
    )


@pytest.fixture
def token(fake: FakeGitHub, sleeps: list[float]) -> GitHubForge:
    return GitHubForge.with_token(
        "pat-secret", api_url=fake.api_url, timeout=1, sleep=sleeps.append, throttle=False
    )


def _branch(fake: FakeGitHub, name: str, files: dict[str, str]) -> str:
    fake.repos[REPO].refs[f"refs/heads/{name}"] = fake.repos[REPO].refs["refs/heads/main"]
    return fake.add_commit(REPO, name, files, "revert something")


# -- auth ----------------------------------------------------------------------------------------


def test_app_auth_buys_an_installation_token_with_a_jwt_signed_by_the_app_key(
    fake: FakeGitHub, app: GitHubForge
) -> None:
    assert app.default_branch(REPO) == "main"
    assert [c.path for c in fake.calls][:1] == [f"/app/installations/{INSTALLATION}/access_tokens"]
    assert [claims["iss"] for claims in fake.jwts_seen] == [str(fake.app_id)]
    assert fake.tokens[app.access_token()] == ("rollback-plan[bot]", True)


def test_credentials_pick_app_or_token_and_keep_secrets_out_of_repr(fake: FakeGitHub) -> None:
    creds = GitHubCredentials(
        api_url=fake.api_url,
        token="pat-secret",
        app_id=str(fake.app_id),
        private_key=fake.private_key_pem,
    )
    assert "pat-secret" not in repr(creds) and "PRIVATE" not in repr(creds)
    assert creds.forge(INSTALLATION, throttle=False).uses_checks_api
    assert not creds.forge(None, throttle=False).uses_checks_api
    with pytest.raises(ForgeError):
        GitHubCredentials(app_id="1", private_key="k").forge(None)


def test_an_uninstalled_app_is_an_error_not_a_missing_object(fake: FakeGitHub) -> None:
    forge = GitHubForge.for_installation(
        fake.app_id, fake.private_key_pem, 999, api_url=fake.api_url, throttle=False
    )
    with pytest.raises(ForgeError) as err:
        forge.pull_request(REPO, 1)
    assert err.value.status == 404 and not err.value.transient


def test_bad_credentials_are_a_permanent_error(fake: FakeGitHub) -> None:
    forge = GitHubForge.with_token("wrong", api_url=fake.api_url, throttle=False)
    with pytest.raises(ForgeError) as err:
        forge.default_branch(REPO)
    assert err.value.status == 401 and not err.value.transient


# -- pull requests -------------------------------------------------------------------------------


def test_open_find_and_update_a_pull_request(fake: FakeGitHub, app: GitHubForge) -> None:
    _branch(fake, "rollback-plan/abc", {"db/002.sql": "DROP TABLE t;\n"})
    pr = app.open_pull_request(
        REPO,
        head="rollback-plan/abc",
        base="main",
        title="Rollback plan: x",
        body="b",
        labels=("rollback-plan",),
    )
    assert (pr.head_branch, pr.base_branch, pr.state, pr.is_fork) == (
        "rollback-plan/abc",
        "main",
        PullState.OPEN,
        False,
    )
    assert pr.state is PullState.OPEN  # the enum, not a string that equals it
    assert pr.author == "rollback-plan[bot]"
    assert pr.url.startswith(fake.root)
    assert [label["name"] for label in fake.pulls(REPO)[0]["labels"]] == ["rollback-plan"]
    assert app.pull_request_for_branch(REPO, "rollback-plan/abc") == pr
    assert app.pull_request_for_branch(REPO, "other") is None
    app.update_pull_request(REPO, pr.number, title="Rollback plan: y", body="new body")
    again = app.pull_request(REPO, pr.number)
    assert again is not None and (again.title, again.body) == ("Rollback plan: y", "new body")


def test_a_fork_pr_is_reported_as_such_and_not_found_by_branch(
    fake: FakeGitHub, app: GitHubForge
) -> None:
    fake.add_repo("mallory/app")
    fake.repos["mallory/app"].refs["refs/heads/evil"] = fake.repos["mallory/app"].refs[
        "refs/heads/main"
    ]
    number = fake.add_pull(REPO, head="evil", base="main", fork="mallory/app", author="mallory")[
        "number"
    ]
    pr = app.pull_request(REPO, number)
    assert pr is not None and pr.is_fork and pr.author == "mallory"
    assert app.pull_request_for_branch(REPO, "evil") is None


def test_reads_of_missing_things_answer_none(app: GitHubForge) -> None:
    assert app.pull_request(REPO, 404) is None
    assert app.pull_request("acme/nope", 1) is None
    assert app.branch_sha(REPO, "no-such-branch") is None
    assert app.find_comment(REPO, 404, MARKER) is None
    assert app.team_members(REPO, "acme/ghosts") == frozenset()
    assert app.permission(REPO, "nobody-at-all") is Permission.NONE


def test_a_500_after_the_pr_was_created_leaves_exactly_one_pr(
    fake: FakeGitHub, app: GitHubForge
) -> None:
    _branch(fake, "rollback-plan/abc", {"x.sql": "x"})
    fake.fail_next("POST", r"/pulls$", status=502, applied=True)
    pr = app.open_pull_request(
        REPO, head="rollback-plan/abc", base="main", title="t", body="b", labels=()
    )
    assert len(fake.pulls(REPO)) == 1 and pr.number == fake.pulls(REPO)[0]["number"]
    assert len(fake.calls_to("POST", r"/pulls$")) == 1  # it looked instead of re-posting


def test_a_500_before_the_pr_was_created_is_retried_once_it_looked(
    fake: FakeGitHub, app: GitHubForge
) -> None:
    _branch(fake, "rollback-plan/abc", {"x.sql": "x"})
    fake.fail_next("POST", r"/pulls$", status=500)
    app.open_pull_request(
        REPO, head="rollback-plan/abc", base="main", title="t", body="b", labels=()
    )
    assert len(fake.pulls(REPO)) == 1
    assert len(fake.calls_to("POST", r"/pulls$")) == 2
    assert len(fake.calls_to("GET", r"/pulls$")) == 1  # the look between the two posts


def test_a_timeout_on_a_create_that_succeeded_makes_no_duplicate(
    fake: FakeGitHub, app: GitHubForge
) -> None:
    number = fake.add_pull(REPO, head="main", base="main")["number"]
    fake.fail_next("POST", r"/issues/\d+/comments$", timeout=True)
    comment = app.create_comment(REPO, number, f"{MARKER}\nplan")
    assert [c["id"] for c in fake.comments(REPO, number)] == [comment.id]


# -- comments, reactions -------------------------------------------------------------------------


def test_comments_found_by_marker_across_pages_and_edited(
    fake: FakeGitHub, app: GitHubForge
) -> None:
    number = fake.add_pull(REPO, head="main", base="main")["number"]
    for i in range(35):  # more than one page of 30
        fake.add_comment(REPO, number, f"chatter {i}")
    fake.add_comment(REPO, number, f"> {MARKER}\n> quoted by a human")
    assert app.find_comment(REPO, number, MARKER) is None
    mine = app.create_comment(REPO, number, f"{MARKER}\nfirst plan")
    found = app.find_comment(REPO, number, MARKER)
    assert found is not None and found.id == mine.id and found.author == "rollback-plan[bot]"
    assert len(fake.calls_to("GET", r"/issues/\d+/comments$")) >= 2  # followed the Link header
    app.edit_comment(REPO, number, mine.id, f"{MARKER}\nsecond plan")
    assert fake.repos[REPO].issue_comments[mine.id]["body"].endswith("second plan")


def test_a_marker_in_someone_elses_comment_is_not_ours(fake: FakeGitHub, app: GitHubForge) -> None:
    number = fake.add_pull(REPO, head="main", base="main")["number"]
    fake.add_comment(REPO, number, f"{MARKER}\nforged by a user", author="mallory")
    assert app.find_comment(REPO, number, MARKER) is None


def test_a_500_on_create_comment_leaves_one_comment(fake: FakeGitHub, app: GitHubForge) -> None:
    number = fake.add_pull(REPO, head="main", base="main")["number"]
    fake.fail_next("POST", r"/issues/\d+/comments$", status=500, applied=True)
    app.create_comment(REPO, number, f"{MARKER}\nplan")
    assert len(fake.comments(REPO, number)) == 1


def test_reactions_are_added_once(fake: FakeGitHub, app: GitHubForge) -> None:
    number = fake.add_pull(REPO, head="main", base="main")["number"]
    cid = fake.add_comment(REPO, number, "/rollback-plan approve")["id"]
    app.react(REPO, number, cid, "eyes")
    fake.fail_next("POST", r"/reactions$", status=503, applied=True)
    app.react(REPO, number, cid, "+1")
    assert fake.reactions(REPO, cid) == ["eyes", "+1"]
    with pytest.raises(ForgeError):
        app.react(REPO, number, cid, "thumbsup")


def test_commit_comment_is_upserted_by_marker(fake: FakeGitHub, app: GitHubForge) -> None:
    sha = fake.repos[REPO].refs["refs/heads/main"]
    app.comment_on_commit(REPO, sha, f"{MARKER}\none", MARKER)
    fake.fail_next("PATCH", r"/comments/\d+$", status=500)
    app.comment_on_commit(REPO, sha, f"{MARKER}\ntwo", MARKER)
    comments = fake.commit_comments(REPO, sha)
    assert [c["body"] for c in comments] == [f"{MARKER}\ntwo"]


# -- checks --------------------------------------------------------------------------------------


def test_check_run_is_created_then_updated_in_place(fake: FakeGitHub, app: GitHubForge) -> None:
    sha = fake.repos[REPO].refs["refs/heads/main"]
    app.set_check(REPO, sha, "rollback-plan", Check(CheckState.PENDING, "Planning", "…"))
    assert app.get_check(REPO, sha, "rollback-plan") == Check(CheckState.PENDING, "Planning", "…")
    needs = Check(CheckState.ACTION_REQUIRED, "Approval required", "plan abc\n```sql\nDROP\n```")
    app.set_check(REPO, sha, "rollback-plan", needs, details_url="https://example.test/pr/2")
    assert app.get_check(REPO, sha, "rollback-plan") == needs
    app.set_check(REPO, sha, "rollback-plan", Check(CheckState.SUCCESS, "Approved", "ok"))
    runs = fake.check_runs(REPO, sha)
    assert len(runs) == 1
    assert (runs[0]["status"], runs[0]["conclusion"]) == ("completed", "success")
    assert runs[0]["details_url"] == "https://example.test/pr/2"
    app.set_check(REPO, sha, "rollback-plan", Check(CheckState.FAILURE, "Refused", "data loss"))
    assert fake.check_runs(REPO, sha)[0]["conclusion"] == "failure"


def test_a_check_run_keeps_the_pr_it_was_set_for(fake: FakeGitHub, app: GitHubForge) -> None:
    # a re-run request names only the commit: the run's external_id says which PR it is
    sha = fake.repos[REPO].refs["refs/heads/main"]
    app.set_check(REPO, sha, "rollback-plan", Check(CheckState.PENDING, "Planning", "…", "pr:7"))
    [run] = fake.check_runs(REPO, sha)
    assert run["external_id"] == "pr:7"
    assert app.get_check(REPO, sha, "rollback-plan").external_id == "pr:7"  # type: ignore[union-attr]


def test_a_500_on_create_check_leaves_one_check_run(fake: FakeGitHub, app: GitHubForge) -> None:
    sha = fake.repos[REPO].refs["refs/heads/main"]
    fake.fail_next("POST", r"/check-runs$", status=500, applied=True)
    app.set_check(REPO, sha, "rollback-plan", Check(CheckState.SUCCESS, "Safe", "nothing at risk"))
    assert len(fake.check_runs(REPO, sha)) == 1


def test_a_huge_summary_is_truncated_without_leaving_a_code_block_open(
    fake: FakeGitHub, app: GitHubForge
) -> None:
    sha = fake.repos[REPO].refs["refs/heads/main"]
    summary = "intro\n```sql\n" + "SELECT 1;\n" * 20000 + "```\n"
    app.set_check(REPO, sha, "rollback-plan", Check(CheckState.FAILURE, "Refused", summary))
    stored = fake.check_runs(REPO, sha)[0]["output"]["summary"]
    assert len(stored) <= 65535 and stored.endswith("(truncated)")
    assert stored.count("```") % 2 == 0


def test_token_auth_uses_a_commit_status_because_checks_need_an_app(
    fake: FakeGitHub, token: GitHubForge
) -> None:
    sha = fake.repos[REPO].refs["refs/heads/main"]
    token.set_check(REPO, sha, "rollback-plan", Check(CheckState.PENDING, "Planning", ""))
    token.set_check(
        REPO,
        sha,
        "rollback-plan",
        Check(CheckState.ACTION_REQUIRED, "Approval " * 40, "s"),
        "https://x.test/1",
    )
    statuses = fake.statuses(REPO, sha)
    assert [s["state"] for s in statuses] == ["pending", "failure"]
    assert {s["context"] for s in statuses} == {"rollback-plan"}
    assert (
        len(statuses[-1]["description"]) <= 140 and statuses[-1]["target_url"] == "https://x.test/1"
    )
    assert fake.check_runs(REPO, sha) == []
    check = token.get_check(REPO, sha, "rollback-plan")
    assert (
        check is not None and check.state is CheckState.FAILURE
    )  # statuses can't say "action required"
    assert token.get_check(REPO, sha, "other") is None


# -- git data ------------------------------------------------------------------------------------


def test_commit_files_creates_then_moves_a_branch(fake: FakeGitHub, app: GitHubForge) -> None:
    start = fake.repos[REPO].refs["refs/heads/main"]
    first = app.commit_files(
        REPO,
        branch="rollback-plan/abc",
        start_sha=start,
        files={"db/002_down.sql": "DROP TABLE t;\n"},
        message="m1",
    )
    assert app.branch_sha(REPO, "rollback-plan/abc") == first
    assert fake.files_at(REPO, "rollback-plan/abc") == {
        "db/001_init.sql": "CREATE TABLE t (id int);\n",
        "db/002_down.sql": "DROP TABLE t;\n",
    }
    second = app.commit_files(
        REPO,
        branch="rollback-plan/abc",
        start_sha=start,
        files={"db/002_down.sql": "SELECT 1;\n"},
        message="m2",
    )
    assert second != first and app.branch_sha(REPO, "rollback-plan/abc") == second
    assert fake.files_at(REPO, "rollback-plan/abc")["db/002_down.sql"] == "SELECT 1;\n"
    assert (
        fake.repos[REPO].commits[second]["parents"][0]["sha"] == start
    )  # force-moved, not stacked
    assert fake.files_at(REPO, "main") == {"db/001_init.sql": "CREATE TABLE t (id int);\n"}


def test_a_timeout_on_creating_the_ref_is_not_fatal(fake: FakeGitHub, app: GitHubForge) -> None:
    start = fake.repos[REPO].refs["refs/heads/main"]
    fake.fail_next("POST", r"/git/refs$", timeout=True)
    sha = app.commit_files(REPO, branch="rp/x", start_sha=start, files={"a.sql": "x"}, message="m")
    assert app.branch_sha(REPO, "rp/x") == sha
    assert len(fake.calls_to("POST", r"/git/refs$")) == 1


# -- retry policy, as seen through the client ----------------------------------------------------


def test_retry_after_is_honoured(fake: FakeGitHub, app: GitHubForge, sleeps: list[float]) -> None:
    fake.fail_next("GET", rf"/repos/{REPO}$", status=429, headers={"Retry-After": "7"})
    assert app.default_branch(REPO) == "main"
    assert sleeps == [7.0]


def test_a_secondary_rate_limit_on_a_write_is_waited_out_and_resent(
    fake: FakeGitHub, app: GitHubForge, sleeps: list[float]
) -> None:
    number = fake.add_pull(REPO, head="main", base="main")["number"]
    fake.fail_next(
        "POST",
        r"/issues/\d+/comments$",
        status=403,
        body={"message": "You have exceeded a secondary rate limit."},
    )
    app.create_comment(REPO, number, "hello")
    assert sleeps == [30.0]  # GitHub says "a minute"; one wait is capped
    assert len(fake.comments(REPO, number)) == 1


def test_a_persistent_outage_gives_up_as_transient(fake: FakeGitHub, app: GitHubForge) -> None:
    fake.fail_next("GET", r"/pulls/\d+$", status=503, times=10)
    with pytest.raises(ForgeError) as err:
        app.pull_request(REPO, 1)
    assert err.value.transient and err.value.status == 503
    assert len(fake.calls_to("GET", r"/pulls/\d+$")) == 4


def test_a_permanent_refusal_is_not_retried(fake: FakeGitHub, app: GitHubForge) -> None:
    fake.fail_next("PATCH", r"/pulls/\d+$", status=403, body={"message": "Resource not accessible"})
    number = fake.add_pull(REPO, head="main", base="main")["number"]
    with pytest.raises(ForgeError) as err:
        app.update_pull_request(REPO, number, title="t", body="b")
    assert not err.value.transient and err.value.status == 403
    assert len(fake.calls_to("PATCH", r"/pulls/\d+$")) == 1


# -- people --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("admin", Permission.ADMIN),
        ("maintain", Permission.MAINTAIN),
        ("write", Permission.WRITE),
        ("triage", Permission.READ),
        ("read", Permission.READ),
        (None, Permission.NONE),
    ],
)
def test_permission_mapping(
    fake: FakeGitHub, app: GitHubForge, role: str | None, expected: Permission
) -> None:
    if role is None:
        fake.add_user("stranger")
    else:
        fake.add_collaborator(REPO, "stranger", role)
    assert app.permission(REPO, "stranger") is expected


def test_team_members_follow_pagination(fake: FakeGitHub, app: GitHubForge) -> None:
    members = [f"dba{i}" for i in range(45)]
    fake.add_team("acme", "dba", members)
    assert app.team_members(REPO, "acme/dba") == frozenset(members)
    assert app.team_members(REPO, "dba") == frozenset(members)  # org defaults to the repo owner


# -- the shared retry policy itself (bot/forges/retry.py) ----------------------------------------


def _failing(*errors: Exception) -> tuple[list[int], Callable[[], str]]:
    calls: list[int] = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return calls, fn


def test_rate_limit_reset_is_waited_until_and_capped() -> None:
    waits: list[float] = []
    limited = TransientHTTP(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1010"})
    calls, fn = _failing(limited)
    assert call_with_retry(fn, write=True, sleep=waits.append, clock=lambda: 1000.0) == "done"
    assert waits == [11.0] and len(calls) == 2  # a refused write is safe to re-send
    far = TransientHTTP(429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999"})
    waits.clear()
    call_with_retry(_failing(far)[1], write=False, sleep=waits.append, clock=lambda: 1000.0)
    assert waits == [30.0]


def test_a_write_that_may_have_landed_is_not_resent_without_a_way_to_look() -> None:
    calls, fn = _failing(TransientHTTP(500))
    with pytest.raises(ForgeError) as err:
        call_with_retry(fn, write=True, sleep=lambda _: None)
    assert err.value.transient and len(calls) == 1


def test_the_idempotency_check_answers_instead_of_a_second_post() -> None:
    calls, fn = _failing(requests.exceptions.ReadTimeout("slow"))
    found = call_with_retry(
        fn, write=True, idempotency_check=lambda: "already there", sleep=lambda _: None
    )
    assert found == "already there" and len(calls) == 1


def test_the_budget_stops_long_waits() -> None:
    calls, fn = _failing(
        TransientHTTP(503, {"Retry-After": "25"}), TransientHTTP(503, {"Retry-After": "25"})
    )
    waits: list[float] = []
    with pytest.raises(ForgeError) as err:
        call_with_retry(fn, write=False, sleep=waits.append, budget_s=40)
    assert waits == [25.0] and len(calls) == 2
    assert err.value.transient and err.value.status == 503


def test_a_forge_that_never_answers_is_given_up_at_the_deadline() -> None:
    """Each attempt runs into the socket timeout (10 s): the total stays within the
    deadline, counting the attempts, not only the waits between them."""
    now = [0.0]
    waits: list[float] = []

    def stalled() -> str:
        now[0] += 10.0
        raise requests.exceptions.ReadTimeout("read timed out")

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    with pytest.raises(ForgeError) as err:
        call_with_retry(
            stalled, write=False, sleep=sleep, budget_s=30, attempt_timeout_s=10,
            monotonic=lambda: now[0],
        )  # fmt: skip
    assert now[0] <= 30 and waits == [0.5]
    assert err.value.transient and err.value.status is None


def test_non_transient_errors_pass_straight_through() -> None:
    calls, fn = _failing(ValueError("bug"))
    with pytest.raises(ValueError):
        call_with_retry(fn, write=False, sleep=lambda _: None)
    assert len(calls) == 1
