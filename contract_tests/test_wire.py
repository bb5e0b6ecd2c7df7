"""Wire facts read from the socket, below any HTTP client: an unchanged settings write is a 304
with no byte after its headers; an unknown route is Coder's JSON 404; a wrong method is chi's 405
(an `Allow` header, no body: Coder's /api/v2 router sets a NotFound handler and no
MethodNotAllowed one, coderd/coderd.go)."""

from __future__ import annotations

import json

import pytest

from contract_tests.client import BYPASS_RATE_LIMIT, ERROR_TYPE, TOKEN_HEADER, Api
from contract_tests.guard import StateGuard
from contract_tests.plugin import ContractRun
from contract_tests.raw_http import RawResponse, exchange
from contract_tests.target import API_PREFIX, Target
from contract_tests.wire import Wire

UNKNOWN_ROUTES = {
    "unknown path": ("GET", "/notifications/nope"),
    "unknown top level": ("GET", "/no-such-route"),
    "deeper than a route": ("GET", "/notifications/settings/extra"),
    "unknown under a user": ("POST", "/users/me/notifications/nope"),
}
WRONG_METHODS = {
    "DELETE settings": ("DELETE", "/notifications/settings", {"GET", "PUT"}),
    "POST dispatch methods": ("POST", "/notifications/dispatch-methods", {"GET"}),
    "GET the test notification": ("GET", "/notifications/test", {"POST"}),
    "PATCH preferences": ("PATCH", "/users/me/notifications/preferences", {"GET", "PUT"}),
}


def raw(target: Target, wire: Wire, url: str, method: str, path: str, body: object = None,
        operation_id: str | None = None) -> RawResponse:
    """One request as the owner, read from the socket; counted like every other."""
    response = exchange(url, method, API_PREFIX + path,
                        {TOKEN_HEADER: target.owner_token, BYPASS_RATE_LIMIT: "true"}, body)
    wire.count_own(operation_id)
    return response


@pytest.fixture(scope="module")
def wire(contract_run: ContractRun) -> Wire:
    """The run's request counter."""
    return contract_run.wire


def test_a_304_has_no_byte_after_its_headers(owner: Api, target: Target, wire: Wire,
                                             socket_url: str, known_state: StateGuard) -> None:
    paused = owner.settings().expect_status(200).json()["notifier_paused"]
    owner.put_settings(paused).expect_status(200, 304)  # stored once: the next is unchanged
    answer = raw(target, wire, socket_url, "PUT", "/notifications/settings",
                 {"notifier_paused": paused}, "update-notifications-settings")
    assert answer.status == 304, f"an unchanged settings write is 304: {answer.describe()}"
    assert answer.after_headers == b"", f"a 304 ends with its headers: {answer.describe()}"
    assert answer.header("Content-Length") in (None, "0"), answer.describe()
    assert answer.header("Transfer-Encoding") is None, answer.describe()


@pytest.mark.parametrize("route", UNKNOWN_ROUTES.values(), ids=UNKNOWN_ROUTES.keys())
def test_an_unknown_route_is_coders_json_404(target: Target, wire: Wire, socket_url: str,
                                             route: tuple[str, str]) -> None:
    method, path = route
    answer = raw(target, wire, socket_url, method, path)
    assert answer.status == 404, answer.describe()
    assert answer.header("Content-Type") == ERROR_TYPE, answer.describe()
    body = answer.after_headers
    if answer.header("Transfer-Encoding") == "chunked":
        body = b"".join(body.split(b"\r\n")[1::2])
    assert json.loads(body) == {"message": "Route not found."}, answer.describe()


@pytest.mark.parametrize("route", WRONG_METHODS.values(), ids=WRONG_METHODS.keys())
def test_a_wrong_method_is_405_with_allow_and_no_body(target: Target, wire: Wire,
                                                      socket_url: str,
                                                      route: tuple[str, str, set[str]]) -> None:
    method, path, allowed = route
    answer = raw(target, wire, socket_url, method, path)
    assert answer.status == 405, answer.describe()
    listed = {m.strip() for m in (answer.header("Allow") or "").split(",") if m.strip()}
    assert allowed <= listed, f"Allow names {sorted(allowed)}: {answer.describe()}"
    assert method not in listed, answer.describe()
    assert answer.after_headers == b"", f"chi's 405 has no body: {answer.describe()}"
