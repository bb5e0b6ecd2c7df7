"""Replayed answers: a request that arrives byte for byte as an earlier one, while nothing its
answer depends on has changed, gets that answer again without crossing the stack.

Why it is sound. An answer of the mock is a function of the request's bytes (method, target,
every header, the body), of the state and the faults, and of the clock only through the expiry
of the caller's key (auth): the handlers read the clock only to stamp what they write. So an
answer is kept (`keepable`, then `Answer`) only when

- the request came whole in one read, on a keep-alive HTTP/1.1 connection (no `Connection`
  header but `keep-alive`), with no `Expect`, `Upgrade` or `Prefer` (a one-call fault) header
  (the protocol, mock_server/connection.py, marks such requests; the recorder,
  middleware/replay.py, checks the rest);
- it is a GET, PUT or OPTIONS under the API base path: safe or idempotent (RFC 9110 §9.2.2, a
  repeated PUT has no further effect), never the watch socket, never the control API (whose
  answers show the journal), never a POST (a send: not idempotent, each one is delivered);
- no fault was stored while it ran and none fired, the state's version did not move while it
  ran (so a PUT that changed something is not kept: its repeat would find another state), and
  it was answered below 500 with a Content-Length (or no body: 204, 304) and without
  `connection: close`;

and it is replayed only while the version is the one it was answered at (a backend that cannot
know its version, a state shared through Redis, keeps nothing) and the key it was answered for
has not expired. A replay writes the answer in one write (status line, the server's default
headers, which carry the current `date`, then the answer's own), journals the call as the
stack does (the same entry, with this call's time and latency) and logs it as uvicorn would.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE

from mock_server.journal import Journal
from mock_server.middleware.journal import restamped

REPLAY_EXTENSION = "mock_server.replay"  # scope["extensions"][...]: keep this call's answer
MAX_ANSWERS = 512  # distinct requests kept; a fuzzer's endless variety empties the table
MAX_BYTES = 8 << 20  # request and answer bytes kept in all; beyond, the table starts again
MAX_BODY = 1 << 16  # bytes of body an answer may keep
MAX_REQUEST = 16 << 10  # bytes of request a kept answer may be found by
MAX_BACKOFF = 6  # a request that moved the state k times in a row is not offered for 2**k - 1


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer as the wire carried it, and what it stays true under."""

    status: int
    head: bytes  # the answer's own header lines, as uvicorn writes them, and the blank line
    body: bytes
    version: Hashable  # the state and faults it was answered at
    current: Callable[[], Hashable | None]  # the deployment's version now
    expires: float  # epoch seconds when the caller's key expires (math.inf: never, or none)
    journal: Journal
    entry: dict[str, Any]  # the journal entry the stack recorded for it
    request_line: tuple[str, str, str]  # method, path with query, HTTP version (access log)

    def holds(self) -> bool:
        """Whether replaying it now answers what the stack would."""
        return self.current() == self.version and time.time() < self.expires


@dataclass(frozen=True, slots=True)
class Offer:
    """The protocol's offer to keep the answer to one whole request (REPLAY_EXTENSION)."""

    replays: Replays
    raw: bytes

    def keep(self, answer: Answer) -> None:
        """The answer may be replayed to these bytes."""
        self.replays.learn(self.raw, answer)

    def moved(self) -> None:
        """The call moved the state: its answer is not kept, and the next offers wait."""
        self.replays.moved(self.raw)


def header_lines(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Header fields as HTTP/1.1 writes them (`name: value` and CRLF each), in order."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)


def expiry(expires_at: Any) -> float:
    """A key's `expires_at` (a datetime, or None) as epoch seconds."""
    return math.inf if expires_at is None else expires_at.timestamp()


class Replays:
    """The answers one server keeps, by the exact bytes of the request they answered."""

    def __init__(self, *, size: int = MAX_ANSWERS, max_bytes: int = MAX_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._answers: dict[bytes, Answer] = {}
        self._bytes = 0
        self._moving: dict[bytes, tuple[int, int]] = {}  # request → (offers to skip, streak)
        self._defaults: tuple[list[tuple[bytes, bytes]] | None, bytes] = (None, b"")
        self._unjournaled: list[tuple[Journal, dict[str, Any]]] = []
        self._journaling: asyncio.Task[None] | None = None
        self.replayed = 0  # answers written from the table so far

    def offers(self, raw: bytes) -> bool:
        """Whether the answer to this request is worth trying to keep: not for a long one, nor
        while backing off from one whose answers moved the state (a read-status PUT stamps a
        new `read_at` every time: trying to keep each of its answers costs and never pays)."""
        if len(raw) > MAX_REQUEST:
            return False
        skip, streak = self._moving.get(raw, (0, 0))
        if skip:
            self._moving[raw] = (skip - 1, streak)
        return not skip

    def moved(self, raw: bytes) -> None:
        """The answer to this request moved the state: skip its next 1, 3, 7 ... offers."""
        streak = min(self._moving.get(raw, (0, 0))[1] + 1, MAX_BACKOFF)
        if len(self._moving) >= self.size:
            self._moving.clear()
        self._moving[raw] = ((1 << streak) - 1, streak)

    def learn(self, raw: bytes, answer: Answer) -> None:
        """Keep `answer` for requests of exactly these bytes."""
        self._moving.pop(raw, None)
        if len(answer.body) > MAX_BODY or len(raw) > MAX_REQUEST:
            return
        cost = len(raw) + len(answer.head) + len(answer.body)
        if len(self._answers) >= self.size or self._bytes + cost > self.max_bytes:
            self._answers.clear()
            self._bytes = 0
        self._answers[raw] = answer
        self._bytes += cost

    def find(self, raw: bytes) -> Answer | None:
        """The answer kept for these bytes, if it still holds (one that no longer does goes)."""
        answer = self._answers.get(raw)
        if answer is None or answer.holds():
            return answer
        del self._answers[raw]
        return None

    def wire(self, answer: Answer, default_headers: list[tuple[bytes, bytes]]) -> bytes:
        """The answer's bytes behind the server's current default headers (`date`, ...)."""
        source, encoded = self._defaults
        if source is not default_headers:  # uvicorn swaps the list once a second
            encoded = header_lines(default_headers)
            self._defaults = (default_headers, encoded)
        return b"".join((STATUS_LINE[answer.status], encoded, answer.head, answer.body))

    def journal(self, answer: Answer, started: float) -> None:
        """Record the replayed call soon: one task records the calls replayed meanwhile, in
        order, before any call read after them is served."""
        self.replayed += 1
        self._unjournaled.append((answer.journal, restamped(answer.entry, started)))
        if self._journaling is None:
            self._journaling = asyncio.get_running_loop().create_task(self._record())

    async def _record(self) -> None:
        try:
            while self._unjournaled:
                batch, self._unjournaled = self._unjournaled, []
                for journal, entry in batch:
                    await journal.record(entry)
        finally:
            self._journaling = None
