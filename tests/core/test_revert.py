"""detect_revert(): which commits a commit reverts, and how we know, from messages as git,
GitHub and GitLab write them. No repository here: tests/sources/test_git.py runs the same
detection on commits made by a real `git revert`.

Message shapes, as their authors write them:
- git (sequencer.c): `Revert "<subject>"`, blank line, `This reverts commit <sha>.`; for a
  merge `This reverts commit <sha>, reversing\\nchanges made to <parent>.`; git >= 2.43 titles
  the revert of a revert `Reapply "<subject>"`.
- GitLab (app/models/commit.rb): `Revert "<title>"`, blank line, `This reverts commit <sha>` or
  `This reverts merge request !N`, no final period; branch `revert-<short_id>` (8 hex); merge
  commits end with `See merge request group/project!N`.
- GitHub's revert button: branch `revert-<N>-<head branch>`, PR title `Revert "<title>"`, body
  `Reverts owner/repo#N`; merge commits `Merge pull request #N from owner/branch`, squash
  commits `<PR title> (#N)`.
"""

from __future__ import annotations

from bot.core.revert import (
    ChangedFile,
    ChangeStatus,
    CommitMeta,
    DetectedBy,
    PullRequestMeta,
    detect_revert,
    title_depth,
    touched_paths,
)

A = "a1" * 20
B = "b2" * 20
C = "c3" * 20
M = "d4" * 20
P1 = "e5" * 20
REVERT = "f6" * 20
BLOB1 = "11" * 20
BLOB2 = "22" * 20
BLOB3 = "33" * 20


def commit(message: str, sha: str = REVERT, changed: tuple[ChangedFile, ...] = ()) -> CommitMeta:
    subject, _, body = message.partition("\n")
    return CommitMeta(sha=sha, subject=subject, body=body.strip("\n"), changed=changed)


def added(path: str, blob: str) -> ChangedFile:
    return ChangedFile(path, ChangeStatus.ADDED, None, blob)


def deleted(path: str, blob: str) -> ChangedFile:
    return ChangedFile(path, ChangeStatus.DELETED, blob, None)


def modified(path: str, old: str, new: str) -> ChangedFile:
    return ChangedFile(path, ChangeStatus.MODIFIED, old, new)


# --- git's own messages ------------------------------------------------------------------


def test_git_revert_message_names_the_reverted_commit() -> None:
    info = detect_revert(commit(f'Revert "Add email to users"\n\nThis reverts commit {A}.\n'))
    assert info is not None
    assert info.reverts == (A,)
    assert info.detected_by is DetectedBy.GIT_MESSAGE
    assert info.reapply is False
    assert info.reverted_title == "Add email to users"


def test_squashed_reverts_name_every_reverted_commit_in_order() -> None:
    message = (
        'Revert "Add index" and "Add email"\n\n'
        f'Revert "Add index"\n\nThis reverts commit {B}.\n\n'
        f'Revert "Add email"\n\nThis reverts commit {A}.\n'
    )
    info = detect_revert(commit(message))
    assert info is not None
    assert info.reverts == (B, A)


def test_abbreviated_sha_is_kept_as_written_and_expanded_when_a_candidate_has_it() -> None:
    message = 'Revert "Add email"\n\nThis reverts commit a1a1a1a.'
    assert detect_revert(commit(message)).reverts == ("a1a1a1a",)  # type: ignore[union-attr]
    original = commit("Add email", sha=A)
    info = detect_revert(commit(message), candidates=[original])
    assert info is not None and info.reverts == (A,)


def test_merge_revert_reports_the_merge_and_the_kept_parent() -> None:
    message = (
        'Revert "Merge pull request #12 from acme/add-email"\n\n'
        f"This reverts commit {M}, reversing\nchanges made to {P1}.\n"
    )
    info = detect_revert(commit(message))
    assert info is not None
    assert info.detected_by is DetectedBy.MERGE_REVERT
    assert info.reverts == (M,)
    assert info.mainline == (P1,)


def test_revert_of_a_revert_is_a_reapply_by_title() -> None:
    old_style = f'Revert "Revert "Add email""\n\nThis reverts commit {REVERT}.'
    new_style = f'Reapply "Add email"\n\nThis reverts commit {REVERT}.'
    for message in (old_style, new_style):
        info = detect_revert(commit(message, sha=C))
        assert info is not None
        assert info.reapply is True
        assert info.detected_by is DetectedBy.GIT_MESSAGE
        assert info.reverts == (REVERT,)
        assert info.reverted_title == "Add email"


def test_reverting_a_reapply_is_a_revert_again() -> None:
    info = detect_revert(commit(f'Revert "Reapply "Add email""\n\nThis reverts commit {C}.'))
    assert info is not None and info.reapply is False


