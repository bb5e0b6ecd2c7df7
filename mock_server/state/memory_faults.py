"""The in-memory fault storage: this process's active faults, behind a lock, with a change count
(`version`) that the replay of kept answers checks (mock_server/replay.py)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mock_server.faults import Fault


class MemoryFaults:
    """FaultStorage in this process."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.version = 0  # moves on every change of the faults

    @property
    def active(self) -> bool:
        """Whether any fault is stored (a list's length needs no lock)."""
        return bool(self._faults)

    async def add(self, fault: Fault) -> Fault:
        """Append under the next id."""
        with self._lock:
            fault = replace(fault, id=next(self._ids))
            self._faults.append(fault)
            self.version += 1
        return fault

    async def add_once(self, faults: Sequence[Fault]) -> None:
        """A process's own storage is new: add them all."""
        for fault in faults:
            await self.add(fault)

    async def all(self) -> list[Fault]:
        """A copy, oldest first."""
        with self._lock:
            return list(self._faults)

    async def has_any(self) -> bool:
        """No lock needed to read a list's length."""
        return self.active

    async def count_down(self, fault_id: int) -> bool:
        """Take one call; the fault goes away after its last."""
        with self._lock:
            for index, current in enumerate(self._faults):
                if current.id == fault_id and current.times:
                    left = current.times - 1
                    self._faults[index:index + 1] = [replace(current, times=left)] if left else []
                    self.version += 1
                    return True
        return False

    async def remove(self, fault_id: int) -> bool:
        """Drop one by id."""
        with self._lock:
            kept = [f for f in self._faults if f.id != fault_id]
            found, self._faults = len(kept) != len(self._faults), kept
            self.version += found
        return found

    async def clear(self) -> None:
        """Drop them all."""
        with self._lock:
            self.version += bool(self._faults)
            self._faults = []
