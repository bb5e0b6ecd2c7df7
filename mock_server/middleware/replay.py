"""The replay recorder: the outermost layer keeps the answers that may be replayed (when and
why an answer may be, mock_server/replay.py; the replaying itself is the protocol's)."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.utils import get_path_with_query_string

from mock_server.context import SCOPE_KEY, RequestContext
from mock_server.journal import Journal
from mock_server.replay import REPLAY_EXTENSION, Answer, expiry, header_lines

METHODS = frozenset({"GET", "PUT", "OPTIONS"})  # safe or idempotent (RFC 9110 §9.2)
_REFUSED_HEADERS = frozenset({b"prefer", b"expect", b"upgrade"})


class ReplayRecorder:
    """Keep an answer the protocol may replay: the call's scope carries the protocol's offer
    (REPLAY_EXTENSION) when the request came whole in one read; elsewhere this only passes."""

    def __init__(self, app: ASGIApp, *, version: Callable[[], Hashable | None],
                 journal: Journal, prefix: str, excluded: tuple[str, ...]) -> None:
        self.app = app
        self.version = version
        self.journal = journal
        self.prefix = prefix
        self.excluded = excluded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        offer = scope.get("extensions", {}).get(REPLAY_EXTENSION) if scope["type"] == "http" \
            else None
        version = self.version() if offer is not None and self._keepable(scope) else None
        if version is None:
            await self.app(scope, receive, send)
            return
        sent: list[Message] = []

        async def keep(message: Message) -> None:
            sent.append(message)
            await send(message)

        await self.app(scope, receive, keep)
        context = scope["extensions"].get(SCOPE_KEY)
        if self.version() != version:
            offer.moved()
        elif isinstance(context, RequestContext):
            answer = self._answer(scope, context, sent, version)
            if answer is not None:
                offer.keep(answer)

    def _keepable(self, scope: Scope) -> bool:
        """The request's side of the rule: method, path, HTTP version and headers."""
        path = scope["path"]
        return (scope["method"] in METHODS and scope.get("http_version") == "1.1"
                and path.startswith(self.prefix) and not path.startswith(self.excluded)
                and not any(name in _REFUSED_HEADERS or (name == b"connection" and value.strip(
                    b" \t").lower() != b"keep-alive") for name, value in scope["headers"]))

    def _answer(self, scope: Scope, context: RequestContext, sent: list[Message],
                version: Hashable) -> Answer | None:
        """The answer's side of the rule: one whole, plain answer to an unfaulted call."""
        if (context.entry is None or context.fault is not None or context.dropped
                or len(sent) != 2):  # a handshake's context has no entry
            return None
        start, body = sent
        status, headers = start["status"], start.get("headers", [])
        payload = body.get("body", b"")
        names = {name.lower() for name, _ in headers}
        if (status >= 500 or body.get("more_body") or b"connection" in names
                or b"transfer-encoding" in names
                or (b"content-length" not in names and (payload or status not in (204, 304)))):
            return None
        head = header_lines((name.lower(), value) for name, value in headers) + b"\r\n"
        caller = context.caller
        return Answer(status=status, head=head, body=payload, version=version,
                      current=self.version, journal=self.journal, entry=context.entry,
                      expires=expiry(caller.key.expires_at if caller else None),
                      request_line=(scope["method"], get_path_with_query_string(scope),
                                    scope["http_version"]))
