"""Coder's API-key and `{user}` middleware, applied where chi applies them: to route groups.

Coder applies both to whole route groups (`/notifications`, `/users/{user}`), so they run before
the route is matched: an unknown path or a wrong method under a group still needs a valid token.
The policy (where the token is read, how a key and `{user}` are checked) is mock_server/auth.py.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors
from mock_server.auth import CallerCache, resolve_user, token_from
from mock_server.config import BASE_PATH
from mock_server.context import context_of
from mock_server.state.store import Clock, Store, utc_now

# chi mounts a group at `/x` and `/x/*`
_GROUPS = tuple(f"{BASE_PATH}/{group}/" for group in ("notifications", "users"))
_USER_SEGMENT = re.compile(rf"^{re.escape(BASE_PATH)}/users/([^/]*)(?:/|$)")


class AuthMiddleware:
    """Authenticate Coder's route groups and resolve `{user}` before routing, like chi does.

    chi neither strips nor redirects a trailing slash (Starlette would answer 307): it is
    another, unknown path, except `/users/{user}/`, which is the user's own `/` route.
    """

    def __init__(self, app: ASGIApp, *, store: Store, user_not_found_status: int,
                 clock: Clock = utc_now) -> None:
        self.app = app
        self.store = store
        self.user_not_found_status = user_not_found_status
        self.clock = clock
        self.callers = CallerCache(store)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        in_group = path.startswith(_GROUPS) or path + "/" in _GROUPS
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or not in_group:
            await self.app(scope, receive, send)
            return
        context = context_of(scope)
        context.caller = caller = self.callers.authenticate(token_from(scope), self.clock)
        match = _USER_SEGMENT.match(path)
        if match:
            context.subject = resolve_user(self.store, caller, match.group(1),
                                           not_found_status=self.user_not_found_status)
        if path.endswith("/") and not (match and match.end() == len(path)):
            raise errors.route_not_found()
        if path.endswith("/"):
            raw_path = scope.get("raw_path")
            scope = {**scope, "path": path[:-1], "raw_path": raw_path and raw_path[:-1]}
        await self.app(scope, receive, send)
