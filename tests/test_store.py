"""The Store over every state backend (memory, and a real Redis): concurrent writers lose
nothing, an unknown template writes nothing, snapshots round-trip, listeners hear changes."""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
import redis

from mock_server.config import DEFAULT_FIXTURES
from mock_server.fixtures import load_seed
from mock_server.models import Seed, User
from mock_server.state import StateBackend, Store, UnknownTemplate
from mock_server.state.memory import MemoryState
from mock_server.state.redis_state import RedisState
from tests.helpers import run_threads
from tests.redis_server import redis_server

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

    def backend() -> StateBackend:
        if request.param == "memory":
            return MemoryState()
        url = request.getfixturevalue("redis_url").rpartition("/")[0]
        client = redis.Redis.from_url(f"{url}/{next(databases)}", decode_responses=True)
        client.flushdb()
        return RedisState(client)

    def make(clock: Callable[[], datetime] = yielding_clock) -> Store:
        return Store(seed, backend(), clock=clock)

    return make


@pytest.mark.usefixtures("contention")
def test_concurrent_preference_upserts_lose_nothing(seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    users = [user.id for user in seed.users]
    templates = [template.id for template in store.system_templates()][:THREADS]
    notified = itertools.count()
    store.subscribe(lambda: next(notified))

    def work(index: int) -> None:
        """Thread `index` alone writes template `index`, for every user, ROUNDS times."""
        mine = templates[index]
        for round_ in range(ROUNDS):
            user = users[round_ % len(users)]
            disabled = (round_ + index) % 2 == 0
            answer = store.upsert_preferences(user, {mine: disabled})
            assert {p.template_id: p.disabled for p in answer}[mine] is disabled
            assert {p.template_id: p.disabled for p in store.preferences(user)}[mine] is disabled
            store.snapshot()

    run_threads(THREADS, work)
    for position, user in enumerate(users):
        stored = store.preferences(user)
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
    templates = [template.id for template in store.system_templates()]

    def work(index: int) -> None:
        for round_ in range(ROUNDS):
            chosen = {templates[(index + round_ + k) % len(templates)]: bool(k % 2)
                      for k in range(3)}
            answer = store.upsert_preferences(user, chosen)
            assert len({p.template_id for p in answer}) == len(answer)

    run_threads(THREADS, work)
    stored = store.preferences(user)
    assert sorted(p.template_id for p in stored) == sorted(templates)


@pytest.mark.usefixtures("contention")
def test_concurrent_settings_writes_are_each_seen_once(
        seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    values = ['{"notifier_paused":true}', '{"notifier_paused":false}']
    notified = itertools.count()
    store.subscribe(lambda: next(notified))

    def work(index: int) -> None:
        for round_ in range(ROUNDS):
            store.put_settings_json(values[(index + round_) % 2])
            assert store.settings_json() in values

    run_threads(THREADS, work)
    assert store.settings_json() in values
    assert next(notified) == THREADS * ROUNDS


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

    def work(index: int) -> None:
        for round_ in range(ROUNDS):
            store.record(outbox=[message(owner, f"{index}-{round_}")])
            kept.append(store.record(outbox=[message(owner, "same", dedupe=f"d{round_}")],
                                     dedupe=f"d{round_}"))

    run_threads(THREADS, work)
    labels = [m["labels"]["n"] for m in store.outbox() if m["labels"]["n"] != "same"]
    assert sorted(labels) == sorted(f"{i}-{r}" for i in range(THREADS) for r in range(ROUNDS))
    assert kept.count(True) == ROUNDS
    assert len({m["id"] for m in store.outbox()}) == THREADS * ROUNDS + ROUNDS


def test_held_messages_are_handed_out_once_and_keep_their_dedupe_key(
        seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    owner = seed.users[0]
    held = message(owner, "held", dedupe="k")
    assert store.record(pending=[held], dedupe="k")
    assert not store.record(outbox=[message(owner, "again", dedupe="k")], dedupe="k")
    store.clear_outbox()
    assert not store.record(pending=[held], dedupe="k"), "a held message still counts"
    assert store.take_pending() == [held]
    assert store.take_pending() == []


def test_inbox_rows_are_the_users_own_and_change_read_state(
        seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    admin, member = seed.users[0], seed.users[1]
    before = {user.id: store.inbox(user.id) for user in (admin, member)}
    mine, theirs = row(admin, 1), row(member, 2)
    store.record(inbox=[mine, theirs])
    assert store.inbox(admin.id) == [*before[admin.id], mine]
    assert store.set_read(member.id, mine["id"], read=True) is None, "not the member's"
    changed = store.set_read(admin.id, mine["id"], read=True)
    assert changed is not None
    assert changed["read_at"] is not None
    assert store.inbox(admin.id)[-1] == changed
    assert store.set_read(admin.id, mine["id"], read=False) == mine
    store.mark_all_read(member.id)
    assert all(r["read_at"] is not None for r in store.inbox(member.id))
    assert store.inbox(admin.id)[-1]["read_at"] is None, "one user's mark-all is theirs only"


def test_template_methods_show_in_the_lists(seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    first = store.system_templates()[0]
    store.set_template_method(first.id, "webhook")
    assert store.system_templates()[0].method == "webhook"
    assert json.loads(store.system_templates_json())[0]["method"] == "webhook"
    assert store.template(first.id).method == "webhook"
    assert make_store().system_templates()[0].method == first.method, "a store of its own"


def test_an_unknown_template_writes_nothing_at_all(seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    user = seed.users[0].id
    known = store.system_templates()[0].id
    unknown = UUID(int=1)
    with pytest.raises(UnknownTemplate) as caught:
        store.upsert_preferences(user, {known: True, unknown: True})
    assert caught.value.template_id == unknown
    assert store.preferences(user) == []


class Ticker:
    """1.25 s per reading, from a time with microseconds, so timestamps vary in precision."""

    def __init__(self) -> None:
        self.now = datetime(2025, 7, 6, 9, 12, 44, 250000, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1.25)
        return self.now


def busy_store(seed: Seed, make_store: StoreFactory) -> Store:
    """A store after a little of everything."""
    store = make_store(clock=Ticker())
    admin, member = seed.users[0], seed.users[1]
    templates = [template.id for template in store.system_templates()]
    store.put_settings_json('{"notifier_paused":true}')
    store.upsert_preferences(admin.id, {templates[0]: True, templates[1]: False})
    store.upsert_preferences(member.id, {templates[2]: True})
    store.upsert_preferences(admin.id, {templates[0]: False})
    store.record(outbox=[message(admin, "sent", dedupe="s")], pending=[message(member, "held")],
                 inbox=[row(member, 3), row(admin, 4, read_at="2025-07-06T10:00:00.5Z")],
                 dedupe="s")
    store.set_template_method(templates[3], "inbox")
    return store


def test_a_snapshot_is_json_and_restores_exactly(seed: Seed, make_store: StoreFactory) -> None:
    store = busy_store(seed, make_store)
    snapshot = json.loads(json.dumps(store.snapshot()))
    fresh = make_store()
    fresh.restore(snapshot)
    assert fresh.snapshot() == snapshot
    assert fresh.settings_json() == '{"notifier_paused":true}'
    assert fresh.outbox() == store.outbox()
    for user in seed.users:
        assert fresh.preferences(user.id) == store.preferences(user.id)
        assert fresh.inbox(user.id) == store.inbox(user.id)
    assert fresh.system_templates() == store.system_templates()
    assert not fresh.record(outbox=[message(seed.users[0], "x", dedupe="s")], dedupe="s")


def test_a_snapshot_keeps_sub_second_timestamps(seed: Seed, make_store: StoreFactory) -> None:
    store = busy_store(seed, make_store)
    preferences = store.snapshot()["preferences"]
    times = [p["updated_at"] for user in seed.users[:2] for p in preferences[str(user.id)]]
    assert times == ["2025-07-06T09:12:49.25Z", "2025-07-06T09:12:46.75Z",
                     "2025-07-06T09:12:48Z"]


def test_writes_after_a_restore_append_in_order(seed: Seed, make_store: StoreFactory) -> None:
    store = busy_store(seed, make_store)
    fresh = make_store()
    fresh.restore(store.snapshot())
    admin = seed.users[0].id
    extra = store.system_templates()[5].id
    answer = fresh.upsert_preferences(admin, {extra: True})
    assert [p.template_id for p in answer] == [p.template_id for p in
                                               store.preferences(admin)] + [extra]


def test_restoring_an_empty_snapshot_clears_state(seed: Seed, make_store: StoreFactory) -> None:
    store = busy_store(seed, make_store)
    store.restore({})
    assert store.snapshot() == {"settings": "", "preferences": {}, "outbox": [], "pending": [],
                                "inbox": [], "template_methods": {}, "dedupe": []}


def test_reset_returns_to_the_seed_and_notifies(seed: Seed, make_store: StoreFactory) -> None:
    seeded = make_store(clock=Ticker()).snapshot()
    store = busy_store(seed, make_store)
    notified = itertools.count()
    store.subscribe(lambda: next(notified))
    store.reset()
    assert store.snapshot() == seeded
    assert next(notified) == 1


def test_listeners_hear_changes_only(seed: Seed, make_store: StoreFactory) -> None:
    store = make_store()
    notified = itertools.count()
    store.subscribe(lambda: next(notified))
    user = seed.users[0].id
    store.upsert_preferences(user, {})
    store.preferences(user)
    store.snapshot()
    assert next(notified) == 0
    store.upsert_preferences(user, {store.system_templates()[0].id: True})
    store.put_settings_json('{"notifier_paused":false}')
    store.record(outbox=[message(seed.users[0], "x")])
    store.restore(store.snapshot())
    assert next(notified) == 5
