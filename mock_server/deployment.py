"""A Deployment: the state, fault book and journal one mock serves, built from its configuration.

`create_app`, `MockServer` and the CLI all build theirs here, so there is one place where the
configuration picks the engine (memory, state file or Redis) and activates its faults.
"""

from __future__ import annotations

from dataclasses import dataclass

from mock_server.config import MockConfig
from mock_server.delivery import Enqueuer
from mock_server.faults import Fault, FaultBook, parse_fault
from mock_server.fixtures import load_seed
from mock_server.journal import Journal
from mock_server.state import EventStorage, Store, open_backends
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


def build_deployment(config: MockConfig, *, store: Store | None = None) -> Deployment:
    """The deployment a configuration describes; `store` replaces the one it would build."""
    backends = open_backends(config)
    if store is None:
        store = Store(load_seed(config.fixtures), backends.state,
                      task_templates=config.task_templates)
        if config.state_file is not None:
            StateFile(config.state_file).attach(store)
    faults = FaultBook(backends.faults)
    faults.seed(initial_faults(config))
    enqueuer = Enqueuer(store, default_method=config.default_method,
                        access_url=config.access_url or DEFAULT_ACCESS_URL,
                        events=backends.events)
    return Deployment(store=store, faults=faults, enqueuer=enqueuer, events=backends.events,
                      journal=Journal(backends.journal, size=config.journal_size))


def initial_faults(config: MockConfig) -> list[Fault]:
    """The faults active from the start: `--fault` ones, then `--latency` on every call."""
    faults = [parse_fault(spec) for spec in config.faults]
    if config.latency:
        faults.append(parse_fault(f"*=latency={config.latency}"))
    return faults
