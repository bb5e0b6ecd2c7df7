"""The in-memory engine: this process's state, faults (memory_faults.py) and journal
(memory_journal.py), each behind its own lock.

The methods are coroutines only to share the backends' one interface: none awaits, so each
runs whole under a threading lock (tests call them from several threads and loops at once).
The state and the faults count their changes (`version`), so a server can tell that nothing an
answer depends on has changed since (mock_server/replay.py).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from mock_server.models import Preference
from mock_server.state.backend import Backends, Limits
from mock_server.state.events import MemoryEvents
from mock_server.state.memory_faults import MemoryFaults
from mock_server.state.memory_journal import MemoryJournal
from mock_server.state.model import InboxRow, Message, State


def open_backends(limits: Limits | None = None) -> Backends:
    """Fresh storages for one process."""
    state, faults = MemoryState(limits), MemoryFaults()
    return Backends(state=state, faults=faults, journal=MemoryJournal(), events=MemoryEvents(),
                    engine=MemoryEngine(), version=partial(_version, state, faults))


def _version(state: MemoryState, faults: MemoryFaults) -> tuple[int, int] | None:
    """Both change counts; None while a fault is active (a fault may fire on any call)."""
    return None if faults.active else (state.version, faults.version)


class MemoryEngine:
    """This process's memory is always there."""

    async def health(self) -> dict[str, Any]:
        """Always reachable."""
        return {"engine": "memory", "reachable": True}

    async def close(self) -> None:
        """Nothing to close."""


def _trim(items: list[Any], limit: int) -> int:
    """Drop the oldest beyond `limit`; how many went."""
    over = len(items) - limit
    if over > 0:
        del items[:over]
    return max(over, 0)


class MemoryState:
    """StateBackend in this process: one State-shaped set of containers and one lock."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._lock = threading.Lock()
        self._initialised = False
        self._dropped = dict.fromkeys(("outbox", "pending", "inbox", "dedupe"), 0)
        self.version = 0  # moves on every write that changes something
        self._put(State())

    def _put(self, state: State) -> None:
        self.version += 1
        self._settings = state.settings
        self._preferences = {uid: {p.template_id: p for p in prefs}
                             for uid, prefs in state.preferences.items()}
        self._outbox = list(state.outbox)
        self._pending = list(state.pending)
        self._inbox = {uid: {row["id"]: row for row in rows} for uid, rows in state.inbox.items()}
        self._methods = dict(state.template_methods)
        self._dedupe = dict.fromkeys(sorted(state.dedupe))  # an ordered set, oldest first

    def epoch(self) -> int:
        """Memory never loses what it holds."""
        return 0

    async def initialise(self, state: State) -> bool:
        """A process's memory starts empty: the first call always writes."""
        with self._lock:
            if self._initialised:
                return False
            self._put(state)
            self._initialised = True
            return True

    async def read(self) -> State:
        """A copy of everything, taken under the lock."""
        with self._lock:
            return State(
                settings=self._settings, outbox=tuple(self._outbox), pending=tuple(self._pending),
                preferences={uid: tuple(p.values()) for uid, p in self._preferences.items()},
                inbox={uid: tuple(rows.values()) for uid, rows in self._inbox.items()},
                template_methods=dict(self._methods), dedupe=frozenset(self._dedupe))

    async def replace(self, state: State) -> None:
        """Swap the whole state at once."""
        with self._lock:
            self._put(state)
            self._initialised = True

    async def settings(self) -> str:
        """The settings text."""
        return self._settings

    async def change_settings(self, text: str) -> bool:
        """Compare and set under the lock."""
        with self._lock:
            changed, self._settings = self._settings != text, text
            self.version += changed
            return changed

    async def preferences(self, user_id: UUID) -> tuple[Preference, ...]:
        """The user's preferences, first-stored order."""
        with self._lock:
            return tuple(self._preferences.get(user_id, {}).values())

    async def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool],
                                 at: datetime) -> tuple[Preference, ...]:
        """Merge under the lock, so concurrent writers of one user lose nothing."""
        with self._lock:
            stored = self._preferences.setdefault(user_id, {})
            self.version += 1  # every stored preference gets a new updated_at
            for template_id, disabled in changes.items():
                stored[template_id] = Preference(template_id, disabled, at)
            return tuple(stored.values())

    async def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
                     pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """Check the key, append and trim, all under the lock."""
        with self._lock:
            if dedupe is not None:
                if dedupe in self._dedupe:
                    return False
                self._dedupe[dedupe] = None
                if len(self._dedupe) > self.limits.dedupe:
                    del self._dedupe[next(iter(self._dedupe))]
                    self._dropped["dedupe"] += 1
            self.version += 1
            self._outbox.extend(outbox)
            self._dropped["outbox"] += _trim(self._outbox, self.limits.outbox)
            self._pending.extend(pending)
            self._dropped["pending"] += _trim(self._pending, self.limits.outbox)
            for row in inbox:
                rows = self._inbox.setdefault(UUID(row["user_id"]), {})
                rows[row["id"]] = row
                while len(rows) > self.limits.inbox:
                    del rows[next(iter(rows))]
                    self._dropped["inbox"] += 1
            return True

    async def take_pending(self) -> list[Message]:
        """Swap the held list for an empty one."""
        with self._lock:
            taken, self._pending = self._pending, []
            self.version += bool(taken)
        return taken

    async def outbox(self) -> list[Message]:
        """A copy, oldest first."""
        with self._lock:
            return list(self._outbox)

    async def clear_outbox(self) -> None:
        """Empty it."""
        with self._lock:
            self.version += bool(self._outbox)
            self._outbox = []

    async def inbox(self, user_id: UUID) -> list[InboxRow]:
        """A copy, oldest first."""
        with self._lock:
            return list(self._inbox.get(user_id, {}).values())

    async def set_read_at(self, user_id: UUID, row_id: str,
                          read_at: str | None) -> InboxRow | None:
        """Replace the row, if it is the user's."""
        with self._lock:
            rows = self._inbox.get(user_id, {})
            if row_id not in rows:
                return None
            self.version += 1  # read_at is a new time, or None again
            rows[row_id] = {**rows[row_id], "read_at": read_at}
            return rows[row_id]

    async def mark_all_read(self, user_id: UUID, read_at: str) -> None:
        """Every unread row of the user, under the lock."""
        with self._lock:
            rows = self._inbox.get(user_id, {})
            for row_id, row in rows.items():
                if row["read_at"] is None:
                    rows[row_id] = {**row, "read_at": read_at}
                    self.version += 1

    async def template_methods(self) -> dict[UUID, str]:
        """A copy."""
        with self._lock:
            return dict(self._methods)

    async def set_template_method(self, template_id: UUID, method: str) -> None:
        """Set it."""
        with self._lock:
            self.version += self._methods.get(template_id) != method
            self._methods[template_id] = method

    async def dropped(self) -> dict[str, int]:
        """A copy of the counts."""
        with self._lock:
            return dict(self._dropped)
