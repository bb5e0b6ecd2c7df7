"""WebSocket handshakes as the HTTP stack sees them: the GET they are, until a socket accepts.

uvicorn hands a handshake to the app as a `websocket` scope. The bridge
(middleware/websocket.py) wraps it in an `Upgrade` and passes the stack an `http` scope, so
auth, the journal, faults and routing treat it as Coder's router does: as a GET. Whatever HTTP
answer they give (401, 400, the 200 of a path that is no socket, Coder's 404) goes back as
ASGI's WebSocket denial response (`websocket.http.response.*`) where the server offers it, and
as a bare refusal (uvicorn's 403) where it does not. Only the watch endpoint accepts. Also here:
the checks coder/websocket's Accept makes before it upgrades, with their answers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from starlette.types import Message, Receive, Scope, Send

from mock_server import errors, wire
from mock_server.context import WEBSOCKET_KEY

DENIAL = "websocket.http.response"  # the ASGI extension for HTTP answers to a handshake
NORMAL_CLOSURE = 1000
SENT_IDS_KEPT = 50  # the ids of a socket's last messages named in its journal entry (bounded)
Listener = Callable[[str, dict[str, Any]], None]


class Upgrade:
    """One handshake: HTTP answers become denials until `accept`; then a send-only socket."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self._receive, self._send = receive, send
        self._can_deny = DENIAL in scope.get("extensions", {})
        self._connected = False
        self._listeners: list[Listener] = []
        self.accepted = False
        self.closed_by: str | None = None  # "client", "server" or "drop", once it is over
        self.close_code: int | None = None
        self.messages = 0
        self.sent_ids: deque[str] = deque(maxlen=SENT_IDS_KEPT)  # for the journal's close entry

    def http_scope(self) -> Scope:
        """The handshake as the HTTP GET it is, carrying this Upgrade for the watch endpoint."""
        extensions = {k: v for k, v in self.scope.get("extensions", {}).items() if k != DENIAL}
        return {**self.scope, "type": "http", "method": "GET",
                "scheme": "https" if self.scope.get("scheme") == "wss" else "http",
                "extensions": {**extensions, WEBSOCKET_KEY: self}}

    async def http_receive(self) -> Message:
        """An empty request body first; afterwards, the wait for the client to go."""
        if not self._connected:
            await self._connect()
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.wait_closed()
        return {"type": "http.disconnect"}

    async def http_send(self, message: Message) -> None:
        """An HTTP answer, as the denial of this handshake; nothing once it is accepted."""
        if self.accepted or self.closed_by is not None:
            return
        if message["type"] == "http.response.start" and not self._can_deny:
            self.closed_by = "server"
            await self._send({"type": "websocket.close"})
        elif message["type"] == "http.response.start":
            await self._send({"type": f"{DENIAL}.start", "status": message["status"],
                              "headers": message.get("headers", [])})
        elif message["type"] == "http.response.body" and self._can_deny:
            await self._send({"type": f"{DENIAL}.body", "body": message.get("body", b""),
                              "more_body": message.get("more_body", False)})

    def listen(self, listener: Listener) -> None:
        """Be told of `open` (the journal records it; the close entry comes from `summary`)."""
        self._listeners.append(listener)

    async def accept(self) -> None:
        """Complete the handshake (101); from here on only this socket speaks."""
        await self._connect()
        await self._send({"type": "websocket.accept"})
        self.accepted = True
        self._emit("open", {})

    async def send_text(self, text: str, *, notification_id: str | None = None) -> bool:
        """One text frame; False when the connection is already gone."""
        if self.closed_by is not None:
            return False
        try:
            await self._send({"type": "websocket.send", "text": text})
        except OSError:  # uvicorn's ClientDisconnected: the client left meanwhile
            self.closed_by = "client"
            return False
        self.messages += 1
        if notification_id is not None:
            self.sent_ids.append(notification_id)
        return True

    def writable_now(self) -> bool:
        """Whether a frame sent now goes out without waiting for the client to read.

        ASGI cannot tell, so this asks the server's transport behind `send` (uvicorn's
        protocol object holds it): its write buffer at or below the low-water mark means the
        protocol is not paused, and uvicorn's send does not wait. False when it cannot tell.
        """
        transport = getattr(getattr(self._send, "__self__", None), "transport", None)
        try:
            low, _high = transport.get_write_buffer_limits()  # type: ignore[union-attr]
            return bool(transport.get_write_buffer_size() <= low)  # type: ignore[union-attr]
        except (AttributeError, TypeError, ValueError, RuntimeError):
            return False

    async def close(self, code: int = NORMAL_CLOSURE, reason: str = "") -> None:
        """A clean close, unless the connection is already over."""
        if self.accepted and self.closed_by is None:
            self.closed_by, self.close_code = "server", code
            await self._send({"type": "websocket.close", "code": code, "reason": reason})

    def drop(self) -> None:
        """Leave without a close frame: the server then cuts the connection."""
        self.closed_by = self.closed_by or "drop"

    async def wait_closed(self) -> None:
        """Read (and ignore) what the client sends until the connection closes."""
        while self.closed_by is None:
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                self.closed_by = self.closed_by or "client"
                self.close_code = message.get("code")

    def summary(self) -> dict[str, Any]:
        """What the journal's entry for the whole call says about the socket."""
        if not self.accepted:
            return {"websocket": "refused"}
        return {"websocket": "close", "messages": self.messages,
                "notification_ids": list(self.sent_ids), "closed_by": self.closed_by,
                "close_code": None if self.closed_by == "drop" else self.close_code}

    async def _connect(self) -> None:
        """Take the `websocket.connect` every handshake starts with, once."""
        if not self._connected:
            self._connected = True
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                self.closed_by, self.close_code = "client", message.get("code")

    def _emit(self, kind: str, fields: dict[str, Any]) -> None:
        for listener in self._listeners:
            listener(kind, fields)


