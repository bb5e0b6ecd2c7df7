"""uvicorn's HTTP protocol, upgrading only the handshakes a WebSocket library would accept.

uvicorn hands every request with `Upgrade: websocket` to its WebSocket protocol, which answers
a malformed handshake itself (a text/plain 400 or 405 "Failed to open a WebSocket connection")
before the app sees it. Coder's router serves such a request as the plain HTTP request it is:
`GET /api/v2/users/me` with `Sec-WebSocket-Version: 8` is a 200, a POST is chi's 405, and on the
watch endpoint coder/websocket's Accept gives its own 400 (mock_server/websocket.py). So this
subclass lets the upgrade through only when the method is GET and websockets' own server
handshake check passes; anything else stays HTTP and crosses the mock's stack. uvicorn offers
no hook for this, so the subclass overrides its `_should_upgrade` (guarded by a test).
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from websockets.datastructures import Headers
from websockets.http11 import Request
from websockets.server import ServerProtocol


def acceptable(method: str, headers: list[tuple[bytes, bytes]]) -> bool:
    """Whether websockets would complete this handshake (GET, version 13, a valid key...)."""
    if method != "GET":
        return False
    pairs = Headers([(name.decode("latin-1"), value.decode("latin-1"))
                     for name, value in headers])
    response = ServerProtocol().accept(Request("/", pairs))
    return response.status_code == 101


class HandshakeHttpProtocol(HttpToolsProtocol):
    """httptools' protocol, keeping a malformed WebSocket handshake as plain HTTP."""

    def _should_upgrade(self) -> bool:
        return super()._should_upgrade() and acceptable(self.scope.get("method", ""),
                                                        self.headers)

    def _unsupported_upgrade_warning(self) -> None:
        """Quiet: a malformed handshake is answered as HTTP, which is what Coder does."""
