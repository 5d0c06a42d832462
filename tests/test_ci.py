"""`rollback-plan ci` end to end: a real git checkout as the CI workspace, the event as the CI
provides it (GITHUB_EVENT_PATH from a stored webhook payload; GitLab's CI_* variables), and
the real PyGithub / python-gitlab clients talking to the fake forges on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.ci import EXIT_ERROR, EXIT_GATE, EXIT_OK, CiError, from_gitlab_ci, main_ci
from bot.executor import COMMENT_MARKER
from tests.fakes.github import FakeGitHub
from tests.fakes.gitlab import Commit, FakeGitLab
from tests.jobs.scenario import CONFIG, EMAIL, INDEX, USERS
from tests.planner.repo import Repo
from tests.web.conftest import payload

REPO = "acme/app"
TOKEN = "ghs_ci_token_0123456789abcdef"
GL_TOKEN = "glpat-ci-0123456789abcdef"
ACTIONS_BOT = "github-actions[bot]"
FAST = {"throttle": False}  # PyGithub's request spacing is for github.com, not the fake


def run_github(env: dict[str, str]) -> int:
    return main_ci([], env, forge_options=FAST)


def _ls_tree(repo: Repo, sha: str) -> dict[str, tuple[str, bytes]]:
    """{path: (blob sha, content)} of a commit, read with git itself."""
    out: dict[str, tuple[str, bytes]] = {}
    for line in repo.git("ls-tree", "-r", sha).splitlines():
        meta, path = line.split("\t", 1)
        blob = meta.split()[2]
        content = subprocess.run(
            ["git", "cat-file", "blob", blob], cwd=repo.path, check=True, capture_output=True
        ).stdout
        out[path] = (blob, content)
    return out


def _commits(repo: Repo) -> list[tuple[str, list[str], str]]:
    """(sha, parents, subject) of every commit, parents first."""
    rows = repo.git("log", "--all", "--reverse", "--topo-order", "--format=%H %P%x09%s")
    out = []
    for row in rows.splitlines():
        shas, subject = row.split("\t", 1)
        sha, *parents = shas.split()
        out.append((sha, parents, subject))
    return out


def _branches(repo: Repo) -> dict[str, str]:
    rows = repo.git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads")
    return dict(row.split() for row in rows.splitlines())


def mirror_to_github(fake: FakeGitHub, repo: Repo) -> None:
    """The fake serves the checkout's commits under their real SHAs, as GitHub would."""
    r = fake.repos[REPO]
    for sha, parents, subject in _commits(repo):
        tree = repo.git("rev-parse", f"{sha}^{{tree}}")
        entries = _ls_tree(repo, sha)
        for blob, content in entries.values():
            r.blobs[blob] = content
        r.trees[tree] = {path: blob for path, (blob, _) in entries.items()}
        made = fake._store_commit(r, subject, tree, parents)
        data = r.commits.pop(made)
        r.commits[sha] = data | {"sha": sha, "url": data["url"].replace(made, sha)}
    for branch, sha in _branches(repo).items():
        r.refs[f"refs/heads/{branch}"] = sha


def mirror_to_gitlab(fake: FakeGitLab, repo: Repo, project: str) -> None:
    p = fake._project_by_path(project)
    for sha, parents, subject in _commits(repo):
        files = {path: content.decode() for path, (_, content) in _ls_tree(repo, sha).items()}
        fake.commits[sha] = Commit(sha, subject, parents, files, "root", "2026-11-02T10:00:00Z")
    p.branches.update(_branches(repo))


def checkout(tmp: Path, revert: dict[str, str] | None = None) -> Repo:
    """main: users, then `Add email (#2)`; branch revert-2-add-email reverts it."""
    repo = Repo(tmp / "workspace")
    repo.commit("Users", {".rollback-plan.yml": CONFIG, **USERS})
    repo.commit("Add email (#2)", revert or EMAIL)
    repo.git("checkout", "-q", "-b", "revert-2-add-email")
    repo.revert("HEAD")
    repo.git("checkout", "-q", "main")
    return repo


