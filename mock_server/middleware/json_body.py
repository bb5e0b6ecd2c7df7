"""Coder's API reads every request body as JSON, whatever its Content-Type says."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.config import BASE_PATH

_API = BASE_PATH + "/"


class ReadBodyAsJSON:
    """Coder ignores a request's Content-Type; label every body JSON before connexion checks it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(_API) and scope[
                "method"] in ("PUT", "POST", "PATCH"):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
            headers.append((b"content-type", b"application/json"))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
