"""Where state is kept: one small protocol per kind of state, one implementation per engine.

A backend only stores; what may be stored (the template catalogue, id checks), how faults fire
and how long the journal is stay in the policies (`Store`, `FaultBook`, `Journal`) above it.
Every method is a coroutine, so a slow engine (Redis) never holds up the event loop; an engine
that cannot be reached raises `StateUnavailable`, which the API answers as a 503.
`open_backends` is the one place the engine is chosen from the configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from mock_server.models import Preference
from mock_server.state.model import InboxRow, Message, State

if TYPE_CHECKING:
    from mock_server.config import MockConfig
    from mock_server.faults import Fault
    from mock_server.state.events import Accepts, Receiver, Subscription


class StateUnavailable(RuntimeError):
    """The state cannot be reached or kept now (Redis down or too slow, a disk that fails)."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"the state at {where} is unavailable: {reason}")
        self.where = where
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Limits:
    """How much run-time state a deployment keeps; beyond it the oldest goes (and is counted)."""

    outbox: int = 10_000  # messages sent, and messages held while paused, each
    inbox: int = 1_000  # inbox rows per user
    dedupe: int = 100_000  # de-duplication keys of the newest notifications

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value < 1:
                raise ValueError(f"limit {name} {value!r} must be at least 1")

    def check(self, state: State) -> None:
        """A state to restore fits, or ValueError names the part, its size and the option."""
        parts = [("outbox", len(state.outbox), self.outbox, "--max-outbox"),
                 ("pending", len(state.pending), self.outbox, "--max-outbox"),
                 ("dedupe", len(state.dedupe), self.dedupe, "--max-outbox (x10)")]
        parts += [(f"inbox of {uid}", len(rows), self.inbox, "--max-inbox")
                  for uid, rows in state.inbox.items()]
        for part, size, limit, option in parts:
            if size > limit:
                raise ValueError(f"{part} has {size} entries; this mock keeps at most {limit} "
                                 f"({option})")


class StateBackend(Protocol):
    """Settings, preferences and outbox; every write atomic against concurrent writers."""

    limits: Limits

    def epoch(self) -> int:
        """Changes whenever the engine may have lost data (a new connection to Redis)."""

    async def initialise(self, state: State) -> bool:
        """Hold `state` unless the backend already holds one (a replica joining keeps it);
        never overwrite a part that exists. True when this call wrote it."""

    async def read(self) -> State:
        """The whole state, consistent (one transaction)."""

    async def replace(self, state: State) -> None:
        """Put a whole state in place of the current one (reset, restore)."""

    async def settings(self) -> str:
        """The stored settings text, "" when never written."""

    async def change_settings(self, text: str) -> bool:
        """Store `text` unless it is stored already; True when it changed (one winner)."""

    async def preferences(self, user_id: UUID) -> tuple[Preference, ...]:
        """The user's stored preferences, in the order they were first stored."""

    async def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool],
                                 at: datetime) -> tuple[Preference, ...]:
        """Merge changes in place (new ones appended) and return every stored preference."""

    async def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
                     pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """Append messages sent, inbox rows and messages held, all or none, dropping the oldest
        beyond the limits; False (nothing written) when the `dedupe` key was recorded before."""

    async def take_pending(self) -> list[Message]:
        """Remove and return every held message, oldest first (one taker gets each)."""

    async def outbox(self) -> list[Message]:
        """The outbox, oldest first."""

    async def clear_outbox(self) -> None:
        """Empty the outbox."""

    async def inbox(self, user_id: UUID) -> list[InboxRow]:
        """The user's inbox, oldest first."""

    async def set_read_at(self, user_id: UUID, row_id: str,
                          read_at: str | None) -> InboxRow | None:
        """Mark one of the user's rows read (a time) or unread (None); None when not theirs."""

    async def mark_all_read(self, user_id: UUID, read_at: str) -> None:
        """Mark every unread row of the user read at `read_at`."""

    async def template_methods(self) -> dict[UUID, str]:
        """Template methods set through the API."""

    async def set_template_method(self, template_id: UUID, method: str) -> None:
        """Set one template's method for every process."""

    async def dropped(self) -> dict[str, int]:
        """How many entries each limit has dropped so far (outbox, pending, inbox, dedupe)."""


class FaultStorage(Protocol):
    """The active faults; ids are given here, so every process sharing them agrees."""

    async def add(self, fault: Fault) -> Fault:
        """Store a fault under a new id and return it with that id."""

    async def add_once(self, faults: Sequence[Fault]) -> None:
        """Add the configuration's faults, once per storage however many processes start."""

    async def all(self) -> list[Fault]:
        """Active faults, oldest first, each with the calls it has left."""

    async def has_any(self) -> bool:
        """One cheap check before reading the faults: most calls meet none."""

    async def count_down(self, fault_id: int) -> bool:
        """Use one call of a limited fault; False when another call used the last one."""

    async def remove(self, fault_id: int) -> bool:
        """Forget one fault; False when there was none with that id."""

    async def clear(self) -> None:
        """Forget every fault."""


class EventStorage(Protocol):
    """Inbox events between the processes of one mock: each row delivered, to the watch
    sockets of its user (state/events.py hands them out within a process)."""

    async def publish(self, rows: Sequence[InboxRow]) -> None:
        """Announce rows just recorded; every process's sockets get them (best effort)."""

    async def subscribe(self, user_id: str, accepts: Accepts,
                        receiver: Receiver) -> Subscription:
        """The user's events from now on that `accepts` takes, each awaited by `receiver`;
        no replay of earlier ones."""


class JournalStorage(Protocol):
    """Journal entries, oldest first."""

    async def append(self, entry: dict[str, Any], *, keep: int) -> None:
        """Add one entry and keep only the newest `keep` (the rest counted as dropped)."""

    async def recent(self, limit: int | None) -> list[dict[str, Any]]:
        """The newest `limit` entries (all when None), oldest first."""

    async def clear(self) -> None:
        """Forget every entry."""

    async def dropped(self) -> int:
        """Entries that fell out of the journal so far."""


class Engine(Protocol):
    """The engine itself: whether it answers now, and this event loop's connections."""

    async def health(self) -> dict[str, Any]:
        """`engine`, `reachable` and what else helps whoever waits for the mock."""

    async def close(self) -> None:
        """Close the connections of the running event loop (a loop about to end)."""


def unknown_version() -> None:
    """The version of a state nobody here can follow (one shared with other processes)."""


@dataclass(frozen=True, slots=True)
class Backends:
    """The storages of one deployment, all on the same engine."""

    state: StateBackend
    faults: FaultStorage
    journal: JournalStorage
    events: EventStorage
    engine: Engine
    # what the state and the faults hold, as a value that moves whenever either changes: None
    # where no process can know it (a state shared with others) or while a fault is active
    version: Callable[[], Hashable | None] = unknown_version


def limits_of(config: MockConfig) -> Limits:
    """The limits a configuration sets."""
    return Limits(outbox=config.max_outbox, inbox=config.max_inbox,
                  dedupe=config.max_outbox * 10)


def open_backends(config: MockConfig) -> Backends:
    """The engine the configuration names: Redis for `state_url`, else this process's memory."""
    if config.state_url is not None:
        from mock_server.state import redis_backend  # redis-py is only needed for shared state

        return redis_backend.open_backends(config.state_url, limits_of(config),
                                           timeout=config.state_timeout)
    from mock_server.state import memory

    return memory.open_backends(limits_of(config))