def github_event(tmp: Path, number: int, head: str, head_ref: str, action: str) -> Path:
    """GitHub's pull_request example payload, pointed at our repository and PR."""
    event = payload("github", "pull_request.synchronize")
    event["action"] = action
    event["number"] = number
    event.pop("installation", None)  # Actions events carry none
    pr = event["pull_request"]
    pr["number"] = number
    pr["head"]["sha"] = head
    pr["head"]["ref"] = head_ref
    pr["base"]["ref"] = "main"
    for where in (event["repository"], pr["head"]["repo"], pr["base"]["repo"]):
        where["full_name"] = REPO
        where["name"] = "app"
    path = tmp / "event.json"
    path.write_text(json.dumps(event))
    return path


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        fake.add_token(TOKEN, ACTIONS_BOT)
        yield fake
    assert not fake.errors, fake.errors


def actions_env(fake: FakeGitHub, workspace: Path, event_path: Path, name: str) -> dict[str, str]:
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": fake.api_url,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_RUN_ID": "7",
        "GITHUB_RUN_ATTEMPT": "1",
    }


def _bot_comments(fake: FakeGitHub, number: int) -> list[dict[str, Any]]:
    return [c for c in fake.comments(REPO, number) if c["user"]["login"] == ACTIONS_BOT]


def test_github_revert_pr_gets_one_comment_one_check_and_fails_the_job(
    tmp_path: Path, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = checkout(tmp_path)
    head = repo.git("rev-parse", "revert-2-add-email")
    mirror_to_github(github, repo)
    pr = github.add_pull(
        REPO, head="revert-2-add-email", base="main", title='Revert "Add email (#2)"'
    )
    env = actions_env(
        github,
        repo.path,
        github_event(tmp_path, pr["number"], head, "revert-2-add-email", "opened"),
        "pull_request",
    )

    for _ in range(2):  # a re-run of the job converges: still one comment, one status
        assert run_github(env) == EXIT_GATE

    comments = _bot_comments(github, pr["number"])
    assert len(comments) == 1
    assert COMMENT_MARKER in comments[0]["body"]
    assert "refused" in comments[0]["body"]
    statuses = {s["context"]: s["state"] for s in github.statuses(REPO, head)}
    assert statuses == {"rollback-plan": "failure"}
    # the companion PR carries the data-preserving way back
    companions = [p for p in github.pulls(REPO) if p["head"]["ref"].startswith("rollback-plan/")]
    assert len(companions) == 1
    assert "check rollback-plan is failure" in capsys.readouterr().out


def test_github_approval_comment_opens_the_gate(tmp_path: Path, github: FakeGitHub) -> None:
    """The workflow also runs on issue_comment: `/rollback-plan approve data-loss` by a
    maintainer turns the check green, and the PR job passes when re-run."""
    repo = checkout(tmp_path)
    head = repo.git("rev-parse", "revert-2-add-email")
    mirror_to_github(github, repo)
    github.add_collaborator(REPO, "wendy", "maintain")
    pr = github.add_pull(
        REPO, head="revert-2-add-email", base="main", title='Revert "Add email (#2)"'
    )
    pr_event = github_event(tmp_path, pr["number"], head, "revert-2-add-email", "opened")
    assert run_github(actions_env(github, repo.path, pr_event, "pull_request")) == EXIT_GATE

    comment = github.add_comment(REPO, pr["number"], "/rollback-plan approve data-loss", "wendy")
    event = payload("github", "issue_comment.created.on-issue")
    event["issue"]["number"] = pr["number"]
    event["issue"]["pull_request"] = {"url": pr["url"]}
    event["comment"]["id"] = comment["id"]
    event["comment"]["body"] = comment["body"]
    event["comment"]["user"] = comment["user"]
    event["sender"] = comment["user"]
    event["repository"]["full_name"] = REPO
    comment_path = tmp_path / "comment.json"
    comment_path.write_text(json.dumps(event))
    # the comment's workflow runs on the default branch's checkout
    repo.git("checkout", "-q", "main")
    assert run_github(actions_env(github, repo.path, comment_path, "issue_comment")) == EXIT_OK

    assert github.statuses(REPO, head)[-1]["state"] == "success"
    assert run_github(actions_env(github, repo.path, pr_event, "pull_request")) == EXIT_OK
    assert len([c for c in _bot_comments(github, pr["number"]) if COMMENT_MARKER in c["body"]]) == 1


def test_shallow_checkout_is_deepened_from_its_origin(tmp_path: Path, github: FakeGitHub) -> None:
    origin = checkout(tmp_path, INDEX)
    head = origin.git("rev-parse", "revert-2-add-email")
    mirror_to_github(github, origin)
    pr = github.add_pull(REPO, head="revert-2-add-email", base="main", title="Revert index")
    # actions/checkout's default: one commit deep, at the PR's head
    workspace = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--branch=revert-2-add-email",
         origin.path.as_uri(), str(workspace)],
        check=True,
    )  # fmt: skip
    event = github_event(tmp_path, pr["number"], head, "revert-2-add-email", "opened")

    assert run_github(actions_env(github, workspace, event, "pull_request")) == EXIT_OK
    assert [s["state"] for s in github.statuses(REPO, head)] == ["success"]


