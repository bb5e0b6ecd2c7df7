"""The inbox watch socket over a real connection: Coder's checks before the upgrade, answered as
plain HTTP, then one message per new notification, in Coder's shape and under its filters."""

from __future__ import annotations

import asyncio
from socket import create_connection
from typing import Any

import httpx
import pytest
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosedOK
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri

from mock_server import errors
from mock_server.config import MockConfig
from mock_server.handshake_protocol import HandshakeHttpProtocol
from mock_server.inbox import BAD_READ_STATUS, INVALID_PARAMETERS, OTHER, WORKSPACE
from mock_server.server import MockServer, websocket_options
from tests.conftest import BOB, MEMBER, MEMBER_ID, auth
from tests.watching import (
    TEST_NOTIFICATION,
    WAIT,
    WORKSPACE_DELETED,
    closes_journaled,
    deliver,
    next_message,
    open_watch,
    refusal,
)

pytestmark = pytest.mark.anyio
INBOX = "/api/v2/notifications/inbox"
TARGET_A = "0d6c5b44-9f3a-4a58-8d2e-3b1f7c9e6a20"
TARGET_B = "5f8b8d7e-7d1a-4b0e-9d35-0c9b2a1f3e11"


def unread(mock: MockServer, token: str = MEMBER) -> int:
    return httpx.get(mock.url + INBOX, headers=auth(token)).json()["unread_count"]


async def test_a_notification_delivered_after_connect_arrives_in_coders_shape(
        live_mock: MockServer) -> None:
    async with await open_watch(live_mock, read_status="unread") as socket:
        sent = await deliver(live_mock, template=WORKSPACE_DELETED, targets=[TARGET_A],
                             labels={"name": "dev", "reason": "dormancy", "initiator": "admin"})
        message = await next_message(socket)
    listed = httpx.get(live_mock.url + INBOX, headers=auth(MEMBER)).json()
    assert message == {"notification": listed["notifications"][0],
                       "unread_count": listed["unread_count"]}
    assert message["notification"] == {
        "id": sent["id"], "user_id": MEMBER_ID, "template_id": WORKSPACE_DELETED,
        "targets": [TARGET_A], "title": 'Workspace "dev" deleted',
        "content": sent["content"], "icon": WORKSPACE, "actions": sent["actions"],
        "read_at": None, "created_at": message["notification"]["created_at"]}
    assert list(message["notification"]) == ["id", "user_id", "template_id", "targets", "title",
                                             "content", "icon", "actions", "read_at",
                                             "created_at"]
    assert "**dev**" in message["notification"]["content"], "Markdown unless plaintext"


async def test_nothing_delivered_before_the_socket_opened_is_replayed(
        live_mock: MockServer) -> None:
    await deliver(live_mock)
    async with await open_watch(live_mock) as socket:
        after = await deliver(live_mock)
        assert (await next_message(socket))["notification"]["id"] == after["id"]


async def test_the_unread_count_is_taken_when_each_message_is_sent(
        live_mock: MockServer) -> None:
    before = unread(live_mock)
    async with await open_watch(live_mock) as socket:
        await deliver(live_mock)
        assert (await next_message(socket))["unread_count"] == before + 1
        response = httpx.put(live_mock.url + INBOX + "/mark-all-as-read", headers=auth(MEMBER))
        assert response.status_code == 204  # and marking read sends nothing
        await deliver(live_mock)
        assert (await next_message(socket))["unread_count"] == 1


async def test_another_users_notification_never_arrives(live_mock: MockServer) -> None:
    async with await open_watch(live_mock) as socket:
        await deliver(live_mock, user="bob")
        mine = await deliver(live_mock)
        assert (await next_message(socket))["notification"]["id"] == mine["id"]


