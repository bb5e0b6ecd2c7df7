"""CORS as a browser enforces it: a page on another origin calls the mock from headless Chromium.

The page (`browser_page.html`) is served from its own loopback port, so each fetch() is
cross-origin, and its `Coder-Session-Token` header makes Chromium send a preflight first. Only
a real browser decides whether a CORS answer is good enough; header checks over httpx cannot.
A second page (`browser_watch.html`) opens the inbox watch socket as Coder's UI does: no
headers, the session cookie.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import httpx
import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.helpers import http_server

CHROMIUM = Path("/usr/bin/chromium")

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError as error:
    pytest.skip(f"Python playwright is not importable ({error}); install the test extra with "
                "`make install` (pip install -e '.[test]')", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"no browser: {CHROMIUM} is missing; install it with `make browser` "
                "(as root: apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser

PAGE = Path(__file__).with_name("browser_page.html")
PAGES = {"/": PAGE, "/watch": Path(__file__).with_name("browser_watch.html")}
# Headless Chromium hangs on this closed network unless it is told not to reach out; playwright
# adds --headless and a fresh temporary --user-data-dir (it refuses one in args) itself.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
# Guards against a hang, not speeds: a loaded machine may be slow, a hung one never finishes.
LAUNCH_TIMEOUT_MS = 60_000
PAGE_TIMEOUT_MS = 60_000  # above the page's 4 fetches, which give up after 10 s each
STEPS = ("settings", "templates", "write", "read")
Origins = Callable[[str], tuple[str, ...]]

# How the mock's CORS list is built from the page's origin (http://127.0.0.1:PORT).
ALLOWING: dict[str, Origins] = {
    "default-any-loopback-origin": lambda page: (),
    "listed-exactly": lambda page: ("http://example.test", page),
}
REFUSING: dict[str, Origins] = {
    "another-site-only": lambda page: ("http://example.test",),
    "same-port-other-host-name": lambda page: (page.replace("127.0.0.1", "localhost"),),
}


class PageHandler(BaseHTTPRequestHandler):
    """Serves the pages at `/` and `/watch` (any query string), 404 elsewhere; logs nothing."""

    def do_GET(self) -> None:
        """A page, so the browser's origin is this server's, not the mock's."""
        page = PAGES.get(self.path.split("?", 1)[0])
        if page is None:
            self.send_error(404)
            return
        body = page.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent, so pytest's output shows only failures."""


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The page's origin: its own port 0 socket, which no CORS list of the mock names by default."""
    with http_server(PageHandler, name="browser-page") as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module: launching takes most of the time, pages are cheap."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context per test, so no preflight answer is cached from an earlier test."""
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def run_page(page: Page, origin: str, mock: MockServer, token: str,
             template: UUID | None = None) -> dict[str, Any]:
    """Load the page against this mock and return what it wrote into #result, once done."""
    query = {"api": mock.api_url, "token": token}
    if template is not None:
        query["template"] = str(template)
    page.goto(f"{origin}/?{urlencode(query)}", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector('#result[data-done="true"]', timeout=PAGE_TIMEOUT_MS)
    outcome: dict[str, Any] = json.loads(page.text_content("#result") or "null")
    assert "error" not in outcome, f"the page's script failed: {outcome}"
    return outcome


def outcomes(result: dict[str, Any]) -> dict[str, int | str]:
    """Each step's HTTP status, or the JS error class when fetch() itself failed."""
    return {step["step"]: step["status"] if "status" in step else step["error"].split(":")[0]
            for step in result["steps"]}


def user_of(mock: MockServer, token: str) -> UUID:
    """Whose token the page sends, to look its preferences up in the store."""
    return next(key.user_id for key in mock.api_keys() if key.token == token)


def calls(mock: MockServer) -> list[tuple[str, str, int | None]]:
    """What reached the mock: (method, path, status) in order, preflights included."""
    return [(entry["method"], entry["path"], entry["status"])
            for entry in mock.run(mock.journal.entries())]


@pytest.mark.parametrize("cors_origins", ALLOWING.values(), ids=ALLOWING.keys())
def test_a_page_on_another_origin_reads_and_changes_preferences(
        page: Page, page_origin: str, cors_origins: Origins) -> None:
    """The whole settings screen works from a browser: every read, the write, the read-back."""
    with MockServer(MockConfig(cors_origins=cors_origins(page_origin))) as mock:
        # not the default, on purpose
        mock.run(mock.store.put_settings_json('{"notifier_paused":true}'))
        token = mock.token(owner=False)
        result = run_page(page, page_origin, mock, token)

    first = mock.run(mock.store.system_templates())[0]
    bodies = {step["step"]: step.get("body") for step in result["steps"]}
    assert outcomes(result) == dict.fromkeys(STEPS, 200), result
    assert bodies["settings"] == {"notifier_paused": True}
    assert [t["id"] for t in bodies["templates"]] == [
        str(t.id) for t in mock.run(mock.store.system_templates())]
    assert result["template_id"] == str(first.id)
    assert [(p["id"], p["disabled"]) for p in bodies["write"]] == [(str(first.id), True)]
    assert [(p["id"], p["disabled"]) for p in bodies["read"]] == [(str(first.id), True)]
    stored = mock.run(mock.store.preferences(user_of(mock, token)))
    assert [(p.template_id, p.disabled) for p in stored] == [(first.id, True)]

    seen = calls(mock)
    preflighted = {path for method, path, status in seen if method == "OPTIONS" and status == 200}
    sent = {(method, path) for method, path, _ in seen if method != "OPTIONS"}
    assert {path for _, path in sent} <= preflighted, seen
    assert sent == {("GET", "/api/v2/notifications/settings"),
                    ("GET", "/api/v2/notifications/templates/system"),
                    ("PUT", "/api/v2/users/me/notifications/preferences"),
                    ("GET", "/api/v2/users/me/notifications/preferences")}, seen


@pytest.mark.parametrize("cors_origins", REFUSING.values(), ids=REFUSING.keys())
def test_a_page_on_an_origin_the_mock_does_not_list_is_refused_by_the_browser(
        page: Page, page_origin: str, cors_origins: Origins) -> None:
    """A failed preflight stops the browser: fetch() throws TypeError and nothing is written."""
    with MockServer(MockConfig(cors_origins=cors_origins(page_origin))) as mock:
        token = mock.token(owner=False)
        first = mock.run(mock.store.system_templates())[0]
        result = run_page(page, page_origin, mock, token, template=first.id)

    assert outcomes(result) == dict.fromkeys(STEPS, "TypeError"), result
    assert result["template_id"] == str(first.id)  # so the write was attempted
    assert mock.run(mock.store.preferences(user_of(mock, token))) == []
    seen = calls(mock)
    assert seen, "no preflight reached the mock: the page did not run"
    assert {(method, status) for method, _, status in seen} == {("OPTIONS", 400)}, seen


def watch_page(page: Page, origin: str, **query: str) -> dict[str, Any]:
    """Open the inbox socket from the page as Coder's UI does; what the page saw open."""
    page.goto(f"{origin}/watch?{urlencode(query)}", timeout=PAGE_TIMEOUT_MS)
    page.wait_for_selector("#result[data-state]", timeout=PAGE_TIMEOUT_MS)
    return {"state": page.get_attribute("#result", "data-state")}


def test_a_page_on_another_port_sees_a_new_notification_arrive(page: Page,
                                                               page_origin: str) -> None:
    """The bell: the session cookie signs the socket in, a notification arrives in Coder's shape."""
    with MockServer() as mock:
        token = mock.token(owner=False)
        opened = watch_page(page, page_origin, ws=mock.watch_url(read_status="unread"),
                            token=token)
        assert opened == {"state": "open"}, page.text_content("#result")
        sent = httpx.post(f"{mock.url}/__mock/notifications", json={
            "template_id": "f517da0b-cdc9-410f-ab89-a86107c420ed", "user": "member",
            "labels": {"name": "dev", "reason": "dormancy"}})
        assert sent.status_code == 201, sent.text
        page.wait_for_selector('#result[data-state="message"]', timeout=PAGE_TIMEOUT_MS)
        messages = json.loads(page.text_content("#result") or "null")
        listed = httpx.get(f"{mock.api_url}/notifications/inbox",
                           headers={"Coder-Session-Token": token}).json()
    assert messages == [{"notification": listed["notifications"][0],
                         "unread_count": listed["unread_count"]}]
    assert messages[0]["notification"]["title"] == 'Workspace "dev" deleted'
    handshake = next(e for e in mock.run(mock.journal.entries())
                     if e.get("websocket") == "open")
    assert (handshake["user"], handshake["path"]) == (
        "member", "/api/v2/notifications/inbox/watch?read_status=unread")


def test_a_page_with_its_token_in_the_query_string_fails_as_on_coder(page: Page,
                                                                    page_origin: str) -> None:
    """Coder's watch refuses every query parameter it does not parse, the token's too: the UI
    would show its error toast. The mock answers the same 400, which the browser sees as a
    failed socket."""
    with MockServer() as mock:
        token = mock.token(owner=False)
        outcome = watch_page(page, page_origin,
                             ws=mock.watch_url(read_status="unread", coder_session_token=token))
        refused = [e for e in mock.run(mock.journal.entries())
                   if e.get("websocket") == "refused"]
    assert outcome == {"state": "error"}, page.text_content("#result")
    assert json.loads(page.text_content("#result") or "null") == {"closed": 1006}
    assert [(e["status"], e["user"]) for e in refused] == [(400, "member")]
