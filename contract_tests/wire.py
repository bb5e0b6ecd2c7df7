"""Every request the run sends, counted where it leaves the suite, whoever sends it.

Schemathesis sends from several places: `Case.call`, and its checks' own follow-up requests
(`schema.transport.send`), which no hook sees. So the count sits below them:

- an in-process app is wrapped in `CountingApp`, an ASGI layer that counts each HTTP request and
  WebSocket handshake reaching it, whichever client sent it (the local socket server of
  `local.py` serves the same wrapped app);
- a URL target's schema gets a transport that counts each `send` (`count_sends`), and the
  suite's own socket clients (preflight, raw reads, watch sockets) count themselves
  (`Wire.count_own`), which in-process is left to the app layer, so nothing counts twice.

Which phase covered which operation is recorded beside it, from each case Schemathesis or the
suite's client made (the follow-ups belong to their case's phase).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema
from starlette.types import ASGIApp, Receive, Scope, Send

CHECKS = "checks"  # requests of the suite's own properties and checks (and its guard)
SOCKETS = "sockets"  # raw reads and watch sockets


@dataclass
class Wire:
    """The run's request count, and what was accepted or covered per operation."""

    in_process: bool
    requests: int = 0
    accepted: Counter[str] = field(default_factory=Counter)  # 2xx answers, by operation id
    phases: dict[str, set[str]] = field(default_factory=dict)  # operation id -> phases
    current: list[str] | None = None  # operations the running check has sent, in order

    def count(self) -> None:
        """One request left the suite."""
        self.requests += 1

    def count_own(self, operation_id: str | None = None, phase: str = SOCKETS) -> None:
        """A request of the suite's own socket clients (counted by the app layer in-process)."""
        if not self.in_process:
            self.count()
        if operation_id is not None:
            self.cover(operation_id, phase)

    def cover(self, operation_id: str, phase: str) -> None:
        """`phase` sent a request of this operation."""
        self.phases.setdefault(operation_id, set()).add(phase)
        if self.current is not None and operation_id not in self.current:
            self.current.append(operation_id)

    def answered(self, case: Case, status: int) -> None:
        """A case of Schemathesis or of the suite's client was answered with `status`."""
        operation_id = case.operation.definition.raw.get("operationId", "?")
        meta = case.meta
        self.cover(operation_id, str(meta.phase.name) if meta is not None else CHECKS)
        if 200 <= status < 300:
            self.accepted[operation_id] += 1


class CountingApp:
    """An ASGI layer counting every HTTP request and WebSocket handshake that reaches `app`."""

    def __init__(self, app: ASGIApp, wire: Wire) -> None:
        self.app = app
        self.wire = wire

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            self.wire.count()
        await self.app(scope, receive, send)


class CountingTransport:
    """A Schemathesis transport that counts each request before its `inner` transport sends it."""

    def __init__(self, inner: Any, wire: Wire) -> None:
        self.inner = inner
        self.wire = wire

    def send(self, case: Case, **kwargs: Any) -> Any:
        """Count, then send."""
        self.wire.count()
        return self.inner.send(case, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def count_sends(schema: BaseSchema, wire: Wire) -> None:
    """Make `schema` (of a URL target) send through a CountingTransport.

    `BaseSchema.transport` is a read-only property chosen from `schema.app`, and Schemathesis
    has no setting for it; a subclass overriding the property, given to this one instance, is
    the narrowest way in (the schema's class is otherwise unchanged).
    """
    base = type(schema)
    inner = base.transport.fget  # type: ignore[attr-defined]

    def transport(self: BaseSchema) -> CountingTransport:
        return CountingTransport(inner(self), wire)

    schema.__class__ = type(f"Counted{base.__name__}", (base,), {"transport": property(transport)})
