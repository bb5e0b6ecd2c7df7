"""Bounded memory: the outbox, held messages, each inbox, the journal (entries and bytes per
entry) and the faults keep at most their limits, what was dropped is counted in health, and
GET then PUT /__mock/state round-trips any state the mock can hold, however large."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.conftest import OWNER, auth
from tests.helpers import expect_error

pytestmark = pytest.mark.anyio

TEST = "/api/v2/notifications/test"
CUSTOM = "/api/v2/notifications/custom"
SETTINGS = "/api/v2/notifications/settings"


@pytest.fixture
def mock_config() -> MockConfig:
    return MockConfig(max_outbox=3, max_inbox=4, journal_size=5, journal_entry_bytes=600,
                      max_faults=2)


async def health(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/__mock/health")
    assert response.status_code == 200, response.text
    return response.json()


async def custom(client: httpx.AsyncClient, n: int) -> None:
    response = await client.post(CUSTOM, headers=auth(OWNER),
                                 json={"content": {"title": f"t{n}", "message": f"m{n}"}})
    assert response.status_code == 204, response.text


async def test_the_outbox_keeps_the_newest_and_counts_the_rest(
        client: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await client.post(TEST, headers=auth(OWNER))).status_code == 204
    outbox = (await client.get("/__mock/outbox")).json()
    stamps = [m["data"]["timestamp"] for m in outbox]
    assert len(outbox) == 3
    assert stamps == sorted(stamps), "oldest first, the two oldest gone"
    assert (await health(client))["dropped"]["outbox"] == 2


async def test_held_messages_are_bounded_too(client: httpx.AsyncClient) -> None:
    await client.put(SETTINGS, headers=auth(OWNER), json={"notifier_paused": True})
    for _ in range(4):
        assert (await client.post(TEST, headers=auth(OWNER))).status_code == 204
    pending = (await client.get("/__mock/state")).json()["pending"]
    assert len(pending) == 3, "each test notification holds smtp + inbox: 8 held, 3 kept"
    assert (await health(client))["dropped"]["pending"] == 5


async def test_each_inbox_keeps_the_newest(client: httpx.AsyncClient, mock: MockServer) -> None:
    owner = next(u for u in mock.store.users() if u.is_owner)
    seeded = len(await mock.store.inbox(owner.id))
    for n in range(6):
        await custom(client, n)
    rows = await mock.store.inbox(owner.id)
    assert [r["title"] for r in rows] == ["t2", "t3", "t4", "t5"]
    assert (await health(client))["dropped"]["inbox"] == seeded + 6 - 4


async def test_journal_entries_are_cut_to_their_byte_bound(client: httpx.AsyncClient) -> None:
    long_query = "x=" + "a" * 5000
    await client.get(f"/api/v2/users/me?{long_query}", headers=auth(OWNER))
    entry = (await client.get("/__mock/journal")).json()[-1]
    assert entry["truncated"] is True
    assert entry["path"].startswith("/api/v2/users/me?x=aaa")
    assert entry["path"].endswith("…")
    assert len(json.dumps({**entry, "time": 0.0})) <= 600 + 30  # rendered time is a string
    for _ in range(6):
        await client.get("/api/v2/users/me", headers=auth(OWNER))
    assert len((await client.get("/__mock/journal")).json()) == 5
    assert (await health(client))["dropped"]["journal"] >= 3


async def test_faults_beyond_the_limit_are_refused(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await client.post("/__mock/faults", json={"status": 503})).status_code == 201
    response = await client.post("/__mock/faults", json={"status": 500})
    expect_error(response, 400, "Invalid fault.", "2 faults are active, the most this mock "
                 "keeps (--max-faults); remove some first")
    assert len((await client.get("/__mock/faults")).json()) == 2


async def test_a_state_over_the_limits_is_refused_whole(client: httpx.AsyncClient) -> None:
    state = (await client.get("/__mock/state")).json()
    message = {"id": "m", "method": "smtp"}
    response = await client.put("/__mock/state", json={**state, "outbox": [message] * 4})
    expect_error(response, 400, "Cannot restore this state.",
                 "outbox has 4 entries; this mock keeps at most 3 (--max-outbox)")
    assert (await client.get("/__mock/state")).json() == state


@pytest.mark.parametrize("mock_config", [MockConfig(max_outbox=2000)])
async def test_a_state_of_many_megabytes_round_trips(client: httpx.AsyncClient) -> None:
    big = "b" * 1500
    for n in range(1000):  # one smtp message each, with its labels echoed: > 1 MiB in all
        response = await client.post("/__mock/notifications", json={
            "user": "admin", "template_id": "c425f63e-716a-4bf4-ae24-78348f706c3f",
            "data": {"n": str(n), "pad": big}})
        assert response.status_code == 201, response.text
    saved = await client.get("/__mock/state")
    assert len(saved.content) > 2 * (1 << 20), "well over the 1 MiB of --max-body-bytes"
    assert (await client.post("/__mock/reset")).status_code == 204
    restored = await client.put("/__mock/state", content=saved.content,
                                headers={"Content-Type": "application/json"})
    assert restored.status_code == 204, restored.text
    assert (await client.get("/__mock/state")).content == saved.content
