"""The journal in Redis (`--state redis://`): one list for every process, newest last."""

from __future__ import annotations

import json
from typing import Any

import redis

from mock_server.state.keys import JOURNAL


class RedisJournal:
    """JournalStorage in Redis: one list for every process."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def append(self, entry: dict[str, Any], *, keep: int) -> None:
        """Append and trim in one transaction."""
        with self._redis.pipeline() as pipe:
            pipe.rpush(JOURNAL, json.dumps(entry)).ltrim(JOURNAL, -keep, -1).execute()

    def recent(self, limit: int | None) -> list[dict[str, Any]]:
        """The newest `limit`, oldest first."""
        return [json.loads(raw) for raw in self._redis.lrange(JOURNAL, -limit if limit else 0, -1)]

    def clear(self) -> None:
        """Every process's entries."""
        self._redis.delete(JOURNAL)
