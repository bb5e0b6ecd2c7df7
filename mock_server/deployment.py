"""A Deployment: the state, fault book and journal one mock serves, built from its configuration.

`create_app`, `MockServer` and the CLI all build theirs here, so there is one place where the
configuration picks the engine (memory, state file or Redis) and activates its faults. Nothing
is connected or seeded while building (a worker builds inside its event loop): the first call
does it, or `start`, which the command line runs before serving so that an unusable Redis is
an error at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from mock_server.config import MockConfig
from mock_server.delivery import Enqueuer
from mock_server.faults import Fault, FaultBook, parse_fault
from mock_server.fixtures import load_seed
from mock_server.journal import Journal
from mock_server.state import EventStorage, Store, open_backends
from mock_server.state.backend import Engine, StateUnavailable, unknown_version
from mock_server.state.file import StateFile

DEFAULT_ACCESS_URL = "http://127.0.0.1:8080"  # where `make serve` listens


@dataclass(frozen=True, slots=True)
class Deployment:
    """What a running mock holds: its store, fault book, journal, delivery and events."""

    store: Store
    faults: FaultBook
    journal: Journal
    enqueuer: Enqueuer
    events: EventStorage  # inbox events, for the watch sockets
    engine: Engine
    state_file: StateFile | None = None
    # moves whenever anything an answer depends on may have changed; None: cannot be known
    version: Callable[[], Hashable | None] = unknown_version

    async def start(self) -> None:
        """Seed the state and the configured faults now; StateUnavailable if it cannot."""
        await self.store.join()
        await self.faults.faults()

    async def health(self) -> dict[str, Any]:
        """Whether the state answers (bounded by its timeout), the limits and what they dropped."""
        state = await self.engine.health()
        report: dict[str, Any] = {"status": "ok", "state": state,
                                  "limits": {**asdict(self.store.limits),
                                             "journal": self.journal.size,
                                             "journal_entry_bytes": self.journal.entry_bytes,
                                             "faults": self.faults.limit}}
        if self.state_file is not None:
            state["file"] = str(self.state_file.path)
        try:
            if state["reachable"]:
                await self.store.join()  # notices (and repairs) a Redis that lost its data
                report["dropped"] = {**await self.store.dropped(), **await self.journal.dropped()}
        except StateUnavailable as exc:
            state |= {"reachable": False, "error": exc.reason}
        state["data_lost_at"] = list(self.store.data_lost)
        if not state["reachable"]:
            report["status"] = "unavailable"
        return report

    async def close(self) -> None:
        """Close the connections of the running event loop."""
        await self.engine.close()


def build_deployment(config: MockConfig, *, store: Store | None = None) -> Deployment:
    """The deployment a configuration describes; `store` replaces the one it would build."""
    backends = open_backends(config)
    state_file = None
    built = store is None  # a store given holds a state of its own, whose version is unknown
    if store is None:
        state_file = StateFile(config.state_file) if config.state_file is not None else None
        initial = state_file.load(backends.state.limits) if state_file is not None else None
        store = Store(load_seed(config.fixtures), backends.state,
                      task_templates=config.task_templates, initial=initial)
        if state_file is not None:
            state_file.attach(store)
    faults = FaultBook(backends.faults, initial=initial_faults(config), limit=config.max_faults)
    enqueuer = Enqueuer(store, default_method=config.default_method,
                        access_url=config.access_url or DEFAULT_ACCESS_URL,
                        events=backends.events)
    journal = Journal(backends.journal, size=config.journal_size,
                      entry_bytes=config.journal_entry_bytes)
    return Deployment(store=store, faults=faults, enqueuer=enqueuer, events=backends.events,
                      journal=journal, engine=backends.engine, state_file=state_file,
                      version=partial(_version, backends.version, store) if built
                      else unknown_version)


def _version(backends: Callable[[], Hashable | None], store: Store) -> Hashable | None:
    """The backends' version and the writes the store told its listeners of: with a state
    file, even a write that changes nothing must reach the disk before it is answered."""
    version = backends()
    return None if version is None else (version, store.notified)


def initial_faults(config: MockConfig) -> list[Fault]:
    """The faults active from the start: `--fault` ones, then `--latency` on every call."""
    faults = [parse_fault(spec) for spec in config.faults]
    if config.latency:
        faults.append(parse_fault(f"*=latency={config.latency}"))
    return faults
