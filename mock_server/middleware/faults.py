"""The faults' layer: what the faults that fire do to a routed call (delay, error, or drop)."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors
from mock_server.connection import DROP_EXTENSION
from mock_server.context import RequestContext, context_of
from mock_server.faults import Fault, FaultBook, FaultError, Outcome, Sleep, parse_prefer

logger = logging.getLogger(__name__)


class FaultMiddleware:
    """Apply the outcome of the faults that fire on routed calls under `prefix` (never the
    control API), after auth; what the outcome is, `combine` alone decides."""

    def __init__(self, app: ASGIApp, *, book: FaultBook, prefix: str,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.app = app
        self.book = book
        self.prefix = prefix
        self.sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        context = context_of(scope)
        outcome = await outcome_for(self.book, context, one_call_fault(scope))
        if outcome is None:
            await self.app(scope, receive, send)
            return
        if outcome.delay_ms:
            await self.sleep(outcome.delay_ms / 1000)
        decider = outcome.decider
        if decider is None:
            await self.app(scope, receive, send)
        elif decider.drop:
            await drop(context, decider, send, scope=scope)
        else:
            raise injected(decider)


async def outcome_for(book: FaultBook, context: RequestContext,
                      one_call: Fault | None) -> Outcome | None:
    """What the faults do to this call (`combine`, in the book): a one-call fault replaces the
    active ones; the journal learns which fired."""
    outcome = (book.one_call(one_call) if one_call is not None
               else await book.take(context.operation_id, context.caller))
    if outcome is not None:
        context.fault = outcome.describe()
    return outcome


def injected(fault: Fault) -> errors.CoderError:
    """The answer of a fault with a status: its body, or a Coder-shaped one naming the fault."""
    status = fault.status
    assert status is not None, "only a fault with a status has an answer"
    if fault.body is not None:
        return errors.CoderError(status, str(fault.body.get("message", "")),
                                 detail=str(fault.body.get("detail", "")),
                                 validations=fault.body.get("validations") or ())
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return errors.CoderError(status, f"{reason}.",
                             detail=f"Injected by the mock ({fault.describe()}).")


async def drop(context: RequestContext, fault: Fault, send: Send, *,
               scope: Scope | None = None) -> None:
    """Close the connection without any answer, where the server lets the app (the mock's own
    HTTP protocol, mock_server/connection.py); elsewhere (in-process transports, a WebSocket
    handshake) start a response and never finish it, so the server cuts it mid-answer."""
    context.dropped = True
    logger.info("dropping the connection: %s", fault.describe())
    close = (scope or {}).get("extensions", {}).get(DROP_EXTENSION)
    if close is not None:
        close()
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"1")]})


def one_call_fault(scope: Scope, parameter: str | None = None) -> Fault | None:
    """The `Prefer:` header's fault for this call; `parameter`, the watch socket's
    `mock_prefer` value (browsers cannot set a socket's headers), comes first when given."""
    if parameter is not None:
        return _parse_prefer(parameter, "Invalid mock_prefer parameter.")
    for name, value in scope["headers"]:
        if name.lower() == b"prefer":
            return _parse_prefer(value.decode("latin-1"), "Invalid Prefer header.")
    return None


def _parse_prefer(text: str, message: str) -> Fault | None:
    try:
        return parse_prefer(text)
    except FaultError as exc:
        raise errors.CoderError(400, message, detail=str(exc)) from None
