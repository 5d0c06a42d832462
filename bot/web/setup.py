"""Register the GitHub App from app.yml with GitHub's app-manifest flow (like Atlantis's
/github-app/setup).

GET /github-app/setup shows a form that posts the manifest, with this deployment's URLs
filled in, to GitHub; GitHub creates the app and sends the browser to
GET /github-app/exchange?code=...&state=..., where the one-time code is exchanged
(`POST /app-manifests/{code}/conversions`) for the app id, webhook secret and private key,
shown once to be stored as ROLLBACK_PLAN_GITHUB_* settings. They are never logged.

The `state` token is one-time, expires, and is bound to the browser that opened the setup
page (a cookie holds it): a link someone else started cannot make this page show its app's
credentials to the operator. It is kept in this process's memory: run the flow against one
web process (e.g. `rollback-plan setup-github-app` on a laptop, or `rollback-plan serve`).
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
import yaml
from flask import Blueprint, Flask, Response, render_template_string, request

from bot.settings import Settings

log = logging.getLogger(__name__)

STATE_TTL_S = 3600.0  # GitHub's manifest code itself expires after one hour
STATE_COOKIE = "rollback_plan_setup_state"
_MAX_STATES = 1000  # the page is unauthenticated: bound what a visitor can make us keep
_EXCHANGE_TIMEOUT_S = 15.0

Clock = Callable[[], float]


class ManifestError(ValueError):
    """app.yml cannot be used as a GitHub App manifest."""


def manifest_text() -> str:
    """The app.yml shipped with the bot: package data when installed, else the repository's
    top-level app.yml beside the `bot` package (a checkout). Raises ManifestError."""
    try:
        return (resources.files("bot") / "app.yml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        pass
    path = Path(__file__).resolve().parents[2] / "app.yml"
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise ManifestError(
            f"app.yml is not in the installed package, and {path} cannot be read: {reason}"
        ) from None


def parse_manifest(text: str, origin: str = "app.yml") -> dict[str, Any]:
    """A GitHub App manifest from YAML text; raises ManifestError naming `origin`."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ManifestError(f"{origin}: cannot read the app manifest: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ManifestError(f"{origin}: not a GitHub App manifest (no `name`)")
    return data


def load_manifest(path: Path) -> dict[str, Any]:
    """A manifest file, parsed; raises ManifestError naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ManifestError(f"{path}: cannot read the app manifest: {err}") from None
    return parse_manifest(text, str(path))


def manifest_for(manifest: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    """The manifest with this deployment's URLs: its home page, webhook and redirect."""
    base = public_url.rstrip("/")
    out: dict[str, Any] = json.loads(json.dumps(manifest))  # a deep copy of plain data
    out["url"] = base
    hook = dict(out.get("hook_attributes") or {})
    hook["url"] = f"{base}/webhooks/github"
    hook.setdefault("active", True)
    out["hook_attributes"] = hook
    out["redirect_url"] = f"{base}/github-app/exchange"
    return out


def github_web_url(api_url: str) -> str:
    """github.com for api.github.com; a GitHub Enterprise Server's host for <host>/api/v3."""
    parts = urlsplit(api_url)
    if parts.netloc == "api.github.com":
        return "https://github.com"
    return f"{parts.scheme}://{parts.netloc}"