def test_github_safe_revert_passes(tmp_path: Path, github: FakeGitHub) -> None:
    repo = checkout(tmp_path, INDEX)
    head = repo.git("rev-parse", "revert-2-add-email")
    mirror_to_github(github, repo)
    pr = github.add_pull(REPO, head="revert-2-add-email", base="main", title="Revert index")
    event = github_event(tmp_path, pr["number"], head, "revert-2-add-email", "synchronize")

    assert run_github(actions_env(github, repo.path, event, "pull_request")) == EXIT_OK

    assert len(_bot_comments(github, pr["number"])) == 1
    assert [s["state"] for s in github.statuses(REPO, head)] == ["success"]


def test_github_pr_that_is_no_revert_gets_a_report_only_when_it_changes_a_schema(
    tmp_path: Path, github: FakeGitHub
) -> None:
    repo = Repo(tmp_path / "workspace")
    repo.commit("Users", {".rollback-plan.yml": CONFIG, **USERS})
    repo.git("checkout", "-q", "-b", "add-email")
    schema_head = repo.commit("Add email", EMAIL)
    repo.git("checkout", "-q", "-b", "docs", "main")
    docs_head = repo.commit("Docs", {"README.md": "hello\n"})
    repo.git("checkout", "-q", "main")
    mirror_to_github(github, repo)
    schema_pr = github.add_pull(REPO, head="add-email", base="main", title="Add email")
    docs_pr = github.add_pull(REPO, head="docs", base="main", title="Docs")

    for pr, head, ref in ((schema_pr, schema_head, "add-email"), (docs_pr, docs_head, "docs")):
        event = github_event(tmp_path, pr["number"], head, ref, "opened")
        # a report informs; it does not gate a change that is not a revert
        assert run_github(actions_env(github, repo.path, event, "pull_request")) == EXIT_OK

    report = _bot_comments(github, schema_pr["number"])
    assert len(report) == 1 and "Reversibility report" in report[0]["body"]
    assert _bot_comments(github, docs_pr["number"]) == []
    assert github.statuses(REPO, schema_head) == []


def test_github_closed_pr_is_nothing_to_do(tmp_path: Path, github: FakeGitHub) -> None:
    repo = checkout(tmp_path)
    head = repo.git("rev-parse", "revert-2-add-email")
    event = github_event(tmp_path, 1, head, "revert-2-add-email", "closed")

    assert run_github(actions_env(github, repo.path, event, "pull_request")) == EXIT_OK
    assert github.calls == []


