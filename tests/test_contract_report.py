"""The contract suite's CI log: a target it cannot test stops it in one line (exit 2), `requests
sent` is what the server saw, and the JUnit report has one case per check, the run's figures as
properties and no Hypothesis blobs."""

from __future__ import annotations

import http.server
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from contract_tests import run
from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.helpers import http_server
from tests.mutants import MUTANTS
from tests.test_contract_suite import FAST, QUICK, in_process, over_http

UNKNOWN_TOKEN = "Zz9Zz9Zz9Z-abcdefghijklmnopqrstuv"
OWNER = "AdminToken-adminSecretValue000000"
# Servers that are not Coder: what GET /api/v2/users/me answers, and what the one line says.
NOT_CODER = {
    "a proxy's HTML page": (200, "text/html", b"<html><body>Welcome to nginx</body></html>",
                            "with text/html, not Coder's JSON"),
    "a JSON 404": (404, "application/json", b'{"error": "not found"}', "answered 404"),
    "a text 404": (404, "text/plain", b"404 page not found", "with text/plain, not Coder's"),
    "a JSON API that is not Coder": (200, "application/json", b'{"ok": true}',
                                     "not a Coder user"),
    "a redirect to a login page": (302, "text/html", b"", "a redirect to /login"),
}


@contextmanager
def static_server(status: int, content_type: str, body: bytes) -> Iterator[str]:
    """A server on a port-0 socket that answers every GET the same way; its base URL."""
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if status == 302:
                self.send_header("Location", "/login")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    with http_server(Handler, name="not-coder") as url:
        yield url


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m contract_tests ARGS`, both streams in one, as a CI log shows them."""
    return subprocess.run([sys.executable, "-m", "contract_tests", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def assert_one_clear_line(result: subprocess.CompletedProcess[str], words: str) -> None:
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 2, output
    assert len(output.splitlines()) <= 5, output
    assert output.startswith("error: cannot test "), output
    assert words in output, output
    assert "Traceback" not in output


def test_a_static_file_server_stops_the_run_in_one_line(tmp_path: Path) -> None:
    server = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                               "0"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = re.search(r"port (\d+)", server.stdout.readline()).group(1)  # type: ignore[union-attr]
        result = cli("--base-url", f"http://127.0.0.1:{port}", "--token", OWNER, cwd=tmp_path)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert_one_clear_line(result, "answered 404 with text/html, not Coder's JSON")


@pytest.mark.parametrize("answer", NOT_CODER.values(), ids=NOT_CODER.keys())
def test_a_server_that_is_not_coder_stops_the_run_in_one_line(
        tmp_path: Path, answer: tuple[int, str, bytes, str]) -> None:
    status, content_type, body, words = answer
    with static_server(status, content_type, body) as url:
        result = cli("--base-url", url, "--token", OWNER, cwd=tmp_path)
    assert_one_clear_line(result, words)


def test_nothing_listening_stops_the_run_in_one_line(tmp_path: Path) -> None:
    with static_server(200, "text/plain", b"") as url:
        pass  # shut down: its port is closed now
    result = cli("--base-url", url, "--token", OWNER, cwd=tmp_path)
    assert_one_clear_line(result, "nothing answers there")


@pytest.mark.parametrize("option", ["--token", "--member-token"])
def test_a_refused_token_stops_the_run_in_one_line(tmp_path: Path, option: str) -> None:
    with MockServer() as mock:
        tokens = {"--token": mock.token(owner=True), "--member-token": mock.token(owner=False)}
        tokens[option] = UNKNOWN_TOKEN
        result = cli("--base-url", mock.url, "--token", tokens["--token"], "--member-token",
                     tokens["--member-token"], cwd=tmp_path)
    assert_one_clear_line(result, f"the server refused {option}: API key is invalid.")


def requests_sent(output: str) -> int:
    """The summary's figure."""
    return int(re.search(r"^requests sent: (\d+)", output, re.MULTILINE).group(1))  # type: ignore[union-attr]


def calls_seen(control: httpx.Client | TestClient) -> int:
    """The calls of Coder's API the mock's journal recorded (its own control calls aside); a
    watch socket is one handshake, journaled once when opened or refused (then again for each
    message and when it closes)."""
    journal = control.get("/__mock/journal").raise_for_status().json()
    return sum(not entry["path"].startswith("/__mock")
               and entry.get("websocket") in (None, "open", "refused") for entry in journal)


@pytest.mark.parametrize("where", ["in-process", "over HTTP"])
def test_requests_sent_is_what_the_server_saw(capsys: pytest.CaptureFixture[str],
                                              where: str) -> None:
    mock = MockServer(MockConfig(journal_size=100_000, ws_ping_interval=0.5))
    if where == "in-process":
        assert run(in_process(mock), **FAST) == 0
        seen = calls_seen(TestClient(mock.app, base_url="http://localhost"))
    else:
        with mock, httpx.Client(base_url=mock.url) as control:
            assert run(over_http(mock), **FAST) == 0
            seen = calls_seen(control)
    assert requests_sent(capsys.readouterr().out) == seen


def junit_of(path: Path) -> tuple[ET.Element, dict[str, list[str]]]:
    """The test suite element and its properties, by name."""
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    properties: dict[str, list[str]] = {}
    for item in suite.find("properties") or []:
        properties.setdefault(item.attrib["name"], []).append(item.attrib["value"])
    return suite, properties


def terminal_counts(output: str) -> dict[str, int]:
    """`104 passed, 18 skipped, 9 subtests passed in 8.1s` as numbers."""
    last = [line for line in output.splitlines() if re.search(r" in [\d.]+s", line)][-1]
    last = last.replace("subtests passed", "subtests")
    return {name: int(n) for n, name in re.findall(r"(\d+) (passed|skipped|failed|subtests)",
                                                   last)}


def test_the_junit_report_has_a_case_per_check_and_the_runs_figures(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with MockServer(QUICK) as mock:
        assert run(over_http(mock), max_examples=3, quiet=True,
                   junit_xml=tmp_path / "report.xml") == 0
    output = capsys.readouterr().out
    suite, properties = junit_of(tmp_path / "report.xml")
    counts = terminal_counts(output)
    assert int(suite.attrib["tests"]) == counts["passed"] + counts["skipped"] + counts[
        "subtests"]
    assert int(suite.attrib["skipped"]) == counts["skipped"]
    assert properties["target"] == [mock.api_url]
    assert properties["requests sent"][0].startswith(f"{requests_sent(output)} ")
    assert properties["server state"]
    assert properties["covered"]
    assert all(name in ("target", "requests sent", "delivered", "server state", "skipped",
                        "covered") for name in properties), sorted(properties)
    cases = list(suite.iter("testcase"))
    names = [(case.attrib["classname"], case.attrib["name"]) for case in cases]
    assert len(set(names)) == len(names), "two test cases share a name"
    assert ("get-notifications-settings", "operation follows the spec [GET "
            "/notifications/settings]") in names
    assert any(rule == "an empty map writes nothing" and "update-user-notification-preferences"
               in classname.split("+") for classname, rule in names), names


def test_skipped_checks_are_listed_with_the_flag_that_enables_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with MockServer(QUICK) as mock:
        assert run(over_http(mock), max_examples=3, quiet=True, select="custom or methods",
                   junit_xml=tmp_path / "report.xml") == 0
    output = capsys.readouterr().out
    _suite, properties = junit_of(tmp_path / "report.xml")
    for flag in ("--send-notifications", "--allow-method-changes"):
        line = next(line for line in output.splitlines() if line.endswith(f"with {flag}"))
        assert re.match(r"^  \d+ skipped: .+; enable with ", line), line
        assert line.strip() in properties["skipped"]


def test_a_failing_run_leaves_no_hypothesis_blob(tmp_path: Path) -> None:
    mutant = next(m for m in MUTANTS if m.name == "lost write: settings echoed but not stored")
    mock = MockServer()
    assert run(in_process(mock, mutant.build(mock)), max_examples=5, quiet=True,
               select="a_settings_write", junit_xml=tmp_path / "report.xml") == 1
    text = (tmp_path / "report.xml").read_text()
    assert "<failure" in text
    for blob in ("reproduce_failure", "hypothesis-statistics", "@seed("):
        assert blob not in text
