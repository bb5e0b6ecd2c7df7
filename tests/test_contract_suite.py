"""The contract suite passes correct servers, fails broken ones, and leaves servers as found."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from contract_tests import Target, run
from contract_tests.inbox import CUSTOM_TEMPLATE_ID, TEST_TEMPLATE_ID
from mock_server.config import MockConfig
from mock_server.server import MockServer
from mock_server.state import Store
from tests.helpers import settled
from tests.mutants import MUTANTS, Mutant, busy_inbox

FAST: dict[str, Any] = {"max_examples": 10, "exitfirst": True, "quiet": True}
OTHER_FIXTURES = Path(__file__).parent / "fixtures" / "other"
QUICK_PINGS = 0.5  # seconds between the watch socket's pings (Coder: 15)
QUICK = MockConfig(ws_ping_interval=QUICK_PINGS)
VARIANTS = {
    "default deployment": QUICK,
    "webhook as default method": MockConfig(default_method="webhook", ws_ping_interval=QUICK_PINGS),
    "newer Coder: 404 for unknown users": MockConfig(user_not_found_status=404,
                                                     ws_ping_interval=QUICK_PINGS),
    "with the task templates": MockConfig(task_templates=True, ws_ping_interval=QUICK_PINGS),
    "other users, templates and state": MockConfig(fixtures=OTHER_FIXTURES,
                                                   ws_ping_interval=QUICK_PINGS),
}


def in_process(mock: MockServer, app: object | None = None) -> Target:
    """The suite's view of a mock reached without a socket, allowed everything; the mock
    delivers before it answers, so a notification that has not arrived in 2 s never will."""
    return Target(app=app or mock.app, owner_token=mock.token(owner=True),
                  member_token=mock.token(owner=False), send_test_notification=True,
                  allow_new_preferences=True, send_notifications=True,
                  allow_read_state_changes=True, allow_method_changes=True,
                  delivery_timeout=2.0)


def over_http(mock: MockServer, *, allow_new_preferences: bool = True) -> Target:
    """The suite's view of a started mock, as of any deployment: a URL and two tokens."""
    return Target(base_url=mock.url, owner_token=mock.token(owner=True),
                  member_token=mock.token(owner=False),
                  allow_new_preferences=allow_new_preferences, ping_timeout=10 * QUICK_PINGS)


def state(store: Store) -> tuple[str, dict[str, dict[str, bool]]]:
    """Settings and every user's preferences (values, not timestamps)."""
    return settled(store.settings_json()), {
        user.username: {str(p.template_id): p.disabled for p in settled(store.preferences(user.id))}
        for user in store.users()}


def read_states(store: Store) -> dict[str, dict[str, str | None]]:
    """Every inbox notification's read_at, by user."""
    return {user.username: {row["id"]: row["read_at"] for row in settled(store.inbox(user.id))}
            for user in store.users()}


def methods(store: Store) -> dict[str, str]:
    """Every system template's method."""
    return {str(t.id): t.method for t in settled(store.system_templates())}


def side_effects(control: httpx.Client | TestClient) -> dict[str, Any]:
    """What a run must not change unasked, read through the mock's control API: the outbox,
    the messages held back, and every user's inbox (read states included)."""
    state = control.get("/__mock/state").raise_for_status().json()
    return {name: state[name] for name in ("outbox", "pending", "inbox")}


def test_a_default_run_sends_nothing_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with MockServer(QUICK) as mock, httpx.Client(base_url=mock.url) as control:
        busy_inbox(mock)  # unread and read notifications of the owner, some with targets
        before = side_effects(control)
        assert run(over_http(mock, allow_new_preferences=False), max_examples=20) == 0
        assert side_effects(control) == before
    output = capsys.readouterr().out
    for operation in ("POST /notifications/test", "POST /notifications/custom"):
        assert f"may send or change: {operation}: " in output
    assert "NO, refusals only (allow with --send-notifications)" in output
    assert "delivered: 0 × POST /notifications/test, 0 × POST /notifications/custom" in output


def test_a_run_allowed_to_send_says_what_it_sent(capsys: pytest.CaptureFixture[str]) -> None:
    mock = MockServer()
    control = TestClient(mock.app, base_url="http://localhost")
    before = {row["id"] for row in side_effects(control)["inbox"]}
    assert run(in_process(mock), max_examples=3, quiet=True,
               select="test_custom or test_auth") == 0
    new = [row for row in side_effects(control)["inbox"] if row["id"] not in before]
    line = next(line for line in capsys.readouterr().out.splitlines()
                if line.startswith("delivered: "))
    tests, customs = (int(n) for n in re.findall(r"(\d+) ×", line))
    assert tests == sum(row["template_id"] == TEST_TEMPLATE_ID for row in new) > 0
    assert customs == sum(row["template_id"] == CUSTOM_TEMPLATE_ID for row in new) > 0


def test_the_intact_mock_passes_in_process() -> None:
    assert run(in_process(MockServer()), **FAST) == 0


def test_re_marked_read_notifications_are_put_back_and_reported(
        capsys: pytest.CaptureFixture[str]) -> None:
    mock = MockServer()
    owner = next(u for u in mock.store.users() if u.is_owner)
    settled(mock.store.mark_all_read(owner.id))  # nothing unread: the suite must re-mark a read one
    before = read_states(mock.store)[owner.username]
    assert run(in_process(mock), max_examples=3, quiet=True, select="test_read_states") == 0
    assert "their read_at is now a time of this run" in capsys.readouterr().out
    after = read_states(mock.store)[owner.username]
    assert all(after[i] is not None for i in before), "a notification recorded read is unread"


