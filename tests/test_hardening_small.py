"""Hardening, the smaller items: a token's surrounding blanks, a bad --port, a --fault that
could never fire, a drop that answers nothing, a fault body's validations, the banner's state.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mock_server.cli import banner
from mock_server.config import MockConfig
from mock_server.fixtures import load_seed
from mock_server.server import MockServer
from tests.conftest import OWNER, auth
from tests.helpers import SIGNED_OUT, expect_error

SETTINGS = "/api/v2/notifications/settings"


def raw_get(mock: MockServer, head: bytes) -> bytes:
    """A GET of the settings with these extra header lines, over a socket, as sent."""
    host, port = mock.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET " + SETTINGS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Connection: close\r\n" + head + b"\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


# Go's textproto trims a header value's surrounding blanks; a query value is not trimmed.
TOKENS = {
    "header-trailing-spaces": (b"Coder-Session-Token: " + OWNER.encode() + b"   \r\n", 200),
    "header-tabs-around": (b"Coder-Session-Token:\t" + OWNER.encode() + b"\t \r\n", 200),
    "bearer-trailing-space": (b"Authorization: Bearer " + OWNER.encode() + b" \r\n", 200),
    "cookie-trailing-space": (b"Cookie: coder_session_token=" + OWNER.encode() + b" \r\n", 200),
}


@pytest.mark.parametrize(("head", "status"), TOKENS.values(), ids=TOKENS.keys())
def test_a_token_with_surrounding_blanks_signs_in_as_go_trims_it(
        live_mock: MockServer, head: bytes, status: int) -> None:
    response = raw_get(live_mock, head)
    assert response.startswith(b"HTTP/1.1 %d " % status), response[:300]


@pytest.mark.anyio
async def test_a_query_token_with_a_trailing_space_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get(SETTINGS, params={"coder_session_token": OWNER + " "})
    expect_error(response, 401, SIGNED_OUT, "Invalid API key format: invalid API key secret "
                 "length, expected 22 got 23")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m mock_server ARGS`, expected to refuse before it serves."""
    return subprocess.run([sys.executable, "-m", "mock_server", *args], capture_output=True,
                          text=True, timeout=60)


REFUSED = {
    "port-too-big": (["--port", "99999"], "error: --port 99999 is not a TCP port: use 1 to "
                     "65535, or 0 for a free one"),
    "port-negative": (["--port", "-1"], "error: --port -1 is not a TCP port"),
    "unknown-operation": (["--port", "0", "--fault", "get-notification-setings=503"],
                          "error: --fault 'get-notification-setings=503': no operation "
                          "'get-notification-setings'; did you mean "
                          "'get-notifications-settings'?"),
    "unknown-user": (["--port", "0", "--fault", "get-notifications-settings@bobb=503"],
                     "error: --fault 'get-notifications-settings@bobb=503': no user 'bobb' in "
                     "the fixture set; did you mean 'bob'? use a username (admin, member, "),
}


@pytest.mark.parametrize(("args", "error"), REFUSED.values(), ids=REFUSED.keys())
def test_a_bad_start_up_option_is_one_clear_line_and_exit_2(args: list[str],
                                                            error: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(error), result.stderr


FAULTS = {
    "unknown-user": ({"operation_id": "get-notifications-settings", "user": "nobody",
                      "status": 503}, "no user 'nobody' in the fixture set; use a username"),
    "unknown-user-id": ({"user": "00000000-0000-4000-8000-000000000000", "status": 503},
                        "no user '00000000-0000-4000-8000-000000000000' in the fixture set"),
}


@pytest.mark.anyio
@pytest.mark.parametrize(("fault", "detail"), FAULTS.values(), ids=FAULTS.keys())
async def test_the_control_api_refuses_a_fault_for_a_user_that_does_not_exist(
        client: httpx.AsyncClient, fault: dict[str, object], detail: str) -> None:
    response = await client.post("/__mock/faults", json=fault)
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "Invalid fault."
    assert response.json()["detail"].startswith(detail)
    assert (await client.get("/__mock/faults")).json() == []


@pytest.mark.anyio
async def test_a_fault_for_a_user_by_any_letter_case_or_id_is_accepted(
        client: httpx.AsyncClient, mock: MockServer) -> None:
    owner = next(user for user in mock.store.seed.users if user.is_owner)
    for name in (owner.username.upper(), str(owner.id)):
        response = await client.post("/__mock/faults", json={"user": name, "status": 503})
        assert response.status_code == 201, response.text


@pytest.mark.parametrize("how", ["prefer", "fault"])
def test_a_drop_closes_the_connection_without_any_status_line(how: str) -> None:
    config = MockConfig(faults=("get-notifications-settings=drop",) if how == "fault" else ())
    with MockServer(config) as mock:
        extra = b"Prefer: drop\r\n" if how == "prefer" else b""
        assert raw_get(mock, b"Coder-Session-Token: " + OWNER.encode() + b"\r\n" + extra) \
            == b""
        entry = mock.run(mock.journal.entries())[-1]
        assert (entry["path"], entry["status"]) == (SETTINGS, None)


@pytest.mark.anyio
async def test_a_fault_body_keeps_its_validations(client: httpx.AsyncClient) -> None:
    body = {"message": "Validation failed.",
            "validations": [{"field": "notifier_paused", "detail": "must be a boolean"}]}
    added = await client.post("/__mock/faults", json={
        "operation_id": "update-notifications-settings", "status": 400, "body": body})
    assert added.status_code == 201, added.text
    response = await client.put(SETTINGS, json={"notifier_paused": True}, headers=auth(OWNER))
    assert (response.status_code, response.json()) == (400, body)


STATES = {
    "memory": ({}, "State: in memory (this process only)"),
    "state-file": ({"state_file": Path("/tmp/mock-state.json")},
                   "State: in memory, kept in /tmp/mock-state.json (this process only)"),
    "redis": ({"state_url": "redis://:hunter2@127.0.0.1:6379/0"},
              "State: shared in redis://:***@127.0.0.1:6379/0"),
}


@pytest.mark.parametrize(("options", "line"), STATES.values(), ids=STATES.keys())
def test_the_banner_says_where_the_state_lives(options: dict[str, object], line: str) -> None:
    config = MockConfig(**options)  # type: ignore[arg-type]
    text = banner("http://127.0.0.1:8080", config, load_seed(config.fixtures))
    state = next(row for row in text.splitlines() if row.startswith("State: "))
    assert state.startswith(line), text
    assert "hunter2" not in text
