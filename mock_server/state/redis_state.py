"""Settings, preferences, messages, inboxes and template methods in Redis (`--state redis://`).

Values are the parts of the State's JSON form. Every write is one Lua script (redis_scripts.py)
or one optimistic transaction, so concurrent writers in different processes never lose an
update. A state is seeded only while the seed marker is missing, and a seed never writes over a
key that exists: a worker or replica starting after Redis lost its data restores the fixture
parts nobody has written since, and no acknowledged write.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import redis.asyncio

from mock_server import wire
from mock_server.models import Preference
from mock_server.state import redis_scripts
from mock_server.state.backend import Limits
from mock_server.state.keys import (
    DEDUPE,
    DEDUPE_ORDER,
    DROPPED,
    INBOX,
    INBOX_USERS,
    METHODS,
    OUTBOX,
    PENDING,
    PREFERENCES,
    SEEDED,
    SETTINGS,
)
from mock_server.state.model import (
    InboxRow,
    Message,
    State,
    parse_preferences,
    preferences_json,
)
from mock_server.state.redis_link import RedisLink, guarded

_STATE_KEYS = [SEEDED, SETTINGS, PREFERENCES, OUTBOX, PENDING, DEDUPE, DEDUPE_ORDER,
               INBOX_USERS, METHODS]
DROPPED_PARTS = ("outbox", "pending", "inbox", "dedupe")


def _preferences(raw: str | None) -> tuple[Preference, ...]:
    return parse_preferences(json.loads(raw)) if raw else ()


def _counted(items: Sequence[Any]) -> list[Any]:
    return [len(items), *items]


def _state_args(mode: str, state: State) -> list[Any]:
    """WRITE_STATE's arguments: mode, generation, inbox prefix, then each part counted."""
    args: list[Any] = [mode, str(uuid.uuid4()), INBOX, state.settings]
    args += [len(state.preferences), *(v for uid, rows in state.preferences.items()
                                       for v in (str(uid), json.dumps(preferences_json(rows))))]
    args += _counted([json.dumps(m) for m in state.outbox])
    args += _counted([json.dumps(m) for m in state.pending])
    args.append(len(state.inbox))
    for user_id, rows in state.inbox.items():
        args += [str(user_id), *_counted([json.dumps(row) for row in rows])]
    args.append(len(state.template_methods))
    args += [v for tid, method in state.template_methods.items() for v in (str(tid), method)]
    args += _counted(sorted(state.dedupe))
    return args


