"""ASGI wrappers that rewrite what reaches the mock or what leaves it (for tests/mutants.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import wire

Headers = list[tuple[bytes, bytes]]
Change = Callable[[int, Headers, bytes, Scope], tuple[int, Headers, bytes]]
TOKEN = b"coder-session-token"


class RewriteResponses:
    """Pass the responses to matching requests through `change` before they leave."""

    def __init__(self, app: ASGIApp, method: str, path: str, change: Change) -> None:
        self.app, self.method, self.path, self.change = app, method, re.compile(path), change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.method in (scope["method"], "*")
                                           and self.path.search(scope["path"])):
            await self.app(scope, receive, send)
            return
        start: Message = {}
        body = bytearray()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            status, headers, content = self.change(start["status"], list(start["headers"]),
                                                   bytes(body), scope)
            headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(content)).encode()))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": content})

        await self.app(scope, receive, capture)


class RewriteRequests:
    """Change matching requests (their scope) before the mock sees them."""

    def __init__(self, app: ASGIApp, change: Callable[[Scope], Awaitable[Scope] | Scope]) -> None:
        self.app, self.change = app, change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            changed = self.change(scope)
            scope = await changed if isinstance(changed, Awaitable) else changed
        await self.app(scope, receive, send)


def json_change(edit: Callable[[Any], Any]) -> Change:
    """A response change that edits the decoded JSON body of 200 answers."""

    def change(status: int, headers: Headers, body: bytes, _scope: Scope) -> tuple[
            int, Headers, bytes]:
        if status != 200:
            return status, headers, body
        return status, headers, wire.encode_json(edit(json.loads(body)))

    return change


def token_of(scope: Scope) -> str:
    """The Coder-Session-Token header of a request, or ""."""
    return next((v.decode() for k, v in scope["headers"] if k.lower() == TOKEN), "")


def with_token(scope: Scope, token: str) -> Scope:
    """The same request, signed in with `token`."""
    headers = [(k, v) for k, v in scope["headers"] if k.lower() != TOKEN]
    return {**scope, "headers": [*headers, (TOKEN, token.encode())]}


class RewriteBodies:
    """Pass the JSON body of matching requests through `edit` before the mock reads it."""

    def __init__(self, app: ASGIApp, method: str, path: str,
                 edit: Callable[[Any, Scope], Any]) -> None:
        self.app, self.method, self.path, self.edit = app, method, re.compile(path), edit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != self.method or not self.path.search(
                scope["path"]):
            await self.app(scope, receive, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            body.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        try:
            content = wire.encode_json(self.edit(json.loads(body), scope))
        except ValueError:
            content = bytes(body)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(content)).encode()))
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        await self.app({**scope, "headers": headers}, replay, send)


def without_query(scope: Scope, *names: str) -> Scope:
    """The same request without these query parameters."""
    kept = [(k, v) for k, v in parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                         keep_blank_values=True) if k not in names]
    return {**scope, "query_string": urlencode(kept).encode("latin-1")}