@pytest.mark.parametrize(("query", "skipped", "kept"), [
    ({"templates": WORKSPACE_DELETED}, {"template": TEST_NOTIFICATION},
     {"template": WORKSPACE_DELETED, "labels": {"name": "dev", "reason": "r"}}),
    ({"targets": f"{TARGET_A},{TARGET_B}"}, {"targets": [TARGET_A]},
     {"targets": [TARGET_B, TARGET_A]}),
], ids=["templates-any-of", "targets-all-of"])
async def test_filters_hold_per_message(live_mock: MockServer, query: dict[str, str],
                                        skipped: dict[str, Any], kept: dict[str, Any]) -> None:
    async with await open_watch(live_mock, **query) as socket:
        await deliver(live_mock, **skipped)
        wanted = await deliver(live_mock, **kept)
        assert (await next_message(socket))["notification"]["id"] == wanted["id"]


async def test_read_status_read_receives_nothing_new(live_mock: MockServer) -> None:
    async with await open_watch(live_mock, read_status="read") as reading, \
            await open_watch(live_mock, read_status="unread") as unreading:
        sent = await deliver(live_mock)
        assert (await next_message(unreading))["notification"]["id"] == sent["id"]
        await reading.close()
        assert [frame async for frame in reading] == []
    assert [e["websocket"] for e in await closes_journaled(live_mock, 2)
            if "read_status=read" in e["path"]] == ["open", "close"]


async def test_plaintext_converts_title_and_content(live_mock: MockServer) -> None:
    async with await open_watch(live_mock, format="plaintext") as socket:
        await deliver(live_mock, template=WORKSPACE_DELETED,
                      labels={"name": "dev", "reason": "dormancy", "initiator": "admin"})
        notification = (await next_message(socket))["notification"]
    assert (notification["title"], notification["content"]) == (
        'Workspace "dev" deleted',
        'Your workspace dev was deleted.\n\nThe specified reason was "dormancy (admin)".')


async def test_any_other_format_means_markdown(live_mock: MockServer) -> None:
    async with await open_watch(live_mock, format="html") as socket:
        await deliver(live_mock, template=WORKSPACE_DELETED, labels={"name": "dev", "reason": "r"})
        assert "**dev**" in (await next_message(socket))["notification"]["content"]


async def test_the_icon_fallback_applies(live_mock: MockServer) -> None:
    async with await open_watch(live_mock) as socket:
        await deliver(live_mock)
        assert (await next_message(socket))["notification"]["icon"] == OTHER


async def test_a_client_close_is_clean_and_the_session_journaled_with_its_messages(
        live_mock: MockServer) -> None:
    socket = await open_watch(live_mock)
    sent = [await deliver(live_mock) for _ in range(2)]
    for _ in sent:
        await next_message(socket)
    await socket.close()
    assert socket.close_code == 1000
    session = [(e["status"], e["websocket"], e.get("messages"), e.get("notification_ids"),
                e.get("closed_by"), e.get("close_code"))
               for e in await closes_journaled(live_mock) if "websocket" in e]
    assert session == [(101, "open", None, None, None, None),
                       (101, "close", 2, [m["id"] for m in sent], "client", 1000)]


async def test_a_failed_unread_count_closes_the_socket_as_coder_does(
        live_mock: MockServer, monkeypatch: pytest.MonkeyPatch) -> None:
    def unreachable(_user_id: object) -> list[dict[str, Any]]:
        raise ConnectionError("the state is unreachable")

    socket = await open_watch(live_mock)
    monkeypatch.setattr(live_mock.store, "inbox", unreachable)
    await deliver(live_mock)
    with pytest.raises(ConnectionClosedOK):
        await asyncio.wait_for(socket.recv(), WAIT)
    assert (socket.close_code, socket.close_reason) == (1000, "connection closed")
    close = (await closes_journaled(live_mock))[-1]
    assert (close["messages"], close["closed_by"]) == (0, "server")


# Before the upgrade: the same answers as any Coder call, as plain HTTP ---------------------

SIGNED_OUT = {"message": errors.SIGNED_OUT,
              "detail": 'Cookie "coder_session_token" or query parameter must be provided.'}


