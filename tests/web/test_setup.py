"""The GitHub App setup page: the manifest form GitHub receives, and the code exchange against
a fake of GitHub's one conversion endpoint on 127.0.0.1."""

from __future__ import annotations

import html
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

import bot
from bot.observability import configure_logging
from bot.web import create_app
from bot.web.setup import (
    STATE_TTL_S,
    ManifestError,
    StateTokens,
    create_setup_app,
    load_manifest,
    manifest_for,
    manifest_text,
    parse_manifest,
)
from tests.web.conftest import Queue, settings

ROOT = Path(__file__).resolve().parents[2]
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEfakekeyfakekeyfakekey\n-----END RSA PRIVATE KEY-----\n"
CODE = "a1b2c3d4e5"


class FakeConversions:
    """GitHub's `POST /app-manifests/{code}/conversions`: each code works once."""

    def __init__(self) -> None:
        self.codes = {CODE}
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                fake.requests.append((self.command, self.path))
                m = re.fullmatch(r"/api/v3/app-manifests/([^/]+)/conversions", self.path)
                if m is None:
                    self._answer(501, {"message": f"not implemented: {self.path}"})
                elif m.group(1) not in fake.codes:
                    self._answer(404, {"message": "Not Found"})
                else:
                    fake.codes.discard(m.group(1))
                    self._answer(
                        201,
                        {
                            "id": 777,
                            "slug": "rollback-plan-acme",
                            "node_id": "MDM6QXBwNTk=",
                            "name": "rollback-plan",
                            "html_url": "https://github.com/apps/rollback-plan-acme",
                            "client_id": "Iv1.8a61f9b3a7aba766",
                            "client_secret": "1726be1638095a19edd134c77bde3aa2ece1e5d8",
                            "webhook_secret": "e340154128314309424b7c8e90325147d99fdafa",
                            "pem": PEM,
                        },
                    )

            do_GET = do_POST

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.api_url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def github() -> Iterator[FakeConversions]:
    fake = FakeConversions()
    yield fake
    fake.close()


@pytest.fixture
def manifest() -> dict[str, Any]:
    return load_manifest(ROOT / "app.yml")


@pytest.fixture
def client(github: FakeConversions, manifest: dict[str, Any]) -> FlaskClient:
    s = settings(
        github_api_url=github.api_url,
        public_url="https://bot.acme.example",
        github_app_id=None,
    )
    return create_app(s, Queue(), app_manifest=manifest).test_client()


def _form(page: str) -> tuple[str, dict[str, Any]]:
    action = re.search(r'<form action="([^"]+)" method="post">', page)
    value = re.search(r'name="manifest" value="([^"]*)"', page)
    assert action and value, page
    return html.unescape(action.group(1)), json.loads(html.unescape(value.group(1)))


def _state(action: str) -> str:
    m = re.search(r"state=([^&]+)", action)
    assert m
    return m.group(1)


def test_setup_form_posts_app_yml_with_this_deployments_urls(
    client: FlaskClient, manifest: dict[str, Any], github: FakeConversions
) -> None:
    page = client.get("/github-app/setup")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    action, sent = _form(page.get_data(as_text=True))

    # GitHub Enterprise Server style API URL: the form goes to that host
    host = github.api_url.removesuffix("/api/v3")
    assert action.startswith(f"{host}/settings/apps/new?state=")
    assert sent["hook_attributes"]["url"] == "https://bot.acme.example/webhooks/github"
    assert sent["redirect_url"] == "https://bot.acme.example/github-app/exchange"
    assert sent["url"] == "https://bot.acme.example"
    # permissions and events exactly as app.yml has them
    assert sent["default_permissions"] == manifest["default_permissions"]
    assert sent["default_events"] == manifest["default_events"]
    assert sent["public"] is False


