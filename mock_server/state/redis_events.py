"""Inbox events over Redis pub/sub (`--state redis://`): a notification delivered by any process
reaches the watch sockets of every process.

Publishing is one PUBLISH on the channel of keys.py. Each process that has watch sockets runs
one listener task (redis.asyncio) subscribed to that channel, which decodes each event once and
hands it to its FanOut (events.py), on the loop that serves the sockets; the publishing process
hears its own events the same way. The listener
starts with the first socket and stops with the last, and a socket is accepted only once
Redis has confirmed the subscription, so nothing published after the upgrade is missed. A
lost connection is retried; events published meanwhile are lost, as Coder's pubsub drops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Sequence

import redis
import redis.asyncio

from mock_server.state.events import Accepts, FanOut, Receiver, Subscription
from mock_server.state.keys import EVENTS
from mock_server.state.model import InboxRow
from mock_server.state.redis_link import OUTAGE_ERRORS, RedisLink

logger = logging.getLogger(__name__)

SUBSCRIBE_TIMEOUT = 10.0  # seconds to wait for Redis to confirm the subscription
RETRY_AFTER = 1.0  # seconds between attempts after the listener lost its connection


class RedisEvents:
    """EventStorage over Redis pub/sub: one channel, one listener task per process."""

    def __init__(self, link: RedisLink, url: str) -> None:
        self._link = link
        self._url = url
        self._fanout = FanOut()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._listener: asyncio.Task[None] | None = None

    async def publish(self, rows: Sequence[InboxRow]) -> None:
        """One message per row, for every process listening (this one included); with Redis
        unreachable the events are lost (the rows are recorded), as Coder's pubsub drops them."""
        if not rows:
            return
        try:
            async with self._link.client().pipeline(transaction=False) as pipe:
                for row in rows:
                    pipe.publish(EVENTS, json.dumps(row))
                await pipe.execute()
        except OUTAGE_ERRORS as exc:
            self._link.failed(exc)

    async def subscribe(self, user_id: str, accepts: Accepts,
                        receiver: Receiver) -> Subscription:
        """Events from now on, once this process's listener is subscribed in Redis."""
        self._bind_loop()
        subscription = Subscription(user_id, accepts, receiver, self._unsubscribe)
        self._fanout.add(subscription)
        try:
            async with self._lock:
                if self._listener is None or self._listener.done():
                    self._ready.clear()
                    self._listener = asyncio.create_task(self._listen(), name="inbox-events")
            await asyncio.wait_for(self._ready.wait(), SUBSCRIBE_TIMEOUT)
        except BaseException as exc:
            await self._unsubscribe(subscription)
            if isinstance(exc, TimeoutError):
                raise RuntimeError(f"Redis did not confirm the subscription to {EVENTS} within "
                                   f"{SUBSCRIBE_TIMEOUT:g} s (is redis-server up?)") from None
            raise
        return subscription

    def _bind_loop(self) -> None:
        """The listener lives on the loop serving the sockets; a new loop starts afresh."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._listener = loop, None
            self._lock, self._ready = asyncio.Lock(), asyncio.Event()

    async def _unsubscribe(self, subscription: Subscription) -> None:
        """The last socket of this process stops the listener (and its connection)."""
        async with self._lock:
            if self._fanout.remove(subscription) or self._listener is None:
                return
            listener, self._listener = self._listener, None
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self) -> None:
        """Fan every event out until cancelled, reconnecting when the connection is lost."""
        while True:
            try:
                await self._listen_once()
            except (redis.RedisError, OSError) as exc:
                self._ready.clear()
                logger.warning("inbox events: lost Redis pub/sub (%s); retrying", exc)
                await asyncio.sleep(RETRY_AFTER)

    async def _listen_once(self) -> None:
        client = redis.asyncio.Redis.from_url(self._url, decode_responses=True)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(EVENTS)
                async for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self._ready.set()
                    elif message["type"] == "message":
                        self._fanout.deliver(json.loads(message["data"]))
        finally:
            await client.aclose()
