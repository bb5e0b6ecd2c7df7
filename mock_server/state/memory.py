"""The in-memory engine: this process's state, faults and journal, each behind its own lock."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from mock_server.models import Preference
from mock_server.state.backend import Backends
from mock_server.state.events import MemoryEvents
from mock_server.state.model import InboxRow, Message, State

if TYPE_CHECKING:
    from mock_server.faults import Fault


def open_backends() -> Backends:
    """Fresh storages for one process."""
    return Backends(state=MemoryState(), faults=MemoryFaults(), journal=MemoryJournal(),
                    events=MemoryEvents())


class MemoryState:
    """StateBackend in this process: one State-shaped set of containers and one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._initialised = False
        self._put(State())

    def _put(self, state: State) -> None:
        self._settings = state.settings
        self._preferences = {uid: {p.template_id: p for p in prefs}
                             for uid, prefs in state.preferences.items()}
        self._outbox = list(state.outbox)
        self._pending = list(state.pending)
        self._inbox = {uid: {row["id"]: row for row in rows} for uid, rows in state.inbox.items()}
        self._methods = dict(state.template_methods)
        self._dedupe = set(state.dedupe)

    def initialise(self, state: State) -> None:
        """A process's memory starts empty: the first call always writes."""
        with self._lock:
            if not self._initialised:
                self._put(state)
                self._initialised = True

    def read(self) -> State:
        """A copy of everything, taken under the lock."""
        with self._lock:
            return State(
                settings=self._settings, outbox=tuple(self._outbox), pending=tuple(self._pending),
                preferences={uid: tuple(p.values()) for uid, p in self._preferences.items()},
                inbox={uid: tuple(rows.values()) for uid, rows in self._inbox.items()},
                template_methods=dict(self._methods), dedupe=frozenset(self._dedupe))

    def replace(self, state: State) -> None:
        """Swap the whole state at once."""
        with self._lock:
            self._put(state)
            self._initialised = True

    def settings(self) -> str:
        """The settings text."""
        return self._settings

    def put_settings(self, text: str) -> None:
        """Store new settings text."""
        with self._lock:
            self._settings = text

    def preferences(self, user_id: UUID) -> tuple[Preference, ...]:
        """The user's preferences, first-stored order."""
        with self._lock:
            return tuple(self._preferences.get(user_id, {}).values())

    def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool],
                           at: datetime) -> tuple[Preference, ...]:
        """Merge under the lock, so concurrent writers of one user lose nothing."""
        with self._lock:
            stored = self._preferences.setdefault(user_id, {})
            for template_id, disabled in changes.items():
                stored[template_id] = Preference(template_id, disabled, at)
            return tuple(stored.values())

    def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
               pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """Check the key and append, all under the lock."""
        with self._lock:
            if dedupe is not None:
                if dedupe in self._dedupe:
                    return False
                self._dedupe.add(dedupe)
            self._outbox.extend(outbox)
            self._pending.extend(pending)
            for row in inbox:
                self._inbox.setdefault(UUID(row["user_id"]), {})[row["id"]] = row
            return True

    def take_pending(self) -> list[Message]:
        """Swap the held list for an empty one."""
        with self._lock:
            taken, self._pending = self._pending, []
        return taken

    def outbox(self) -> list[Message]:
        """A copy, oldest first."""
        with self._lock:
            return list(self._outbox)

    def clear_outbox(self) -> None:
        """Empty it."""
        with self._lock:
            self._outbox = []

    def inbox(self, user_id: UUID) -> list[InboxRow]:
        """A copy, oldest first."""
        with self._lock:
            return list(self._inbox.get(user_id, {}).values())

    def set_read_at(self, user_id: UUID, row_id: str, read_at: str | None) -> InboxRow | None:
        """Replace the row, if it is the user's."""
        with self._lock:
            rows = self._inbox.get(user_id, {})
            if row_id not in rows:
                return None
            rows[row_id] = {**rows[row_id], "read_at": read_at}
            return rows[row_id]

    def mark_all_read(self, user_id: UUID, read_at: str) -> None:
        """Every unread row of the user, under the lock."""
        with self._lock:
            rows = self._inbox.get(user_id, {})
            for row_id, row in rows.items():
                if row["read_at"] is None:
                    rows[row_id] = {**row, "read_at": read_at}

    def template_methods(self) -> dict[UUID, str]:
        """A copy."""
        with self._lock:
            return dict(self._methods)

    def set_template_method(self, template_id: UUID, method: str) -> None:
        """Set it."""
        with self._lock:
            self._methods[template_id] = method


class MemoryFaults:
    """FaultStorage in this process."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Append under the next id."""
        with self._lock:
            fault = replace(fault, id=next(self._ids))
            self._faults.append(fault)
        return fault

    def add_once(self, faults: Sequence[Fault]) -> None:
        """A process's own storage is new: add them all."""
        for fault in faults:
            self.add(fault)

    def all(self) -> list[Fault]:
        """A copy, oldest first."""
        with self._lock:
            return list(self._faults)

    def has_any(self) -> bool:
        """No lock needed to read a list's length."""
        return bool(self._faults)

    def count_down(self, fault_id: int) -> bool:
        """Take one call; the fault goes away after its last."""
        with self._lock:
            for index, current in enumerate(self._faults):
                if current.id == fault_id and current.times:
                    left = current.times - 1
                    self._faults[index:index + 1] = [replace(current, times=left)] if left else []
                    return True
        return False

    def remove(self, fault_id: int) -> bool:
        """Drop one by id."""
        with self._lock:
            kept = [f for f in self._faults if f.id != fault_id]
            found, self._faults = len(kept) != len(self._faults), kept
        return found

    def clear(self) -> None:
        """Drop them all."""
        with self._lock:
            self._faults = []


class MemoryJournal:
    """JournalStorage in this process."""

    def __init__(self) -> None:
        self._entries: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any], *, keep: int) -> None:
        """Append; the oldest fall out beyond `keep`."""
        with self._lock:
            self._entries.append(entry)
            while len(self._entries) > keep:
                self._entries.popleft()

    def recent(self, limit: int | None) -> list[dict[str, Any]]:
        """The newest `limit`, oldest first."""
        with self._lock:
            entries = list(self._entries)
        return entries[-limit:] if limit else entries

    def clear(self) -> None:
        """Empty it."""
        with self._lock:
            self._entries.clear()