def test_reapply_is_known_from_the_reverted_commit_even_with_an_edited_title() -> None:
    first = commit(f'Revert "Add email"\n\nThis reverts commit {A}.', sha=REVERT)
    again = commit(f"Bring email back\n\nThis reverts commit {REVERT}.", sha=C)
    info = detect_revert(again, candidates=[first, commit("Add email", sha=A)])
    assert info is not None and info.reapply is True


def test_reapply_title_alone_finds_the_revert_it_undoes() -> None:
    first = commit(f'Revert "Add email"\n\nThis reverts commit {A}.', sha=REVERT)
    info = detect_revert(commit('Reapply "Add email"', sha=C), candidates=[first])
    assert info is not None
    assert info.detected_by is DetectedBy.REAPPLY
    assert info.reapply is True
    assert info.reverts == (REVERT,)


def test_title_depth_counts_reverts_and_strips_a_squash_suffix() -> None:
    assert title_depth('Revert "Revert "x""') == (2, "x")
    assert title_depth('Reapply "x"') == (2, "x")
    assert title_depth('Revert "Reapply "x""') == (3, "x")
    assert title_depth('Revert "x" (#13)') == (1, "x")
    assert title_depth("Revert broken config") == (0, "Revert broken config")


# --- GitHub ------------------------------------------------------------------------------

GITHUB_PR = PullRequestMeta(
    title='Revert "Add email to users"',
    body="Reverts acme/shop#12",
    head_branch="revert-12-add-email",
    reference="acme/shop#13",
)


def test_github_revert_pr_merge_commit_is_found_through_the_pr() -> None:
    merge = commit(
        'Merge pull request #13 from acme/revert-12-add-email\n\nRevert "Add email to users"'
    )
    original = commit("Merge pull request #12 from acme/add-email\n\nAdd email to users", sha=M)
    info = detect_revert(merge, pr=GITHUB_PR, candidates=[original])
    assert info is not None
    assert info.detected_by is DetectedBy.GITHUB_PR
    assert info.reverted_pr == "acme/shop#12"
    assert info.reverts == (M,)


def test_github_revert_pr_merge_commit_without_the_pr_is_found_by_its_branch() -> None:
    merge = commit(
        'Merge pull request #13 from acme/revert-12-add-email\n\nRevert "Add email to users"'
    )
    squashed_original = commit("Add email to users (#12)", sha=A)
    info = detect_revert(merge, candidates=[squashed_original])
    assert info is not None
    assert info.detected_by is DetectedBy.BRANCH_NAME
    assert info.reverted_pr == "#12"
    assert info.reverts == (A,)


def test_squash_merged_github_revert_pr_keeps_the_revert_line() -> None:
    single = f'Revert "Add email to users" (#13)\n\nThis reverts commit {M}, reversing\nchanges made to {P1}.'
    several = (
        'Revert "Add email to users" (#13)\n\n'
        f'* Revert "Add index"\n\nThis reverts commit {B}.\n\n'
        f'* Revert "Add email"\n\nThis reverts commit {A}.'
    )
    info = detect_revert(commit(single), pr=GITHUB_PR)
    assert info is not None
    assert info.reverts == (M,)
    assert info.reverted_pr == "acme/shop#12"
    assert info.reverted_title == "Add email to users"
    info = detect_revert(commit(several), pr=GITHUB_PR)
    assert info is not None and info.reverts == (B, A)


def test_squash_with_the_pr_description_as_body() -> None:
    info = detect_revert(commit('Revert "Add email to users" (#13)\n\nReverts acme/shop#12'))
    assert info is not None
    assert info.detected_by is DetectedBy.GITHUB_PR
    assert info.reverted_pr == "acme/shop#12"


# --- GitLab ------------------------------------------------------------------------------


def test_gitlab_revert_commit_has_no_final_period() -> None:
    info = detect_revert(commit(f'Revert "Add email to users"\n\nThis reverts commit {A}'))
    assert info is not None
    assert info.detected_by is DetectedBy.GITLAB_COMMIT
    assert info.reverts == (A,)


def test_gitlab_merge_request_revert_is_resolved_to_the_merge_commit() -> None:
    revert = commit(
        "Revert \"Merge branch 'add-email' into 'main'\"\n\nThis reverts merge request !34"
    )
    original = commit(
        "Merge branch 'add-email' into 'main'\n\nAdd email to users\n\n"
        "See merge request acme/shop!34",
        sha=M,
    )
    other = commit(
        "Merge branch 'add-index' into 'main'\n\nAdd index\n\nSee merge request acme/shop!340",
        sha=B,
    )
    info = detect_revert(revert, candidates=[other, original])
    assert info is not None
    assert info.detected_by is DetectedBy.GITLAB_MR
    assert info.reverted_pr == "!34"
    assert info.reverts == (M,)


