"""The bot's settings, from `ROLLBACK_PLAN_*` environment variables. Read once by the
composition root (never at import time); every secret may also come from `<NAME>_FILE`
(Docker/Kubernetes secrets). Error messages name the variable, never a secret's value."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from bot.forges import Permission

PREFIX = "ROLLBACK_PLAN_"
DEFAULT_MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_REDIS_SCHEMES = ("redis", "rediss", "unix")
_MYSQL_SCHEMES = ("mysql", "mariadb")
# Every ROLLBACK_PLAN_* name something reads: the bot's settings (secrets also as _FILE), the
# CLI's, and the deployment files' (docker-compose, the CI templates). Anything else is a typo.
_SECRET_NAMES = ("GITHUB_WEBHOOK_SECRET", "GITHUB_PRIVATE_KEY", "GITHUB_TOKEN",
                 "GITLAB_WEBHOOK_SECRET", "GITLAB_TOKEN", "REDIS_URL")  # fmt: skip
KNOWN_NAMES = frozenset(
    PREFIX + name
    for name in (
        *_SECRET_NAMES, *(f"{n}_FILE" for n in _SECRET_NAMES), "GITHUB_APP_ID",
        "GITHUB_API_URL", "GITLAB_URL", "MAX_BODY_BYTES", "PUBLIC_URL", "BOT_LOGINS",
        "GIT_URL_TEMPLATE", "CACHE_DIR", "QUEUE_PATH", "APPROVAL_MIN_PERMISSION",
        "APPROVAL_TEAMS", "AUTHOR_MAY_APPROVE_DATA_LOSS", "LOG_LEVEL", "MYSQL_SCRATCH_URL",
        "RUN_REPO_CODE", "PYTHON", "IMAGE", "PORT", "ARGS", "PACKAGE",
    )
)  # fmt: skip
_SECRETS = frozenset(
    {"github_webhook_secret", "github_private_key", "github_token", "gitlab_webhook_secret",
     "gitlab_token", "redis_url"}
)  # fmt: skip


class SettingsError(ValueError):
    """The environment does not describe a bot that can start; one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, repr=False)
class Settings:
    github_webhook_secret: str | None = None
    github_app_id: int | None = None
    github_private_key: str | None = None
    github_token: str | None = None
    github_api_url: str = "https://api.github.com"
    gitlab_webhook_secret: str | None = None
    gitlab_token: str | None = None
    gitlab_url: str = "https://gitlab.com"
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    public_url: str = ""
    # our own account names (GitHub App "<slug>[bot]", GitLab bot user): their comments are
    # never read as commands, whatever the payload says about them
    bot_logins: frozenset[str] = field(default_factory=frozenset)
    # Where the worker fetches repositories from: "{forge_url}/{repo}.git" by default; a
    # template with {repo} (e.g. a mirror, or file:///srv/git/{repo}.git) overrides it.
    git_url_template: str | None = None
    cache_dir: str = "/tmp/rollback-plan/cache"
    queue_path: str = "/tmp/rollback-plan/queue.sqlite3"
    redis_url: str | None = None
    # Who may approve a plan: a minimum repository permission, or membership of these
    # GitHub teams ("org/slug") / GitLab groups ("group/sub").
    approval_min_permission: Permission = Permission.WRITE
    approval_teams: tuple[str, ...] = ()
    author_may_approve_data_loss: bool = False
    log_level: str = "INFO"
    # Alembic's offline mode runs the repository's env.py: only when the operator says so
    run_repo_code: bool = False
    python: str | None = None  # the interpreter that runs it (default: the bot's own)

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_webhook_secret)

    @property
    def gitlab_enabled(self) -> bool:
        return bool(self.gitlab_webhook_secret)

    def is_bot_login(self, login: str) -> bool:
        return login.casefold() in self.bot_logins

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _SECRETS:
                parts.append(f"{f.name}={'<set>' if value else None}")
            else:
                parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__


