"""CORS for pages on the developer's machine: starlette's, trimmed for calls from no browser."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import Message, Receive, Scope, Send

CORS_HEADERS = ["Coder-Session-Token", "Content-Type", "Authorization", "Prefer",
                "X-Coder-Bypass-Ratelimit", "Mock-Control-Token"]


class LocalCORSMiddleware(CORSMiddleware):
    """Starlette's CORS; a request without an Origin (not from a browser page) only gets the
    `Vary: Origin` starlette would add, without parsing its headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, _vary_on_origin(send))
            return
        await super().__call__(scope, receive, send)


def _vary_on_origin(send: Send) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.setdefault("headers", [])
            vary = [i for i, (name, _) in enumerate(headers) if name.lower() == b"vary"]
            if vary:
                name, value = headers[vary[0]]
                headers[vary[0]] = (name, value + b", Origin")
            else:
                headers.append((b"vary", b"Origin"))
        await send(message)

    return sender
