"""`--state redis://HOST:PORT/DB`: one mock's state shared by many processes through Redis.

Workers of one machine and replicas on several keep their settings, preferences, outbox,
faults and journal in the keys below, so a team's processes behave as one mock. Users, keys
and templates stay those of the fixture set each process loads. Every write is one Redis
transaction or Lua script, so concurrent writers in different processes never lose an update.
"""

from __future__ import annotations

import functools
import json
import os
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import redis

from mock_server.faults import Fault, FaultBook
from mock_server.journal import Journal
from mock_server.models import Preference, Seed, Template, User
from mock_server.store import Clock, Store, parse_preferences, parse_settings, utc_now

PREFIX = "coder-mock:"
SETTINGS = PREFIX + "settings"  # string: the settings JSON
PREFERENCES = PREFIX + "preferences"  # hash: user id -> JSON [[template id, disabled, at], ...]
OUTBOX = PREFIX + "outbox"  # list of JSON messages, oldest first
SEEDED = PREFIX + "seeded"  # set once the fixtures' state has been written
FAULTS = PREFIX + "faults"  # hash: fault id -> fault JSON
FAULT_TIMES = PREFIX + "fault-times"  # hash: fault id -> calls left, for limited faults
FAULT_IDS = PREFIX + "fault-ids"  # counter
FAULTS_SEEDED = PREFIX + "faults-seeded"  # set once --fault/--latency have been added
JOURNAL = PREFIX + "journal"  # list of JSON entries, oldest first