def test_the_intact_mock_with_a_busy_inbox_passes_in_process() -> None:
    assert run(in_process(busy_inbox(MockServer())), **FAST) == 0


def test_a_run_allowed_everything_puts_read_states_and_methods_back() -> None:
    mock = busy_inbox(MockServer())
    before, methods_before = read_states(mock.store), methods(mock.store)
    assert run(in_process(mock), **FAST) == 0
    after = read_states(mock.store)
    for user, rows in before.items():
        assert {i: after[user][i] for i in rows} == rows, f"{user}'s read states moved"
    assert any(set(after[user]) - set(rows) for user, rows in before.items()), \
        "the run was expected to deliver notifications"
    assert methods(mock.store) == methods_before


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.name for m in MUTANTS])
def test_a_broken_mock_fails_the_suite(mutant: Mutant) -> None:
    mock = MockServer()
    app = mutant.build(mock)
    # 1 (TESTS_FAILED), not merely non-zero: a crash or a usage error must not count as caught
    assert run(in_process(mock, app), **FAST) == pytest.ExitCode.TESTS_FAILED, mutant.name


@pytest.mark.parametrize("config", VARIANTS.values(), ids=VARIANTS.keys())
def test_a_correct_server_passes_over_http(config: MockConfig) -> None:
    with MockServer(config) as mock:
        assert run(over_http(mock), **FAST) == 0


def test_a_run_leaves_settings_and_preferences_exactly_as_found() -> None:
    with MockServer(MockConfig(fixtures=OTHER_FIXTURES, ws_ping_interval=QUICK_PINGS)) as mock:
        before = state(mock.store)
        assert run(over_http(mock, allow_new_preferences=False), max_examples=20,
                   quiet=True) == 0
        assert state(mock.store) == before


def test_preferences_a_run_had_to_create_are_left_at_their_default() -> None:
    with MockServer(QUICK) as mock:
        assert state(mock.store)[1]["admin"] == {}
        assert run(over_http(mock), **FAST) == 0
        templates = {str(t.id): t for t in mock.store.seed.templates}
        settings, preferences = state(mock.store)
        assert settings in ("", '{"notifier_paused":false}')
        assert preferences["admin"], "the run was expected to store preferences"
        for user in ("admin", "member"):
            for template_id, disabled in preferences[user].items():
                assert disabled is not templates[template_id].enabled_by_default


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None,
        **kwargs: Any) -> subprocess.Popen[str]:
    """The suite's command line, as CI runs it."""
    return subprocess.Popen([sys.executable, "-m", "contract_tests", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})}, **kwargs)


def test_the_command_line_writes_junit_and_nothing_else(tmp_path: Path) -> None:
    with MockServer(QUICK) as mock:
        process = cli("--max-examples", "5", "--junit-xml", "report.xml", "-q", cwd=tmp_path,
                      env={"CODER_URL": mock.url, "CODER_SESSION_TOKEN": mock.token(owner=True),
                           "CODER_MEMBER_SESSION_TOKEN": mock.token(owner=False)})
        output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output
    assert "requests sent:" in output
    cases = ET.parse(tmp_path / "report.xml").getroot().iter("testcase")
    assert len(list(cases)) > 50
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xml"]


@pytest.mark.parametrize(("args", "message"), [
    (["--base-url", "http://127.0.0.1:9"], "needs an owner's token"),
    (["--base-url", "ftp://x", "--token", "AdminToken-adminSecretValue000000"], "not an http"),
    (["--base-url", "http://127.0.0.1:9", "--token", "short"], "not a Coder session token"),
])
def test_the_command_line_explains_bad_options(tmp_path: Path, args: list[str],
                                                message: str) -> None:
    process = cli(*args, cwd=tmp_path, env={"CODER_URL": "", "CODER_SESSION_TOKEN": ""})
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert message in output


def test_a_member_token_of_an_owner_is_refused_with_a_hint(tmp_path: Path) -> None:
    with MockServer(QUICK) as mock:
        owner = mock.token(owner=True)
        process = cli("--base-url", mock.url, "--token", owner, "--member-token", owner, "-q",
                      cwd=tmp_path)
        output, _ = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "who is an owner; role checks need a plain member's token" in output


@pytest.mark.timeout(400)  # above the two hang guards below, so they are the ones that speak
def test_an_interrupted_run_still_puts_the_state_back(tmp_path: Path) -> None:
    with MockServer(MockConfig(fixtures=OTHER_FIXTURES, ws_ping_interval=QUICK_PINGS)) as mock:
        before = state(mock.store)
        process = cli("--base-url", mock.url, "--token", mock.token(owner=True),
                      "--member-token", mock.token(owner=False), "--max-examples", "200",
                      cwd=tmp_path, start_new_session=True)
        # Only a guard against a hang: on a loaded machine the first write may take a while.
        deadline = time.monotonic() + 180
        while state(mock.store) == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert state(mock.store) != before, "the run never changed anything to put back"
        process.send_signal(signal.SIGTERM)
        try:  # a guard against a hang only (the run stops at the next answer: 2-5 s under load)
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
            pytest.fail(f"the run did not end within 60 s of SIGTERM; its output ended:\n"
                        f"{output[-3000:]}")
        assert process.returncode != 0, output
        assert state(mock.store) == before, output
