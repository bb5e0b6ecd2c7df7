"""The faults' layer: what the faults that fire do to a routed call (delay, error, or drop)."""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors
from mock_server.context import context_of
from mock_server.faults import Fault, FaultBook, FaultError, Sleep, parse_prefer

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
        prefer = _prefer_fault(scope)
        outcome = (self.book.one_call(prefer) if prefer is not None
                   else self.book.take(context.operation_id, context.caller))
        if outcome is None:
            await self.app(scope, receive, send)
            return
        context.fault = outcome.describe()
        if outcome.delay_ms:
            await self.sleep(outcome.delay_ms / 1000)
        decider = outcome.decider
        if decider is None:
            await self.app(scope, receive, send)
        elif decider.drop:
            context.dropped = True
            logger.info("dropping the connection: %s", decider.describe())
            await _drop(send)
        else:
            raise injected(decider)


def injected(fault: Fault) -> errors.CoderError:
    """The answer of a fault with a status: its body, or a Coder-shaped one naming the fault."""
    status = fault.status
    assert status is not None, "only a fault with a status has an answer"
    if fault.body is not None:
        return errors.CoderError(status, str(fault.body.get("message", "")),
                                 detail=str(fault.body.get("detail", "")))
    reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    return errors.CoderError(status, f"{reason}.",
                             detail=f"Injected by the mock ({fault.describe()}).")


async def _drop(send: Send) -> None:
    """Start a response and never finish it: uvicorn closes the connection mid-answer."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"1")]})


def _prefer_fault(scope: Scope) -> Fault | None:
    for name, value in scope["headers"]:
        if name.lower() == b"prefer":
            try:
                return parse_prefer(value.decode("latin-1"))
            except FaultError as exc:
                raise errors.CoderError(400, "Invalid Prefer header.", detail=str(exc)) from None
    return None
