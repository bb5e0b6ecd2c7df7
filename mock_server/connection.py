"""The HTTP connection: uvicorn's httptools protocol with the bounds it lacks.

Hand-written because uvicorn offers none of these for httptools (its h11 protocol has
`h11_max_incomplete_event_size`, but answers it with a bare 400 and is slower): an unfinished
header grows without bound (httptools gathers it in Python: eight 64 MiB heads took the process
from 82 to 591 MiB), a connection that never finishes its head is held forever, and the host of
an absolute-form target (`GET http://evil.example/... HTTP/1.1`) is dropped. So, before bytes
reach the parser:

- a head (request line and headers) over `max_header_bytes` or MAX_HEADERS fields gets 431, as
  Go's net/http answers past its MaxHeaderBytes;
- a head not complete `header_timeout` seconds after its first byte gets 408; a connection
  that sends nothing in that time is closed silently (uvicorn's keep-alive timeout covers the
  idle time between requests);
- RFC 9112 §3.2.2: the authority of an absolute-form target replaces the Host header, so the
  Host allow-list (middleware/host.py) judges the host the request really names.

A refusal is written with `Connection: close`, the write side is shut, and whatever the client
still sends is discarded (up to DRAIN_BYTES, for DRAIN_SECONDS) before the socket closes, so a
client busy sending reads the answer instead of a reset. The protocol also gives the app a way
to drop a connection without any answer (DROP_EXTENSION), which ASGI itself cannot express.

Given a `Replays` table, a request that arrives whole in one read is offered to the app for
keeping (REPLAY_EXTENSION), and the same bytes again, while the kept answer holds, are answered
from the table without a parser, a task or the stack (mock_server/replay.py says when).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr

from mock_server import errors
from mock_server.handshake_protocol import HandshakeHttpProtocol
from mock_server.replay import REPLAY_EXTENSION, Answer, Offer, Replays, header_lines

logger = logging.getLogger(__name__)

MAX_HEADERS = 100  # header fields per request (Apache's LimitRequestFields)
DRAIN_BYTES = 1 << 20  # read and discarded after a refusal, before the close
DRAIN_SECONDS = 2.0
DROP_EXTENSION = "mock_server.drop"  # scope["extensions"][...]: close without any answer


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """What one request head may take: bytes, fields, seconds."""

    max_header_bytes: int = 1 << 20
    max_headers: int = MAX_HEADERS
    header_timeout: float = 10.0


class _TooManyHeaders(Exception):
    """Raised from the parser's callback; httptools then stops parsing."""


