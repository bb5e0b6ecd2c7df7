"""Where state is kept: one small protocol per kind of state, one implementation per engine.

A backend only stores; what may be stored (the template catalogue, id checks), how faults fire
and how long the journal is stay in the policies (`Store`, `FaultBook`, `Journal`) above it.
`open_backends` is the one place the engine is chosen from the configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from mock_server.models import Preference
from mock_server.state.model import InboxRow, Message, State

if TYPE_CHECKING:
    from mock_server.config import MockConfig
    from mock_server.faults import Fault
    from mock_server.state.events import Accepts, Receiver, Subscription


class StateBackend(Protocol):
    """Settings, preferences and outbox; every write atomic against concurrent writers."""

    def initialise(self, state: State) -> None:
        """Hold `state` unless the backend already holds one (a replica joining keeps it)."""

    def read(self) -> State:
        """The whole state, consistent (one transaction)."""

    def replace(self, state: State) -> None:
        """Put a whole state in place of the current one (reset, restore)."""

    def settings(self) -> str:
        """The stored settings text, "" when never written."""

    def put_settings(self, text: str) -> None:
        """Store new settings text."""

    def preferences(self, user_id: UUID) -> tuple[Preference, ...]:
        """The user's stored preferences, in the order they were first stored."""

    def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool],
                           at: datetime) -> tuple[Preference, ...]:
        """Merge changes in place (new ones appended) and return every stored preference."""

    def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
               pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """Append messages sent, inbox rows and messages held, all or none; False (nothing
        written) when the `dedupe` key was recorded before (it is kept from then on)."""

    def take_pending(self) -> list[Message]:
        """Remove and return every held message, oldest first (one taker gets each)."""

    def outbox(self) -> list[Message]:
        """The outbox, oldest first."""

    def clear_outbox(self) -> None:
        """Empty the outbox."""

    def inbox(self, user_id: UUID) -> list[InboxRow]:
        """The user's inbox, oldest first."""

    def set_read_at(self, user_id: UUID, row_id: str, read_at: str | None) -> InboxRow | None:
        """Mark one of the user's rows read (a time) or unread (None); None when not theirs."""

    def mark_all_read(self, user_id: UUID, read_at: str) -> None:
        """Mark every unread row of the user read at `read_at`."""

    def template_methods(self) -> dict[UUID, str]:
        """Template methods set through the API."""

    def set_template_method(self, template_id: UUID, method: str) -> None:
        """Set one template's method for every process."""


class FaultStorage(Protocol):
    """The active faults; ids are given here, so every process sharing them agrees."""

    def add(self, fault: Fault) -> Fault:
        """Store a fault under a new id and return it with that id."""

    def add_once(self, faults: Sequence[Fault]) -> None:
        """Add the configuration's faults, once per storage however many processes start."""

    def all(self) -> list[Fault]:
        """Active faults, oldest first, each with the calls it has left."""

    def has_any(self) -> bool:
        """One cheap check before reading the faults: most calls meet none."""

    def count_down(self, fault_id: int) -> bool:
        """Use one call of a limited fault; False when another call used the last one."""

    def remove(self, fault_id: int) -> bool:
        """Forget one fault; False when there was none with that id."""

    def clear(self) -> None:
        """Forget every fault."""


class EventStorage(Protocol):
    """Inbox events between the processes of one mock: each row delivered, to the watch
    sockets of its user (state/events.py hands them out within a process)."""

    def publish(self, rows: Sequence[InboxRow]) -> None:
        """Announce rows just recorded, from any thread; every process's sockets get them."""

    async def subscribe(self, user_id: str, accepts: Accepts,
                        receiver: Receiver) -> Subscription:
        """The user's events from now on that `accepts` takes, each awaited by `receiver`;
        no replay of earlier ones."""


class JournalStorage(Protocol):
    """Journal entries, oldest first."""

    def append(self, entry: dict[str, Any], *, keep: int) -> None:
        """Add one entry and keep only the newest `keep`."""

    def recent(self, limit: int | None) -> list[dict[str, Any]]:
        """The newest `limit` entries (all when None), oldest first."""

    def clear(self) -> None:
        """Forget every entry."""


@dataclass(frozen=True, slots=True)
class Backends:
    """The storages of one deployment, all on the same engine."""

    state: StateBackend
    faults: FaultStorage
    journal: JournalStorage
    events: EventStorage


def open_backends(config: MockConfig) -> Backends:
    """The engine the configuration names: Redis for `state_url`, else this process's memory."""
    if config.state_url is not None:
        from mock_server.state import redis_backend  # redis-py is only needed for shared state

        return redis_backend.open_backends(config.state_url)
    from mock_server.state import memory

    return memory.open_backends()