async def test_no_token_is_a_401_before_the_upgrade(live_mock: MockServer) -> None:
    refused = await refusal(live_mock, token=None)
    assert (refused.status, refused.json()) == (401, SIGNED_OUT)
    assert refused.headers["content-type"] == errors.JSON_CONTENT_TYPE
    assert refused.headers["www-authenticate"].startswith('Bearer realm="coder"')


async def test_a_bad_token_is_a_401(live_mock: MockServer) -> None:
    refused = await refusal(live_mock, token="MemberTokn-" + "x" * 22)
    assert (refused.status, refused.json()["detail"]) == (401, "API key secret is invalid.")


@pytest.mark.parametrize(("headers", "user"), [
    ({"Cookie": f"coder_session_token={BOB}"}, "bob"),
    ({"Coder-Session-Token": BOB}, "bob"),
    ({"Authorization": f"Bearer {MEMBER}"}, "member"),
    ({"Cookie": f"theme=dark; coder_session_token={MEMBER}"}, "member"),
], ids=["cookie", "header", "bearer", "cookie-among-others"])
async def test_a_token_outside_the_query_signs_the_socket_in(
        live_mock: MockServer, headers: dict[str, str], user: str) -> None:
    async with await open_watch(live_mock, token=None, headers=headers) as socket:
        await deliver(live_mock, user="bob" if user == "member" else "member")  # not theirs
        sent = await deliver(live_mock, user=user)
        assert (await next_message(socket))["notification"]["id"] == sent["id"]


def excess(name: str) -> dict[str, Any]:
    """Coder's answer to a parameter its watch handler does not parse (ErrorExcessParams)."""
    return {"message": INVALID_PARAMETERS, "validations": [
        {"field": name, "detail": f'"{name}" is not a valid query param'}]}


@pytest.mark.parametrize(("query", "headers", "status", "body"), [
    ({"coder_session_token": MEMBER}, {}, 400, excess("coder_session_token")),
    ({"access_token": MEMBER}, {}, 400, excess("access_token")),
    ({"coder_session_token": MEMBER}, {"Cookie": f"coder_session_token={MEMBER}"}, 400,
     excess("coder_session_token")),
    ({"coder_session_token": "AdminToken-wrong"}, {}, 401,
     {"message": errors.SIGNED_OUT,
      "detail": "Invalid API key format: invalid API key secret length, expected 22 got 5"}),
    ({"access_token": "MemberTokn-" + "x" * 22}, {}, 401,
     {"message": errors.SIGNED_OUT, "detail": "API key secret is invalid."}),
], ids=["query-token", "access-token", "query-token-beside-cookie", "bad-query-token",
        "wrong-access-token"])
async def test_a_token_in_the_query_authenticates_then_fails_coders_parameter_check(
        live_mock: MockServer, query: dict[str, str], headers: dict[str, str], status: int,
        body: dict[str, Any]) -> None:
    """coderd/inboxnotifications.go runs p.ErrorExcessParams(r.URL.Query()) after auth, and
    the parser knows only targets, templates, read_status and format: a token in the query
    signs in (a bad one is 401 first), then is an excess parameter."""
    refused = await refusal(live_mock, token=None, headers=headers, **query)
    assert (refused.status, refused.json()) == (status, body)


@pytest.mark.parametrize(("query", "body"), [
    ({"targets": "nope"}, {"message": INVALID_PARAMETERS, "validations": [
        {"field": "targets",
         "detail": 'Query param "targets" has invalid values: invalid UUID length: 4'}]}),
    ({"starting_before": TARGET_A}, {"message": INVALID_PARAMETERS, "validations": [
        {"field": "starting_before", "detail": '"starting_before" is not a valid query param'}]}),
    ({"read_status": "new"}, {"message": BAD_READ_STATUS}),
    ({"format": "plaintext&format=markdown"}, {"message": INVALID_PARAMETERS, "validations": [
        {"field": "format", "detail": 'Query param "format" provided more than once, found 2 '
                                      "times. Only provide 1 instance of this query param."}]}),
], ids=["bad-target", "starting-before-is-unknown-here", "bad-read-status", "format-twice"])
async def test_bad_parameters_are_coders_400_before_the_upgrade(
        live_mock: MockServer, query: dict[str, str], body: dict[str, Any]) -> None:
    name, value = next(iter(query.items()))
    refused = await refusal(live_mock, path=f"/api/v2/notifications/inbox/watch?{name}={value}")
    assert (refused.status, refused.json()) == (400, body)


