"""Settings from ROLLBACK_PLAN_* variables: one clear line per problem, secrets never shown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.forges import Permission
from bot.settings import DEFAULT_MAX_BODY_BYTES, SettingsError, load_settings

SECRET = "s3cr3t-value-never-shown"
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow-fake\n-----END RSA PRIVATE KEY-----\n"


def env(**values: str) -> dict[str, str]:
    return {f"ROLLBACK_PLAN_{k}": v for k, v in values.items()}


def test_github_token_setup_and_defaults() -> None:
    s = load_settings(env(GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_TOKEN="ghp_x"))
    assert s.github_enabled and not s.gitlab_enabled
    assert s.github_api_url == "https://api.github.com"
    assert s.gitlab_url == "https://gitlab.com"
    assert s.max_body_bytes == DEFAULT_MAX_BODY_BYTES == 25 * 1024 * 1024


def test_app_auth_and_files(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text(KEY)
    hook = tmp_path / "hook"
    hook.write_text(SECRET + "\n")  # trailing newline from `echo` is not part of it
    s = load_settings(
        env(
            GITHUB_WEBHOOK_SECRET_FILE=str(hook),
            GITHUB_APP_ID="12345",
            GITHUB_PRIVATE_KEY_FILE=str(key),
            GITHUB_API_URL="https://ghe.example.com/api/v3/",
            GITLAB_WEBHOOK_SECRET="gl",
            GITLAB_TOKEN="glpat",
            GITLAB_URL="https://gitlab.example.com",
            MAX_BODY_BYTES="1000",
            PUBLIC_URL="https://bot.example.com/",
            BOT_LOGINS="Rollback-Plan[bot], rollback-plan-bot",
        )
    )
    assert s.github_webhook_secret == SECRET
    assert s.github_app_id == 12345
    assert s.github_private_key == KEY.strip()
    assert s.github_api_url == "https://ghe.example.com/api/v3"
    assert s.max_body_bytes == 1000
    assert s.public_url == "https://bot.example.com"
    assert s.is_bot_login("rollback-plan[BOT]")
    assert s.gitlab_enabled


def test_repr_hides_secrets() -> None:
    s = load_settings(
        env(
            GITHUB_WEBHOOK_SECRET=SECRET,
            GITHUB_TOKEN=SECRET + "t",
            GITLAB_WEBHOOK_SECRET=SECRET + "g",
            GITLAB_TOKEN=SECRET + "l",
        )
    )
    for text in (repr(s), str(s), f"{s}"):
        assert SECRET not in text
        assert "github_webhook_secret=<set>" in text


def test_no_forge_enabled() -> None:
    with pytest.raises(SettingsError, match="no forge is enabled"):
        load_settings({})
    with pytest.raises(SettingsError, match="no forge is enabled"):
        load_settings(env(GITHUB_WEBHOOK_SECRET="  ", GITHUB_TOKEN="x"))  # blank is unset


def test_every_problem_reported_once_without_values(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(
            env(
                GITHUB_WEBHOOK_SECRET=SECRET,
                GITHUB_WEBHOOK_SECRET_FILE=str(tmp_path / "x"),
                GITHUB_APP_ID="12x",
                GITHUB_PRIVATE_KEY=SECRET,
                GITLAB_WEBHOOK_SECRET=SECRET,
                GITLAB_URL=f"https://user:{SECRET}@gitlab.example.com",
                MAX_BODY_BYTES="-1",
            )
        )
    problems = err.value.problems
    assert SECRET not in str(err.value)
    assert any(
        "GITHUB_WEBHOOK_SECRET or ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET_FILE, not both" in p
        for p in problems
    )
    assert any("GITHUB_APP_ID must be a positive integer" in p for p in problems)
    assert any("does not look like a PEM private key" in p for p in problems)
    assert any("GITLAB_URL must not contain credentials" in p for p in problems)
    assert any("MAX_BODY_BYTES must be a positive integer" in p for p in problems)
    assert any("GITLAB_TOKEN (or _FILE) is not" in p for p in problems)
    assert len(problems) == len(set(problems))


def test_unreadable_and_empty_secret_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(SettingsError) as err:
        load_settings(
            env(
                GITHUB_WEBHOOK_SECRET_FILE=str(tmp_path / "missing"),
                GITLAB_WEBHOOK_SECRET_FILE=str(empty),
            )
        )
    text = str(err.value)
    assert "GITHUB_WEBHOOK_SECRET_FILE: cannot read" in text
    assert "GITLAB_WEBHOOK_SECRET_FILE:" in text and "is empty" in text


def test_credentials_required_for_an_enabled_forge() -> None:
    with pytest.raises(SettingsError, match="no GitHub credentials"):
        load_settings(env(GITHUB_WEBHOOK_SECRET=SECRET))
    with pytest.raises(SettingsError, match="go together"):
        load_settings(env(GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_APP_ID="1"))


def test_bad_url() -> None:
    with pytest.raises(SettingsError, match="GITHUB_API_URL must be an http"):
        load_settings(env(GITHUB_WEBHOOK_SECRET=SECRET, GITHUB_TOKEN="x", GITHUB_API_URL="ftp://x"))


# -- check-config ------------------------------------------------------------------------------


def check_config(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], env: dict[str, str]
) -> tuple[int, str, str]:
    from bot.cli import main

    for name in [n for n in os.environ if n.startswith("ROLLBACK_PLAN_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["check-config"])
    out, err = capsys.readouterr()
    return code, out, err


GOOD = {
    "ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET": "s3cret-webhook",
    "ROLLBACK_PLAN_GITHUB_TOKEN": "ghp_" + "x" * 36,
}


def test_check_config_says_what_will_run_in_words(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = {**GOOD, "ROLLBACK_PLAN_QUEUE_PATH": str(tmp_path / "q.sqlite3")}
    code, out, err = check_config(monkeypatch, capsys, env)
    assert code == 0 and err == ""
    assert out.startswith("rollback-plan: the settings are valid.\n")
    assert "Settings(" not in out and "s3cret-webhook" not in out and "ghp_" not in out
    assert f"job queue:  the SQLite file {tmp_path / 'q.sqlite3'}" in out
    assert "GitHub at https://api.github.com (a token)" in out


def test_check_config_lists_every_problem_on_its_own_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    env = {
        **GOOD,
        "ROLLBACK_PLAN_REDIS_URL": "http://user:pw@cache:6379/0",
        "ROLLBACK_PLAN_LOG_LEVEL": "chatty",
        "ROLLBACK_PLAN_MYSQL_SCRATCH_URL": "postgres://db/app",
        "ROLLBACK_PLAN_QUEUE_PATH": str(tmp_path),
        "ROLLBACK_PLAN_GITHUB_TOKN": "x",
        "ROLLBACK_PLAN_PUBLIC_ULR": "https://bot.example",
    }
    code, out, err = check_config(monkeypatch, capsys, env)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert lines[0] == "rollback-plan: error: 6 problem(s) in the settings:"
    assert lines[1:] == [
        f"  ROLLBACK_PLAN_QUEUE_PATH: {tmp_path} is a directory; give the queue file's path",
        "  ROLLBACK_PLAN_REDIS_URL must be a redis://, rediss:// or unix:// URL",
        "  ROLLBACK_PLAN_LOG_LEVEL: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, "
        "got 'CHATTY'",
        "  ROLLBACK_PLAN_GITHUB_TOKN is not a setting rollback-plan reads "
        "(did you mean ROLLBACK_PLAN_GITHUB_TOKEN?)",
        "  ROLLBACK_PLAN_PUBLIC_ULR is not a setting rollback-plan reads "
        "(did you mean ROLLBACK_PLAN_PUBLIC_URL?)",
        "  ROLLBACK_PLAN_MYSQL_SCRATCH_URL must be a mysql:// or mariadb:// URL with a host",
    ]
    assert "pw" not in err  # the Redis URL's password is not echoed


def test_a_scratch_url_naming_a_database_is_refused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {**GOOD, "ROLLBACK_PLAN_MYSQL_SCRATCH_URL": "mysql://root@127.0.0.1:3306/app"}
    code, _, err = check_config(monkeypatch, capsys, env)
    assert code == 2 and "must name a server, not a database" in err


def test_serve_names_a_bad_log_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    for name, value in {**GOOD, "ROLLBACK_PLAN_LOG_LEVEL": "loud"}.items():
        monkeypatch.setenv(name, value)
    assert main(["worker"]) == 2
    err = capsys.readouterr().err
    assert "ROLLBACK_PLAN_LOG_LEVEL: expected one of" in err


def test_the_approval_permission_is_a_permission() -> None:
    settings = load_settings({**GOOD, "ROLLBACK_PLAN_APPROVAL_MIN_PERMISSION": "Maintain"})
    assert settings.approval_min_permission is Permission.MAINTAIN
