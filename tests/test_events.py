"""Inbox events: what delivery publishes reaches the subscriptions of its user, in this process
(from any thread) and, through Redis pub/sub, in every process sharing the state."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from mock_server.delivery import TEST_NOTIFICATION
from mock_server.server import MockServer
from mock_server.state.events import BUFFER, MemoryEvents
from mock_server.state.keys import EVENTS
from mock_server.state.redis_backend import connect
from mock_server.state.redis_events import RedisEvents
from tests.conftest import BOB_ID, MEMBER_ID
from tests.redis_server import redis_server

pytestmark = pytest.mark.anyio
WAIT = 10.0  # seconds: a hang guard, never a speed requirement


def row(user_id: str = MEMBER_ID, **fields: Any) -> dict[str, Any]:
    """An inbox row as delivery records it (only what the events look at matters here)."""
    return {"id": fields.pop("id", "7f9a3c2e-1b4d-4e8a-9c61-2d5e8f0a1b37"), "user_id": user_id,
            "template_id": str(TEST_NOTIFICATION), "read_at": None, **fields}


async def test_a_row_published_from_another_thread_reaches_its_users_subscription() -> None:
    events = MemoryEvents()
    mine = await events.subscribe(MEMBER_ID, lambda _: True)
    theirs = await events.subscribe(BOB_ID, lambda _: True)
    publisher = threading.Thread(target=events.publish, args=([row()],))
    publisher.start()
    publisher.join(WAIT)
    assert (await asyncio.wait_for(mine.get(), WAIT))["user_id"] == MEMBER_ID
    await asyncio.sleep(0)  # the loop has run what the thread handed over
    assert theirs._queue.empty()
    await mine.close()
    await theirs.close()


async def test_the_filter_applies_before_the_buffer_and_a_full_buffer_drops() -> None:
    events = MemoryEvents()
    subscription = await events.subscribe(MEMBER_ID, lambda r: r["id"] != "skipped")
    events.publish([row(id="skipped")] + [row(id=str(n)) for n in range(BUFFER + 3)])
    await asyncio.sleep(0)
    taken = [(await subscription.get())["id"] for _ in range(BUFFER)]
    assert taken == [str(n) for n in range(BUFFER)]
    assert subscription.dropped == 3
    await subscription.close()


async def test_nothing_published_before_the_subscription_arrives() -> None:
    events = MemoryEvents()
    events.publish([row(id="before")])
    subscription = await events.subscribe(MEMBER_ID, lambda _: True)
    events.publish([row(id="after")])
    assert (await asyncio.wait_for(subscription.get(), WAIT))["id"] == "after"
    await subscription.close()


def test_delivery_publishes_the_inbox_rows_it_records(mock: MockServer) -> None:
    seen: list[list[dict[str, Any]]] = []
    mock.enqueuer.events.publish = seen.append  # type: ignore[method-assign]
    member = mock.store.user_by_username("member")
    assert member is not None
    receipt = mock.enqueuer.enqueue(TEST_NOTIFICATION, member, data={"n": "1"})
    inbox_ids = [m["id"] for m in receipt.messages if m["method"] == "inbox"]
    assert [[r["id"] for r in rows] for rows in seen] == [inbox_ids]
    assert mock.enqueuer.enqueue(TEST_NOTIFICATION, member, data={"n": "1"}).duplicate
    assert len(seen) == 1, "a duplicate is recorded nowhere, so it is not published either"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def subscribers(client: redis.Redis) -> int:
    return int(dict(client.pubsub_numsub(EVENTS))[EVENTS])


async def test_redis_carries_a_row_to_another_process_and_back_to_its_own(
        redis_url: str) -> None:
    client = connect(redis_url)
    here, there = RedisEvents(client, redis_url), RedisEvents(client, redis_url)
    mine = await here.subscribe(MEMBER_ID, lambda _: True)
    theirs = await there.subscribe(MEMBER_ID, lambda _: True)
    assert subscribers(client) == 2  # one listener per process, subscribed before it returns
    await asyncio.to_thread(there.publish, [row(id="shared")])
    assert (await asyncio.wait_for(mine.get(), WAIT))["id"] == "shared"
    assert (await asyncio.wait_for(theirs.get(), WAIT))["id"] == "shared"
    await mine.close()
    await theirs.close()
    for _ in range(int(WAIT / 0.02)):  # Redis notices the closed connections on its own time
        if subscribers(client) == 0:
            break
        await asyncio.sleep(0.02)
    assert subscribers(client) == 0  # the last socket of a process stops its listener
