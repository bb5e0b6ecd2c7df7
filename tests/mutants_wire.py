"""Broken mocks for the suite's spelling, wire and watch-socket properties: each an ASGI layer
around a fresh mock that breaks one rule (tests/mutants.py holds the others and lists these)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import wire
from mock_server.server import MockServer
from tests.rewrites import (
    Headers,
    RewriteBodies,
    RewriteResponses,
    token_of,
    with_token,
    without_query,
)

Mutant = tuple[str, Callable[[MockServer], ASGIApp]]
USER_SEGMENT = re.compile(r"^(/api/v2/users/)([^/]+)(.*)$")
WATCH = "/api/v2/notifications/inbox/watch"


class RewriteScopes:
    """Change every request's scope, HTTP and WebSocket alike, before the mock sees it."""

    def __init__(self, app: ASGIApp, change: Callable[[Scope], Scope]) -> None:
        self.app, self.change = app, change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = self.change(scope)
        await self.app(scope, receive, send)


def scopes(change: Callable[[Scope], Scope]) -> Callable[[MockServer], ASGIApp]:
    """A mutant whose fault is a scope rewrite."""
    return lambda mock: RewriteScopes(mock.app, change)


def drop_header(name: bytes, when: Callable[[bytes], bool] = lambda _v: True,
                ) -> Callable[[Scope], Scope]:
    """Requests lose header `name` (when its value passes `when`)."""
    def change(scope: Scope) -> Scope:
        return {**scope, "headers": [(k, v) for k, v in scope["headers"]
                                     if k.lower() != name or not when(v)]}
    return change


def header_over_cookie(scope: Scope) -> Scope:
    """The Coder-Session-Token header wins over the cookie (Coder: the cookie comes first)."""
    if token_of(scope):
        return drop_header(b"cookie")(scope)
    return scope


def query_dropped(*names: str, path: str = "") -> Callable[[Scope], Scope]:
    """These query parameters never reach the mock (on paths containing `path`)."""
    def change(scope: Scope) -> Scope:
        return without_query(scope, *names) if path in scope["path"] else scope
    return change


def user_segment(refuse: Callable[[str], bool]) -> Callable[[Scope], Scope]:
    """A `{user}` that `refuse` rejects is taken for an unknown user."""
    def change(scope: Scope) -> Scope:
        match = USER_SEGMENT.match(scope["path"])
        if match and match.group(2) != "me" and refuse(match.group(2)):
            path = f"{match.group(1)}no-such-user-5c1f{match.group(3)}"
            return {**scope, "path": path, "raw_path": path.encode()}
        return scope
    return change


def not_canonical(value: str) -> bool:
    """A UUID spelled other than lowercase with hyphens."""
    try:
        return str(uuid.UUID(value)) != value
    except ValueError:
        return False


def edit_map(edit: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Any, Scope], Any]:
    """A body edit applied to `template_disabled_map`, when there is one."""
    def change(body: Any, _scope: Scope) -> Any:
        if isinstance(body, dict) and isinstance(body.get("template_disabled_map"), dict):
            return {**body, "template_disabled_map": edit(body["template_disabled_map"])}
        return body
    return change


def exact_keys_only(*fields: str) -> Callable[[Any, Scope], Any]:
    """Body keys matched exactly (Go also takes a key equal under case folding)."""
    def change(body: Any, _scope: Scope) -> Any:
        return {k: v for k, v in body.items() if k in fields} if isinstance(body, dict) else body
    return change


def first_key_wins(body: Any, _scope: Scope) -> Any:
    """Of two keys naming one field, the first is kept (Go: the last one decoded wins)."""
    if not isinstance(body, dict):
        return body
    seen: dict[str, str] = {}
    for key in body:
        seen.setdefault(key.casefold(), key)
    return {key: body[key] for key in seen.values()}


def status_change(edit: Callable[[int, Headers, bytes], tuple[int, Headers, bytes]]) -> Any:
    """A response change from (status, headers, body)."""
    return lambda status, headers, body, _scope: edit(status, headers, body)


def retyped(status: int, headers: Headers, body: bytes, when: Callable[[int, bytes], bool],
            content_type: bytes) -> tuple[int, Headers, bytes]:
    """The answer with another Content-Type, when `when` holds."""
    if when(status, body):
        headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        headers.append((b"content-type", content_type))
    return status, headers, body


