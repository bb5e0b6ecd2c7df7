"""One Redis URL as this process reaches it: an asyncio client per event loop, with timeouts,
and the one place an outage is noticed, logged (once when it starts, once when it ends) and
turned into `StateUnavailable`.

redis.asyncio's connections belong to the event loop that opened them, and a process may run
several loops (uvicorn's, a test's, a command-line check's), so each loop gets its own client.
Every command is bounded by the socket timeouts: a Redis that is down, stopped or slow costs a
call at most `timeout` seconds (a broken connection is retried once, a slow answer is not).
Each new connection moves the epoch on, so the Store checks the seed marker again (a Redis that
restarted empty is noticed at the next call).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript

from mock_server.state.backend import StateUnavailable

logger = logging.getLogger("mock_server.state")

DEFAULT_TIMEOUT = 0.5  # seconds: connect, and each answer
OUTAGE_ERRORS = (redis.RedisError, OSError, TimeoutError)


def redact(url: str) -> str:
    """The URL as the banner and errors may show it: any password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


class RedisLink:
    """This process's way to one Redis: clients per loop, scripts, outage bookkeeping."""

    def __init__(self, url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        redis.asyncio.ConnectionPool.from_url(url)  # a URL redis-py cannot read fails here
        self.url = url
        self.where = redact(url)
        self.timeout = timeout
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] \
            = weakref.WeakKeyDictionary()
        self._scripts: dict[tuple[int, str], AsyncScript] = {}
        self._connections = 0  # opened so far: the epoch
        self.down_since: float | None = None
        self.last_error = ""
        self.refused = 0  # calls answered StateUnavailable during the current outage

    def client(self) -> redis.asyncio.Redis:
        """The running loop's client (made on first use)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = redis.asyncio.Redis.from_url(
                self.url, decode_responses=True, socket_connect_timeout=self.timeout,
                socket_timeout=self.timeout, client_name=f"coder-mock-{os.getpid()}",
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
                redis_connect_func=self._on_connect)
            self._clients[loop] = client
        return client

    def script(self, text: str) -> AsyncScript:
        """A Lua script registered on the running loop's client."""
        client = self.client()
        key = (id(client), text)
        if key not in self._scripts:
            self._scripts[key] = client.register_script(text)
        return self._scripts[key]

    async def _on_connect(self, connection: redis.asyncio.Connection) -> None:
        await connection.on_connect()
        self._connections += 1

    def epoch(self) -> int:
        """Connections opened so far: a new one may reach a Redis that lost everything."""
        return self._connections

    def failed(self, exc: BaseException) -> StateUnavailable:
        """Note a failed call (one log line per outage) and the error to raise for it."""
        self.refused += 1
        reason = str(exc) or type(exc).__name__
        if self.down_since is None:
            self.down_since = time.monotonic()
            logger.error("Redis at %s is unreachable (%s); calls that need the state are "
                         "answered 503 until it is back", self.where, reason)
        self.last_error = reason
        return StateUnavailable(self.where, reason)

    def succeeded(self) -> None:
        """Note a call that reached Redis: the end of an outage, if there was one."""
        if self.down_since is not None:
            logger.warning("Redis at %s is reachable again after %.1f s (%d calls answered 503)",
                           self.where, time.monotonic() - self.down_since, self.refused)
            self.down_since, self.refused = None, 0

    async def health(self) -> dict[str, Any]:
        """A PING, bounded by the timeout, and what the link knows of outages."""
        try:
            await asyncio.wait_for(self.client().ping(), self.timeout * 2)
        except OUTAGE_ERRORS as exc:
            self.failed(exc)
        else:
            self.succeeded()
        report: dict[str, Any] = {"engine": "redis", "url": self.where,
                                  "reachable": self.down_since is None,
                                  "timeout_s": self.timeout}
        if self.down_since is not None:
            report |= {"error": self.last_error, "down_for_s": round(
                time.monotonic() - self.down_since, 3), "refused_calls": self.refused}
        return report

    async def close(self) -> None:
        """Close the running loop's client, if it has one."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            self._scripts = {k: s for k, s in self._scripts.items() if k[0] != id(client)}
            await client.aclose()


P = ParamSpec("P")
R = TypeVar("R")


def guarded(method: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """A storage method whose Redis errors become StateUnavailable (the instance's `_link`)."""

    @functools.wraps(method)
    async def call(*args: P.args, **kwargs: P.kwargs) -> R:
        link: RedisLink = args[0]._link  # type: ignore[attr-defined]
        try:
            result = await method(*args, **kwargs)
        except OUTAGE_ERRORS as exc:
            raise link.failed(exc) from None
        link.succeeded()
        return result

    return call
