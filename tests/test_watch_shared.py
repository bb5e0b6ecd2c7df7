"""`--state redis://`: a notification delivered by any process reaches the watch sockets of
every process, through Redis pub/sub (two MockServers on one real redis-server)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from mock_server.config import MockConfig
from mock_server.middleware.watch import WATCH_PATH
from mock_server.server import MockServer
from mock_server.state.keys import EVENTS
from tests.conftest import MEMBER, auth
from tests.redis_server import redis_server
from tests.test_shared_state_cli import mock_workers, wait_until_healthy
from tests.watching import WAIT, deliver, next_message, open_watch

pytestmark = pytest.mark.anyio
WORKER_START = 30.0  # seconds the second worker gets to start taking connections


@pytest.fixture
def config(tmp_path: Path) -> Iterator[MockConfig]:
    with redis_server(tmp_path) as url:
        yield MockConfig(state_url=url, state_timeout=10.0)  # about sharing, not outages


async def test_a_notification_delivered_by_one_process_reaches_watchers_on_both(
        config: MockConfig) -> None:
    with MockServer(config) as first, MockServer(config) as second:
        async with await open_watch(first) as here, await open_watch(second) as there:
            sent = await deliver(first)
            assert (await next_message(there))["notification"]["id"] == sent["id"]
            assert (await next_message(here))["notification"]["id"] == sent["id"]
            back = await deliver(second, template="f517da0b-cdc9-410f-ab89-a86107c420ed",
                                 labels={"name": "dev", "reason": "r"})
            assert (await next_message(here))["notification"]["id"] == back["id"]


async def test_a_restarted_process_watches_what_comes_after(config: MockConfig) -> None:
    with MockServer(config) as staying:
        with MockServer(config) as leaving:
            async with await open_watch(leaving) as socket:
                await deliver(staying)
                await next_message(socket)
        before = await deliver(staying)
        with MockServer(config) as restarted:
            async with await open_watch(restarted) as socket:
                after = await deliver(staying)
                message = await next_message(socket)
    assert message["notification"]["id"] == after["id"] != before["id"]


def watchers(url: str) -> int:
    """How many processes listen for inbox events on this Redis (one listener each)."""
    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        return int(dict(client.pubsub_numsub(EVENTS))[EVENTS])
    finally:
        client.close()


@pytest.mark.slow
async def test_workers_each_push_what_any_worker_delivered(config: MockConfig) -> None:
    assert config.state_url is not None
    with mock_workers("--workers", "2", "--state", config.state_url, "--no-access-log") as mock:
        await asyncio.to_thread(wait_until_healthy, mock.url)
        watch = mock.url.replace("http://", "ws://", 1) + WATCH_PATH
        sockets: list[ClientConnection] = []
        # healthy means one worker answers; the other may still be starting (seconds, under
        # load), so new connections come at a pace, until both workers have one
        deadline = time.monotonic() + WORKER_START
        try:
            while watchers(config.state_url) < 2:
                assert time.monotonic() < deadline, (
                    f"every socket ({len(sockets)}) landed on the same worker for {WORKER_START} s")
                sockets.append(await connect(watch, additional_headers=auth(MEMBER),
                                             open_timeout=WAIT))
                await asyncio.sleep(0.1)
            sent = await deliver(mock)
            for socket in sockets:
                assert (await next_message(socket))["notification"]["id"] == sent["id"]
        finally:
            for socket in sockets:
                await socket.close()
