"""The Store over every state backend (memory, and a real Redis): concurrent writers lose
nothing, an unknown template writes nothing, snapshots round-trip, listeners hear changes."""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
import redis

from mock_server.config import DEFAULT_FIXTURES
from mock_server.fixtures import load_seed
from mock_server.models import Seed, User
from mock_server.state import State, StateBackend, Store, UnknownTemplate
from mock_server.state.backend import Limits
from mock_server.state.memory import MemoryState
from mock_server.state.redis_link import RedisLink
from mock_server.state.redis_state import RedisState
from tests.helpers import run_threads
from tests.redis_server import redis_server

pytestmark = pytest.mark.anyio
THREADS = 20  # fewer than the 23 system templates: one each
ROUNDS = 60
TROUBLESHOOTING = UUID("c425f63e-716a-4bf4-ae24-78348f706c3f")


@pytest.fixture(scope="module")
def seed() -> Seed:
    return load_seed(DEFAULT_FIXTURES)


@pytest.fixture
def contention() -> Iterator[None]:
    """Switch threads as often as CPython allows, so races show up if there are any."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def yielding_clock() -> datetime:
    """A clock that gives other threads a turn inside the store's critical sections."""
    time.sleep(0)
    return datetime.now(UTC)


StoreFactory = Callable[..., Store]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real redis-server for the module; each store gets a database of its own."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
def make_store(request: pytest.FixtureRequest, seed: Seed) -> StoreFactory:
    """Stores of the fixture set, each on a new, empty backend of the engine under test."""
    databases = itertools.count()

    def backend(limits: Limits | None) -> StateBackend:
        if request.param == "memory":
            return MemoryState(limits)
        url = request.getfixturevalue("redis_url").rpartition("/")[0]
        database = f"{url}/{next(databases)}"
        redis.Redis.from_url(database).flushdb()
        return RedisState(RedisLink(database, timeout=30), limits)  # 20 threads, 1 µs turns

    def make(clock: Callable[[], datetime] = yielding_clock, limits: Limits | None = None) -> Store:
        return Store(seed, backend(limits), clock=clock)

    return make


def run(work: Coroutine[Any, Any, T]) -> T:
    """One coroutine on a loop of its own (each thread below is a process of its own)."""
    return asyncio.run(work)


T = TypeVar("T")


def counter() -> tuple[Callable[[], Awaitable[None]], itertools.count[int]]:
    """A listener, and how many times it was called (next() of the count)."""
    calls = itertools.count()

    async def listener() -> None:
        next(calls)

    return listener, calls


