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
from mock_server.context import Caller, RequestContext, context_of
from mock_server.models import User


@dataclass(frozen=True, slots=True)
class Call:
    """One request, as a handler sees it: routed, authenticated and validated."""

    scope: Scope
    context: RequestContext

    @property
    def body(self) -> Any:
        """The JSON body as Go would have decoded it (None for operations without one)."""
        return self.context.body

    @property
    def caller(self) -> Caller:
        """Who signed in (Coder's API only)."""
        assert self.context.caller is not None, "auth runs before every Coder operation"
        return self.context.caller

    @property
    def subject(self) -> User:
        """The user `{user}` names, resolved and access-checked by auth."""
        assert self.context.subject is not None, "auth resolves {user} before routing"
        return self.context.subject

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
        context = context_of(scope)
        handler = self.handlers.get(context.operation_id or "")
        if handler is None:
            raise errors.route_not_found()
        response = await handler(Call(scope, context))
        await response(scope, receive, send)