def test_org_variant_and_github_com(manifest: dict[str, Any]) -> None:
    app = create_setup_app(settings(public_url="https://bot.example"), manifest)
    action, _ = _form(app.test_client().get("/github-app/setup?org=acme-co").get_data(as_text=True))
    assert action.startswith("https://github.com/organizations/acme-co/settings/apps/new?state=")
    bad = app.test_client().get("/github-app/setup?org=a/../b")
    assert bad.status_code == 400


def test_exchange_shows_the_credentials_once_and_logs_none(
    client: FlaskClient, github: FakeConversions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    action, _ = _form(client.get("/github-app/setup").get_data(as_text=True))
    state = _state(action)

    page = client.get(f"/github-app/exchange?code={CODE}&state={state}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "ROLLBACK_PLAN_GITHUB_APP_ID" in text and "777" in text
    assert "ROLLBACK_PLAN_GITHUB_WEBHOOK_SECRET" in text
    assert "e340154128314309424b7c8e90325147d99fdafa" in text
    assert "ROLLBACK_PLAN_GITHUB_PRIVATE_KEY" in text and "MIIEfakekeyfakekeyfakekey" in text
    assert github.requests == [("POST", f"/api/v3/app-manifests/{CODE}/conversions")]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "e340154128314309424b7c8e90325147d99fdafa" not in logged
    assert "MIIEfakekey" not in logged

    # the state is one-time: a replayed redirect exchanges nothing
    again = client.get(f"/github-app/exchange?code={CODE}&state={state}")
    assert again.status_code == 400
    assert len(github.requests) == 1


def test_exchange_without_a_state_this_server_issued_is_refused(
    client: FlaskClient, github: FakeConversions
) -> None:
    assert client.get(f"/github-app/exchange?code={CODE}").status_code == 400
    assert client.get(f"/github-app/exchange?code={CODE}&state=forged").status_code == 400
    assert github.requests == []


def test_a_code_github_refuses_is_explained(client: FlaskClient, github: FakeConversions) -> None:
    action, _ = _form(client.get("/github-app/setup").get_data(as_text=True))
    page = client.get(f"/github-app/exchange?code=expired0&state={_state(action)}")
    assert page.status_code == 502
    assert "HTTP 404" in page.get_data(as_text=True)


def test_state_tokens_expire() -> None:
    now = [0.0]
    tokens = StateTokens(clock=lambda: now[0])
    token = tokens.issue()
    now[0] = STATE_TTL_S + 1
    assert not tokens.redeem(token)


def test_setup_is_off_without_a_manifest() -> None:
    client = create_app(settings(), Queue()).test_client()
    assert client.get("/github-app/setup").status_code == 404


def test_manifest_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "app.yml"
    path.write_text("- not a mapping\n")
    with pytest.raises(ManifestError, match=r"app\.yml"):
        load_manifest(path)


def test_a_state_started_in_another_browser_is_refused(
    client: FlaskClient, github: FakeConversions
) -> None:
    """A link someone else started (their state, not this browser's cookie) shows nothing."""
    action, _ = _form(client.get("/github-app/setup").get_data(as_text=True))
    victim = client.application.test_client()  # the same server, another browser
    victim.get("/github-app/setup")  # the operator's own browser has its own cookie
    page = victim.get(f"/github-app/exchange?code={CODE}&state={_state(action)}")
    assert page.status_code == 400
    assert github.requests == []


def test_the_state_cookie_is_scoped_and_expires(client: FlaskClient) -> None:
    response = client.get("/github-app/setup")
    cookie = response.headers["Set-Cookie"]
    assert f"Max-Age={int(STATE_TTL_S)}" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/github-app" in cookie


def test_the_one_time_code_never_reaches_the_log(
    client: FlaskClient, github: FakeConversions
) -> None:
    """Through the handler the bot installs (debug level: urllib3 logs request lines)."""
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream=stream)
    try:
        action, _ = _form(client.get("/github-app/setup").get_data(as_text=True))
        assert (
            client.get(f"/github-app/exchange?code={CODE}&state={_state(action)}").status_code
            == 200
        )
    finally:
        logging.getLogger().removeHandler(handler)
    assert "app-manifests/***" in stream.getvalue()  # the request was logged, masked
    assert CODE not in stream.getvalue()


def test_the_manifest_shipped_with_the_bot_is_found_from_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_manifest(manifest_text()) == load_manifest(ROOT / "app.yml")


# -- edges: the URLs GitHub is given, the state tokens, organization names ------------------


def test_a_public_url_with_a_trailing_slash_gives_clean_urls(manifest: dict[str, Any]) -> None:
    """Behind a proxy, under a path of its own."""
    app = create_setup_app(settings(public_url="https://tools.example/RPX/"), manifest)
    _, sent = _form(app.test_client().get("/github-app/setup").get_data(as_text=True))
    assert (sent["url"], sent["redirect_url"]) == (
        "https://tools.example/RPX",
        "https://tools.example/RPX/github-app/exchange",
    )
    assert sent["hook_attributes"]["url"] == "https://tools.example/RPX/webhooks/github"


def test_the_webhook_is_active_unless_app_yml_says_otherwise() -> None:
    """GitHub delivers no webhook to an inactive hook: a manifest without the setting gets
    an active one; hook settings app.yml does have are kept."""
    bare = manifest_for({"name": "rp"}, "https://bot.example")
    assert bare["hook_attributes"] == {"url": "https://bot.example/webhooks/github", "active": True}
    given = {"name": "rp", "hook_attributes": {"url": "x", "active": False, "ssl": "0"}}
    kept = manifest_for(given, "https://bot.example")
    assert kept["hook_attributes"] == {
        "url": "https://bot.example/webhooks/github",
        "active": False,
        "ssl": "0",
    }
    assert given["hook_attributes"]["url"] == "x"  # the caller's manifest is left alone


def test_a_state_token_lives_just_under_an_hour_and_only_once() -> None:
    now = [10_000.0]
    tokens = StateTokens(clock=lambda: now[0])
    first, second = tokens.issue(), tokens.issue()
    assert tokens.redeem(first) and not tokens.redeem(first)
    assert not tokens.redeem("never-issued")
    now[0] += STATE_TTL_S
    assert not tokens.redeem(second)  # an hour old: expired


def test_at_most_a_thousand_state_tokens_are_kept_the_oldest_goes() -> None:
    """The page is unauthenticated: visitors cannot make the server keep more."""
    now = [0.0]
    tokens = StateTokens(clock=lambda: now[0])
    issued = []
    for _ in range(1001):
        now[0] += 1
        issued.append(tokens.issue())
    assert not tokens.redeem(issued[0])
    assert all(tokens.redeem(t) for t in issued[1:])


@pytest.mark.parametrize(("length", "status"), [(39, 200), (40, 400)])
def test_organization_names_are_at_most_39_characters(
    manifest: dict[str, Any], length: int, status: int
) -> None:
    app = create_setup_app(settings(public_url="https://bot.example"), manifest)
    org = "a-" + "b" * (length - 2)
    page = app.test_client().get(f"/github-app/setup?org={org}")
    assert page.status_code == status
    if status == 400:
        assert "That is not a GitHub organization name." in page.get_data(as_text=True)


def test_a_manifest_file_that_cannot_be_read_or_used_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yml"
    with pytest.raises(ManifestError) as err:
        load_manifest(missing)
    assert str(err.value).startswith(f"{missing}: cannot read the app manifest: ")
    custom = tmp_path / "custom.yml"
    custom.write_text("- not a mapping\n")
    with pytest.raises(ManifestError) as err:
        load_manifest(custom)
    assert str(err.value) == f"{custom}: not a GitHub App manifest (no `name`)"


SAFE_PAGE = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action https: http:"
    ),
}


