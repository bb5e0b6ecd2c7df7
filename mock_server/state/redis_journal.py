"""The journal in Redis (`--state redis://`): one list for every process, newest last."""

from __future__ import annotations

import json
from typing import Any

from mock_server.state import redis_scripts
from mock_server.state.keys import DROPPED, JOURNAL
from mock_server.state.redis_link import RedisLink, guarded


class RedisJournal:
    """JournalStorage in Redis: one list for every process."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link

    @guarded
    async def append(self, entry: dict[str, Any], *, keep: int) -> None:
        """Append and trim in one script, counting what falls out."""
        script = self._link.script(redis_scripts.JOURNAL_APPEND)
        await script(keys=[JOURNAL, DROPPED], args=[json.dumps(entry), keep])

    @guarded
    async def recent(self, limit: int | None) -> list[dict[str, Any]]:
        """The newest `limit`, oldest first."""
        raw = await self._link.client().lrange(JOURNAL, -limit if limit else 0, -1)
        return [json.loads(entry) for entry in raw]

    @guarded
    async def clear(self) -> None:
        """Every process's entries."""
        await self._link.client().delete(JOURNAL)

    @guarded
    async def dropped(self) -> int:
        """Entries that fell out, across every process."""
        return int(await self._link.client().hget(DROPPED, "journal") or 0)
