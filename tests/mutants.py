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
from urllib.parse import parse_qsl
from uuid import UUID

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import inbox, wire
from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.delivery import CUSTOM_NOTIFICATION, TEST_NOTIFICATION, Receipt
from mock_server.deployment import build_deployment
from mock_server.fixtures import load_seed
from mock_server.models import Preference
from mock_server.server import MockServer
from mock_server.state import Store
from mock_server.state.model import created_at
from tests.helpers import settled
from tests.mutants_wire import WIRE_MUTANTS
from tests.rewrites import (
    Change,
    Headers,
    RewriteBodies,
    RewriteRequests,
    RewriteResponses,
    json_change,
    token_of,
    with_token,
    without_query,
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

    async def upsert(user_id: Any, changes: dict[Any, bool]) -> list[Preference]:
        current = {p.template_id: p for p in await store.preferences(user_id)}
        now = datetime.now(UTC)
        current.update({tid: Preference(tid, disabled, now) for tid, disabled in changes.items()})
        return list(current.values())

    store.upsert_preferences = upsert  # type: ignore[method-assign]
    return mock.app


def forget_settings_writes(mock: MockServer) -> ASGIApp:
    """Echo a settings write, but store nothing."""
    async def forget(_value: str) -> bool:
        return True  # "changed", and nothing stored

    mock.store.put_settings_json = forget  # type: ignore[method-assign]
    return mock.app


def share_preferences_between_users(mock: MockServer) -> ASGIApp:
    """One preference table for everyone: a write for one user shows up for all."""
    store, shared = mock.store, mock.store.seed.users[0].id
    read, write = store.preferences, store.upsert_preferences
    store.preferences = lambda _user_id: read(shared)  # type: ignore[method-assign]
    store.upsert_preferences = lambda _user_id, changes: write(  # type: ignore[method-assign]
        shared, changes)  # each returns the coroutine of the shared user's
    return mock.app


def answer_only_what_was_sent(mock: MockServer) -> ASGIApp:
    """A preference write answers the preferences sent, not all stored ones."""
    store, write = mock.store, mock.store.upsert_preferences

    async def upsert(user_id: Any, changes: dict[Any, bool]) -> list[Preference]:
        return [p for p in await write(user_id, changes) if p.template_id in changes]

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
            await store.upsert_preferences(key.user_id, good)

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


# The inbox ----------------------------------------------------------------------------------

def caller(mock: MockServer, scope: Scope) -> Any:
    """The user a request signs in (the mock's own lookup of the token's key)."""
    key = mock.store.key(token_of(scope).split("-")[0])
    return None if key is None else mock.store.user(key.user_id)


def busy_inbox(mock: MockServer, count: int = 40) -> MockServer:
    """Give the owner more notifications than a page holds, some read, some with targets."""
    owner = next(u for u in mock.store.users() if u.is_owner and u.is_active)
    targets = [UUID(int=n + 1) for n in range(3)]
    for n in range(count):
        settled(mock.enqueuer.enqueue(TEST_NOTIFICATION, owner, data={"timestamp": f"busy {n}"},
                                      targets=targets[: n % 3 + 1]))
    for row in settled(mock.store.inbox(owner.id))[::3]:
        settled(mock.store.set_read(owner.id, row["id"], read=True))
    return mock


def pages_of(size: int) -> Callable[[MockServer], ASGIApp]:
    """The list answers pages of `size` instead of 25 (in a busy inbox, where it shows)."""
    def build(mock: MockServer) -> ASGIApp:
        busy_inbox(mock)

        def change(status: int, headers: Headers, body: bytes,
                   scope: Scope) -> tuple[int, Headers, bytes]:
            if status != 200:
                return status, headers, body
            query = inbox.parse_query(scope.get("query_string", b""), inbox.LIST_PARAMETERS)
            rows = settled(mock.store.inbox(caller(mock, scope).id))
            cursor = next((r for r in rows if r["id"] == query.starting_before), None)
            chosen = [inbox.with_icon(r) for r in reversed(rows) if query.matches(r) and (
                cursor is None or created_at(r) < created_at(cursor))]
            return status, headers, wire.encode_json({**json.loads(body),
                                                      "notifications": chosen[:size]})

        return RewriteResponses(mock.app, "GET", INBOX, change)

    return build


def drop_query(method: str, path: str, *names: str) -> Callable[[MockServer], ASGIApp]:
    """The mock never sees these query parameters of `method path` (a filter ignored)."""
    def change(scope: Scope) -> Scope:
        if scope["method"] == method and re.search(path, scope["path"]):
            return without_query(scope, *names)
        return scope

    return lambda mock: RewriteRequests(mock.app, change)


def ignore_unknown_parameters(scope: Scope) -> Scope:
    """The March 2025 list: parameters it does not know are silently ignored."""
    if scope["method"] == "GET" and re.search(INBOX, scope["path"]):
        names = {k for k, _ in parse_qsl(scope.get("query_string", b"").decode("latin-1"))}
        return without_query(scope, *(names - set(inbox.LIST_PARAMETERS)))
    return scope


def never_unread(mock: MockServer) -> ASGIApp:
    """`is_read: false` is ignored: a notification, once read, stays read."""
    def edit(body: Any, scope: Scope) -> Any:
        user = caller(mock, scope)
        if isinstance(body, dict) and body.get("is_read") is not True and user is not None:
            row_id = scope["path"].split("/")[-2]
            row = next((r for r in settled(mock.store.inbox(user.id)) if r["id"] == row_id),
                       None)
            return {"is_read": row is not None and row["read_at"] is not None}
        return body

    return RewriteBodies(mock.app, "PUT", READ_STATUS, edit)


def mark_all_but_one(mock: MockServer) -> ASGIApp:
    """Mark all read leaves the newest unread notification unread."""
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        user = caller(mock, scope) if scope["type"] == "http" and scope["method"] == "PUT" and \
            scope["path"].endswith("/inbox/mark-all-as-read") else None
        unread = [r["id"] for r in await mock.store.inbox(user.id) if r["read_at"] is None] \
            if user else []
        await mock.app(scope, receive, send)
        if unread:
            await mock.store.set_read(user.id, unread[-1], read=False)

    return app


def blank_titles_accepted(mock: MockServer) -> ASGIApp:
    """A custom notification with a blank title goes out, titled "(untitled)"."""
    def edit(body: Any, _scope: Scope) -> Any:
        content = body.get("content") if isinstance(body, dict) else None
        if isinstance(content, dict) and isinstance(content.get("title"), str) and \
                not content["title"].strip() and str(content.get("message") or "").strip():
            return {**body, "content": {**content, "title": "(untitled)"}}
        return body

    return RewriteBodies(mock.app, "POST", CUSTOM, edit)


def custom_to_everyone(mock: MockServer) -> ASGIApp:
    """A custom notification also reaches every other active user."""
    def edit(body: Any, scope: Scope) -> Any:
        try:
            title, message = body["content"]["title"], body["content"]["message"]
        except (KeyError, TypeError):
            return body
        sender = caller(mock, scope)
        for user in mock.store.users():
            if user.is_active and sender is not None and user.id != sender.id and title.strip():
                settled(mock.enqueuer.enqueue(CUSTOM_NOTIFICATION, user, labels={
                    "custom_title": title, "custom_message": message}))
        return body

    return RewriteBodies(mock.app, "POST", CUSTOM, edit)


def custom_never_delivered(mock: MockServer) -> ASGIApp:
    """A valid custom notification is answered 204 and goes nowhere."""
    enqueue = mock.enqueuer.enqueue

    async def drop(template_id: UUID, user: Any, **kwargs: Any) -> Receipt:
        if template_id == CUSTOM_NOTIFICATION:
            return Receipt(())
        return await enqueue(template_id, user, **kwargs)

    mock.enqueuer.enqueue = drop  # type: ignore[method-assign]
    return mock.app


def preferences_ignored(mock: MockServer) -> ASGIApp:
    """Delivery ignores disabled preferences (only its enabled() check is replaced)."""
    async def enabled(_template: Any, _user: Any) -> bool:
        return True

    mock.enqueuer.enabled = enabled  # type: ignore[method-assign]
    return mock.app


def unread_in_page(body: Any) -> Any:
    """unread_count counts the unread notifications of the page answered, not all."""
    return {**body, "unread_count": sum(i["read_at"] is None for i in body["notifications"])}


def no_read_at_when_unread(body: Any) -> Any:
    """`read_at` left out while unread (Go's omitempty), which hides the UI's unread dot."""
    return {**body, "notifications": [{k: v for k, v in i.items() if k != "read_at" or v}
                                      for i in body["notifications"]]}


def reworded(old: str, new: str, status: int = 400, *,
             new_status: int | None = None) -> Change:
    """An error answered with another message (and status)."""
    def change(s: int, headers: Headers, body: bytes, _scope: Scope) -> tuple[
            int, Headers, bytes]:
        if s == status and old.encode() in body:
            return new_status or s, headers, wire.encode_json({"message": new})
        return s, headers, body

    return change


INBOX = r"/notifications/inbox$"
READ_STATUS = r"/notifications/inbox/[^/]+/read-status$"
CUSTOM = r"/notifications/custom$"
TEMPLATE_METHOD = r"/notifications/templates/[^/]+/method$"

INBOX_MUTANTS = [
    Mutant("inbox: read_at omitted when unread",
           responses("GET", INBOX, json_change(no_read_at_when_unread))),
    Mutant("inbox: notifications null when nothing matches",
           responses("GET", INBOX, json_change(
               lambda b: {**b, "notifications": b["notifications"] or None}))),
    Mutant("inbox: pages of 30", pages_of(30)),
    Mutant("inbox: oldest first", responses("GET", INBOX, json_change(
        lambda b: {**b, "notifications": list(reversed(b["notifications"]))}))),
    Mutant("inbox: the starting_before cursor is ignored",
           drop_query("GET", INBOX, "starting_before")),
    Mutant("inbox: read_status is ignored", drop_query("GET", INBOX, "read_status")),
    Mutant("inbox: unread_count counts only the page",
           responses("GET", INBOX, json_change(unread_in_page))),
    Mutant("inbox: unknown query parameters are ignored",
           lambda mock: RewriteRequests(mock.app, ignore_unknown_parameters)),
    Mutant("inbox: the read_status message worded differently",
           responses("GET", INBOX, reworded("should be any of", "Invalid read status."))),
    Mutant("read-status: answers codersdk.Response",
           responses("PUT", READ_STATUS, json_change(
               lambda _b: {"message": "Updated inbox notification read status."}))),
    Mutant("read-status: is_read false is ignored", never_unread),
    Mutant("read-status: a bad id answers 500 (the first version)",
           responses("PUT", READ_STATUS, reworded("Invalid UUID", "Failed to parse notification "
                                                  "uuid.", new_status=500))),
    Mutant("mark all read leaves one unread", mark_all_but_one),
    Mutant("scoping: a member may mark another user's notification",
           lambda mock: as_owner_when(mock, "PUT", READ_STATUS)),
    Mutant("scoping: a member's list is the owner's",
           lambda mock: as_owner_when(mock, "GET", INBOX)),
    Mutant("custom: a blank title is accepted", blank_titles_accepted),
    Mutant("custom: a notification never delivered", custom_never_delivered),
    Mutant("custom: delivered to every user", custom_to_everyone),
    Mutant("custom: a disabled preference does not stop it", preferences_ignored),
    Mutant("methods: a member may change a template's method",
           lambda mock: as_owner_when(mock, "PUT", TEMPLATE_METHOD)),
]

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
    *INBOX_MUTANTS,
    *(Mutant(name, build) for name, build in WIRE_MUTANTS),
]