class StateTokens:
    """One-time tokens tying a GitHub redirect to a form this process showed."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._issued: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = self._clock()
            self._issued = {t: at for t, at in self._issued.items() if now - at < STATE_TTL_S}
            if len(self._issued) >= _MAX_STATES:
                oldest = min(self._issued, key=self._issued.__getitem__)
                del self._issued[oldest]
            self._issued[token] = now
        return token

    def redeem(self, token: str) -> bool:
        """True once for a token issued here less than an hour ago."""
        with self._lock:
            issued = self._issued.pop(token, None)
        return issued is not None and self._clock() - issued < STATE_TTL_S


def setup_blueprint(
    settings: Settings,
    manifest: Mapping[str, Any],
    *,
    states: StateTokens | None = None,
    http: Callable[..., requests.Response] = requests.post,
) -> Blueprint:
    """The two setup routes. `http` is `requests.post` (a seam for tests)."""
    bp = Blueprint("github_app_setup", __name__)
    tokens = states or StateTokens()

    @bp.get("/github-app/setup")
    def setup() -> Response:
        public_url = settings.public_url or request.host_url.rstrip("/")
        org = request.args.get("org", "").strip()
        if org and not _valid_org(org):
            return _page(_ERROR, 400, message="That is not a GitHub organization name.")
        web = github_web_url(settings.github_api_url)
        path = f"/organizations/{quote(org)}/settings/apps/new" if org else "/settings/apps/new"
        state = tokens.issue()
        page = _page(
            _SETUP,
            200,
            action=f"{web}{path}?{urlencode({'state': state})}",
            manifest=json.dumps(manifest_for(manifest, public_url), indent=2),
            public_url=public_url,
            guessed=not settings.public_url,
            org=org,
            configured=settings.github_app_id is not None,
        )
        # GitHub sends this browser back with `state`: only it may see the app's credentials.
        # Lax: the cookie comes along on that top-level redirect from github.com.
        page.set_cookie(
            STATE_COOKIE,
            state,
            max_age=int(STATE_TTL_S),
            path="/github-app",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
        return page

    @bp.get("/github-app/exchange")
    def exchange() -> Response:
        code = request.args.get("code", "")
        state = request.args.get("state", "")
        cookie = request.cookies.get(STATE_COOKIE, "")
        # the state must be the one this browser was given, and unused, and not expired
        same = bool(state) and hmac.compare_digest(cookie.encode(), state.encode())
        if not same or not tokens.redeem(state):
            return _page(
                _ERROR,
                400,
                message="This link is not one this server started, or it was used already. "
                "Start again from the setup page.",
            )
        if not code or len(code) > 200 or not code.replace("-", "").replace("_", "").isalnum():
            return _page(_ERROR, 400, message="GitHub sent no usable code.")
        url = f"{settings.github_api_url.rstrip('/')}/app-manifests/{quote(code)}/conversions"
        try:
            answer = http(
                url,
                headers={
                    "Accept": "application/vnd.github+json",
                    "X-GitHub-Api-Version": "2022-11-28",
                },
                timeout=_EXCHANGE_TIMEOUT_S,
            )
        except requests.RequestException as err:
            log.warning("GitHub app manifest exchange failed: %s", type(err).__name__)
            return _page(_ERROR, 502, message="GitHub did not answer; start again.")
        if answer.status_code != 201:
            log.warning("GitHub app manifest exchange answered %s", answer.status_code)
            return _page(
                _ERROR,
                502,
                message=f"GitHub refused the code (HTTP {answer.status_code}); it is valid "
                "for one hour and one use. Start again from the setup page.",
            )
        try:
            app = answer.json()
            app_id, pem, secret = int(app["id"]), str(app["pem"]), str(app["webhook_secret"])
        except (ValueError, KeyError, TypeError):
            return _page(_ERROR, 502, message="GitHub's answer did not hold the app's keys.")
        slug = str(app.get("slug") or "")
        log.info("GitHub App %s (id %s) registered through the setup page", slug, app_id)
        created = _page(
            _CREATED,
            200,
            app_id=app_id,
            slug=slug,
            html_url=str(app.get("html_url") or ""),
            pem=pem,
            webhook_secret=secret,
            install_url=f"{github_web_url(settings.github_api_url)}/apps/{quote(slug)}/installations/new"
            if slug
            else "",
        )
        created.delete_cookie(STATE_COOKIE, path="/github-app")
        return created

    return bp


def create_setup_app(settings: Settings, manifest: Mapping[str, Any]) -> Flask:
    """A web app with only the setup page: for registering the app before the bot has the
    webhook secret it needs to start."""
    app = Flask(__name__)
    app.register_blueprint(setup_blueprint(settings, manifest))
    return app


def _valid_org(org: str) -> bool:
    return len(org) <= 39 and org.replace("-", "").isalnum()


def _page(template: str, status: int, **values: Any) -> Response:
    html = render_template_string(_LAYOUT.replace("{body}", template), **values)
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    # the page may hold a private key: never cached, never sent on as a referrer
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; form-action https: http:"
    )
    return response


_LAYOUT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rollback-plan: GitHub App setup</title>
<style>body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
pre,textarea{width:100%;font-family:monospace;font-size:.85rem}code{background:#eee}</style>
</head><body><h1>rollback-plan: GitHub App setup</h1>
{body}
</body></html>"""

_SETUP = """
{% if configured %}<p><strong>A GitHub App is already configured</strong>
(ROLLBACK_PLAN_GITHUB_APP_ID is set). Registering another one makes a second, separate app.</p>
{% endif %}
<p>This registers a GitHub App for this deployment{% if org %} in the organization
<strong>{{ org }}</strong>{% else %} in your personal account (for an organization, open
<code>?org=NAME</code>){% endif %}, with the permissions and events listed in
<code>app.yml</code>. GitHub sends its webhooks to <code>{{ public_url }}/webhooks/github</code>.</p>
{% if guessed %}<p><strong>ROLLBACK_PLAN_PUBLIC_URL is not set</strong>: the URL above is how
this page was reached. Set it if GitHub must reach the bot at another address.</p>{% endif %}
<form action="{{ action }}" method="post">
<input type="hidden" name="manifest" value="{{ manifest }}">
<button type="submit">Create the GitHub App on GitHub</button>
</form>
<details><summary>The manifest that is sent</summary><pre>{{ manifest }}</pre></details>
"""

_CREATED = """
<p>GitHub created the app <strong>{{ slug }}</strong> (id {{ app_id }}).
Store these values now: this page is the only place they are shown, and this server keeps
none of them.</p>
<h2>ROLLBACK_PLAN_GITHUB_APP_ID</h2><pre>{{ app_id }}</pre>
<h2>ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET</h2><pre>{{ webhook_secret }}</pre>
<h2>ROLLBACK_PLAN_GITHUB_PRIVATE_KEY</h2>
<p>Best kept in a file or a secret store and passed as
<code>ROLLBACK_PLAN_GITHUB_PRIVATE_KEY_FILE</code>.</p>
<textarea rows="12" readonly>{{ pem }}</textarea>
<p>Then restart the bot with these settings{% if install_url %} and
<a href="{{ install_url }}">install the app</a> on the repositories it should watch{% endif %}.
{% if html_url %}The app's settings are at <a href="{{ html_url }}">{{ html_url }}</a>.{% endif %}</p>
"""

_ERROR = (
    """<p><strong>{{ message }}</strong></p><p><a href="setup">Back to the setup page</a></p>"""
)