def test_missing_token_is_an_error_naming_what_to_set(
    tmp_path: Path, github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = checkout(tmp_path)
    event = github_event(tmp_path, 1, repo.head(), "main", "opened")
    env = actions_env(github, repo.path, event, "pull_request")
    del env["GITHUB_TOKEN"]

    assert run_github(env) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "GITHUB_TOKEN" in err and "Traceback" not in err


def test_outside_ci_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_ci([], {}) == EXIT_ERROR
    assert "not running in GitHub Actions or GitLab CI" in capsys.readouterr().err


# -- GitLab CI -----------------------------------------------------------------------------------


@pytest.fixture
def gitlab() -> Iterator[FakeGitLab]:
    with FakeGitLab() as fake:
        fake.add_user("project_7_bot", token=GL_TOKEN, bot=True)
        fake.add_user("alice")
        fake.add_project(REPO, members={"project_7_bot": 30, "alice": 30})
        yield fake
    fake.assert_clean()


def gitlab_env(fake: FakeGitLab, workspace: Path, iid: int, head: str) -> dict[str, str]:
    return {
        "GITLAB_CI": "true",
        "CI_MERGE_REQUEST_IID": str(iid),
        "CI_PROJECT_PATH": REPO,
        "CI_SERVER_URL": fake.url,
        "CI_API_V4_URL": f"{fake.url}/api/v4",
        "CI_PROJECT_DIR": str(workspace),
        "CI_COMMIT_SHA": head,
        "CI_PIPELINE_ID": "11",
        "CI_JOB_ID": "12",
        "CI_JOB_TOKEN": "job-token-cannot-post",
        "ROLLBACK_PLAN_GITLAB_TOKEN": GL_TOKEN,
    }


def test_gitlab_revert_mr_gets_one_note_one_status(tmp_path: Path, gitlab: FakeGitLab) -> None:
    repo = checkout(tmp_path, INDEX)
    head = repo.git("rev-parse", "revert-2-add-email")
    mirror_to_gitlab(gitlab, repo, REPO)
    iid = gitlab.add_merge_request(
        REPO, source_branch="revert-2-add-email", title="Revert index", author="alice"
    )
    env = gitlab_env(gitlab, repo.path, iid, head)

    for _ in range(2):
        assert main_ci([], env) == EXIT_OK

    notes = [n for n in gitlab.mr_notes(REPO, iid) if n["author"]["username"] == "project_7_bot"]
    assert len(notes) == 1 and COMMENT_MARKER in notes[0]["body"]
    states = [
        s["status"] for s in gitlab.commit_statuses(REPO, head) if s["name"] == "rollback-plan"
    ]
    assert states == ["success"]


def test_gitlab_refused_revert_fails_the_job(tmp_path: Path, gitlab: FakeGitLab) -> None:
    repo = checkout(tmp_path)
    head = repo.git("rev-parse", "revert-2-add-email")
    mirror_to_gitlab(gitlab, repo, REPO)
    iid = gitlab.add_merge_request(
        REPO, source_branch="revert-2-add-email", title='Revert "Add email (#2)"', author="alice"
    )

    assert main_ci([], gitlab_env(gitlab, repo.path, iid, head)) == EXIT_GATE
    states = [
        s["status"] for s in gitlab.commit_statuses(REPO, head) if s["name"] == "rollback-plan"
    ]
    assert states == ["failed"]


def test_gitlab_job_token_alone_is_refused_with_the_reason() -> None:
    env = {
        "GITLAB_CI": "true",
        "CI_MERGE_REQUEST_IID": "3",
        "CI_PROJECT_PATH": REPO,
        "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
        "CI_JOB_TOKEN": "x" * 20,
    }
    with pytest.raises(CiError, match="CI_JOB_TOKEN cannot post"):
        from_gitlab_ci(env)


def test_gitlab_merge_request_pipeline_only(tmp_path: Path) -> None:
    with pytest.raises(CiError, match="merge_request_event"):
        from_gitlab_ci({"GITLAB_CI": "true", "CI_PROJECT_PATH": REPO})


def test_gitlab_instance_url_from_the_api_url() -> None:
    run = from_gitlab_ci(
        {
            "CI_MERGE_REQUEST_IID": "3",
            "CI_PROJECT_PATH": "group/sub/app",
            "CI_API_V4_URL": "https://gitlab.example.com/api/v4",
            "ROLLBACK_PLAN_GITLAB_TOKEN": GL_TOKEN,
            "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA": "a" * 40,
            "CI_COMMIT_SHA": "b" * 40,  # the merged-results preview, not the MR head
        }
    )
    assert run.api_url == "https://gitlab.example.com"
    assert run.job is not None and run.job.sha == "a" * 40 and run.job.number == 3
    assert GL_TOKEN not in repr(run)


# -- the shipped CI definitions ------------------------------------------------------------------


def test_action_and_gitlab_template_run_options_the_command_accepts() -> None:
    import argparse

    import yaml

    from bot.ci import add_arguments

    root = Path(__file__).resolve().parents[1]
    action = yaml.safe_load((root / "action.yml").read_text())
    template = yaml.safe_load((root / "ci/gitlab/rollback-plan.gitlab-ci.yml").read_text())
    parser = argparse.ArgumentParser()
    add_arguments(parser)

    assert set(action["inputs"]) >= {"github-token", "dialect", "verify"}
    script = action["runs"]["steps"][-1]["run"]
    assert 'rollback-plan ci "${args[@]}"' in script
    # every option the action can pass, at once
    args = parser.parse_args(["--report", "always", "--dialect", "postgres", "--verify"])
    assert (args.report, args.dialect, args.verify) == ("always", "postgres", True)
    assert action["runs"]["steps"][-1]["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"

    job = template[".rollback-plan"]
    assert job["script"] == ["rollback-plan ci $ROLLBACK_PLAN_ARGS"]
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["variables"]["GIT_DEPTH"] == "0"
