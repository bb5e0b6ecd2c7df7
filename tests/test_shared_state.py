"""`--state redis://`: two mocks on one real Redis behave as one mock, under concurrency too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.config import MockConfig
from mock_server.faults import Fault, FaultBook
from mock_server.server import MockServer
from mock_server.state.redis_faults import RedisFaults
from mock_server.state.redis_link import RedisLink
from tests.conftest import MEMBER, OWNER, auth
from tests.helpers import run_threads
from tests.redis_server import redis_server

# These tests are about sharing, not outages: under load, connecting may take over 0.5 s.
SLOW_REDIS = 10.0

SETTINGS = "/api/v2/notifications/settings"
PREFS = "/api/v2/users/me/notifications/preferences"
TEST = "/api/v2/notifications/test"
TEMPLATE = "f517da0b-cdc9-410f-ab89-a86107c420ed"
TROUBLESHOOTING = "c425f63e-716a-4bf4-ae24-78348f706c3f"
OTHER_FIXTURES = Path(__file__).parent / "fixtures" / "other"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


@pytest.fixture
def pair(redis_url: str) -> Iterator[tuple[MockServer, MockServer]]:
    """Two mock deployments, as two replicas would be, on real sockets and one Redis."""
    config = MockConfig(state_url=redis_url, state_timeout=SLOW_REDIS, journal_size=5)
    with MockServer(config) as first, MockServer(config) as second:
        yield first, second


def call(mock: MockServer, method: str, path: str, token: str = OWNER, **kwargs: Any) -> Any:
    """One call with a fresh connection; the decoded body (None when empty)."""
    response = httpx.request(method, mock.url + path, headers=auth(token), **kwargs)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def status(mock: MockServer, path: str = SETTINGS) -> int:
    return httpx.get(mock.url + path, headers=auth(OWNER)).status_code


# each: what one mock writes, what the other then reads, and what it must read
WRITES: dict[str, tuple[Callable[[MockServer], object], Callable[[MockServer], Any], Any]] = {
    "settings": (lambda m: call(m, "PUT", SETTINGS, json={"notifier_paused": True}),
                 lambda m: call(m, "GET", SETTINGS), {"notifier_paused": True}),
    "preferences": (
        lambda m: call(m, "PUT", PREFS, json={"template_disabled_map": {TEMPLATE: True}}),
        lambda m: [(p["id"], p["disabled"]) for p in call(m, "GET", PREFS) or []],
        [(TEMPLATE, True)]),
    "outbox": (lambda m: call(m, "POST", TEST),
               lambda m: [x["username"] for x in call(m, "GET", "/__mock/outbox")], ["admin"]),
    "journal": (lambda m: call(m, "GET", "/api/v2/users/me", MEMBER),
                lambda m: [(e["path"], e["user"]) for e in call(m, "GET", "/__mock/journal")
                           if e["path"] == "/api/v2/users/me"],
                [("/api/v2/users/me", "member")]),
}


@pytest.mark.parametrize("what", WRITES)
def test_what_one_mock_writes_the_other_reads(pair: tuple[MockServer, MockServer],
                                              what: str) -> None:
    write, read, expected = WRITES[what]
    first, second = pair
    assert read(second) != expected
    write(first)
    assert read(second) == expected
    assert read(first) == expected


def test_a_rejected_preference_write_changes_nothing_anywhere(pair: tuple[MockServer, ...]) -> None:
    first, second = pair
    unknown = "00000000-0000-4000-8000-000000000000"
    response = httpx.put(first.url + PREFS, headers=auth(OWNER), json={
        "template_disabled_map": {TEMPLATE: True, unknown: True}})
    assert response.status_code == 400
    assert call(second, "GET", PREFS) is None


def test_the_journal_is_one_bounded_list(pair: tuple[MockServer, MockServer]) -> None:
    first, second = pair
    for index in range(8):
        call((first, second)[index % 2], "GET", f"/api/v2/users/me?n={index}")
    paths = [entry["path"] for entry in call(first, "GET", "/__mock/journal")]
    assert paths == [f"/api/v2/users/me?n={index}" for index in range(3, 8)]
    call(second, "DELETE", "/__mock/journal")
    assert [e for e in call(first, "GET", "/__mock/journal") if "users/me" in e["path"]] == []


def test_a_fault_added_through_one_mock_fires_on_the_other(pair: tuple[MockServer, ...]) -> None:
    first, second = pair
    fault = call(first, "POST", "/__mock/faults",
                 json={"operation_id": "get-notifications-settings", "status": 503})
    assert status(second) == 503
    assert call(second, "GET", "/__mock/faults") == [fault]
    call(second, "DELETE", f"/__mock/faults/{fault['id']}")
    assert (status(first), status(second)) == (200, 200)


@pytest.mark.parametrize("times", [1, 4, 9])
def test_a_limited_fault_fires_exactly_times_across_both(pair: tuple[MockServer, ...],
                                                         times: int) -> None:
    call(pair[0], "POST", "/__mock/faults", json={"status": 503, "times": times})
    answers: list[int] = []
    run_threads(6, lambda index: answers.extend(status(pair[(index + n) % 2]) for n in range(5)))
    assert sorted(answers) == [200] * (30 - times) + [503] * times
    assert call(pair[1], "GET", "/__mock/faults") == []


def test_a_percent_fault_applies_in_both(pair: tuple[MockServer, MockServer]) -> None:
    call(pair[0], "POST", "/__mock/faults", json={"status": 503, "percent": 50})
    with httpx.Client(base_url=pair[1].url, headers=auth(OWNER)) as client:
        answers = {client.get(SETTINGS).status_code for _ in range(60)}
    assert answers == {200, 503}


def test_command_line_faults_are_added_once_however_many_processes_start(
        redis_url: str) -> None:
    config = MockConfig(state_url=redis_url, faults=("get-notifications-settings=503,times=2",))
    with MockServer(config) as first, MockServer(config) as second:
        assert [f["times"] for f in call(second, "GET", "/__mock/faults")] == [2]
        answers = [status(mock) for mock in (first, second, first, second)]
    assert answers == [503, 503, 200, 200]


THREADS, ROUNDS = 8, 12


def test_concurrent_writers_on_both_mocks_lose_no_update(pair: tuple[MockServer, ...]) -> None:
    templates = [str(t.id) for t in pair[0].run(pair[0].store.system_templates())
                 if str(t.id) != TROUBLESHOOTING][:THREADS]  # the test notification stays on

    def writer(index: int) -> None:
        clients = [httpx.Client(base_url=mock.url, headers=auth(OWNER)) for mock in pair]
        for round_ in range(ROUNDS):
            client = clients[(index + round_) % 2]
            client.put(PREFS, json={"template_disabled_map": {
                templates[index]: round_ % 2 == 0}}).raise_for_status()
            client.post(TEST).raise_for_status()
        for client in clients:
            client.close()

    run_threads(THREADS, writer)
    last = (ROUNDS - 1) % 2 == 0
    for mock in pair:
        stored = {p["id"]: p["disabled"] for p in call(mock, "GET", PREFS)}
        assert stored == dict.fromkeys(templates, last)
        assert len(call(mock, "GET", "/__mock/outbox")) == THREADS * ROUNDS


def test_concurrent_upserts_through_two_stores_lose_nothing(redis_url: str) -> None:
    config = MockConfig(state_url=redis_url, state_timeout=SLOW_REDIS)
    stores = [MockServer(config).store for _ in range(2)]
    user = stores[0].seed.users[0].id
    templates = [t.id for t in asyncio.run(stores[0].system_templates())[:THREADS]]

    async def rounds(index: int) -> None:
        for n in range(40):
            await stores[(index + n) % 2].upsert_preferences(user, {templates[index]: n % 2 == 1})

    run_threads(THREADS, lambda index: asyncio.run(rounds(index)))
    stored = asyncio.run(stores[1].preferences(user))
    assert {p.template_id: p.disabled for p in stored} == dict.fromkeys(templates, True)


def test_concurrent_takes_fire_a_limited_fault_exactly_times(redis_url: str) -> None:
    books = [FaultBook(RedisFaults(RedisLink(redis_url, timeout=10))) for _ in range(2)]
    asyncio.run(books[0].add(Fault(status=503, times=150)))
    fired: list[Fault] = []

    async def takes(index: int) -> None:
        for n in range(40):
            outcome = await books[(index + n) % 2].take("get-notifications-settings", None)
            fired.extend(outcome.fired if outcome else ())

    run_threads(THREADS, lambda index: asyncio.run(takes(index)))
    assert len(fired) == 150
    assert asyncio.run(books[1].faults()) == []


def test_a_reset_through_one_mock_resets_both(pair: tuple[MockServer, MockServer]) -> None:
    first, second = pair
    seed_state = call(first, "GET", "/__mock/state")
    call(first, "PUT", SETTINGS, json={"notifier_paused": True})
    call(first, "PUT", PREFS, json={"template_disabled_map": {TEMPLATE: True}})
    call(first, "POST", TEST)
    assert call(second, "GET", "/__mock/state") != seed_state
    call(second, "POST", "/__mock/reset")
    assert call(first, "GET", "/__mock/state") == seed_state


def test_loading_other_fixtures_replaces_the_shared_state(pair: tuple[MockServer, ...]) -> None:
    first, second = pair
    call(first, "PUT", "/__mock/fixtures", json={"path": str(OTHER_FIXTURES)})
    assert call(second, "GET", "/__mock/state") == first.run(first.store.snapshot())
    assert first.run(first.store.snapshot())["preferences"] != {}


def test_a_snapshot_restored_through_one_mock_is_the_state_of_both(
        pair: tuple[MockServer, MockServer]) -> None:
    first, second = pair
    call(first, "PUT", PREFS, json={"template_disabled_map": {TEMPLATE: True}})
    call(first, "POST", TEST)
    saved = call(first, "GET", "/__mock/state")
    call(second, "PUT", SETTINGS, json={"notifier_paused": True})
    call(second, "DELETE", "/__mock/outbox")
    call(second, "PUT", "/__mock/state", json=saved)
    assert call(first, "GET", "/__mock/state") == saved
    broken = {**saved, "preferences": {"not-a-uuid": []}}
    assert httpx.put(first.url + "/__mock/state", json=broken).status_code == 400
    assert call(second, "GET", "/__mock/state") == saved


def test_a_replica_that_starts_later_joins_the_state(pair: tuple[MockServer, ...]) -> None:
    call(pair[0], "PUT", SETTINGS, json={"notifier_paused": True})
    late = MockServer(MockConfig(state_url=pair[0].config.state_url))
    assert late.run(late.store.settings_json()) == '{"notifier_paused":true}'
    changes: list[str] = []

    async def listener() -> None:
        changes.append("changed")

    late.store.subscribe(listener)
    late.run(late.store.clear_outbox())
    assert changes == ["changed"]