# Merge changes into a user's rows in place (first-stored order kept) and return them all.
_UPSERT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local rows = raw and cjson.decode(raw) or {}
local at = {}
for i, row in ipairs(rows) do at[row[1]] = i end
for _, change in ipairs(cjson.decode(ARGV[3])) do
  local row = {change[1], change[2], ARGV[2]}
  if at[change[1]] then rows[at[change[1]]] = row else
    rows[#rows + 1] = row
    at[change[1]] = #rows
  end
end
local encoded = '[]'
if #rows > 0 then encoded = cjson.encode(rows) end
redis.call('HSET', KEYS[1], ARGV[1], encoded)
return encoded
"""

# Count one firing of a limited fault: calls left after it, or -1 when another process used it up.
_COUNT_DOWN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[2], ARGV[1]) end
return left
"""


class StateBackendError(ValueError):
    """The shared state cannot be used; the message names the URL (without password) and why."""


def redact(url: str) -> str:
    """The URL as the banner and errors may show it: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3,
                                socket_timeout=10, client_name=f"coder-mock-{os.getpid()}")


def connect(url: str) -> redis.Redis:
    """This process's client for `url` (one pool for store, faults and journal), checked now."""
    try:
        client = _client(url)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise StateBackendError(f"cannot use the shared state at {redact(url)}: {exc} "
                                "(is redis-server running there? see --state)") from None
    return client


def _decode(raw: str | None) -> list[Preference]:
    return [Preference(UUID(tid), bool(disabled), datetime.fromisoformat(at))
            for tid, disabled, at in json.loads(raw)] if raw else []


def _encode(preferences: Iterable[Preference]) -> str:
    unique = {p.template_id: p for p in preferences}  # a restored duplicate keeps its first place
    return json.dumps([[str(p.template_id), p.disabled, p.updated_at.isoformat()]
                       for p in unique.values()])


class RedisStore(Store):
    """Store with settings, preferences and outbox in Redis; the fixture catalog stays local."""

    def __init__(self, seed: Seed, client: redis.Redis, *, clock: Clock = utc_now,
                 template_filter: Callable[[Template], bool] = lambda _t: True) -> None:
        self._redis = client
        self._upsert = client.register_script(_UPSERT)
        super().__init__(seed, clock=clock, template_filter=template_filter)

    def _load(self, seed: Seed) -> None:
        """At start: write the fixtures' state only if no other process has (a replica joins)."""
        self._load_catalog(seed)

        def seed_if_new(pipe: redis.client.Pipeline) -> None:
            if not pipe.exists(SEEDED):
                pipe.multi()
                self._write_seed(pipe, seed)

        self._redis.transaction(seed_if_new, SEEDED)

    def _write_seed(self, pipe: redis.client.Pipeline, seed: Seed) -> None:
        now = self._clock().isoformat()
        pipe.delete(PREFERENCES, OUTBOX)
        pipe.set(SETTINGS, seed.settings_json)
        for user_id, choices in seed.preferences.items():
            pipe.hset(PREFERENCES, str(user_id),
                      json.dumps([[str(tid), disabled, now] for tid, disabled in choices.items()]))
        pipe.set(SEEDED, 1)

    def settings_json(self) -> str:
        """The shared settings text, "" when never written."""
        return self._redis.get(SETTINGS) or ""

    def put_settings_json(self, value: str) -> None:
        """Store new settings text for every process."""
        self._redis.set(SETTINGS, value)
        self._changed()

    def preferences(self, user_id: UUID) -> list[Preference]:
        """The user's stored preferences, in the order they were first stored."""
        return _decode(self._redis.hget(PREFERENCES, str(user_id)))

    def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool]) -> list[Preference]:
        """All or nothing: ids checked here, then one Lua script merges, so no writer is lost."""
        self._check_templates(changes)
        rows = json.dumps([[str(tid), disabled] for tid, disabled in changes.items()])
        raw = self._upsert(keys=[PREFERENCES], args=[str(user_id), self._clock().isoformat(), rows])
        if changes:
            self._changed()
        return _decode(raw)

    def enqueue(self, template_id: UUID, user: User, labels: Mapping[str, str]) -> dict[str, Any]:
        """Append to the shared outbox."""
        message = self._message(template_id, user, labels)
        self._redis.rpush(OUTBOX, json.dumps(message))
        self._changed()
        return message

    def outbox(self) -> list[dict[str, Any]]:
        """Notifications any process enqueued, oldest first."""
        return [json.loads(raw) for raw in self._redis.lrange(OUTBOX, 0, -1)]

    def clear_outbox(self) -> None:
        """Empty the shared outbox."""
        self._redis.delete(OUTBOX)
        self._changed()

    def reset(self, seed: Seed | None = None) -> None:
        """Every process's state back to a seed; only this process's catalog changes with it."""
        seed = seed or self._seed
        with self._redis.pipeline() as pipe:
            self._write_seed(pipe, seed)
            pipe.execute()
        self._load_catalog(seed)
        self._changed()

    def snapshot(self) -> dict[str, Any]:
        """The shared state, read in one transaction so it is consistent."""
        with self._redis.pipeline() as pipe:
            settings, preferences, outbox = (
                pipe.get(SETTINGS).hgetall(PREFERENCES).lrange(OUTBOX, 0, -1).execute())
        return {"settings": settings or "",
                "preferences": {uid: [p.to_json() for p in _decode(raw)]
                                for uid, raw in preferences.items()},
                "outbox": [json.loads(raw) for raw in outbox]}

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Check the whole snapshot, then replace the shared state in one transaction."""
        preferences = parse_preferences(snapshot)
        settings = parse_settings(snapshot)
        outbox = [json.dumps(message) for message in snapshot.get("outbox", [])]
        with self._redis.pipeline() as pipe:
            pipe.set(SETTINGS, settings).delete(PREFERENCES, OUTBOX).set(SEEDED, 1)
            for user_id, stored in preferences.items():
                pipe.hset(PREFERENCES, str(user_id), _encode(stored))
            if outbox:
                pipe.rpush(OUTBOX, *outbox)
            pipe.execute()
        self._changed()


def _fault(raw: str) -> Fault:
    data = json.loads(raw)
    return replace(Fault.from_json(data), id=data["id"])


class RedisFaultBook(FaultBook):
    """Faults every process applies; a limited fault counts down once across all of them."""

    def __init__(self, client: redis.Redis, *, rng: Callable[[], float] = random.random) -> None:
        super().__init__(rng=rng)
        self._redis = client
        self._count_down_script = client.register_script(_COUNT_DOWN)

    def seed(self, faults: Sequence[Fault]) -> None:
        """Add the command line's faults once per shared state, not once per worker or replica."""

        def add_once(pipe: redis.client.Pipeline) -> None:
            if pipe.exists(FAULTS_SEEDED):
                return
            first = int(pipe.incrby(FAULT_IDS, len(faults))) - len(faults) + 1 if faults else 0
            pipe.multi()
            for offset, fault in enumerate(faults):
                self._queue(pipe, replace(fault, id=first + offset))
            pipe.set(FAULTS_SEEDED, 1)

        self._redis.transaction(add_once, FAULTS_SEEDED)

    @staticmethod
    def _queue(pipe: redis.client.Pipeline, fault: Fault) -> None:
        pipe.hset(FAULTS, str(fault.id), json.dumps(fault.to_json()))
        if fault.times is not None:
            pipe.hset(FAULT_TIMES, str(fault.id), fault.times)

    def add(self, fault: Fault) -> Fault:
        """Activate a fault in every process; ids come from one shared counter."""
        fault = replace(fault, id=int(self._redis.incr(FAULT_IDS)))
        with self._redis.pipeline() as pipe:
            self._queue(pipe, fault)
            pipe.execute()
        return fault

    def _stored(self) -> list[Fault]:
        return sorted(map(_fault, self._redis.hvals(FAULTS)), key=lambda fault: fault.id)

    def faults(self) -> list[Fault]:
        """The active faults, oldest first, with the calls each has left now."""
        left = self._redis.hgetall(FAULT_TIMES)
        return [replace(f, times=int(left.get(str(f.id), f.times))) if f.times is not None else f
                for f in self._stored()]

    def remove(self, fault_id: int) -> bool:
        """Deactivate one fault everywhere; False when there was none with that id."""
        with self._redis.pipeline() as pipe:
            removed, _ = pipe.hdel(FAULTS, str(fault_id)).hdel(FAULT_TIMES, str(fault_id)).execute()
        return bool(removed)

    def clear(self) -> None:
        """Deactivate every fault everywhere."""
        self._redis.delete(FAULTS, FAULT_TIMES)

    def _has_faults(self) -> bool:
        """One cheap round trip before reading the faults themselves."""
        return bool(self._redis.hlen(FAULTS))

    def _count_down(self, fault: Fault) -> bool:
        """One of the calls a limited fault has left, taken atomically across processes."""
        return int(self._count_down_script(keys=[FAULTS, FAULT_TIMES], args=[fault.id])) >= 0


class RedisJournal(Journal):
    """One journal for every process, trimmed to the newest `size` calls."""

    def __init__(self, client: redis.Redis, size: int = 1000) -> None:
        super().__init__(size)
        self._redis = client
        self._size = size

    def record(self, entry: dict[str, Any]) -> None:
        """Append and trim in one transaction."""
        with self._redis.pipeline() as pipe:
            pipe.rpush(JOURNAL, json.dumps(entry)).ltrim(JOURNAL, -self._size, -1).execute()

    def _recent(self, limit: int | None) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self._redis.lrange(JOURNAL, -limit if limit else 0, -1)]

    def clear(self) -> None:
        """Forget every call, of every process."""
        self._redis.delete(JOURNAL)
