"""One inbox watch socket after its checks: what Coder's `watchInboxNotifications` does next.

Subscribe first, then upgrade, so nothing delivered after the upgrade is missed and nothing
before it is replayed; then one text frame per event that passes the socket's filters:
`{"notification": ..., "unread_count": N}` with the fallback icon, the unread count taken when
the event is fanned out and, for `format=plaintext`, title and content converted. Both are the
same for every socket of the user, so the first socket to receive an event makes them and the
rest reuse them (the event's Memo, state/events.py); the socket's Outbox (outbox.py) writes the
frame. The server only sends; what the client sends is read and ignored. A failure while
sending ends the socket with a normal close, as Coder's deferred `conn.Close(StatusNormalClosure,
...)` does. The socket's faults: every message waits `delay_ms`, and `drop_after` cuts the
connection after that many.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from dataclasses import dataclass

from mock_server import inbox, wire
from mock_server.faults import Sleep
from mock_server.inbox import InboxQuery
from mock_server.models import User
from mock_server.outbox import Outbox
from mock_server.plaintext import plaintext_from_markdown
from mock_server.state import EventStorage, Store
from mock_server.state.events import Memo
from mock_server.state.model import InboxRow
from mock_server.websocket import Upgrade

logger = logging.getLogger(__name__)

CLOSE_REASON = "connection closed"  # coderd's deferred close


@dataclass(frozen=True, slots=True)
class SocketFaults:
    """What the faults that fired do once the socket is open."""

    delay_ms: float = 0.0  # before every message
    drop_after: int | None = None  # messages sent before the connection is cut


class WatchSession:
    """Push the caller's new inbox notifications over an accepted socket until it closes."""

    def __init__(self, upgrade: Upgrade, *, store: Store, events: EventStorage, user: User,
                 query: InboxQuery, faults: SocketFaults, sleep: Sleep = asyncio.sleep) -> None:
        self.upgrade = upgrade
        self.store = store
        self.events = events
        self.user = user
        self.query = query
        self.outbox = Outbox(upgrade, delay_ms=faults.delay_ms, drop_after=faults.drop_after,
                             sleep=sleep)

    async def run(self) -> None:
        """Subscribe, upgrade, send until the client leaves (or a fault drops the socket)."""
        outbox = self.outbox
        subscription = await self.events.subscribe(str(self.user.id), self.query.matches,
                                                   self.receive)
        try:
            await self.upgrade.accept()
            outbox.open()
            await self._until_over(outbox)
        except Exception:
            logger.exception("inbox watch socket of %s failed", self.user.username)
            await self.upgrade.close(reason=CLOSE_REASON)
        finally:
            await subscription.close()
            await outbox.stop()

    async def _until_over(self, outbox: Outbox) -> None:
        """Wait for the client to close, or for the server's side to end (drop, failure)."""
        closed = asyncio.create_task(self.upgrade.wait_closed())
        try:
            await asyncio.wait({closed, outbox.done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closed
        if outbox.failure is not None:
            raise outbox.failure

    async def receive(self, row: InboxRow, memo: Memo) -> None:
        """One event for this socket: its frame, made once per format for all the sockets; a
        failed unread count ends the socket, as Coder's handler returns on that error."""
        try:
            unread = await memo.get_async("unread_count", self._unread_count)
        except Exception as exc:
            self.outbox.fail(exc)
            return
        text = memo.get(("frame", self.query.plaintext), lambda: self.frame(row, unread))
        await self.outbox.put(text, row["id"])

    def frame(self, row: InboxRow, unread: int) -> str:
        """The message, as Coder's json.Encoder writes it."""
        encoded = wire.encode_json({"notification": self.shown(row), "unread_count": unread})
        return encoded.decode()

    async def _unread_count(self) -> int:
        """Every unread row of the user; never a blocking state read on the event loop."""
        read = self.store.inbox
        if inspect.iscoroutinefunction(read):  # the async Store of the shared-state work
            rows = await read(self.user.id)
        else:
            rows = await asyncio.to_thread(read, self.user.id)
        return inbox.unread_count(rows)

    def shown(self, row: InboxRow) -> InboxRow:
        """The notification as sent: fallback icon, and plain text if the socket asked."""
        row = inbox.with_icon(row)
        if not self.query.plaintext:
            return row
        return {**row, "title": plaintext_from_markdown(row["title"]),
                "content": plaintext_from_markdown(row["content"])}