class GuardedHttpProtocol(HandshakeHttpProtocol):
    """The mock's HTTP protocol (malformed handshakes served as HTTP, handshake_protocol.py)
    with head limits, a head deadline and an absolute-form target's Host."""

    def __init__(self, *args: Any, limits: ConnectionLimits, replays: Replays | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.replays = replays
        self._begun = 0  # requests begun in the current read
        self._in_head = True
        self._head_bytes = 0
        self._too_many_fields = False
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_started: float | None = None  # loop time of the head's first byte
        self._refused = False
        self._drain_left = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the head deadline: a connection must begin and finish a request in time."""
        super().connection_made(transport)
        self._head_started = self.loop.time()
        self._arm_head_timer(self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the head deadline with the connection."""
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        """A read: replayed when its bytes are a kept request's, else parsed (and, when it held
        exactly one whole request, offered to the app for keeping)."""
        if self.replays is None or not self._at_rest():
            self._feed(data)
            return
        answer = self.replays.find(data)
        if answer is not None and not self.flow.write_paused:
            self._replay(self.replays, answer)
            return
        cycle, self._begun = self.cycle, 0
        self._feed(data)
        if (self._begun == 1 and self.cycle is not cycle and self._in_head and not self._refused
                and self.replays.offers(data)):
            extensions = self.scope.setdefault("extensions", {})
            extensions[REPLAY_EXTENSION] = Offer(self.replays, data)

    def on_message_begin(self) -> None:
        """Count the requests a read begins (one whole request is a read that may be kept)."""
        self._begun += 1
        super().on_message_begin()

    def _at_rest(self) -> bool:
        """Between requests: nothing parsed of a next one, nothing being answered or queued."""
        return (self._in_head and self._head_bytes == 0 and not self._refused
                and (self.cycle is None or self.cycle.response_complete) and not self.pipeline
                and not self.transport.is_closing())

    def _replay(self, replays: Replays, answer: Answer) -> None:
        """Write a kept answer at once, then do what uvicorn does after any answer."""
        started = time.perf_counter()
        self._unset_keepalive_if_required()
        self._head_started = None
        self.transport.write(replays.wire(answer, self.server_state.default_headers))
        if self.access_log:
            self.access_logger.info('%s - "%s %s HTTP/%s" %d',
                                    get_client_addr({"client": self.client}),
                                    *answer.request_line, answer.status)
        replays.journal(answer, started)
        self.on_response_complete()

    def _feed(self, data: bytes) -> None:
        """Feed the parser no more of a head than the limit allows; discard after a refusal."""
        if self._refused:
            self._discard(len(data))
            return
        if not self._in_head:
            super().data_received(data)
            return
        if self._head_started is None:
            self._head_started = self.loop.time()
        allowance = self.limits.max_header_bytes - self._head_bytes
        head = data if len(data) <= allowance else data[:allowance]
        self._head_bytes += len(head)
        super().data_received(head)
        if self._refused:  # too many header fields
            self._discard(len(data) - len(head))
        if len(head) == len(data) or self._refused or self.transport.is_closing():
            return
        if self._in_head:
            self._refuse(errors.header_fields_too_large(
                f"The request head exceeds {self.limits.max_header_bytes} bytes "
                "(--max-header-bytes)."), pending=len(data) - allowance)
        else:  # the head ended within the allowance: the rest is body, or another protocol's
            self.transport.get_protocol().data_received(data[allowance:])

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a parser error, unless the error was too many header fields."""
        if self._too_many_fields:
            self._refuse(errors.header_fields_too_large(
                f"The request has more than {self.limits.max_headers} header fields."))
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        """The head is in: count its fields (counted here, not per field: on_header is the
        parser's hottest callback), stop its deadline, apply an absolute-form target's host."""
        if len(self.headers) > self.limits.max_headers:
            self._too_many_fields = True
            raise _TooManyHeaders  # httptools stops; uvicorn then calls send_400_response
        self._in_head = False
        self._head_started = None
        self._use_target_authority()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.scope is self.scope:
            self.scope.setdefault("extensions", {})[DROP_EXTENSION] = partial(
                self._drop, self.cycle)

    def on_message_complete(self) -> None:
        """The request is in; the next bytes begin another head."""
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def _use_target_authority(self) -> None:
        if self.url[:1] == b"/":
            return
        try:
            target = httptools.parse_url(self.url)
        except httptools.HttpParserInvalidURLError:
            return  # not absolute-form (e.g. `*`): the Host header stands
        if not target.schema or not target.host:
            return
        authority = b"[" + target.host + b"]" if b":" in target.host else target.host
        if target.port is not None:
            authority += b":%d" % target.port
        self.headers[:] = [(name, value) for name, value in self.headers if name != b"host"]
        self.headers.append((b"host", authority))

    def _arm_head_timer(self, delay: float) -> None:
        """One timer per connection, not per request: when it fires, it judges the head then
        in progress, or waits again (a request costs a clock reading, not a timer)."""
        self._head_timer = self.loop.call_later(delay, self._head_overdue)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        upgraded = self.transport.get_protocol() is not self
        if self.transport.is_closing() or self._refused or upgraded:
            return
        started = self._head_started
        left = self.limits.header_timeout - (self.loop.time() - started) if started else 0.0
        if started is None or left > 0:
            self._arm_head_timer(left if left > 0 else self.limits.header_timeout)
        elif self.cycle is not None and not self.cycle.response_complete:
            self._arm_head_timer(self.limits.header_timeout)  # judge the head after the answer
        elif self._head_bytes == 0:
            self.transport.close()  # nothing of a request came: nobody to answer
        else:
            self._refuse(errors.request_timeout(
                f"The request head did not arrive within {self.limits.header_timeout:g} s "
                "(--header-timeout)."))

    def _refuse(self, error: errors.CoderError, *, pending: int = 0) -> None:
        """Answer `error`, shut the write side, discard what still comes, then close."""
        self._refused = True
        self._cancel_head_timer()
        if self.cycle is not None and not self.cycle.response_complete:
            self.transport.close()  # another answer is on the wire; do not interleave
            return
        logger.info("refused a request: %s", error)
        start, body = error.asgi()
        head = header_lines([*self.server_state.default_headers, *start["headers"]])
        self.transport.write(b"".join([STATUS_LINE[error.status], head, b"\r\n", body]))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.flow.resume_reading()
        self._drain_left = DRAIN_BYTES
        self.loop.call_later(DRAIN_SECONDS, self.transport.close)
        self._discard(pending)

    def _discard(self, count: int) -> None:
        self._drain_left -= count
        if self._drain_left <= 0:
            self.transport.close()

    def _drop(self, cycle: RequestResponseCycle) -> None:
        """Close without answering: the app's request is told it is disconnected, so uvicorn
        neither sends its 500 for a response never started nor writes anything later."""
        cycle.disconnected = True
        cycle.message_event.set()
        self.transport.close()


def protocol_factory(limits: ConnectionLimits,
                     replays: Replays | None = None) -> partial[GuardedHttpProtocol]:
    """What uvicorn's `http=` takes: the protocol class, bound to these limits and the server's
    table of kept answers (picklable, for worker processes)."""
    return partial(GuardedHttpProtocol, limits=limits, replays=replays)
