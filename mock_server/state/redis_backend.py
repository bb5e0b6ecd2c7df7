"""The Redis engine (`--state redis://HOST:PORT/DB`): one mock's state shared by many processes.

Workers of one machine and replicas on several keep their state (redis_state.py), faults
(redis_faults.py) and journal (redis_journal.py) under the keys of keys.py, and pass inbox
events to each other's watch sockets over pub/sub (redis_events.py), so a team's processes
behave as one mock; users, keys and templates stay those of the fixture set each process
loads. This module connects and hands out the storages.
"""

from __future__ import annotations

import functools
import os
from urllib.parse import urlsplit, urlunsplit

import redis

from mock_server.state.backend import Backends
from mock_server.state.redis_events import RedisEvents
from mock_server.state.redis_faults import RedisFaults
from mock_server.state.redis_journal import RedisJournal
from mock_server.state.redis_state import RedisState


class StateBackendError(ValueError):
    """The shared state cannot be used; the message names the URL (without password) and why."""


def redact(url: str) -> str:
    """The URL as the banner and errors may show it: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


@functools.cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3,
                                socket_timeout=10, client_name=f"coder-mock-{os.getpid()}")


def connect(url: str) -> redis.Redis:
    """This process's client for `url` (one pool for state, faults and journal), checked now."""
    try:
        client = _client(url)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise StateBackendError(f"cannot use the shared state at {redact(url)}: {exc} "
                                "(is redis-server running there? see --state)") from None
    return client


def open_backends(url: str) -> Backends:
    """The storages on the Redis at `url`."""
    client = connect(url)
    return Backends(state=RedisState(client), faults=RedisFaults(client),
                    journal=RedisJournal(client), events=RedisEvents(client, url))
