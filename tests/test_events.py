"""Inbox events: what delivery publishes reaches the subscriptions of its user, in this process
(from any thread, in order, one Memo per event) and, through Redis pub/sub, in every process
sharing the state."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from mock_server.delivery import TEST_NOTIFICATION
from mock_server.server import MockServer
from mock_server.state.events import Memo, MemoryEvents
from mock_server.state.keys import EVENTS
from mock_server.state.redis_events import RedisEvents
from mock_server.state.redis_link import RedisLink
from tests.conftest import BOB_ID, MEMBER_ID
from tests.helpers import settled
from tests.redis_server import redis_server

pytestmark = pytest.mark.anyio
WAIT = 10.0  # seconds: a hang guard, never a speed requirement


def row(user_id: str = MEMBER_ID, **fields: Any) -> dict[str, Any]:
    """An inbox row as delivery records it (only what the events look at matters here)."""
    return {"id": fields.pop("id", "7f9a3c2e-1b4d-4e8a-9c61-2d5e8f0a1b37"), "user_id": user_id,
            "template_id": str(TEST_NOTIFICATION), "read_at": None, **fields}


class Inbox:
    """A receiver that keeps what it is handed, and the Memo of each event."""

    def __init__(self) -> None:
        self.rows: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.memos: list[Memo] = []

    async def __call__(self, row: dict[str, Any], memo: Memo) -> None:
        self.memos.append(memo)
        self.rows.put_nowait(row)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.rows.get(), WAIT)


def publish(events: Any, rows: list[dict[str, Any]]) -> None:
    """Publish from a thread of its own, whether `publish` is a plain method or a coroutine
    (the shared-state work turns EventStorage async)."""
    result = events.publish(rows)
    if inspect.isawaitable(result):
        asyncio.run(result)  # type: ignore[arg-type]


async def published(events: Any, rows: list[dict[str, Any]]) -> None:
    """Publish and wait until it returned: a coroutine here, a plain method from a thread."""
    if inspect.iscoroutinefunction(events.publish):
        await events.publish(rows)
    else:
        await asyncio.to_thread(events.publish, rows)


async def loop_turns() -> None:
    """Let the loop run what was handed to it (the fan-out task, one event after another)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_row_published_from_another_thread_reaches_its_users_subscription() -> None:
    events, mine, theirs = MemoryEvents(), Inbox(), Inbox()
    subscriptions = [await events.subscribe(MEMBER_ID, lambda _: True, mine),
                     await events.subscribe(BOB_ID, lambda _: True, theirs)]
    publisher = threading.Thread(target=publish, args=(events, [row()]))
    publisher.start()
    publisher.join(WAIT)
    assert (await mine.next())["user_id"] == MEMBER_ID
    await loop_turns()
    assert theirs.rows.empty()
    for subscription in subscriptions:
        await subscription.close()


async def test_every_socket_of_the_user_shares_one_memo_per_event() -> None:
    events, made = MemoryEvents(), []
    inboxes = [Inbox() for _ in range(3)]
    for inbox in inboxes:
        await events.subscribe(MEMBER_ID, lambda _: True, inbox)
    await published(events, [row(id="first"), row(id="second")])
    for inbox in inboxes:
        for want in ("first", "second"):
            assert (await inbox.next())["id"] == want  # in order, each event to every socket
    for index in (0, 1):
        memos = {id(inbox.memos[index]) for inbox in inboxes}
        assert len(memos) == 1, "one Memo per event, shared by the sockets"
        for inbox in inboxes:
            inbox.memos[index].get("frame", lambda index=index: made.append(index))
    assert made == [0, 1], "each event's value is made once, by the first socket that asks"


async def test_the_filter_decides_and_a_failing_receiver_spoils_no_other_socket() -> None:
    events, kept = MemoryEvents(), Inbox()

    async def broken(_row: dict[str, Any], _memo: Memo) -> None:
        raise RuntimeError("this socket's own trouble")

    await events.subscribe(MEMBER_ID, lambda _: True, broken)
    await events.subscribe(MEMBER_ID, lambda r: r["id"] != "skipped", kept)
    await published(events, [row(id="skipped"), row(id="wanted")])
    assert (await kept.next())["id"] == "wanted"
    await loop_turns()
    assert kept.rows.empty()


async def test_memo_values_that_take_awaiting_are_made_once() -> None:
    memo, calls = Memo(), []

    async def count() -> int:
        calls.append(1)
        return 7

    assert [await memo.get_async("unread", count) for _ in range(3)] == [7, 7, 7]
    assert calls == [1]


async def test_a_memo_keeps_a_failure_so_it_is_tried_once_per_event() -> None:
    memo, calls = Memo(), []

    async def unreachable() -> int:
        calls.append(1)
        raise ConnectionError("state down")

    for _ in range(3):
        with pytest.raises(ConnectionError, match="state down"):
            await memo.get_async("unread", unreachable)
    assert calls == [1]


async def test_nothing_published_before_the_subscription_arrives() -> None:
    events, inbox = MemoryEvents(), Inbox()
    await published(events, [row(id="before")])
    subscription = await events.subscribe(MEMBER_ID, lambda _: True, inbox)
    await published(events, [row(id="after")])
    assert (await inbox.next())["id"] == "after"
    await subscription.close()
    await published(events, [row(id="closed")])
    await loop_turns()
    assert inbox.rows.empty()


def test_delivery_publishes_the_inbox_rows_it_records(mock: MockServer) -> None:
    seen: list[list[dict[str, Any]]] = []

    async def publish(rows: list[dict[str, Any]]) -> None:
        seen.append(rows)

    mock.enqueuer.events.publish = publish  # type: ignore[method-assign]
    member = mock.store.user_by_username("member")
    assert member is not None
    receipt = settled(mock.enqueuer.enqueue(TEST_NOTIFICATION, member, data={"n": "1"}))
    inbox_ids = [m["id"] for m in receipt.messages if m["method"] == "inbox"]
    assert [[r["id"] for r in rows] for rows in seen] == [inbox_ids]
    assert settled(mock.enqueuer.enqueue(TEST_NOTIFICATION, member, data={"n": "1"})).duplicate
    assert len(seen) == 1, "a duplicate is recorded nowhere, so it is not published either"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def subscribers(client: redis.Redis) -> int:
    return int(dict(client.pubsub_numsub(EVENTS))[EVENTS])


async def test_redis_carries_a_row_to_another_process_and_back_to_its_own(
        redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    here, there = (RedisEvents(RedisLink(redis_url), redis_url),
                   RedisEvents(RedisLink(redis_url), redis_url))
    mine, theirs = Inbox(), Inbox()
    subscriptions = [await here.subscribe(MEMBER_ID, lambda _: True, mine),
                     await there.subscribe(MEMBER_ID, lambda _: True, theirs)]
    assert subscribers(client) == 2  # one listener per process, subscribed before it returns
    await published(there, [row(id="shared")])
    assert (await mine.next())["id"] == "shared"
    assert (await theirs.next())["id"] == "shared"
    for subscription in subscriptions:
        await subscription.close()
    for _ in range(int(WAIT / 0.02)):  # Redis notices the closed connections on its own time
        if subscribers(client) == 0:
            break
        await asyncio.sleep(0.02)
    assert subscribers(client) == 0  # the last socket of a process stops its listener
