"""The Redis engine (`--state redis://HOST:PORT/DB`): one mock's state shared by many processes.

Workers of one machine and replicas on several keep their state (redis_state.py), faults
(redis_faults.py) and journal (redis_journal.py) under the keys of keys.py, and pass inbox
events to each other's watch sockets over pub/sub (redis_events.py), so a team's processes
behave as one mock; users, keys and templates stay those of the fixture set each process
loads. This module hands out the storages on one RedisLink (redis_link.py: clients, timeouts,
outages). Nothing connects here: the first call does, and a start-up check reports a Redis
that cannot be used.
"""

from __future__ import annotations

from mock_server.state.backend import Backends, Limits
from mock_server.state.redis_events import RedisEvents
from mock_server.state.redis_faults import RedisFaults
from mock_server.state.redis_journal import RedisJournal
from mock_server.state.redis_link import DEFAULT_TIMEOUT, RedisLink, redact
from mock_server.state.redis_state import RedisState

__all__ = ["StateBackendError", "open_backends", "redact"]


class StateBackendError(ValueError):
    """The shared state cannot be used; the message names the URL (without password) and why."""


def open_backends(url: str, limits: Limits | None = None, *,
                  timeout: float = DEFAULT_TIMEOUT) -> Backends:
    """The storages on the Redis at `url`."""
    try:
        link = RedisLink(url, timeout=timeout)
    except ValueError as exc:
        raise StateBackendError(f"cannot use the shared state at {redact(url)}: {exc} "
                                "(see --state)") from None
    return Backends(state=RedisState(link, limits), faults=RedisFaults(link),
                    journal=RedisJournal(link), events=RedisEvents(link, url), engine=link)