def with_body(status: int, headers: Headers, body: bytes) -> tuple[int, Headers, bytes]:
    """A 405 (chi's is empty) answered with a JSON error body."""
    if status == 405:
        return status, [*headers, (b"content-type", b"application/json; charset=utf-8")], \
            wire.encode_json({"message": "Method not allowed."})
    return status, headers, body


def accept_anonymous_watchers(mock: MockServer) -> ASGIApp:
    """A watch socket opened without a token signs in the owner."""
    owner = mock.token(owner=True)

    def change(scope: Scope) -> Scope:
        cookies = SimpleCookie(dict(scope["headers"]).get(b"cookie", b"").decode())
        query = dict(parse_qsl(scope.get("query_string", b"").decode()))
        anonymous = not (token_of(scope) or "coder_session_token" in cookies
                         or "coder_session_token" in query)
        return with_token(scope, owner) if scope["path"] == WATCH and anonymous else scope

    return RewriteScopes(mock.app, change)


class WrapMessages:
    """Each watch message gains a key: `{"type": "notification", "notification", ...}`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def wrapped(message: Message) -> None:
            if message["type"] == "websocket.send" and message.get("text"):
                body = json.loads(message["text"])
                message = {**message, "text": json.dumps({"type": "notification", **body})}
            await send(message)

        await self.app(scope, receive, wrapped if scope["type"] == "websocket" else send)


SETTINGS = r"/notifications/settings$"
PREFERENCES = r"/notifications/preferences$"
WIRE_MUTANTS: list[Mutant] = [
    ("tokens: Authorization: Bearer is ignored", scopes(drop_header(b"authorization"))),
    ("tokens: the Bearer prefix only in that exact case",
     scopes(drop_header(b"authorization", lambda v: not v.startswith(b"Bearer ")))),
    ("tokens: the header wins over the cookie", scopes(header_over_cookie)),
    ("tokens: access_token is ignored", scopes(query_dropped("access_token"))),
    ("{user}: usernames are case-sensitive",
     scopes(user_segment(lambda ref: ref != ref.lower() and not not_canonical(ref)
                         and len(ref) < 32))),
    ("{user}: a UUID only in its canonical form", scopes(user_segment(not_canonical))),
    ("preferences: keys only in the canonical UUID form",
     lambda mock: RewriteBodies(mock.app, "PUT", PREFERENCES, edit_map(
         lambda m: {("not-a-uuid" if not_canonical(k) else k): v for k, v in m.items()}))),
    ("Go: null in the preference map means true",
     lambda mock: RewriteBodies(mock.app, "PUT", PREFERENCES, edit_map(
         lambda m: {k: True if v is None else v for k, v in m.items()}))),
    ("Go: settings keys matched exactly",
     lambda mock: RewriteBodies(mock.app, "PUT", SETTINGS, exact_keys_only("notifier_paused"))),
    ("Go: the first of two matching keys wins",
     lambda mock: RewriteBodies(mock.app, "PUT", SETTINGS, first_key_wins)),
    ("wire: unknown routes answered as text/plain",
     lambda mock: RewriteResponses(mock.app, "*", r".", status_change(
         lambda s, h, b: retyped(s, h, b, lambda st, bd: st == 404 and b"Route not found" in bd,
                                 b"text/plain; charset=utf-8")))),
    ("wire: errors as application/json without the charset",
     lambda mock: RewriteResponses(mock.app, "*", r".", status_change(
         lambda s, h, b: retyped(s, h, b, lambda st, _bd: 400 <= st < 500 and st != 405,
                                 b"application/json")))),
    ("wire: 405 with a JSON body",
     lambda mock: RewriteResponses(mock.app, "*", r".", status_change(with_body))),
    ("watch: an upgrade without a token is accepted", accept_anonymous_watchers),
    ("watch: read_status is neither checked nor applied",
     scopes(query_dropped("read_status", path=WATCH))),
    ("watch: the templates filter is ignored", scopes(query_dropped("templates", path=WATCH))),
    ("watch: messages carry an extra key", lambda mock: WrapMessages(mock.app)),
]