async def test_a_page_on_another_site_is_refused_as_coder_websocket_refuses_it(
        live_mock: MockServer) -> None:
    origin, host = "https://elsewhere.example", live_mock.url.removeprefix("http://")
    refused = await refusal(live_mock, headers={"Origin": origin})
    reason = f'request Origin "{origin}" is not authorized for Host "{host}"'
    assert refused.status == 403
    assert refused.headers["content-type"] == errors.TEXT_CONTENT_TYPE
    text, appended = refused.body.decode().split("\n", 1)
    assert text == reason
    assert httpx.Response(200, content=appended).json() == {
        "message": errors.UPGRADE_FAILED,
        "detail": f"failed to accept WebSocket connection: {reason}"}


async def test_a_page_on_another_local_port_is_accepted(live_mock: MockServer) -> None:
    async with await open_watch(live_mock, headers={"Origin": "http://localhost:5173"}):
        pass


def test_a_plain_get_gets_coder_websockets_426(live_mock: MockServer) -> None:
    response = httpx.get(live_mock.url + INBOX + "/watch", headers={
        **auth(MEMBER), "Connection": "close"})
    reason = 'WebSocket protocol violation: Connection header "close" does not contain Upgrade'
    assert response.status_code == 426
    assert (response.headers["content-type"], response.headers["upgrade"]) == (
        errors.TEXT_CONTENT_TYPE, "websocket")
    text, appended = response.text.split("\n", 1)
    assert text == reason
    assert httpx.Response(200, content=appended).json() == {
        "message": errors.UPGRADE_FAILED,
        "detail": f"failed to accept WebSocket connection: {reason}"}


def test_an_upgrade_to_another_protocol_gets_coder_websockets_426(live_mock: MockServer) -> None:
    response = httpx.get(live_mock.url + INBOX + "/watch", headers={
        **auth(MEMBER), "Connection": "Upgrade", "Upgrade": "h2c"})
    assert (response.status_code, response.text.split("\n", 1)[0]) == (
        426, 'WebSocket protocol violation: Upgrade header "h2c" does not contain websocket')


def test_a_plain_get_checks_the_token_and_parameters_first(live_mock: MockServer) -> None:
    watch = live_mock.url + INBOX + "/watch"
    assert httpx.get(watch).status_code == 401
    assert httpx.get(watch + "?read_status=new", headers=auth(MEMBER)).json() == {
        "message": BAD_READ_STATUS}


def test_other_methods_are_chis_405(live_mock: MockServer) -> None:
    response = httpx.post(live_mock.url + INBOX + "/watch", headers=auth(MEMBER))
    assert (response.status_code, response.headers["allow"], response.content) == (405, "GET", b"")


@pytest.mark.parametrize(("path", "token", "status", "body"), [
    ("/api/v2/notifications/settings", MEMBER, 200, {"notifier_paused": False}),
    ("/api/v2/notifications/settings", None, 401, SIGNED_OUT),
    ("/api/v2/notifications/nope", MEMBER, 404, {"message": "Route not found."}),
    ("/api/v2/nope", None, 404, {"message": "Route not found."}),
    ("/nope", None, 404, {"message": "Route not found."}),
    ("/__mock/faults", None, 200, []),
    ("/api/v2/notifications/inbox/watch/", MEMBER, 404, {"message": "Route not found."}),
])
async def test_an_upgrade_where_there_is_no_socket_gets_that_paths_answer(
        live_mock: MockServer, path: str, token: str | None, status: int, body: Any) -> None:
    refused = await refusal(live_mock, token=token, path=path)
    assert (refused.status, refused.json()) == (status, body)
    assert [e["websocket"] for e in await live_mock.journal.entries()] == ["refused"]