def accept_refusal(scope: Scope, *, upgradable: bool,
                   origin_allowed: Callable[[str], bool]) -> errors.UpgradeRefused | None:
    """What coder/websocket's Accept answers instead of upgrading, in its order; None to go on.

    A cross-origin page is refused (403) as Coder refuses it, unless the mock's CORS policy
    (`--cors-origin`, by default any local origin) allows its origin: a UI's dev server runs on
    another port than the mock.
    """
    headers: dict[bytes, str] = {}
    tokens: dict[bytes, set[str]] = {}  # every value of a header, as headerTokens reads them
    for name, value in scope["headers"]:
        text = value.decode("latin-1")
        headers.setdefault(name.lower(), text)
        tokens.setdefault(name.lower(), set()).update(t.strip().lower() for t in text.split(","))
    version = scope.get("http_version", "1.1")
    if version in ("0.9", "1.0"):
        return errors.UpgradeRefused(426, "WebSocket protocol violation: handshake request must "
                                     f"be at least HTTP/1.1: {wire.quote('HTTP/' + version)}")
    for header, token in (("Connection", "Upgrade"), ("Upgrade", "websocket")):
        name = header.lower().encode()
        if token.lower() not in tokens.get(name, set()):
            return errors.UpgradeRefused(426, f"WebSocket protocol violation: {header} header "
                                         f"{wire.quote(headers.get(name, ''))} does not contain "
                                         f"{token}",
                                         headers={"Connection": "Upgrade", "Upgrade": "websocket"})
    return _key_refusal(headers) or _origin_refusal(headers, origin_allowed) or (
        None if upgradable else errors.UpgradeRefused(
            501, "Not Implemented", cause="http.ResponseWriter does not implement http.Hijacker"))


def _key_refusal(headers: dict[bytes, str]) -> errors.UpgradeRefused | None:
    version = headers.get(b"sec-websocket-version", "")
    if version != "13":
        return errors.UpgradeRefused(400, "unsupported WebSocket protocol version (only 13 is "
                                     f"supported): {wire.quote(version)}",
                                     headers={"Sec-WebSocket-Version": "13"})
    if not headers.get(b"sec-websocket-key"):
        return errors.UpgradeRefused(400, "WebSocket protocol violation: missing "
                                     "Sec-WebSocket-Key")
    return None


def _origin_refusal(headers: dict[bytes, str],
                    origin_allowed: Callable[[str], bool]) -> errors.UpgradeRefused | None:
    origin, host = headers.get(b"origin", ""), headers.get(b"host", "")
    if not origin or origin_allowed(origin):
        return None
    try:
        if urlsplit(origin).netloc.lower() == host.lower():
            return None
    except ValueError:
        pass
    return errors.UpgradeRefused(403, f"request Origin {wire.quote(origin)} is not authorized "
                                 f"for Host {wire.quote(host)}")