@pytest.mark.usefixtures("contention")
def test_concurrent_preference_upserts_lose_nothing(seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    users = [user.id for user in seed.users]
    templates = [template.id for template in run(store.system_templates())][:THREADS]
    listener, notified = counter()
    store.subscribe(listener)

    async def rounds(index: int) -> None:
        """Thread `index` alone writes template `index`, for every user, ROUNDS times."""
        mine = templates[index]
        for round_ in range(ROUNDS):
            user = users[round_ % len(users)]
            disabled = (round_ + index) % 2 == 0
            answer = await store.upsert_preferences(user, {mine: disabled})
            assert {p.template_id: p.disabled for p in answer}[mine] is disabled
            stored = await store.preferences(user)
            assert {p.template_id: p.disabled for p in stored}[mine] is disabled
            await store.snapshot()

    run_threads(THREADS, lambda index: run(rounds(index)))
    for position, user in enumerate(users):
        stored = run(store.preferences(user))
        assert sorted(p.template_id for p in stored) == sorted(templates)
        finals = {p.template_id: p.disabled for p in stored}
        last_round = max(r for r in range(ROUNDS) if r % len(users) == position)
        assert finals == {t: (last_round + i) % 2 == 0 for i, t in enumerate(templates)}
    assert next(notified) == THREADS * ROUNDS


@pytest.mark.usefixtures("contention")
def test_concurrent_writers_of_one_user_keep_one_row_per_template(
        seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    user = seed.users[1].id
    templates = [template.id for template in run(store.system_templates())]

    async def rounds(index: int) -> None:
        for round_ in range(ROUNDS):
            chosen = {templates[(index + round_ + k) % len(templates)]: bool(k % 2)
                      for k in range(3)}
            answer = await store.upsert_preferences(user, chosen)
            assert len({p.template_id for p in answer}) == len(answer)

    run_threads(THREADS, lambda index: run(rounds(index)))
    stored = run(store.preferences(user))
    assert sorted(p.template_id for p in stored) == sorted(templates)


@pytest.mark.usefixtures("contention")
def test_racing_writers_of_one_settings_value_change_it_once(
        seed: Seed, make_store: StoreFactory) -> None:
    """Compare-and-set: of the writers of one new value, exactly one changed it (one 200)."""
    store = make_store()
    values = ['{"notifier_paused":true}', '{"notifier_paused":false}']
    listener, notified = counter()
    store.subscribe(listener)
    changed: list[tuple[int, bool]] = []
    barrier = threading.Barrier(THREADS)

    async def rounds(_index: int) -> None:
        for round_ in range(ROUNDS):
            barrier.wait()  # every thread has a loop of its own: blocking it blocks no other
            changed.append((round_, await store.put_settings_json(values[round_ % 2])))
            assert await store.settings_json() == values[round_ % 2]

    run_threads(THREADS, lambda index: run(rounds(index)))
    assert sorted(r for r, won in changed if won) == list(range(ROUNDS)), "one winner a round"
    assert next(notified) == ROUNDS


def message(user: User, n: str, *, dedupe: str | None = None) -> dict[str, Any]:
    """An outbox message as delivery records it (the store never looks inside)."""
    return {"id": str(uuid4()), "template_id": str(TROUBLESHOOTING), "user_id": str(user.id),
            "method": "smtp", "labels": {"n": n}, "dedupe": dedupe}


def row(user: User, n: int, *, read_at: str | None = None) -> dict[str, Any]:
    """An inbox row, created `n` seconds into 2099-07-06 (after any fixture's rows)."""
    return {"id": str(UUID(int=n + 1)), "user_id": str(user.id),
            "template_id": str(TROUBLESHOOTING), "targets": [], "title": f"t{n}",
            "content": f"**{n}**", "icon": "", "actions": [{"label": "Go", "url": "/x"}],
            "read_at": read_at, "created_at": f"2099-07-06T00:00:{n:02d}Z"}


@pytest.mark.usefixtures("contention")
def test_concurrent_records_are_all_kept_and_a_dedupe_key_is_kept_once(
        seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    owner = seed.users[0]
    kept: list[bool] = []

    async def rounds(index: int) -> None:
        for round_ in range(ROUNDS):
            await store.record(outbox=[message(owner, f"{index}-{round_}")])
            kept.append(await store.record(
                outbox=[message(owner, "same", dedupe=f"d{round_}")], dedupe=f"d{round_}"))

    run_threads(THREADS, lambda index: run(rounds(index)))
    outbox = run(store.outbox())
    labels = [m["labels"]["n"] for m in outbox if m["labels"]["n"] != "same"]
    assert sorted(labels) == sorted(f"{i}-{r}" for i in range(THREADS) for r in range(ROUNDS))
    assert kept.count(True) == ROUNDS
    assert len({m["id"] for m in outbox}) == THREADS * ROUNDS + ROUNDS


async def test_held_messages_are_handed_out_once_and_keep_their_dedupe_key(
        seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    owner = seed.users[0]
    held = message(owner, "held", dedupe="k")
    assert await store.record(pending=[held], dedupe="k")
    assert not await store.record(outbox=[message(owner, "again", dedupe="k")], dedupe="k")
    await store.clear_outbox()
    assert not await store.record(pending=[held], dedupe="k"), "a held message still counts"
    assert await store.take_pending() == [held]
    assert await store.take_pending() == []


async def test_inbox_rows_are_the_users_own_and_change_read_state(
        seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    admin, member = seed.users[0], seed.users[1]
    before = {user.id: await store.inbox(user.id) for user in (admin, member)}
    mine, theirs = row(admin, 1), row(member, 2)
    await store.record(inbox=[mine, theirs])
    assert await store.inbox(admin.id) == [*before[admin.id], mine]
    assert await store.set_read(member.id, mine["id"], read=True) is None, "not the member's"
    changed = await store.set_read(admin.id, mine["id"], read=True)
    assert changed is not None
    assert changed["read_at"] is not None
    assert (await store.inbox(admin.id))[-1] == changed
    assert await store.set_read(admin.id, mine["id"], read=False) == mine
    await store.mark_all_read(member.id)
    assert all(r["read_at"] is not None for r in await store.inbox(member.id))
    assert (await store.inbox(admin.id))[-1]["read_at"] is None, "mark-all is the user's only"


@pytest.mark.parametrize("limits", [Limits(outbox=3, inbox=2, dedupe=4)])
async def test_the_limits_keep_the_newest_and_count_the_rest(
        seed: Seed, make_store: StoreFactory, limits: Limits) -> None:
    store = make_store(limits=limits)
    owner = seed.users[0]
    for n in range(5):
        assert await store.record(outbox=[message(owner, str(n))], pending=[message(owner, "p")],
                                  inbox=[row(owner, 10 + n)], dedupe=f"k{n}")
    assert [m["labels"]["n"] for m in await store.outbox()] == ["2", "3", "4"]
    assert [r["title"] for r in await store.inbox(owner.id)] == ["t13", "t14"]
    assert len((await store.snapshot())["pending"]) == 3
    assert await store.record(outbox=[message(owner, "again")], dedupe="k0"), "k0 was dropped"
    assert not await store.record(outbox=[message(owner, "again")], dedupe="k4")
    seeded = len(State.from_seed(seed, yielding_clock()).inbox.get(owner.id, ()))
    assert await store.dropped() == {"outbox": 3, "pending": 2, "inbox": seeded + 5 - 2,
                                     "dedupe": 2}


async def test_template_methods_show_in_the_lists(seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    first = (await store.system_templates())[0]
    await store.set_template_method(first.id, "webhook")
    assert (await store.system_templates())[0].method == "webhook"
    assert json.loads(await store.system_templates_json())[0]["method"] == "webhook"
    assert (await store.template(first.id)).method == "webhook"
    other = make_store()
    assert (await other.system_templates())[0].method == first.method, "a store of its own"


async def test_an_unknown_template_writes_nothing_at_all(seed: Seed,
                                                         make_store: StoreFactory) -> None:
    store = make_store()
    user = seed.users[0].id
    known = (await store.system_templates())[0].id
    unknown = UUID(int=1)
    with pytest.raises(UnknownTemplate) as caught:
        await store.upsert_preferences(user, {known: True, unknown: True})
    assert caught.value.template_id == unknown
    assert await store.preferences(user) == []


class Ticker:
    """1.25 s per reading, from a time with microseconds, so timestamps vary in precision."""

    def __init__(self) -> None:
        self.now = datetime(2025, 7, 6, 9, 12, 44, 250000, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1.25)
        return self.now


async def busy_store(seed: Seed, make_store: StoreFactory) -> Store:
    """A store after a little of everything."""
    store = make_store(clock=Ticker())
    admin, member = seed.users[0], seed.users[1]
    templates = [template.id for template in await store.system_templates()]
    await store.put_settings_json('{"notifier_paused":true}')
    await store.upsert_preferences(admin.id, {templates[0]: True, templates[1]: False})
    await store.upsert_preferences(member.id, {templates[2]: True})
    await store.upsert_preferences(admin.id, {templates[0]: False})
    await store.record(outbox=[message(admin, "sent", dedupe="s")],
                       pending=[message(member, "held")],
                       inbox=[row(member, 3), row(admin, 4, read_at="2025-07-06T10:00:00.5Z")],
                       dedupe="s")
    await store.set_template_method(templates[3], "inbox")
    return store


async def test_a_snapshot_is_json_and_restores_exactly(seed: Seed,
                                                       make_store: StoreFactory) -> None:
    store = await busy_store(seed, make_store)
    snapshot = json.loads(json.dumps(await store.snapshot()))
    fresh = make_store()
    await fresh.restore(snapshot)
    assert await fresh.snapshot() == snapshot
    assert await fresh.settings_json() == '{"notifier_paused":true}'
    assert await fresh.outbox() == await store.outbox()
    for user in seed.users:
        assert await fresh.preferences(user.id) == await store.preferences(user.id)
        assert await fresh.inbox(user.id) == await store.inbox(user.id)
    assert await fresh.system_templates() == await store.system_templates()
    assert not await fresh.record(outbox=[message(seed.users[0], "x", dedupe="s")], dedupe="s")


async def test_a_snapshot_keeps_sub_second_timestamps(seed: Seed,
                                                      make_store: StoreFactory) -> None:
    store = await busy_store(seed, make_store)
    preferences = (await store.snapshot())["preferences"]
    times = [p["updated_at"] for user in seed.users[:2] for p in preferences[str(user.id)]]
    assert times == ["2025-07-06T09:12:49.25Z", "2025-07-06T09:12:46.75Z",
                     "2025-07-06T09:12:48Z"]


async def test_writes_after_a_restore_append_in_order(seed: Seed,
                                                      make_store: StoreFactory) -> None:
    store = await busy_store(seed, make_store)
    fresh = make_store()
    await fresh.restore(await store.snapshot())
    admin = seed.users[0].id
    extra = (await store.system_templates())[5].id
    answer = await fresh.upsert_preferences(admin, {extra: True})
    assert [p.template_id for p in answer] == [p.template_id for p in
                                               await store.preferences(admin)] + [extra]


async def test_restoring_an_empty_snapshot_clears_state(seed: Seed,
                                                        make_store: StoreFactory) -> None:
    store = await busy_store(seed, make_store)
    await store.restore({})
    assert await store.snapshot() == {"settings": "", "preferences": {}, "outbox": [],
                                      "pending": [], "inbox": [], "template_methods": {},
                                      "dedupe": []}


async def test_reset_returns_to_the_seed_and_notifies(seed: Seed,
                                                      make_store: StoreFactory) -> None:
    seeded = await make_store(clock=Ticker()).snapshot()
    store = await busy_store(seed, make_store)
    listener, notified = counter()
    store.subscribe(listener)
    await store.reset()
    assert await store.snapshot() == seeded
    assert next(notified) == 1


async def test_listeners_hear_changes_only(seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    listener, notified = counter()
    store.subscribe(listener)
    user = seed.users[0].id
    await store.upsert_preferences(user, {})
    await store.preferences(user)
    await store.snapshot()
    await store.put_settings_json("")  # unchanged: nothing to hear
    assert next(notified) == 0
    await store.upsert_preferences(user, {(await store.system_templates())[0].id: True})
    await store.put_settings_json('{"notifier_paused":false}')
    await store.record(outbox=[message(seed.users[0], "x")])
    await store.restore(await store.snapshot())
    assert next(notified) == 5


async def test_a_store_joining_a_held_state_keeps_it(seed: Seed,
                                                     make_store: StoreFactory) -> None:
    """A second process (replica, restarted worker) seeds nothing over the state it finds."""
    store = await busy_store(seed, make_store)
    backend = store._backend  # the same engine, as another process would reach it
    joined = Store(seed, backend)
    assert await joined.snapshot() == await store.snapshot()
    assert joined.data_lost == []
