"""The state layer: the State value, the Store policy, and one backend per engine."""

from mock_server.state.backend import (
    Backends,
    EventStorage,
    FaultStorage,
    JournalStorage,
    StateBackend,
)
from mock_server.state.backend import open_backends as open_backends
from mock_server.state.model import State
from mock_server.state.store import Store, UnknownTemplate

__all__ = ["Backends", "EventStorage", "FaultStorage", "JournalStorage", "State", "StateBackend",
           "Store", "UnknownTemplate", "open_backends"]
