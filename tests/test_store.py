"""The Store: one lock around all state; concurrent writers lose nothing; snapshots round-trip."""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest

from mock_server.config import DEFAULT_FIXTURES
from mock_server.fixtures import load_seed
from mock_server.models import Seed
from mock_server.store import Store, UnknownTemplate
from tests.helpers import run_threads

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


def system_store(seed: Seed, clock: Callable[[], datetime] = yielding_clock) -> Store:
    return Store(seed, clock=clock, template_filter=lambda t: t.feature != "tasks")


@pytest.mark.usefixtures("contention")
def test_concurrent_preference_upserts_lose_nothing(seed: Seed) -> None:
    store = system_store(seed)
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
def test_concurrent_writers_of_one_user_keep_one_row_per_template(seed: Seed) -> None:
    store = system_store(seed)
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
def test_concurrent_settings_writes_are_each_seen_once(seed: Seed) -> None:
    store = system_store(seed)
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


@pytest.mark.usefixtures("contention")
def test_concurrent_enqueues_are_all_kept(seed: Seed) -> None:
    store = system_store(seed)
    owner = seed.users[0]

    def work(index: int) -> None:
        for round_ in range(ROUNDS):
            store.enqueue(TROUBLESHOOTING, owner, labels={"n": f"{index}-{round_}"})

    run_threads(THREADS, work)
    labels = [message["labels"]["n"] for message in store.outbox()]
    assert sorted(labels) == sorted(f"{i}-{r}" for i in range(THREADS) for r in range(ROUNDS))
    assert len({message["id"] for message in store.outbox()}) == THREADS * ROUNDS


def test_an_unknown_template_writes_nothing_at_all(seed: Seed) -> None:
    store = system_store(seed)
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


def busy_store(seed: Seed) -> Store:
    """A store after a little of everything."""
    store = system_store(seed, clock=Ticker())
    admin, member = seed.users[0], seed.users[1]
    templates = [template.id for template in store.system_templates()]
    store.put_settings_json('{"notifier_paused":true}')
    store.upsert_preferences(admin.id, {templates[0]: True, templates[1]: False})
    store.upsert_preferences(member.id, {templates[2]: True})
    store.upsert_preferences(admin.id, {templates[0]: False})
    store.enqueue(TROUBLESHOOTING, admin, labels={})
    return store


def test_a_snapshot_is_json_and_restores_exactly(seed: Seed) -> None:
    store = busy_store(seed)
    snapshot = json.loads(json.dumps(store.snapshot()))
    fresh = system_store(seed)
    fresh.restore(snapshot)
    assert fresh.snapshot() == snapshot
    assert fresh.settings_json() == '{"notifier_paused":true}'
    assert fresh.outbox() == store.outbox()
    for user in seed.users:
        assert fresh.preferences(user.id) == store.preferences(user.id)


def test_a_snapshot_keeps_sub_second_timestamps(seed: Seed) -> None:
    store = busy_store(seed)
    times = [p["updated_at"] for prefs in store.snapshot()["preferences"].values()
             for p in prefs]
    assert times == ["2025-07-06T09:12:49.25Z", "2025-07-06T09:12:46.75Z",
                     "2025-07-06T09:12:48Z"]


def test_writes_after_a_restore_append_in_order(seed: Seed) -> None:
    store = busy_store(seed)
    fresh = system_store(seed)
    fresh.restore(store.snapshot())
    admin = seed.users[0].id
    extra = store.system_templates()[5].id
    answer = fresh.upsert_preferences(admin, {extra: True})
    assert [p.template_id for p in answer] == [p.template_id for p in
                                               store.preferences(admin)] + [extra]


def test_restoring_an_empty_snapshot_clears_state(seed: Seed) -> None:
    store = busy_store(seed)
    store.restore({})
    assert store.snapshot() == {"settings": "", "preferences": {}, "outbox": []}


def test_reset_returns_to_the_seed_and_notifies(seed: Seed) -> None:
    store = busy_store(seed)
    notified = itertools.count()
    store.subscribe(lambda: next(notified))
    store.reset()
    assert store.snapshot() == {"settings": "", "preferences": {}, "outbox": []}
    assert next(notified) == 1


def test_listeners_hear_changes_only(seed: Seed) -> None:
    store = system_store(seed)
    notified = itertools.count()
    store.subscribe(lambda: next(notified))
    user = seed.users[0].id
    store.upsert_preferences(user, {})
    store.preferences(user)
    store.snapshot()
    assert next(notified) == 0
    store.upsert_preferences(user, {store.system_templates()[0].id: True})
    store.put_settings_json('{"notifier_paused":false}')
    store.enqueue(TROUBLESHOOTING, seed.users[0], labels={})
    store.restore(store.snapshot())
    assert next(notified) == 5
