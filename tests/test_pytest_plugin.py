"""The pytest plugin (`coder_mock`) as a team testing its client against the mock uses it, and
`MockServer.clear()` / `close()` under it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.conftest import OWNER, auth
from tests.test_readme import section

pytest_plugins = ["pytester"]

OTHER_FIXTURES = Path(__file__).parent / "fixtures" / "other"

# What a frontend or integration team writes: no set-up, a URL and a token from the fixture,
# and each test starts from the fixture state whatever the one before it changed.
TEAM_TESTS = '''
import httpx

URLS = set()


def owner(coder_mock):
    return {"Coder-Session-Token": coder_mock.token(owner=True)}


def test_pausing_notifications_shows_in_the_settings(coder_mock):
    URLS.add(coder_mock.url)
    url = f"{coder_mock.url}/api/v2/notifications/settings"
    assert httpx.put(url, json={"notifier_paused": True}, headers=owner(coder_mock)) \\
        .status_code == 200
    assert httpx.get(url, headers=owner(coder_mock)).json() == {"notifier_paused": True}
    fault = {"operation_id": "get-notifications-settings", "status": 503}
    assert httpx.post(f"{coder_mock.url}/__mock/faults", json=fault).status_code == 201
    assert httpx.get(url, headers=owner(coder_mock)).status_code == 503


def test_the_next_test_starts_from_the_fixture_state(coder_mock):
    URLS.add(coder_mock.url)
    assert len(URLS) == 1, "one server per session"
    assert httpx.get(f"{coder_mock.url}/__mock/journal").json() == []
    assert httpx.get(f"{coder_mock.url}/__mock/faults").json() == []
    response = httpx.get(f"{coder_mock.url}/api/v2/notifications/settings",
                         headers=owner(coder_mock))
    assert response.json() == {"notifier_paused": False}
'''

WEBHOOK_CONFTEST = '''
import pytest

from mock_server.config import MockConfig


@pytest.fixture(scope="session")
def coder_mock_config():
    return MockConfig(default_method="webhook")
'''

DISPATCH_METHODS_TEST = '''
import httpx


def test_the_deployment_sends_webhooks(coder_mock):
    response = httpx.get(f"{coder_mock.url}/api/v2/notifications/dispatch-methods",
                         headers={"Coder-Session-Token": coder_mock.token(owner=True)})
    assert response.json() == {"available": ["smtp", "webhook"], "default": "webhook"}
'''


def test_a_team_test_file_gets_a_served_mock_cleared_between_tests(
        pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_settings_page=TEAM_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_overriding_the_config_in_a_conftest_changes_the_mock(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(WEBHOOK_CONFTEST)
    pytester.makepyfile(test_dispatch=DISPATCH_METHODS_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_function_scoped_config_override_is_a_scope_error(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(WEBHOOK_CONFTEST.replace('(scope="session")', ""))
    pytester.makepyfile(test_dispatch=DISPATCH_METHODS_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*ScopeMismatch*", "*coder_mock_config*"])


def test_the_readme_examples_pass_as_written(pytester: pytest.Pytester) -> None:
    tests, conftest = re.findall(r"```python\n(.*?)```", section(
        "Testing against the mock with pytest"), flags=re.S)
    pytester.makeconftest(conftest)
    pytester.makepyfile(test_readme_example=tests)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_clear_puts_back_the_fixture_set_the_journal_and_the_configured_faults() -> None:
    config = MockConfig(faults=("get-notification-dispatch-methods=500",))
    with MockServer(config) as mock, httpx.Client(base_url=mock.url, timeout=10) as client:
        assert client.put("/api/v2/notifications/settings", json={"notifier_paused": True},
                          headers=auth(OWNER)).status_code == 200
        assert client.post("/__mock/faults", json={"operation_id": "*", "status": 503}) \
            .status_code == 201
        assert client.put("/__mock/fixtures", json={"path": str(OTHER_FIXTURES)}) \
            .status_code == 200
        assert client.get("/api/v2/users/me", headers=auth(OWNER)).status_code == 401
        port = mock.url
        mock.clear()
        assert mock.url == port
        assert client.get("/__mock/journal").json() == []
        assert [f["operation_id"] for f in client.get("/__mock/faults").json()] == [
            "get-notification-dispatch-methods"]
        assert client.get("/api/v2/notifications/settings", headers=auth(OWNER)).json() == {
            "notifier_paused": False}
        assert client.get("/api/v2/users/me", headers=auth(OWNER)).json()["username"] == "admin"
        assert client.get("/api/v2/notifications/dispatch-methods",
                          headers=auth(OWNER)).status_code == 500


def test_close_stops_serving_and_may_be_called_again() -> None:
    MockServer().close()  # never started: nothing to do
    mock = MockServer().start()
    url = mock.url
    mock.close()
    mock.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/__mock/health", timeout=5)


def test_the_plugin_serves_on_loopback_only(coder_mock: MockServer) -> None:
    assert coder_mock.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{coder_mock.url}/__mock/health", timeout=10).json()["status"] == "ok"
