"""One inbox watch socket after its checks: what Coder's `watchInboxNotifications` does next.

Subscribe first, then upgrade, so nothing delivered after the upgrade is missed and nothing
before it is replayed; then one text frame per event that passes the socket's filters:
`{"notification": ..., "unread_count": N}` with the fallback icon, the unread count taken at
send time and, for `format=plaintext`, title and content converted. The server only sends;
what the client sends is read and ignored. A failure while sending ends the socket with a
normal close, as Coder's deferred `conn.Close(StatusNormalClosure, ...)` does. The socket's
faults: every message waits `delay_ms`, and `drop_after` cuts the connection after that many.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from mock_server import inbox, wire
from mock_server.faults import Sleep
from mock_server.inbox import InboxQuery
from mock_server.models import User
from mock_server.plaintext import plaintext_from_markdown
from mock_server.state import EventStorage, Store
from mock_server.state.events import Subscription
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
        self.faults = faults
        self.sleep = sleep

    async def run(self) -> None:
        """Subscribe, upgrade, send until the client leaves (or a fault drops the socket)."""
        subscription = await self.events.subscribe(str(self.user.id), self.query.matches)
        try:
            await self.upgrade.accept()
            await self._pump(subscription)
        except Exception:
            logger.exception("inbox watch socket of %s failed", self.user.username)
            await self.upgrade.close(reason=CLOSE_REASON)
        finally:
            await subscription.close()

    async def _pump(self, subscription: Subscription) -> None:
        closed = asyncio.create_task(self.upgrade.wait_closed())
        try:
            while not self._dropped():
                row = await _next(subscription, closed)
                if row is None or not await self._send(row):
                    return
        finally:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await closed

    def _dropped(self) -> bool:
        """Whether the socket's drop fault is due now: then it is cut without a close frame."""
        due = self.faults.drop_after is not None and self.upgrade.messages >= self.faults.drop_after
        if due:
            self.upgrade.drop()
        return due

    async def _send(self, row: InboxRow) -> bool:
        """One message, as Coder encodes it; False once the client has gone."""
        if self.faults.delay_ms:
            await self.sleep(self.faults.delay_ms / 1000)
        unread = inbox.unread_count(self.store.inbox(self.user.id))
        text = wire.encode_json({"notification": self.shown(row), "unread_count": unread})
        return await self.upgrade.send_text(text.decode(), notification_id=row["id"],
                                            unread_count=unread)

    def shown(self, row: InboxRow) -> InboxRow:
        """The notification as sent: fallback icon, and plain text if the socket asked."""
        row = inbox.with_icon(row)
        if not self.query.plaintext:
            return row
        return {**row, "title": plaintext_from_markdown(row["title"]),
                "content": plaintext_from_markdown(row["content"])}


async def _next(subscription: Subscription, closed: asyncio.Task[None]) -> InboxRow | None:
    """The next event, or None when the client closes first."""
    getter = asyncio.ensure_future(subscription.get())
    await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
    if getter.done():
        return getter.result()
    getter.cancel()
    return None