def test_gitlab_revert_branch_names_the_short_sha() -> None:
    merge = commit(
        "Merge branch 'revert-a1a1a1a1' into 'main'\n\nRevert \"Add email\"\n\n"
        "See merge request acme/shop!35"
    )
    info = detect_revert(merge, candidates=[commit("Add email", sha=A)])
    assert info is not None
    assert info.detected_by is DetectedBy.BRANCH_NAME
    assert info.reverts == (A,)


def test_gitlab_revert_mr_description() -> None:
    pr = PullRequestMeta('Revert "Add email"', f"This reverts commit {A}", "revert-a1a1a1a1")
    info = detect_revert(commit("Undo the email change"), pr=pr)
    assert info is not None
    assert info.detected_by is DetectedBy.GITLAB_MR
    assert info.reverts == (A,)


# --- content fallback --------------------------------------------------------------------


def test_content_inverse_of_an_earlier_commit_is_a_revert() -> None:
    original = commit(
        "Add email",
        sha=A,
        changed=(added("db/2_email.up.sql", BLOB1), modified("db/schema.sql", BLOB2, BLOB3)),
    )
    undo = commit(
        "Undo",
        changed=(deleted("db/2_email.up.sql", BLOB1), modified("db/schema.sql", BLOB3, BLOB2)),
    )
    info = detect_revert(undo, candidates=[commit("Unrelated", sha=B), original])
    assert info is not None
    assert info.detected_by is DetectedBy.CONTENT
    assert info.reverts == (A,)


def test_rename_back_is_the_inverse_of_a_rename() -> None:
    there = ChangedFile("db/2_b.sql", ChangeStatus.RENAMED, BLOB1, BLOB2, old_path="db/2_a.sql")
    back = ChangedFile("db/2_a.sql", ChangeStatus.RENAMED, BLOB2, BLOB1, old_path="db/2_b.sql")
    info = detect_revert(commit("Undo", changed=(back,)), candidates=[commit("x", A, (there,))])
    assert info is not None and info.reverts == (A,)


def test_content_that_only_looks_like_an_inverse_is_not_a_revert() -> None:
    original = commit("Add email", sha=A, changed=(added("db/2_email.up.sql", BLOB1),))
    edited_then_deleted = commit("Cleanup", changed=(deleted("db/2_email.up.sql", BLOB2),))
    partial = commit(
        "Cleanup",
        changed=(deleted("db/2_email.up.sql", BLOB1), added("db/3_other.up.sql", BLOB3)),
    )
    assert detect_revert(edited_then_deleted, candidates=[original]) is None
    assert detect_revert(partial, candidates=[original]) is None


def test_content_comparison_can_be_limited_to_schema_paths() -> None:
    original = commit(
        "Add email", sha=A, changed=(added("db/2.sql", BLOB1), modified("app.py", BLOB2, BLOB3))
    )
    # the app change was kept (conflict resolved by hand); the schema part is reverted
    undo = commit("Undo", changed=(deleted("db/2.sql", BLOB1),))
    assert detect_revert(undo, candidates=[original]) is None
    info = detect_revert(undo, candidates=[original], paths=["db"])
    assert info is not None and info.reverts == (A,)


def test_no_commit_revert_of_two_commits_is_completed_by_content() -> None:
    # `git revert --no-commit B A` keeps only the last message
    add_a = commit("add a", sha=A, changed=(added("db/1.sql", BLOB1),))
    add_b = commit("add b", sha=B, changed=(added("db/2.sql", BLOB2),))
    undo = commit(
        f'Revert "add a"\n\nThis reverts commit {A}.',
        changed=(deleted("db/1.sql", BLOB1), deleted("db/2.sql", BLOB2)),
    )
    info = detect_revert(undo, candidates=[add_b, add_a])
    assert info is not None
    assert info.detected_by is DetectedBy.GIT_MESSAGE
    assert set(info.reverts) == {A, B}


# --- not reverts -------------------------------------------------------------------------


def test_ordinary_commits_are_not_reverts() -> None:
    for message in (
        "Add email to users",
        "Revert broken config\n\nThe config was wrong.",
        "Reland cart totals\n\nThe earlier This reverts merge request !12 was wrong.",
        f"Docs\n\nExplain that a line like 'This reverts commit {A}.' is what git writes.",
    ):
        assert detect_revert(commit(message)) is None, message


def test_touched_paths_include_both_sides_of_a_rename() -> None:
    meta = commit(
        "x",
        changed=(
            ChangedFile("db/b.sql", ChangeStatus.RENAMED, BLOB1, BLOB1, old_path="db/a.sql"),
            deleted("db/c.sql", BLOB2),
        ),
    )
    assert touched_paths(meta) == {"db/a.sql", "db/b.sql", "db/c.sql"}


def test_pr_without_a_head_branch_falls_back_to_the_merge_subject() -> None:
    merge = commit("Merge branch 'revert-a1a1a1a1' into 'main'")
    info = detect_revert(merge, pr=PullRequestMeta(title="Undo"))
    assert info is not None and info.reverts == ("a1a1a1a1",)
