"""The remembered callers of auth.CallerCache: a hit answers what a fresh check would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from mock_server import errors
from mock_server.auth import CallerCache, authenticate
from mock_server.config import DEFAULT_FIXTURES
from mock_server.fixtures import load_seed
from mock_server.state.store import Store

pytestmark = pytest.mark.anyio

START = datetime(2026, 1, 1, tzinfo=UTC)
EXPIRY = START + timedelta(hours=1)
OWNER = "AdminToken-adminSecretValue000000"


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def _expiring_store() -> Store:
    """The default fixtures, the owner's key expiring at EXPIRY."""
    seed = load_seed(DEFAULT_FIXTURES)
    keys = tuple(replace(k, expires_at=EXPIRY) if k.token == OWNER else k for k in seed.keys)
    return Store(replace(seed, keys=keys))


async def _nothing(store: Store, clock: Clock) -> None:
    return None


async def _expire(store: Store, clock: Clock) -> None:
    clock.now = EXPIRY


async def _drop_owner_key(store: Store, clock: Clock) -> None:
    await store.reset(replace(store.seed, keys=tuple(
        k for k in store.seed.keys if k.token != OWNER)))


async def _suspend_owner(store: Store, clock: Clock) -> None:
    await store.reset(replace(store.seed, users=tuple(
        replace(u, status="suspended") if u.username == "admin" else u
        for u in store.seed.users)))


Change = Callable[[Store, Clock], Awaitable[None]]

# What happens between two calls with the owner's token → the second call's 401 detail (None:
# signed in).
CASES: list[tuple[Change, str | None]] = [
    (_nothing, None),
    (_expire, "API key expired at"),
    (_drop_owner_key, "API key is invalid."),
    (_suspend_owner, ""),
]


@pytest.mark.parametrize(("change", "refusal"), CASES, ids=lambda c: getattr(c, "__name__", c))
async def test_a_remembered_caller_answers_as_a_fresh_check(change: Change,
                                                            refusal: str | None) -> None:
    store, clock = _expiring_store(), Clock()
    cache = CallerCache(store)
    assert cache.authenticate(OWNER, clock).user.username == "admin"
    await change(store, clock)
    try:
        fresh = authenticate(store, OWNER, now=clock())
    except errors.CoderError as error:
        fresh = error
    if refusal is None:
        assert cache.authenticate(OWNER, clock) == fresh
        return
    assert isinstance(fresh, errors.CoderError)
    with pytest.raises(errors.CoderError) as raised:
        cache.authenticate(OWNER, clock)
    assert raised.value.status == fresh.status == 401
    assert raised.value.detail.startswith(refusal)
    assert raised.value.detail == fresh.detail
    assert raised.value.message == fresh.message


async def test_a_wrong_secret_is_never_answered_from_the_cache() -> None:
    store, clock = _expiring_store(), Clock()
    cache = CallerCache(store)
    cache.authenticate(OWNER, clock)
    with pytest.raises(errors.CoderError) as raised:
        cache.authenticate(OWNER[:-1] + "1", clock)
    assert raised.value.detail == "API key secret is invalid."
