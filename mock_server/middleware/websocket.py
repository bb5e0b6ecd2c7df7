"""The WebSocket bridge: every handshake crosses the mock's stack as the GET it is in Coder."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.websocket import Upgrade


class WebSocketBridge:
    """Outermost: hand a `websocket` scope to the HTTP stack as a GET (mock_server/websocket.py),
    so a handshake on any path gets that path's answer (never uvicorn's bare 500), and only the
    watch endpoint upgrades."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        upgrade = Upgrade(scope, receive, send)
        await self.app(upgrade.http_scope(), upgrade.http_receive, upgrade.http_send)