def load_settings(env: Mapping[str, str]) -> Settings:
    """Settings from an environment mapping (pass `os.environ`); raises SettingsError listing
    every problem at once, so an operator fixes them in one go."""
    problems: list[str] = []
    reader = _Reader(env, problems)

    github_secret = reader.secret("GITHUB_WEBHOOK_SECRET")
    app_id = reader.positive_int("GITHUB_APP_ID")
    private_key = reader.secret("GITHUB_PRIVATE_KEY")
    github_token = reader.secret("GITHUB_TOKEN")
    github_api_url = reader.url("GITHUB_API_URL", "https://api.github.com")
    gitlab_secret = reader.secret("GITLAB_WEBHOOK_SECRET")
    gitlab_token = reader.secret("GITLAB_TOKEN")
    gitlab_url = reader.url("GITLAB_URL", "https://gitlab.com")
    max_body = reader.positive_int("MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES
    public_url = reader.url("PUBLIC_URL", "")
    bot_logins = frozenset(
        name.strip().casefold() for name in reader.plain("BOT_LOGINS").split(",") if name.strip()
    )
    git_url_template = reader.plain("GIT_URL_TEMPLATE") or None
    if git_url_template is not None and "{repo}" not in git_url_template:
        problems.append(f"{PREFIX}GIT_URL_TEMPLATE must contain {{repo}}")
    cache_dir = reader.plain("CACHE_DIR", "/tmp/rollback-plan/cache")
    queue_path = reader.plain("QUEUE_PATH", "/tmp/rollback-plan/queue.sqlite3")
    if problem := _queue_path_problem(Path(queue_path)):
        problems.append(f"{PREFIX}QUEUE_PATH: {problem}")
    redis_url = reader.secret("REDIS_URL")
    # the value is not echoed: the URL may carry a password
    if redis_url is not None and urlsplit(redis_url).scheme not in _REDIS_SCHEMES:
        problems.append(f"{PREFIX}REDIS_URL must be a redis://, rediss:// or unix:// URL")
    log_level = reader.plain("LOG_LEVEL", "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(
            f"{PREFIX}LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}"
        )
    approval_min = reader.plain("APPROVAL_MIN_PERMISSION", "write").lower()
    if approval_min not in {"read", "write", "maintain", "admin"}:
        problems.append(
            f"{PREFIX}APPROVAL_MIN_PERMISSION: expected one of read, write, maintain, admin, "
            f"got {approval_min!r}"
        )
    approval_teams = tuple(
        t.strip() for t in reader.plain("APPROVAL_TEAMS").split(",") if t.strip()
    )
    author_flag = reader.plain("AUTHOR_MAY_APPROVE_DATA_LOSS", "false").lower()
    if author_flag not in {"true", "false", "1", "0", "yes", "no"}:
        problems.append(f"{PREFIX}AUTHOR_MAY_APPROVE_DATA_LOSS: expected true or false")

    run_code = reader.plain("RUN_REPO_CODE", "false").lower()
    if run_code not in {"true", "false", "1", "0", "yes", "no"}:
        problems.append(f"{PREFIX}RUN_REPO_CODE: expected true or false")
    python = reader.plain("PYTHON") or None

    if private_key is not None and "-----BEGIN" not in private_key:
        problems.append(f"{PREFIX}GITHUB_PRIVATE_KEY does not look like a PEM private key")
    if (app_id is None) != (private_key is None):
        problems.append(
            f"{PREFIX}GITHUB_APP_ID and {PREFIX}GITHUB_PRIVATE_KEY (or _FILE) go together: "
            "set both for GitHub App auth, or neither"
        )
    if github_secret and app_id is None and private_key is None and github_token is None:
        problems.append(
            f"{PREFIX}GITHUB_WEBHOOK_SECRET is set but there are no GitHub credentials: set "
            f"{PREFIX}GITHUB_APP_ID with {PREFIX}GITHUB_PRIVATE_KEY, or {PREFIX}GITHUB_TOKEN"
        )
    if gitlab_secret and gitlab_token is None:
        problems.append(
            f"{PREFIX}GITLAB_WEBHOOK_SECRET is set but {PREFIX}GITLAB_TOKEN (or _FILE) is not"
        )
    if not github_secret and not gitlab_secret:
        problems.append(
            f"no forge is enabled: set {PREFIX}GITHUB_WEBHOOK_SECRET and/or "
            f"{PREFIX}GITLAB_WEBHOOK_SECRET (webhooks are never accepted unsigned)"
        )
    if problems:
        raise SettingsError(problems)
    return Settings(
        github_webhook_secret=github_secret,
        github_app_id=app_id,
        github_private_key=private_key,
        github_token=github_token,
        github_api_url=github_api_url.rstrip("/"),
        gitlab_webhook_secret=gitlab_secret,
        gitlab_token=gitlab_token,
        gitlab_url=gitlab_url.rstrip("/"),
        max_body_bytes=max_body,
        public_url=public_url.rstrip("/"),
        bot_logins=bot_logins,
        git_url_template=git_url_template,
        cache_dir=cache_dir,
        queue_path=queue_path,
        redis_url=redis_url,
        approval_min_permission=Permission(approval_min),
        approval_teams=approval_teams,
        author_may_approve_data_loss=author_flag in {"true", "1", "yes"},
        log_level=log_level,
        run_repo_code=run_code in {"true", "1", "yes"},
        python=python,
    )


def unknown_names(env: Mapping[str, str]) -> list[str]:
    """A problem for each ROLLBACK_PLAN_* variable nothing reads (a typo is silently ignored
    otherwise), with the closest known name."""
    problems = []
    for name in sorted(n for n in env if n.startswith(PREFIX) and n not in KNOWN_NAMES):
        close = difflib.get_close_matches(name, sorted(KNOWN_NAMES), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        problems.append(f"{name} is not a setting rollback-plan reads{hint}")
    return problems


def scratch_url_problem(env: Mapping[str, str]) -> str | None:
    """What is wrong with ROLLBACK_PLAN_MYSQL_SCRATCH_URL (read by `plan --verify`), if set."""
    raw = env.get(PREFIX + "MYSQL_SCRATCH_URL", "").strip()
    if not raw:
        return None
    parts = urlsplit(raw)
    name = PREFIX + "MYSQL_SCRATCH_URL"
    if parts.scheme.lower() not in _MYSQL_SCHEMES or not parts.hostname:
        return f"{name} must be a mysql:// or mariadb:// URL with a host"
    if parts.path.strip("/"):
        return f"{name} must name a server, not a database (verify makes its own databases)"
    return None


def _queue_path_problem(path: Path) -> str | None:
    if path.is_dir():
        return f"{path} is a directory; give the queue file's path"
    parent = next((p for p in path.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        return f"{parent} is not a directory"
    return None


class _Reader:
    """Reads one variable at a time, appending a problem instead of raising."""

    def __init__(self, env: Mapping[str, str], problems: list[str]):
        self.env = env
        self.problems = problems

    def plain(self, name: str, default: str = "") -> str:
        return self.env.get(PREFIX + name, "").strip() or default

    def secret(self, name: str) -> str | None:
        """`NAME` or the contents of the file `NAME_FILE`; None when neither is set.
        An empty variable counts as unset (deployment templates often export empty ones)."""
        var, file_var = PREFIX + name, PREFIX + name + "_FILE"
        value = self.env.get(var, "")
        path = self.env.get(file_var, "").strip()
        if value.strip() and path:
            self.problems.append(f"set {var} or {file_var}, not both")
            return None
        if path:
            try:
                # a trailing newline from `echo > file` is not part of the secret
                content = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as err:
                reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
                self.problems.append(f"{file_var}: cannot read {path}: {reason}")
                return None
            if not content:
                self.problems.append(f"{file_var}: {path} is empty")
                return None
            return content
        return value.strip() or None

    def positive_int(self, name: str) -> int | None:
        raw = self.plain(name)
        if not raw:
            return None
        if not raw.isdigit() or int(raw) <= 0:
            self.problems.append(f"{PREFIX}{name} must be a positive integer")
            return None
        return int(raw)

    def url(self, name: str, default: str) -> str:
        raw = self.plain(name)
        if not raw:
            return default
        parts = urlsplit(raw)
        # the value is not echoed: a URL may carry credentials in its user-info part
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.problems.append(f"{PREFIX}{name} must be an http(s) URL")
            return default
        if parts.username or parts.password:
            self.problems.append(
                f"{PREFIX}{name} must not contain credentials; use the token variables"
            )
            return default
        return raw
