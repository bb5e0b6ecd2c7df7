"""Request body limit: a body over the limit gets 413 as soon as that is known, unread."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import errors


class BodyLimitMiddleware:
    """Refuse bodies over `limit` bytes: by Content-Length up front, or while they stream in."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name.lower() == b"content-length" and value.isdigit() and int(value) > self.limit:
                raise errors.payload_too_large(self.limit)
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise errors.payload_too_large(self.limit)
            return message

        await self.app(scope, counted, send)
