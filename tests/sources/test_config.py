"""`.rollback-plan.yml`: the documented example loads, and every mistake gets a clear message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.model import Dialect
from bot.core.risk.analyse import policy_from_config
from bot.sources.config import ConfigError, DatabaseRef, RepoConfig, SourceConfig, load_config
from bot.sources.model import Format

DOCS = Path(__file__).resolve().parents[2] / "docs" / "config.md"


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(text)
    assert str(info.value) == "\n".join(info.value.errors)
    return list(info.value.errors)


def test_the_documented_example_loads() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(), re.S)
    config = load_config(blocks[0])
    assert config.default_branch == "main"
    assert config.sources[0] == SourceConfig(
        path="db/migrations", format=Format.GOLANG_MIGRATE, dialect=Dialect.POSTGRES, name="app"
    )
    assert config.sources[1].manifest == "deploy/atlas/migration.yaml"
    assert config.sources[1].policy == {"data_loss": "refuse"}
    assert config.policy == {"data_loss": "refused", "locking": "needs-approval"}
    policy_from_config(config.policy)  # the documented policy is one the rules accept
    for source in config.sources:
        policy_from_config(source.policy)
    assert config.column_order == "cosmetic"
    assert config.databases == {
        "app": DatabaseRef(url_env="APP_DATABASE_URL_RO"),
        "billing": DatabaseRef(url_file="/var/run/secrets/billing-db/url"),
    }
    assert config.ref_for_tag("ghcr.io/acme/app-migrations:sha-3f2a9c1", "sha-3f2a9c1") == "3f2a9c1"
    assert config.ref_for_tag("ghcr.io/acme/api", "v1.4.2") == "v1.4.2"
    assert config.ref_for_tag("ghcr.io/acme/api", "release-20240131") == "release/20240131"
    # The sha rule is limited to its image; other images' sha- tags map nowhere.
    assert config.ref_for_tag("ghcr.io/acme/api", "sha-3f2a9c1") is None
    assert config.ref_for_tag("ghcr.io/acme/api", "latest") is None


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "---\n"])
def test_empty_file_means_defaults(text: str) -> None:
    assert load_config(text) == RepoConfig()


def test_auto_format_and_dialect_aliases() -> None:
    config = load_config("sources:\n  - path: db/\n    format: auto\n    dialect: MariaDB\n")
    assert config.sources == (SourceConfig(path="db", format=None, dialect=Dialect.MYSQL),)


def test_wrong_dialect_names_file_key_and_choices() -> None:
    text = "sources:\n  - path: db\n  - path: legacy\n    dialect: oracle\n"
    assert errors(text) == [
        ".rollback-plan.yml: sources[1].dialect: expected one of postgres, mysql, sqlite, got 'oracle'"
    ]


def test_unknown_keys_suggest_the_close_one() -> None:
    text = "sourcs: []\nsources:\n  - path: db\n    dialet: postgres\n"
    assert errors(text) == [
        ".rollback-plan.yml: sourcs: unknown key (expected one of version, default_branch, "
        "sources, tags, policy, databases, column_order); did you mean 'sources'?",
        ".rollback-plan.yml: sources[0].dialet: unknown key (expected one of path, format, "
        "dialect, name, manifest, policy, engine); did you mean 'dialect'?",
    ]


def test_wrong_types_are_all_reported_with_the_file_name() -> None:
    text = (
        "version: '1'\ndefault_branch: [main]\nsources: db/migrations\n"
        "tags: sha-{sha}\npolicy: [data_loss]\ndatabases: APP_URL\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(text, path="repo/.rollback-plan.yml")
    assert list(info.value.errors) == [
        "repo/.rollback-plan.yml: version: expected 1, got a string ('1')",
        "repo/.rollback-plan.yml: default_branch: expected a non-empty string, got a list",
        "repo/.rollback-plan.yml: sources: expected a list of sources, got a string ('db/migrations')",
        "repo/.rollback-plan.yml: tags: expected a list of tag rules, got a string ('sha-{sha}')",
        "repo/.rollback-plan.yml: policy: expected a mapping, got a list",
        "repo/.rollback-plan.yml: databases: expected a mapping of source name to "
        "url_env/url_file, got a string ('APP_URL')",
    ]


def test_source_entries_are_checked() -> None:
    text = (
        "sources:\n  - db/migrations\n  - format: goose\n  - path: ../other-repo/db\n"
        "  - path: db\n    format: rails\n  - path: /srv/db\n  - path: x\n  - path: x/\n"
    )
    assert errors(text) == [
        ".rollback-plan.yml: sources[0]: expected a mapping with at least 'path', got a string ('db/migrations')",
        ".rollback-plan.yml: sources[1].path: required (the migration directory or manifest)",
        ".rollback-plan.yml: sources[2].path: path '../other-repo/db' leaves the repository",
        ".rollback-plan.yml: sources[3].format: expected one of auto, atlas, golang-migrate, goose, "
        "dbmate, flyway, liquibase, sqitch, diesel, prisma, supabase, drizzle, sqlx, alembic, plain, got 'rails'",
        ".rollback-plan.yml: sources[4].path: expected a path relative to the repository root, got '/srv/db'",
        ".rollback-plan.yml: sources[6].path: 'x' is already listed as sources[5]",
    ]


def test_yaml_syntax_error_has_its_line() -> None:
    text = "version: 1\nsources:\n  - path: db\n    dialect: [postgres\n"
    (message,) = errors(text)
    assert message.startswith(".rollback-plan.yml: line 5, column 1: not valid YAML")


def test_top_level_must_be_one_mapping() -> None:
    assert errors("- path: db\n") == [
        ".rollback-plan.yml: expected a mapping at the top level, got a list"
    ]
    assert errors("version: 1\n---\nversion: 1\n") == [
        ".rollback-plan.yml: expected one YAML document, got 2"
    ]


def test_database_urls_never_go_in_the_repository() -> None:
    text = (
        "databases:\n"
        "  app:\n    url: postgres://app:hunter2@db/app\n"
        "  billing:\n    url_env: postgres://billing@db/billing\n"
        "  audit:\n    url_file: secrets/audit-url\n"
        "  search: mysql://root@db/search\n"
        "  ledger:\n    url_env: 'LEDGER URL'\n"
    )
    found = errors(text)
    assert len(found) == 5
    assert found[0].startswith(
        ".rollback-plan.yml: databases.app.url: database URLs and credentials never go in the repository"
    )
    assert found[1].startswith(".rollback-plan.yml: databases.billing.url_env: database URLs")
    assert found[2] == (
        ".rollback-plan.yml: databases.audit.url_file: expected an absolute path outside the "
        "repository (a mounted secret), got 'secrets/audit-url'"
    )
    assert found[3].startswith(".rollback-plan.yml: databases.search: database URLs")
    assert found[4] == (
        ".rollback-plan.yml: databases.ledger.url_env: expected an environment variable name "
        "such as DATABASE_URL, got 'LEDGER URL'"
    )
    assert not any("hunter2" in e for e in found)


def test_tag_rules() -> None:
    config = load_config("tags:\n  pattern: 'app-{version}-{sha}'\n  ref: '{sha}'\n")
    assert config.ref_for_tag("ghcr.io/acme/app", "app-1.2.0-0a1b2c3d") == "0a1b2c3d"
    assert config.ref_for_tag("ghcr.io/acme/app", "app-1.2.0-main") is None
    assert errors(
        "tags:\n"
        "  - {pattern: 'v{version}', ref: 'v{ver}'}\n"
        "  - {pattern: 'v{version}', regex: '^v(.*)$', ref: x}\n"
        "  - {pattern: latest, ref: main}\n"
        "  - {regex: '^v(?P<v>[0-9.]+', ref: 'v{v}'}\n"
        "  - {pattern: 'sha-{sha}'}\n"
    ) == [
        ".rollback-plan.yml: tags[0].ref: uses {ver}, which the tag does not capture (captured: {version})",
        ".rollback-plan.yml: tags[1]: expected exactly one of 'pattern' (e.g. \"sha-{sha}\") or 'regex'",
        ".rollback-plan.yml: tags[2].pattern: expected at least one placeholder such as {sha} or "
        "{version}, got 'latest'",
        ".rollback-plan.yml: tags[3].regex: not a valid regular expression: missing ), "
        "unterminated subpattern at position 2",
        '.rollback-plan.yml: tags[4].ref: required: the git ref template (e.g. "{sha}", "v{version}")',
    ]


def test_policy_is_kept_as_given_for_the_risk_rules() -> None:
    config = load_config("policy:\n  data_loss: refuse\n  lock_timeout_s: 5\n")
    assert dict(config.policy) == {"data_loss": "refuse", "lock_timeout_s": 5}
    assert errors("policy:\n  1: refuse\n") == [
        ".rollback-plan.yml: policy: keys must be strings, got a number (1)"
    ]


def test_column_order_is_cosmetic_or_exact() -> None:
    assert load_config("column_order: exact\n").column_order == "exact"
    assert load_config("").column_order == "cosmetic"
    assert errors("column_order: strict\n") == [
        ".rollback-plan.yml: column_order: expected cosmetic or exact, got a string ('strict')"
    ]
