"""A watch socket's outgoing frames: written at once while the socket can take them, else held.

The fan-out (state/events.py) hands an event to every socket of a user in turn and must never
wait on any one of them. So a frame is written straight away only when nothing is queued
before it, the socket has no delay fault, and the server would send it without waiting for the
client to read (`Upgrade.writable_now`); otherwise it waits in this socket's buffer, which the
socket's own task empties, sleeping the delay fault before each frame. As in Coder, the buffer
holds 10 frames and a frame that finds it full is dropped (coderd: `notificationCh :=
make(chan codersdk.InboxNotification, 10)`). The drop fault cuts the socket after its Nth
message. Frames put before the socket is accepted wait for `open`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

from mock_server.faults import Sleep
from mock_server.websocket import Upgrade

logger = logging.getLogger(__name__)

BUFFER = 10  # coderd: notificationCh := make(chan codersdk.InboxNotification, 10)


class Outbox:
    """One socket's frames, and when the socket is over for the server's side."""

    def __init__(self, upgrade: Upgrade, *, delay_ms: float = 0.0, drop_after: int | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.upgrade = upgrade
        self.delay_s = delay_ms / 1000
        self.drop_after = drop_after
        self.sleep = sleep
        self.dropped = 0  # frames that found the buffer full
        self.failure: Exception | None = None  # what ended the socket, when a send failed
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._held: deque[tuple[str, str]] = deque()
        self._open = False
        self._writer: asyncio.Task[None] | None = None

    def open(self) -> None:
        """The socket is accepted: write what waited for it, and from now on as frames come."""
        self._open = True
        if not self._drop_due() and self._held:
            self._start_writer()

    async def put(self, text: str, notification_id: str) -> None:
        """One frame: written now if the socket takes it without waiting, else buffered."""
        if self.done.done():
            return
        if (self._open and not self._held and self._writer is None and not self.delay_s
                and self.upgrade.writable_now()):
            await self._write(text, notification_id)
            return
        if len(self._held) >= BUFFER:
            self.dropped += 1
            logger.error("failed to push consumed notification into websocket handler, "
                         "check latency (notification %s dropped)", notification_id)
            return
        self._held.append((text, notification_id))
        if self._open and self._writer is None:
            self._start_writer()

    def fail(self, failure: Exception) -> None:
        """The socket cannot go on (its event could not be made): the session closes it."""
        self._finish(failure)

    async def stop(self) -> None:
        """The socket is over: its task stops and what it held is forgotten."""
        self._finish()
        writer, self._writer = self._writer, None
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _start_writer(self) -> None:
        self._writer = asyncio.create_task(self._drain(), name="watch-socket-writer")

    async def _drain(self) -> None:
        """The socket's own task: each held frame in order, after the delay fault."""
        try:
            while self._held and not self.done.done():
                if self.delay_s:
                    await self.sleep(self.delay_s)
                text, notification_id = self._held.popleft()
                await self._write(text, notification_id)
        finally:
            if self._writer is asyncio.current_task():
                self._writer = None

    async def _write(self, text: str, notification_id: str) -> None:
        try:
            sent = await self.upgrade.send_text(text, notification_id=notification_id)
        except Exception as exc:  # the session logs it and closes the socket cleanly
            self._finish(exc)
            return
        if not sent:
            self._finish()  # the client has gone
        else:
            self._drop_due()

    def _drop_due(self) -> bool:
        """Whether the drop fault is due now: then the socket is cut without a close frame."""
        due = self.drop_after is not None and self.upgrade.messages >= self.drop_after
        if due:
            self.upgrade.drop()
            self._finish()
        return due

    def _finish(self, failure: Exception | None = None) -> None:
        if not self.done.done():
            self.failure = failure
            self.done.set_result(None)
        self._held.clear()
