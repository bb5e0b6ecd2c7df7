"""The in-memory journal storage: this process's journal entries, oldest first, behind a lock."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class MemoryJournal:
    """JournalStorage in this process."""

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._dropped = 0

    async def append(self, entry: dict[str, Any], *, keep: int) -> None:
        """Append; the oldest fall out beyond `keep`."""
        with self._lock:
            self._entries.append(entry)
            while len(self._entries) > keep:
                self._entries.popleft()
                self._dropped += 1

    async def recent(self, limit: int | None) -> list[dict[str, Any]]:
        """The newest `limit`, oldest first."""
        with self._lock:
            entries = list(self._entries)
        return entries[-limit:] if limit else entries

    async def clear(self) -> None:
        """Empty it."""
        with self._lock:
            self._entries.clear()

    async def dropped(self) -> int:
        """Entries that fell out."""
        return self._dropped
