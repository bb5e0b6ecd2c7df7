"""The request journal: what each call was, who made it and how it was answered, newest last."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mock_server import wire
from mock_server.state.memory import MemoryJournal

if TYPE_CHECKING:
    from mock_server.state.backend import JournalStorage


class Journal:
    """A bounded log of calls, so a UI developer can see what their page sent; the bound and
    the rendering live here, the entries in a storage (this process's memory, or Redis)."""

    def __init__(self, storage: JournalStorage | None = None, *, size: int = 1000) -> None:
        if size < 1:
            raise ValueError(f"journal size {size} must be at least 1")
        self._storage = storage if storage is not None else MemoryJournal()
        self._size = size

    def record(self, entry: dict[str, Any]) -> None:
        """Add one call; the oldest falls out when the journal is full."""
        self._storage.append(entry, keep=self._size)

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last `limit` calls (all when None), oldest first; times rendered only now."""
        return [{**entry, "time": wire.format_time(datetime.fromtimestamp(entry["time"], UTC))}
                for entry in self._storage.recent(limit)]

    def clear(self) -> None:
        """Forget every call."""
        self._storage.clear()

