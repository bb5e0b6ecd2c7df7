"""Who may call the mock's control API (reset, fixtures, faults: nothing a stray page should do)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors


class ControlGuardMiddleware:
    """Who may call the control API: browser pages only from allowed origins (a page elsewhere
    could otherwise reset or fault a developer's mock with a simple POST), and with
    `--control-token` only callers that send the token."""

    TOKEN_HEADER = b"mock-control-token"

    def __init__(self, app: ASGIApp, *, prefix: str, token: str | None,
                 origin_allowed: Callable[[str], bool]) -> None:
        self.app = app
        self.prefix = prefix
        self.token = token.encode() if token else None
        self.origin_allowed = origin_allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] != "OPTIONS"
                and scope["path"].startswith(self.prefix)):
            headers = dict(scope["headers"])
            origin = headers.get(b"origin")
            if origin is not None and not self.origin_allowed(origin.decode("latin-1")):
                raise errors.CoderError(403, "The control API refuses calls from this origin.",
                                        detail=f"{origin.decode('latin-1')!r} is not an allowed "
                                               "origin (see --cors-origin).")
            given = headers.get(self.TOKEN_HEADER, b"")
            if self.token is not None and not hmac.compare_digest(given, self.token):
                raise errors.CoderError(401, "The control API needs its token.",
                                        detail="Send the --control-token value in the "
                                               "Mock-Control-Token header.")
        await self.app(scope, receive, send)
