"""Settings, preferences, messages, inboxes and template methods in Redis (`--state redis://`).

Values are the parts of the State's JSON form. Every write is one transaction or Lua script, so
concurrent writers in different processes never lose an update.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from uuid import UUID

import redis

from mock_server import wire
from mock_server.models import Preference
from mock_server.state.keys import (
    DEDUPE,
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

# Merge changes into a user's rows in place (first-stored order kept) and return them all.
_UPSERT = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local rows = raw and cjson.decode(raw) or {}
local at = {}
for i, row in ipairs(rows) do at[row.id] = i end
for _, change in ipairs(cjson.decode(ARGV[3])) do
  local row = {id = change[1], disabled = change[2], updated_at = ARGV[2]}
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

# Append messages sent and held and inbox rows at once, unless the dedupe key (ARGV[1]) is known.
# ARGV: key, #sent, #held, the sent, the held, then (user id, row) per inbox key in KEYS[5..].
_RECORD = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
local i = 4
for _ = 1, tonumber(ARGV[2]) do redis.call('RPUSH', KEYS[1], ARGV[i]); i = i + 1 end
for _ = 1, tonumber(ARGV[3]) do redis.call('RPUSH', KEYS[2], ARGV[i]); i = i + 1 end
for k = 5, #KEYS do
  redis.call('SADD', KEYS[4], ARGV[i]); redis.call('RPUSH', KEYS[k], ARGV[i + 1]); i = i + 2
end
return 1
"""


def _preferences(raw: str | None) -> tuple[Preference, ...]:
    return parse_preferences(json.loads(raw)) if raw else ()


