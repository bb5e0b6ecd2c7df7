"""Deliberately broken copies of the mock, each breaking the contract in exactly one way.

A mutant is built from a fresh mock: either its ASGI app wrapped by a middleware that rewrites
requests or responses, or its store patched on that one instance. Nothing global is touched,
so mutants run side by side with the intact mock in one process.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import wire
from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.deployment import build_deployment
from mock_server.fixtures import load_seed
from mock_server.models import Preference
from mock_server.server import MockServer
from mock_server.state import Store
from tests.rewrites import (
    Change,
    Headers,
    RewriteRequests,
    RewriteResponses,
    json_change,
    token_of,
    with_token,
)


@dataclass(frozen=True)
class Mutant:
    """One fault, and how to build a mock that has it."""

    name: str
    build: Callable[[MockServer], ASGIApp]


def as_owner_when(mock: MockServer, method: str, path: str) -> ASGIApp:
    """Requests of a member to `method path` run with the owner's rights (a missing role check)."""
    owner, member = mock.token(owner=True), mock.token(owner=False)

    def change(scope: Scope) -> Scope:
        if (scope["method"] == method and re.search(path, scope["path"])
                and token_of(scope) == member):
            return with_token(scope, owner)
        return scope

    return RewriteRequests(mock.app, change)


def accept_unknown_tokens(mock: MockServer, *, missing_too: bool) -> ASGIApp:
    """Any unknown (or, with `missing_too`, absent) token signs in the owner."""
    known = {api_key.token for api_key in mock.api_keys()}
    owner = mock.token(owner=True)

    def change(scope: Scope) -> Scope:
        token = token_of(scope)
        if (token and token not in known) or (missing_too and not token):
            return with_token(scope, owner)
        return scope

    return RewriteRequests(mock.app, change)


def forget_preference_writes(mock: MockServer) -> ASGIApp:
    """Answer a preference write as if stored, but store nothing."""
    store = mock.store

    def upsert(user_id: Any, changes: dict[Any, bool]) -> list[Preference]:
        current = {p.template_id: p for p in store.preferences(user_id)}
        now = datetime.now(UTC)
        current.update({tid: Preference(tid, disabled, now) for tid, disabled in changes.items()})
        return list(current.values())

    store.upsert_preferences = upsert  # type: ignore[method-assign]
    return mock.app


def forget_settings_writes(mock: MockServer) -> ASGIApp:
    """Echo a settings write, but store nothing."""
    mock.store.put_settings_json = lambda _value: None  # type: ignore[method-assign]
    return mock.app


def share_preferences_between_users(mock: MockServer) -> ASGIApp:
    """One preference table for everyone: a write for one user shows up for all."""
    store, shared = mock.store, mock.store.seed.users[0].id
    read, write = store.preferences, store.upsert_preferences
    store.preferences = lambda _user_id: read(shared)  # type: ignore[method-assign]
    store.upsert_preferences = lambda _user_id, changes: write(  # type: ignore[method-assign]
        shared, changes)
    return mock.app


def answer_only_what_was_sent(mock: MockServer) -> ASGIApp:
    """A preference write answers the preferences sent, not all stored ones."""
    store, write = mock.store, mock.store.upsert_preferences

    def upsert(user_id: Any, changes: dict[Any, bool]) -> list[Preference]:
        return [p for p in write(user_id, changes) if p.template_id in changes]

    store.upsert_preferences = upsert  # type: ignore[method-assign]
    return mock.app


def frozen_clock(_mock: MockServer) -> ASGIApp:
    """updated_at never moves: every write keeps the first timestamp."""
    config = MockConfig()
    store = Store(load_seed(config.fixtures), clock=lambda: datetime(2025, 1, 1, tzinfo=UTC))
    return create_app(config, build_deployment(config, store=store))


def write_good_keys_before_checking(mock: MockServer) -> ASGIApp:
    """A write with a bad key still stores the good keys sent with it (no all-or-nothing)."""
    store = mock.store

    async def change(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT" or not scope["path"].endswith(
                "/me/notifications/preferences"):
            await mock.app(scope, receive, send)
            return
        message = await receive()
        body = json.loads(message.get("body") or b"null") or {}
        choices = body.get("template_disabled_map") if isinstance(body, dict) else None
        key = store.key(token_of(scope).split("-")[0])
        if isinstance(choices, dict) and key is not None:
            good = {}
            for name, value in choices.items():
                try:
                    good[wire.parse_uuid(name)] = bool(value)
                except ValueError:
                    continue
            store.upsert_preferences(key.user_id, good)

        async def replay() -> Message:
            return message

        await mock.app(scope, replay, send)

    return change


def drop_allow_header(status: int, headers: Headers, body: bytes,
                      _scope: Scope) -> tuple[int, Headers, bytes]:
    """405 without the Allow header RFC 9110 requires."""
    return status, [(k, v) for k, v in headers if k.lower() != b"allow"], body