def test_every_setup_page_is_uncached_unframed_and_sends_no_referrer(
    client: FlaskClient, github: FakeConversions
) -> None:
    """The pages show a private key and a webhook secret: no cache, no frame, no referrer."""
    action, _ = _form((setup := client.get("/github-app/setup")).get_data(as_text=True))
    created = client.get(f"/github-app/exchange?code={CODE}&state={_state(action)}")
    refused = client.get(f"/github-app/exchange?code={CODE}&state=forged")
    assert (created.status_code, refused.status_code) == (200, 400)
    for page in (setup, created, refused):
        assert {name: page.headers.get(name) for name in SAFE_PAGE} == SAFE_PAGE


# -- where app.yml is read from: an installed package, else a checkout --------------------

# what `serve` and `setup-github-app` do first; a ManifestError's text is what they show
_READ_APP_YML = """
import sys, bot
from bot.web.setup import ManifestError, manifest_text
assert bot.__file__.startswith(sys.argv[1]), bot.__file__
try:
    sys.stdout.write(manifest_text())
except ManifestError as err:
    sys.stdout.write(f"ManifestError: {err}")
"""


def _read_app_yml(root: Path, *, package: str | None = None, beside: bytes | None = None) -> str:
    """manifest_text() in a fresh interpreter whose `bot` is a copy at root/bot: with
    `package` as bot/app.yml (an installed wheel), `beside` as root/app.yml (a checkout)."""
    shutil.copytree(
        Path(bot.__file__).parent, root / "bot", ignore=shutil.ignore_patterns("__pycache__")
    )
    if package is not None:
        (root / "bot" / "app.yml").write_text(package, encoding="utf-8")
    if beside is not None:
        (root / "app.yml").write_bytes(beside)
    done = subprocess.run(
        # -P: the working directory (which may hold a `bot` of its own) is not on sys.path
        [sys.executable, "-P", "-c", _READ_APP_YML, str(root / "bot")],
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_app_yml_is_read_from_the_installed_package_else_beside_the_checkout(
    tmp_path: Path,
) -> None:
    """An installed wheel carries bot/app.yml; a checkout has app.yml at its top level, the
    directory above `bot` (not higher up)."""
    assert manifest_text() == (ROOT / "app.yml").read_text(encoding="utf-8")  # this checkout
    (tmp_path / "app.yml").write_text("name: two levels above bot\n")
    installed = _read_app_yml(
        tmp_path / "site", package="name: from-the-wheel\n", beside=b"name: beside\n"
    )
    assert installed == "name: from-the-wheel\n"
    checkout = _read_app_yml(tmp_path / "checkout", beside=b"name: from-the-checkout\n")
    assert checkout == "name: from-the-checkout\n"


def test_without_a_readable_app_yml_the_error_names_the_file_and_why(tmp_path: Path) -> None:
    """What `serve` logs (the setup page is then off) and `setup-github-app` prints."""
    assert parse_manifest(manifest_text())["name"]  # this checkout's is found
    missing, latin = tmp_path / "missing", tmp_path / "latin"
    assert _read_app_yml(missing) == (
        "ManifestError: app.yml is not in the installed package, and "
        f"{(missing / 'app.yml').resolve()} cannot be read: No such file or directory"
    )
    assert _read_app_yml(latin, beside="name: café\n".encode("latin-1")) == (
        "ManifestError: app.yml is not in the installed package, and "
        f"{(latin / 'app.yml').resolve()} cannot be read: not UTF-8 text"
    )


def test_app_yml_errors_name_it_and_say_why() -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifest("name: [unclosed\n")
    assert str(err.value).startswith("app.yml: cannot read the app manifest: ")
    assert "flow sequence" in str(err.value)  # YAML's own reason follows
    with pytest.raises(ManifestError) as err:
        parse_manifest("- a list\n")
    assert str(err.value) == "app.yml: not a GitHub App manifest (no `name`)"