class RedisState:
    """StateBackend in Redis."""

    def __init__(self, link: RedisLink, limits: Limits | None = None) -> None:
        self._link = link
        self.limits = limits or Limits()

    def _redis(self) -> redis.asyncio.Redis:
        return self._link.client()

    def epoch(self) -> int:
        """A new connection may reach a Redis that restarted empty."""
        return self._link.epoch()

    @guarded
    async def initialise(self, state: State) -> bool:
        """Seed only while the marker is missing, and never over a key that exists."""
        script = self._link.script(redis_scripts.WRITE_STATE)
        return bool(await script(keys=_STATE_KEYS, args=_state_args("seed", state)))

    @guarded
    async def read(self) -> State:
        """Every part, read in one transaction so they agree."""
        users = sorted(await self._redis().smembers(INBOX_USERS))
        async with self._redis().pipeline() as pipe:
            pipe.get(SETTINGS).hgetall(PREFERENCES).lrange(OUTBOX, 0, -1)
            pipe.lrange(PENDING, 0, -1).hgetall(METHODS).smembers(DEDUPE)
            for user in users:
                pipe.lrange(INBOX + user, 0, -1)
            settings, preferences, outbox, pending, methods, dedupe, *inboxes = \
                await pipe.execute()
        return State(
            settings=settings or "", outbox=tuple(map(json.loads, outbox)),
            preferences={UUID(uid): _preferences(raw) for uid, raw in preferences.items()},
            pending=tuple(map(json.loads, pending)),
            inbox={UUID(user): tuple(map(json.loads, rows))
                   for user, rows in zip(users, inboxes, strict=True) if rows},
            template_methods={UUID(tid): method for tid, method in methods.items()},
            dedupe=frozenset(dedupe))

    @guarded
    async def replace(self, state: State) -> None:
        """Every process's state at once, in one script."""
        script = self._link.script(redis_scripts.WRITE_STATE)
        await script(keys=_STATE_KEYS, args=_state_args("replace", state))

    @guarded
    async def settings(self) -> str:
        """The shared settings text."""
        return await self._redis().get(SETTINGS) or ""

    @guarded
    async def change_settings(self, text: str) -> bool:
        """Compare and set in one script: of racing writers of one value, one changes it."""
        script = self._link.script(redis_scripts.CHANGE_SETTINGS)
        return bool(await script(keys=[SETTINGS], args=[text]))

    @guarded
    async def preferences(self, user_id: UUID) -> tuple[Preference, ...]:
        """The user's preferences, first-stored order."""
        return _preferences(await self._redis().hget(PREFERENCES, str(user_id)))

    @guarded
    async def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool],
                                 at: datetime) -> tuple[Preference, ...]:
        """One Lua script merges, so concurrent writers in any process lose nothing."""
        rows = json.dumps([[str(tid), disabled] for tid, disabled in changes.items()])
        script = self._link.script(redis_scripts.UPSERT)
        return _preferences(await script(keys=[PREFERENCES],
                                         args=[str(user_id), wire.format_time(at), rows]))

    @guarded
    async def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
                     pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """One Lua script: the key checked, everything appended and trimmed, for every process."""
        rows = [value for row in inbox for value in (row["user_id"], json.dumps(row))]
        keys = [OUTBOX, PENDING, DEDUPE, INBOX_USERS, DEDUPE_ORDER, DROPPED,
                *(INBOX + row["user_id"] for row in inbox)]
        limits = self.limits
        args = [dedupe or "", len(outbox), len(pending), limits.outbox, limits.inbox,
                limits.dedupe, *map(json.dumps, outbox), *map(json.dumps, pending), *rows]
        return bool(await self._link.script(redis_scripts.RECORD)(keys=keys, args=args))

    @guarded
    async def take_pending(self) -> list[Message]:
        """Read and delete in one transaction, so each held message has one taker."""
        async with self._redis().pipeline() as pipe:
            held, _ = await pipe.lrange(PENDING, 0, -1).delete(PENDING).execute()
        return [json.loads(raw) for raw in held]

    @guarded
    async def outbox(self) -> list[Message]:
        """What any process enqueued, oldest first."""
        return [json.loads(raw) for raw in await self._redis().lrange(OUTBOX, 0, -1)]

    @guarded
    async def clear_outbox(self) -> None:
        """Empty the shared outbox (what was enqueued is still known to de-duplication)."""
        await self._redis().delete(OUTBOX)

    @guarded
    async def inbox(self, user_id: UUID) -> list[InboxRow]:
        """The user's rows, oldest first."""
        return [json.loads(raw) for raw in await self._redis().lrange(INBOX + str(user_id), 0, -1)]

    @guarded
    async def set_read_at(self, user_id: UUID, row_id: str,
                          read_at: str | None) -> InboxRow | None:
        """Optimistic transaction on the user's list: retried if another process writes it."""
        key = INBOX + str(user_id)

        async def update(pipe: redis.asyncio.client.Pipeline) -> InboxRow | None:
            rows = [json.loads(raw) for raw in await pipe.lrange(key, 0, -1)]
            index = next((i for i, row in enumerate(rows) if row["id"] == row_id), None)
            pipe.multi()
            if index is None:
                return None
            changed = {**rows[index], "read_at": read_at}
            pipe.lset(key, index, json.dumps(changed))
            return changed

        return await self._redis().transaction(update, key, value_from_callable=True)

    @guarded
    async def mark_all_read(self, user_id: UUID, read_at: str) -> None:
        """Optimistic transaction on the user's list."""
        key = INBOX + str(user_id)

        async def update(pipe: redis.asyncio.client.Pipeline) -> None:
            rows = [json.loads(raw) for raw in await pipe.lrange(key, 0, -1)]
            pipe.multi()
            for index, row in enumerate(rows):
                if row["read_at"] is None:
                    pipe.lset(key, index, json.dumps({**row, "read_at": read_at}))

        await self._redis().transaction(update, key)

    @guarded
    async def template_methods(self) -> dict[UUID, str]:
        """Methods any process set."""
        return {UUID(tid): method for tid, method in (await self._redis().hgetall(METHODS)).items()}

    @guarded
    async def set_template_method(self, template_id: UUID, method: str) -> None:
        """For every process."""
        await self._redis().hset(METHODS, str(template_id), method)

    @guarded
    async def dropped(self) -> dict[str, int]:
        """The shared counts."""
        counts = await self._redis().hgetall(DROPPED)
        return {part: int(counts.get(part, 0)) for part in DROPPED_PARTS}
