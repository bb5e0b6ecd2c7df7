"""DNS rebinding as a real browser does it: a page at http://rebind.test:PORT/ whose name now
resolves to 127.0.0.1 is same-origin with the mock on PORT, so CORS never applies.

Chromium's `--host-resolver-rules` maps rebind.test to 127.0.0.1 (the re-pointed DNS answer);
the page itself is served by playwright's routing (the attacker's server, before the rebinding).
Its same-origin fetches then reach the mock with `Host: rebind.test:PORT`. The mock refuses
them (421) unless told to serve that name, which the second case does, to show the page really
reaches the mock and that the Host check is what stops it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, LAUNCH_TIMEOUT_MS, PAGE_TIMEOUT_MS

try:
    from playwright.sync_api import Browser, sync_playwright
except ImportError as error:  # test_browser.py skips the same way
    pytest.skip(f"Python playwright is not importable ({error})", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"no browser: {CHROMIUM} is missing (make browser)", allow_module_level=True)

pytestmark = pytest.mark.browser

REBIND = "rebind.test"
# Recent Chromium (Local/Private Network Access) stops a page it fetched from elsewhere from
# calling loopback at all; Firefox, Safari and older Chromium do not. Off here, so the test shows
# what the mock itself does (with them on, even the allowed case fails to fetch).
LOCAL_NETWORK_CHECKS = ("LocalNetworkAccessChecks", "PrivateNetworkAccessSendPreflights",
                        "PrivateNetworkAccessRespectPreflightResults",
                        "BlockInsecurePrivateNetworkRequests")
PAGE = "<!doctype html><title>a page that was somewhere else a moment ago</title>"
# What the page tries: every token, the state, the caller (with a token it got), a write.
READS = """async (token) => {
  const out = {};
  for (const [name, path, init] of [
      ["fixtures", "/__mock/fixtures", {}],
      ["state", "/__mock/state", {}],
      ["me", "/api/v2/users/me", {headers: {"Coder-Session-Token": token}}],
      ["write", "/api/v2/notifications/settings",
       {method: "PUT", body: '{"notifier_paused":true}',
        headers: {"Coder-Session-Token": token}}]]) {
    try {
      const response = await fetch(path, init);
      out[name] = {status: response.status, body: await response.text()};
    } catch (error) {
      out[name] = {status: String(error)};
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium that resolves rebind.test to 127.0.0.1, as after the rebinding."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, timeout=LAUNCH_TIMEOUT_MS,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {REBIND} 127.0.0.1",
                  f"--disable-features={','.join(LOCAL_NETWORK_CHECKS)}"])
        try:
            yield chromium
        finally:
            chromium.close()


def attack(browser: Browser, mock: MockServer) -> dict[str, Any]:
    """Open the page at rebind.test on the mock's port and run its fetches."""
    origin = mock.url.replace("127.0.0.1", REBIND)
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.route(f"{origin}/", lambda route: route.fulfill(
            status=200, content_type="text/html", body=PAGE))
        page.goto(f"{origin}/", timeout=PAGE_TIMEOUT_MS)
        result: dict[str, Any] = page.evaluate(READS, mock.token(owner=True))
        return result
    finally:
        context.close()


def test_a_rebinding_page_reads_nothing_and_writes_nothing(browser: Browser) -> None:
    with MockServer(MockConfig()) as mock:
        result = attack(browser, mock)
        tokens = [key.token for key in mock.api_keys()]
        settings = mock.run(mock.store.settings_json())
        seen = [(entry["path"], entry["status"]) for entry in mock.run(mock.journal.entries())]
    assert {name: outcome["status"] for name, outcome in result.items()} == {
        "fixtures": 421, "state": 421, "me": 421, "write": 421}, result
    leaked = [token for token in tokens for outcome in result.values()
              if token in outcome.get("body", "")]
    assert leaked == []
    assert '"notifier_paused":true' not in settings.replace(" ", "")
    assert ("/__mock/fixtures", 421) in seen, seen  # so the fetches reached the mock


def test_the_same_page_reads_everything_once_the_name_is_allowed(browser: Browser) -> None:
    with MockServer(MockConfig(allowed_hosts=(REBIND,))) as mock:
        result = attack(browser, mock)
        tokens = [key.token for key in mock.api_keys()]
    assert {name: outcome["status"] for name, outcome in result.items()} == {
        "fixtures": 200, "state": 200, "me": 200, "write": 200}, result
    assert all(token in result["fixtures"]["body"] for token in tokens)
