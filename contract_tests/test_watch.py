"""The inbox watch socket, `/notifications/inbox/watch` (coder-inbox.md §3): refused as plain HTTP
before any upgrade without a token (401) or with bad parameters (400, the list's answers); and,
only with --send-notifications, a notification created after the socket opened arrives within
--delivery-timeout as exactly `{"notification": {...}, "unread_count": n}`, on every socket
whose filters it passes and on no other, with nothing older replayed; pings arrive within
--ping-timeout."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from contract_tests.client import ERROR_TYPE, TOKEN_HEADER, Api
from contract_tests.facts import Facts
from contract_tests.guard import StateGuard
from contract_tests.inbox import (
    BAD_READ_STATUS,
    CUSTOM_TEMPLATE_ID,
    INVALID_QUERY,
    TEST_TEMPLATE_ID,
    check_notification,
)
from contract_tests.plugin import ContractRun
from contract_tests.target import Target
from contract_tests.test_custom import (  # noqa: F401 (fixtures, used by name)
    custom_era,
    delivering,
    send,
    unique_title,
)
from contract_tests.watch_socket import WatchSocket

WATCH = "watch-for-new-inbox-notifications"
QUIET = 1.0  # seconds a socket must stay silent to show it received nothing (at most)
BAD_QUERIES: dict[str, tuple[dict[str, str], str, str | None]] = {
    "read_status outside all/read/unread": ({"read_status": "READ"}, BAD_READ_STATUS, None),
    "a target that is not a UUID": ({"targets": "not-a-uuid"}, INVALID_QUERY, "targets"),
    "a template that is not a UUID": ({"templates": "x,y"}, INVALID_QUERY, "templates"),
    "an unknown parameter": ({"limit": "5"}, INVALID_QUERY, "limit"),
}


@pytest.fixture
def sockets(contract_run: ContractRun, socket_url: str) -> Iterator[list[WatchSocket]]:
    """Sockets a check opens (append them); all closed after it."""
    opened: list[WatchSocket] = []
    yield opened
    for watch in opened:
        watch.close()


def open_watch(sockets: list[WatchSocket], contract_run: ContractRun, url: str,
               token: str | None, **query: str) -> WatchSocket:
    """Open one watch socket (counted like any request) and keep it for closing."""
    watch = WatchSocket(url, query, {TOKEN_HEADER: token} if token else {})
    sockets.append(watch)
    watch.open(timeout=contract_run.target.delivery_timeout + 5)
    contract_run.wire.count_own(WATCH)
    return watch


def refusal(watch: WatchSocket, status: int) -> dict[str, Any]:
    """The plain-HTTP answer of a refused upgrade: this status, Coder's JSON error."""
    response = watch.response
    assert response is not None
    shown = f"{response.status_code} {response.body[:300]!r}"
    assert response.status_code == status, f"{watch.url}: expected {status} before any " \
        f"upgrade, got {shown}"
    assert response.headers.get("Content-Type") == ERROR_TYPE, f"{watch.url}: {shown}"
    body = json.loads(response.body)
    assert isinstance(body, dict), f"{watch.url}: {shown}"
    assert isinstance(body.get("message"), str), f"{watch.url}: {shown}"
    return body


@pytest.mark.parametrize("token", [None, "Zz9Zz9Zz9Z-abcdefghijklmnopqrstuv"],
                         ids=["no token", "unknown key"])
def test_an_upgrade_without_a_valid_token_is_refused_with_401(
        sockets: list[WatchSocket], contract_run: ContractRun, socket_url: str,
        token: str | None) -> None:
    body = refusal(open_watch(sockets, contract_run, socket_url, token), 401)
    assert body.get("detail"), "a 401 says why in `detail`"


@pytest.mark.parametrize("case", BAD_QUERIES.values(), ids=BAD_QUERIES.keys())
def test_bad_parameters_are_refused_with_400_before_the_upgrade(
        sockets: list[WatchSocket], contract_run: ContractRun, socket_url: str,
        target: Target, case: tuple[dict[str, str], str, str | None]) -> None:
    query, message, field = case
    body = refusal(open_watch(sockets, contract_run, socket_url, target.owner_token, **query),
                   400)
    assert body["message"] == message, body
    if field is not None:
        assert any(v.get("field") == field for v in body.get("validations") or []), body


def test_pings_arrive(sockets: list[WatchSocket], contract_run: ContractRun, socket_url: str,
                      target: Target) -> None:
    watch = open_watch(sockets, contract_run, socket_url, target.owner_token)
    assert watch.response is not None
    assert watch.response.status_code == 101, f"the upgrade is accepted: {watch.response}"
    assert watch.wait_for_ping(target.ping_timeout), \
        f"a ping frame arrives within --ping-timeout {target.ping_timeout:g} s"


FILTERS: dict[str, tuple[dict[str, str], bool]] = {  # query, and whether a new custom passes
    "no filter": ({}, True),
    "its template, unread, plain text": ({"templates": CUSTOM_TEMPLATE_ID,
                                          "read_status": "unread", "format": "plaintext"}, True),
    "another template": ({"templates": TEST_TEMPLATE_ID}, False),
    "a target it does not carry": ({"targets": str(uuid.uuid4())}, False),
    "read only (a new one is unread)": ({"read_status": "read"}, False),
}


@pytest.mark.usefixtures("delivering")
def test_a_new_notification_arrives_exactly_where_the_filters_let_it(
        owner: Api, facts: Facts, guard: StateGuard, sockets: list[WatchSocket],
        contract_run: ContractRun, socket_url: str, target: Target) -> None:
    watches = {name: open_watch(sockets, contract_run, socket_url, target.owner_token, **query)
               for name, (query, _passes) in FILTERS.items()}
    for name, watch in watches.items():
        assert watch.response is not None
        assert watch.response.status_code == 101, f"{name}: upgrade refused, {watch.response}"
        early = watch.next_message(QUIET / 2)
        assert early is None, f"{name}: nothing older is replayed, got {early!r}"
    title = unique_title("watch delivery")
    send(owner, title, "Sent by the contract suite to its own watch sockets.")
    arrived = {}
    for name, (_query, passes) in FILTERS.items():
        if passes:
            arrived[name] = watches[name].next_message(target.delivery_timeout)
            assert arrived[name] is not None, f"{name}: the notification arrives within " \
                f"--delivery-timeout {target.delivery_timeout:g} s"
    for name, (_query, passes) in FILTERS.items():
        if not passes:
            stray = watches[name].next_message(QUIET)
            assert stray is None, f"{name}: the filter keeps it out, got {stray!r}"
    page = owner.inbox_page()
    for name, message in arrived.items():
        page.exchange.expect(isinstance(message, dict) and set(message) == {
            "notification", "unread_count"}, f"{name}: a message is exactly "
            f"{{notification, unread_count}}, got {message!r}")
        check_notification(page.exchange, message["notification"], user_id=facts.owner.id)
        item = message["notification"]
        page.exchange.expect(item["template_id"] == CUSTOM_TEMPLATE_ID and item["read_at"] is None
                             and item["title"] == title, f"{name}: it is the one sent, unread")
        page.exchange.expect(item["id"] in page.ids, f"{name}: it is the one the inbox lists")
        page.exchange.expect(message["unread_count"] == page.unread_count,
                             f"{name}: unread_count is the caller's at send time "
                             f"({page.unread_count}), got {message['unread_count']}")
    assert guard.inbox is not None
    guard.inbox.remember(page.items)