class RedisState:
    """StateBackend in Redis."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._upsert = client.register_script(_UPSERT)
        self._record = client.register_script(_RECORD)

    def initialise(self, state: State) -> None:
        """Write `state` only if no other process has (a replica or a restarted worker joins)."""

        def write_if_new(pipe: redis.client.Pipeline) -> None:
            if not pipe.exists(SEEDED):
                pipe.multi()
                self._queue(pipe, state)

        self._redis.transaction(write_if_new, SEEDED)

    def _queue(self, pipe: redis.client.Pipeline, state: State) -> None:
        users = self._redis.smembers(INBOX_USERS)
        pipe.delete(PREFERENCES, OUTBOX, PENDING, DEDUPE, METHODS, INBOX_USERS,
                    *(INBOX + user for user in users))
        pipe.set(SETTINGS, state.settings)
        for user_id, stored in state.preferences.items():
            pipe.hset(PREFERENCES, str(user_id), json.dumps(preferences_json(stored)))
        for key, messages in ((OUTBOX, state.outbox), (PENDING, state.pending)):
            if messages:
                pipe.rpush(key, *(json.dumps(message) for message in messages))
        if state.dedupe:
            pipe.sadd(DEDUPE, *state.dedupe)
        for user_id, rows in state.inbox.items():
            pipe.sadd(INBOX_USERS, str(user_id))
            pipe.rpush(INBOX + str(user_id), *(json.dumps(row) for row in rows))
        if state.template_methods:
            pipe.hset(METHODS, mapping={str(t): m for t, m in state.template_methods.items()})
        pipe.set(SEEDED, 1)

    def read(self) -> State:
        """Every part, read in one transaction so they agree."""
        users = sorted(self._redis.smembers(INBOX_USERS))
        with self._redis.pipeline() as pipe:
            pipe.get(SETTINGS).hgetall(PREFERENCES).lrange(OUTBOX, 0, -1)
            pipe.lrange(PENDING, 0, -1).hgetall(METHODS).smembers(DEDUPE)
            for user in users:
                pipe.lrange(INBOX + user, 0, -1)
            settings, preferences, outbox, pending, methods, dedupe, *inboxes = pipe.execute()
        return State(
            settings=settings or "", outbox=tuple(map(json.loads, outbox)),
            preferences={UUID(uid): _preferences(raw) for uid, raw in preferences.items()},
            pending=tuple(map(json.loads, pending)),
            inbox={UUID(user): tuple(map(json.loads, rows))
                   for user, rows in zip(users, inboxes, strict=True) if rows},
            template_methods={UUID(tid): method for tid, method in methods.items()},
            dedupe=frozenset(dedupe))

    def replace(self, state: State) -> None:
        """Every process's state at once, in one transaction."""
        with self._redis.pipeline() as pipe:
            self._queue(pipe, state)
            pipe.execute()

    def settings(self) -> str:
        """The shared settings text."""
        return self._redis.get(SETTINGS) or ""

    def put_settings(self, text: str) -> None:
        """Store new settings text for every process."""
        self._redis.set(SETTINGS, text)

    def preferences(self, user_id: UUID) -> tuple[Preference, ...]:
        """The user's preferences, first-stored order."""
        return _preferences(self._redis.hget(PREFERENCES, str(user_id)))

    def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool],
                           at: datetime) -> tuple[Preference, ...]:
        """One Lua script merges, so concurrent writers in any process lose nothing."""
        rows = json.dumps([[str(tid), disabled] for tid, disabled in changes.items()])
        return _preferences(self._upsert(keys=[PREFERENCES],
                                         args=[str(user_id), wire.format_time(at), rows]))

    def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
               pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """One Lua script: the key checked and everything appended, for every process at once."""
        rows = [value for row in inbox for value in (row["user_id"], json.dumps(row))]
        keys = [OUTBOX, PENDING, DEDUPE, INBOX_USERS, *(INBOX + row["user_id"] for row in inbox)]
        args = [dedupe or "", len(outbox), len(pending), *map(json.dumps, outbox),
                *map(json.dumps, pending), *rows]
        return bool(self._record(keys=keys, args=args))

    def take_pending(self) -> list[Message]:
        """Read and delete in one transaction, so each held message has one taker."""
        with self._redis.pipeline() as pipe:
            held, _ = pipe.lrange(PENDING, 0, -1).delete(PENDING).execute()
        return [json.loads(raw) for raw in held]

    def outbox(self) -> list[Message]:
        """What any process enqueued, oldest first."""
        return [json.loads(raw) for raw in self._redis.lrange(OUTBOX, 0, -1)]

    def clear_outbox(self) -> None:
        """Empty the shared outbox (what was enqueued is still known to de-duplication)."""
        self._redis.delete(OUTBOX)

    def inbox(self, user_id: UUID) -> list[InboxRow]:
        """The user's rows, oldest first."""
        return [json.loads(raw) for raw in self._redis.lrange(INBOX + str(user_id), 0, -1)]

    def set_read_at(self, user_id: UUID, row_id: str, read_at: str | None) -> InboxRow | None:
        """Optimistic transaction on the user's list: retried if another process writes it."""
        changed: list[InboxRow] = []

        def update(pipe: redis.client.Pipeline) -> None:
            changed.clear()
            rows = [json.loads(raw) for raw in pipe.lrange(INBOX + str(user_id), 0, -1)]
            index = next((i for i, row in enumerate(rows) if row["id"] == row_id), None)
            pipe.multi()
            if index is not None:
                changed.append({**rows[index], "read_at": read_at})
                pipe.lset(INBOX + str(user_id), index, json.dumps(changed[0]))

        self._redis.transaction(update, INBOX + str(user_id))
        return changed[0] if changed else None

    def mark_all_read(self, user_id: UUID, read_at: str) -> None:
        """Optimistic transaction on the user's list."""

        def update(pipe: redis.client.Pipeline) -> None:
            rows = [json.loads(raw) for raw in pipe.lrange(INBOX + str(user_id), 0, -1)]
            pipe.multi()
            for index, row in enumerate(rows):
                if row["read_at"] is None:
                    pipe.lset(INBOX + str(user_id), index, json.dumps({**row, "read_at": read_at}))

        self._redis.transaction(update, INBOX + str(user_id))

    def template_methods(self) -> dict[UUID, str]:
        """Methods any process set."""
        return {UUID(tid): method for tid, method in self._redis.hgetall(METHODS).items()}

    def set_template_method(self, template_id: UUID, method: str) -> None:
        """For every process."""
        self._redis.hset(METHODS, str(template_id), method)
