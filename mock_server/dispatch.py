"""The innermost app: connexion has routed, auth has identified, validation has decoded; call
the operation's handler with one `Call`.

Connexion's own app (AsyncApp) rebuilds its parameter and response decorators on every request,
which measured at half of the mock's time per call; the middleware stack does the real work
(routing, validation), so a table of handlers is all that is left to do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mock_server import errors
from mock_server.auth import Caller
from mock_server.models import User

BODY = "mock_body"  # the scope extension where the body validator leaves the decoded body


@dataclass(frozen=True, slots=True)
class Call:
    """One request, as a handler sees it: routed, authenticated and validated."""

    scope: Scope

    @property
    def body(self) -> Any:
        """The JSON body as Go would have decoded it (None for operations without one)."""
        return self.scope["extensions"].get(BODY)

    @property
    def caller(self) -> Caller:
        """Who signed in (Coder's API only)."""
        return self.scope["extensions"]["connexion_context"]["caller"]

    @property
    def subject(self) -> User:
        """The user `{user}` names, resolved and access-checked by auth."""
        return self.scope["extensions"]["connexion_context"]["subject"]

    def path(self, name: str) -> str:
        """A path parameter, as routing extracted it."""
        return self.scope["path_params"][name]

    def query(self, name: str) -> str | None:
        """A query parameter (validated against the spec), decoded, or None."""
        return QueryParams(self.scope.get("query_string", b"")).get(name)


Handler = Callable[[Call], Awaitable[Response]]


class Dispatcher:
    """Call the handler of the routed operation; an unrouted path is Coder's 404."""

    def __init__(self, handlers: Mapping[str, Handler]) -> None:
        self.handlers = dict(handlers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        routing = scope.get("extensions", {}).get("connexion_routing", {})
        handler = self.handlers.get(routing.get("operation_id"))
        if handler is None:
            raise errors.route_not_found()
        response = await handler(Call(scope))
        await response(scope, receive, send)
