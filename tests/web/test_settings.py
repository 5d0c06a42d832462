"""Settings from ROLLBACK_PLAN_* variables: one clear line per problem, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

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