def server_error_for_bad_bodies(status: int, headers: Headers, body: bytes,
                                _scope: Scope) -> tuple[int, Headers, bytes]:
    """A malformed body crashes the server instead of answering 400."""
    if status == 400 and b"Request body must be valid JSON." in body:
        return 500, headers, b'{"message":"An internal server error occurred."}\n'
    return status, headers, body


def flaky(every: int) -> Change:
    """Every `every`-th response becomes a 503, as an overloaded server would send."""
    count = 0

    def change(status: int, headers: Headers, body: bytes, _scope: Scope) -> tuple[
            int, Headers, bytes]:
        nonlocal count
        count += 1
        if count % every:
            return status, headers, body
        return 503, [(b"content-type", b"application/json; charset=utf-8")], \
            b'{"message":"Service Unavailable"}\n'

    return change


def problem_json(status: int, headers: Headers, body: bytes,
                 _scope: Scope) -> tuple[int, Headers, bytes]:
    """Errors as application/problem+json instead of Coder's application/json."""
    if status >= 400:
        headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        headers.append((b"content-type", b"application/problem+json"))
    return status, headers, body


def never_304(status: int, headers: Headers, body: bytes,
              _scope: Scope) -> tuple[int, Headers, bytes]:
    """An unchanged settings write answers 200 instead of 304."""
    if status == 304:
        return 200, [(b"content-type", b"application/json; charset=utf-8")], \
            b'{"notifier_paused":false}\n'
    return status, headers, body


def resolve_unknown_users_to_the_caller(mock: MockServer) -> ASGIApp:
    """An unknown `{user}` is silently taken to mean the caller."""
    known = {u.username.lower() for u in mock.store.seed.users} | {
        str(u.id) for u in mock.store.seed.users}

    def change(scope: Scope) -> Scope:
        match = re.match(r"^/api/v2/users/([^/]+)", scope["path"])
        if match and match.group(1) != "me" and match.group(1).lower() not in known:
            path = scope["path"].replace(match.group(1), "me", 1)
            return {**scope, "path": path, "raw_path": path.encode()}
        return scope

    return RewriteRequests(mock.app, change)


def responses(method: str, path: str, change: Change) -> Callable[[MockServer], ASGIApp]:
    """A mutant whose fault is a response rewrite."""
    return lambda mock: RewriteResponses(mock.app, method, path, change)


DISPATCH = r"/notifications/dispatch-methods$"
SETTINGS = r"/notifications/settings$"
TEMPLATES = r"/notifications/templates/system$"
PREFERENCES = r"/notifications/preferences$"

MUTANTS = [
    Mutant("schema: dispatch methods lose `default`",
           responses("GET", DISPATCH, json_change(lambda b: {"available": b["available"]}))),
    Mutant("schema: dispatch methods as an array (the docs' mistake)",
           responses("GET", DISPATCH, json_change(lambda b: [b]))),
    Mutant("schema: the settings flag as a string",
           responses("GET", SETTINGS, json_change(lambda b: {"notifier_paused": "false"}))),
    Mutant("status: the test notification answers 200 (the docs' mistake)",
           responses("POST", r"/notifications/test$",
                     lambda s, h, b, _: (200, h, b"{}") if s == 204 else (s, h, b))),
    Mutant("content type: errors as problem+json", responses("*", r"^/api/v2/", problem_json)),
    Mutant("5xx on bad input: a malformed body crashes the server",
           responses("PUT", r".", server_error_for_bad_bodies)),
    Mutant("flaky 5xx: one answer in seven is a 503", responses("*", r".", flaky(7))),
    Mutant("auth: a request without a token is served",
           lambda mock: accept_unknown_tokens(mock, missing_too=True)),
    Mutant("auth: an unknown token is served",
           lambda mock: accept_unknown_tokens(mock, missing_too=False)),
    Mutant("role: members may change the settings",
           lambda mock: as_owner_when(mock, "PUT", SETTINGS)),
    Mutant("role: members may send test notifications",
           lambda mock: as_owner_when(mock, "POST", r"/notifications/test$")),
    Mutant("role: members may read other users' preferences",
           lambda mock: as_owner_when(mock, "GET", r"/users/(?!me/)[^/]+/notifications/")),
    Mutant("lost write: preferences answered but not stored", forget_preference_writes),
    Mutant("lost write: settings echoed but not stored", forget_settings_writes),
    Mutant("cross-user leak: one preference table for every user",
           share_preferences_between_users),
    Mutant("304: an unchanged settings write answers 200", responses("PUT", SETTINGS, never_304)),
    Mutant("completeness: a write answers only the preferences sent", answer_only_what_was_sent),
    Mutant("all-or-nothing: good keys stored beside a bad one", write_good_keys_before_checking),
    Mutant("updated_at never moves", frozen_clock),
    Mutant("dispatch: the default is not an available method",
           responses("GET", DISPATCH, json_change(lambda b: {**b, "default": "email"}))),
    Mutant("order: templates not sorted by name",
           responses("GET", TEMPLATES, json_change(lambda b: list(reversed(b))))),
    Mutant("405 without an Allow header", responses("*", r".", drop_allow_header)),
    Mutant("existence leak: an unknown user is taken to be the caller",
           resolve_unknown_users_to_the_caller),
]