@pytest.mark.parametrize(("path", "token", "status"), [
    ("/api/v2/users/me", MEMBER, 200),
    ("/api/v2/users/me", None, 401),
    ("/api/v2/users/nobody/notifications/preferences", MEMBER, 400),
    ("/api/v2/notifications/inbox?targets=nope", MEMBER, 400),
    ("/api/v2/notifications/inbox/mark-all-as-read", MEMBER, 405),  # a PUT-only route
    ("/api/v2/users/%ff", MEMBER, 400),
    ("/api/v2/unknown/path", MEMBER, 404),
    ("/__mock/faults", None, 200),
], ids=["users-me", "users-me-signed-out", "unknown-user", "bad-parameter", "put-only",
        "bad-escape", "unknown-path", "control-api"])
async def test_an_upgrade_on_an_http_route_is_answered_as_its_plain_get(
        live_mock: MockServer, path: str, token: str | None, status: int) -> None:
    """As in Coder, whose router serves a handshake like any GET: never a 500, never upgraded."""
    refused = await refusal(live_mock, token=token, path=path)
    plain = await asyncio.to_thread(httpx.get, live_mock.url + path,
                                    headers=auth(token) if token else {})
    assert (refused.status, refused.body) == (plain.status_code, plain.content)
    assert refused.status == status
    if plain.content:  # uvicorn labels an empty denial text/plain; the rest must agree
        assert refused.headers["content-type"] == plain.headers["content-type"]


def test_pings_follow_the_configuration() -> None:
    assert websocket_options(MockConfig()) == {"ws_ping_interval": 15.0, "ws_ping_timeout": None,
                                               "ws_per_message_deflate": False,
                                               "http": HandshakeHttpProtocol}
    assert websocket_options(MockConfig(ws_ping_interval=0))["ws_ping_interval"] is None
    with pytest.raises(ValueError, match="ws_ping_interval"):
        MockConfig(ws_ping_interval=-1)


def test_compression_is_refused_as_coder_refuses_it() -> None:
    """Coder's websocket.Accept(rw, r, nil) leaves permessage-deflate off, whatever is offered."""
    with MockServer() as mock:
        uri = parse_uri(mock.watch_url())
        request = ClientProtocol(uri).connect()
        request.headers["Coder-Session-Token"] = MEMBER
        request.headers["Sec-WebSocket-Extensions"] = "permessage-deflate; client_max_window_bits"
        client = ClientProtocol(uri)
        client.send_request(request)
        with create_connection((uri.host, uri.port), timeout=WAIT) as connection:
            connection.sendall(b"".join(client.data_to_send()))
            head = b""
            while b"\r\n\r\n" not in head:
                data = connection.recv(65536)
                assert data, "the server closed the socket before answering"
                head += data
    assert head.startswith(b"HTTP/1.1 101")
    assert b"sec-websocket-extensions" not in head.lower()


def test_the_server_pings_at_the_configured_interval() -> None:
    """A ping arrives (how soon is uvicorn's business; the socket timeout only guards a hang)."""
    with MockServer(MockConfig(ws_ping_interval=0.05)) as mock:
        uri = parse_uri(mock.watch_url())
        client = ClientProtocol(uri)
        request = client.connect()
        request.headers["Coder-Session-Token"] = MEMBER
        client.send_request(request)
        with create_connection((uri.host, uri.port), timeout=WAIT) as connection:
            connection.sendall(b"".join(client.data_to_send()))
            seen: list[object] = []
            while not any(isinstance(e, Frame) and e.opcode == Opcode.PING for e in seen):
                data = connection.recv(65536)
                assert data, f"the server closed the socket first: {seen}"
                client.receive_data(data)
                seen += client.events_received()
    assert seen[0].status_code == 101  # type: ignore[attr-defined]
