"""The request journal: what each call was, who made it and how it was answered, newest last."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mock_server import wire
from mock_server.state.backend import StateUnavailable
from mock_server.state.memory_journal import MemoryJournal

if TYPE_CHECKING:
    from mock_server.state.backend import JournalStorage

MIN_ENTRY_BYTES = 512  # room for every fixed field of an entry
CUT = ("path", "fault", "user")  # the fields a caller can make long, cut in this order
ELLIPSIS = "…"


class Journal:
    """A bounded log of calls, so a UI developer can see what their page sent; the bounds
    (entries, and bytes per entry) and the rendering live here, the entries in a storage (this
    process's memory, or Redis)."""

    def __init__(self, storage: JournalStorage | None = None, *, size: int = 1000,
                 entry_bytes: int = 4096) -> None:
        if size < 1:
            raise ValueError(f"journal size {size} must be at least 1")
        if entry_bytes < MIN_ENTRY_BYTES:
            raise ValueError(f"journal entry bytes {entry_bytes} must be at least "
                             f"{MIN_ENTRY_BYTES}")
        self._storage = storage if storage is not None else MemoryJournal()
        self.size = size
        self.entry_bytes = entry_bytes
        self.unrecorded = 0  # calls answered while the storage could not be written

    async def record(self, entry: dict[str, Any]) -> None:
        """Add one call, cut to the byte bound; the oldest falls out when the journal is full.
        A storage that cannot be reached loses the entry, never the call's answer."""
        try:
            await self._storage.append(bounded(entry, self.entry_bytes), keep=self.size)
        except StateUnavailable:
            self.unrecorded += 1

    async def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last `limit` calls (all when None), oldest first; times rendered only now."""
        return [{**entry, "time": wire.format_time(datetime.fromtimestamp(entry["time"], UTC))}
                for entry in await self._storage.recent(limit)]

    async def clear(self) -> None:
        """Forget every call."""
        await self._storage.clear()

    async def dropped(self) -> dict[str, int]:
        """Entries that fell out of the journal, and calls it could not record."""
        return {"journal": await self._storage.dropped(), "journal_unrecorded": self.unrecorded}


def bounded(entry: dict[str, Any], limit: int) -> dict[str, Any]:
    """The entry if its JSON fits in `limit` bytes, else with its long fields cut (marked
    `"truncated": true`, the cut ending in an ellipsis)."""
    if _at_most(entry) + MIN_ENTRY_BYTES <= limit:
        return entry  # the common case, found without encoding anything
    variable = sum(len(json.dumps(entry[field])) for field in CUT if entry.get(field))
    if variable + MIN_ENTRY_BYTES <= limit or len(json.dumps(entry)) <= limit:
        return entry  # the fixed fields fit in MIN_ENTRY_BYTES: most entries need no dump
    entry = {**entry, "truncated": True}
    for field in CUT:
        value = entry.get(field)
        over = len(json.dumps(entry)) - limit
        if over <= 0:
            break
        if isinstance(value, str):
            entry[field] = value[:max(0, len(value) - over - len(json.dumps(ELLIPSIS)))] + ELLIPSIS
    return entry


def _at_most(entry: dict[str, Any]) -> int:
    """An upper bound of the JSON bytes of the CUT fields: `json.dumps` writes a character as
    at most 12 bytes (a surrogate pair's two `\\uXXXX`), plus the quotes; a field that is not a
    string counts as unbounded."""
    total = 0
    for field in CUT:
        value = entry.get(field)
        if not value:
            continue
        if not isinstance(value, str):
            return 1 << 62
        total += 12 * len(value) + 2
    return total
