"""The inbox watch socket's layer: `/notifications/inbox/watch`, which no OpenAPI path can
describe (openapi.yaml records it under `x-websockets`), served here, after auth and before
connexion's routing, in the order Coder's handler runs its checks.

A token in the query (`coder_session_token`, `access_token`) signs the caller in, then fails
the parameter check as an excess parameter: Coder's handler runs `p.ErrorExcessParams(vals)`
on `r.URL.Query()` (coderd/inboxnotifications.go), its parser knows only targets, templates,
read_status and format, and ExtractAPIKey leaves the token in the URL. Browsers send the
session cookie, which reaches every port of a host.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import unquote_plus

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import inbox
from mock_server.config import BASE_PATH
from mock_server.context import RequestContext, context_of
from mock_server.faults import FaultBook, Outcome, Sleep
from mock_server.middleware.faults import drop, injected, one_call_fault, outcome_for
from mock_server.state import EventStorage, Store
from mock_server.watch import SocketFaults, WatchSession
from mock_server.websocket import accept_refusal

WATCH_PATH = BASE_PATH + "/notifications/inbox/watch"
WATCH_OPERATION = "watch-for-new-inbox-notifications"  # Coder's @ID
PREFER_PARAMETER = "mock_prefer"  # the Prefer header as a query parameter, for browsers


class WatchMiddleware:
    """Serve the watch socket: method, faults, Coder's parameter checks (400 as plain HTTP),
    coder/websocket's handshake checks (426 for a plain GET), then the socket itself."""

    def __init__(self, app: ASGIApp, *, store: Store, events: EventStorage, book: FaultBook,
                 origin_allowed: Callable[[str], bool], sleep: Sleep = asyncio.sleep) -> None:
        self.app = app
        self.store = store
        self.events = events
        self.book = book
        self.origin_allowed = origin_allowed
        self.sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != WATCH_PATH:
            await self.app(scope, receive, send)
            return
        context = context_of(scope)
        context.operation_id = WATCH_OPERATION
        if scope["method"] != "GET":
            raise HTTPException(405)  # chi: the route serves GET only
        query_string, prefer = split_prefer(scope.get("query_string", b""))
        outcome = await outcome_for(self.book, context, one_call_fault(scope, prefer))
        decider = outcome.decider if outcome is not None else None
        if decider is not None and decider.status is not None:
            raise injected(decider)  # the upgrade refused with the fault's status
        if decider is not None and decider.drop and decider.after_messages is None:
            await drop(context, decider, send)  # cut before any answer, as every dropped call
            return
        query = inbox.parse_query(query_string, inbox.WATCH_PARAMETERS)
        refusal = accept_refusal(scope, upgradable=context.websocket is not None,
                                 origin_allowed=self.origin_allowed)
        if refusal is not None:
            raise refusal
        await self._serve(context, query, outcome)

    async def _serve(self, context: RequestContext, query: inbox.InboxQuery,
                     outcome: Outcome | None) -> None:
        upgrade, caller = context.websocket, context.caller
        assert upgrade is not None, "accept_refusal answered a request that is no handshake"
        assert caller is not None, "auth signs in every call under /notifications"
        decider = outcome.decider if outcome is not None else None
        faults = SocketFaults(delay_ms=outcome.delay_ms if outcome is not None else 0.0,
                              drop_after=decider.after_messages if decider is not None else None)
        await WatchSession(upgrade, store=self.store, events=self.events, user=caller.user,
                           query=query, faults=faults, sleep=self.sleep).run()
        context.dropped = upgrade.closed_by == "drop"


def split_prefer(query_string: bytes) -> tuple[bytes, str | None]:
    """The query without `mock_prefer` (Coder's parser would refuse it), and its value."""
    kept, prefer = [], None
    for part in query_string.split(b"&") if query_string else ():
        name = unquote_plus(part.partition(b"=")[0].decode("latin-1"))
        if name == PREFER_PARAMETER:
            prefer = unquote_plus(part.partition(b"=")[2].decode("latin-1"))
        else:
            kept.append(part)
    return b"&".join(kept), prefer
