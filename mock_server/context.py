"""The request context: what the mock's layers learn about one call, as one typed object.

The outermost mock layer opens it (`open_context`); every other layer and the handlers read and
fill it through `context_of`. It lives under one scope key of its own, never under connexion's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import Scope

from mock_server.models import ApiKey, User

if TYPE_CHECKING:
    from mock_server.websocket import Upgrade

SCOPE_KEY = "coder_mock"
WEBSOCKET_KEY = "coder_mock.websocket"  # the bridge's Upgrade, on a WebSocket handshake's scope


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user and the key they used."""

    user: User
    key: ApiKey


@dataclass(slots=True)
class RequestContext:
    """One call as the mock sees it, filled in layer by layer from the outside in."""

    operation_id: str | None = None  # routing: the spec's operationId, None when unrouted
    caller: Caller | None = None  # auth: who signed in (Coder's route groups only)
    subject: User | None = None  # auth: the user `{user}` names, resolved and access-checked
    body: Any = None  # validation: the JSON body as Go would have decoded it
    fault: str | None = None  # faults: how the faults that fired are named in the journal
    dropped: bool = False  # faults: the connection was dropped on purpose, no status was sent
    websocket: Upgrade | None = None  # bridge: the WebSocket, when this GET is a handshake
    entry: dict[str, Any] | None = None  # journal: the call's entry, once recorded (not a socket's)


def open_context(scope: Scope) -> RequestContext:
    """Start a call's context (the outermost mock layer does, once per call)."""
    extensions = scope.setdefault("extensions", {})
    context = RequestContext(websocket=extensions.get(WEBSOCKET_KEY))
    extensions[SCOPE_KEY] = context
    return context


def context_of(scope: Scope) -> RequestContext:
    """The call's context; a scope that never passed the outermost layer gets a fresh one."""
    context = scope.get("extensions", {}).get(SCOPE_KEY)
    return context if context is not None else open_context(scope)
