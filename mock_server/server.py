"""MockServer: one mock deployment, in-process or on a real loopback socket, for tests and tools."""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Coroutine
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlencode

import uvicorn
from connexion import ConnexionMiddleware

from mock_server.app import create_app
from mock_server.config import BASE_PATH, MockConfig
from mock_server.connection import ConnectionLimits, protocol_factory
from mock_server.delivery import Enqueuer
from mock_server.deployment import build_deployment, initial_faults
from mock_server.faults import FaultBook, Sleep
from mock_server.fixtures import load_seed
from mock_server.handshake_protocol import HandshakeHttpProtocol
from mock_server.journal import Journal
from mock_server.middleware.watch import WATCH_PATH
from mock_server.models import ApiKey
from mock_server.replay import Replays
from mock_server.state import Store

T = TypeVar("T")


def quiet_deliberate_drops(record: logging.LogRecord) -> bool:
    """uvicorn's complaints the mock causes on purpose: a `drop` fault ends a response (or a
    handshake's denial) unfinished, and uvicorn's websockets-sansio protocol reports every
    completed denial (a handshake answered 401, 400, ...) as a handshake never completed."""
    return record.getMessage() not in ("ASGI callable returned without completing response.",
                                       "ASGI callable returned without completing handshake.")


def websocket_options(config: MockConfig) -> dict[str, Any]:
    """uvicorn's WebSocket settings: Coder's heartbeat pings, no close when a pong is late
    (httpapi.Heartbeat only stops pinging), no permessage-deflate (Coder's
    websocket.Accept(rw, r, nil) leaves compression off; it also halves a watcher's memory),
    and a malformed handshake served as HTTP, as Coder's router serves it."""
    return {"ws_ping_interval": config.ws_ping_interval or None, "ws_ping_timeout": None,
            "ws_per_message_deflate": False, "http": HandshakeHttpProtocol}


def server_options(config: MockConfig, replays: Replays | None = None) -> dict[str, Any]:
    """Every uvicorn setting the configuration decides: the WebSocket ones, and the HTTP
    protocol with the head limits and deadline (mock_server/connection.py) and the table of
    answers it replays (`replays`, or a new one; none with --no-replay)."""
    limits = ConnectionLimits(max_header_bytes=config.max_header_bytes,
                              header_timeout=config.header_timeout)
    if replays is None and config.replay:
        replays = Replays()
    return {**websocket_options(config), "http": protocol_factory(limits, replays)}


def bound_config(config: MockConfig, host: str) -> MockConfig:
    """The configuration with the bound host served too, when it is a name (an IP address
    always is): who binds the mock to a name reaches it by that name."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host not in config.allowed_hosts:
            return dataclasses.replace(config, allowed_hosts=(*config.allowed_hosts, host))
    return config


class MockServer:
    """The mock as an object: its app, store, journal and faults; a port-0 socket once started.

    `sleep` is what latency faults wait with (tests inject one that records instead).
    """

    def __init__(self, config: MockConfig | None = None, *, host: str = "127.0.0.1",
                 sleep: Sleep = asyncio.sleep) -> None:
        self.config = bound_config(config or MockConfig(), host)
        deployment = build_deployment(self.config)
        self.deployment = deployment
        self.store: Store = deployment.store
        self.journal: Journal = deployment.journal
        self.faults: FaultBook = deployment.faults
        self.enqueuer: Enqueuer = deployment.enqueuer
        self.app: ConnexionMiddleware = create_app(self.config, deployment, sleep=sleep)
        self.replays: Replays | None = Replays() if self.config.replay else None
        self.host = host
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._port = 0

    @property
    def url(self) -> str:
        """The deployment URL (`http://127.0.0.1:PORT`); the API lives under `/api/v2`."""
        if self._server is None:
            raise RuntimeError("MockServer.url: the server is not started; call start() first")
        return f"http://{self.host}:{self._port}"

    @property
    def api_url(self) -> str:
        """The API base URL, as OpenAPI's `servers` would resolve it."""
        return self.url + BASE_PATH

    def watch_url(self, **query: str) -> str:
        """The inbox watch socket's `ws://` URL with these query parameters (e.g.
        `read_status="unread"`, `coder_session_token=...`, `mock_prefer="drop"`)."""
        suffix = f"?{urlencode(query)}" if query else ""
        return self.url.replace("http://", "ws://", 1) + WATCH_PATH + suffix

    def token(self, *, owner: bool) -> str:
        """A working token of an active owner or member of the fixture set."""
        for user, key in self.store.seed.accounts():
            if user.is_active and user.is_owner == owner and key.expires_at is None:
                return key.token
        role = "owner" if owner else "member"
        raise LookupError(f"the fixture set {self.config.fixtures} has no active {role} "
                          "with a token that does not expire")

    def api_keys(self) -> tuple[ApiKey, ...]:
        """Every key of the fixture set."""
        return self.store.seed.keys

    def start(self, *, timeout: float = 10.0) -> MockServer:
        """Serve on a free loopback port in a background thread; return once it answers."""
        if self._server is not None:
            raise RuntimeError("MockServer.start: already started")
        sock = socket.create_server((self.host, 0))
        self._port = sock.getsockname()[1]
        if self.config.access_url is None:  # links in notifications point at this server
            self.enqueuer.access_url = f"http://{self.host}:{self._port}"
        logging.getLogger("uvicorn.error").addFilter(quiet_deliberate_drops)
        self._server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning",
                                                     access_log=False, lifespan="on",
                                                     **server_options(self.config,
                                                                      self.replays)))
        self._loop = (self._server.config.get_loop_factory() or asyncio.new_event_loop)()
        self._thread = threading.Thread(target=self._serve, args=(sock,),
                                        name=f"mock-server-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"MockServer did not start on port {self._port}")
            time.sleep(0.01)
        return self

    def _serve(self, sock: socket.socket) -> None:
        """The server's thread: serve on this server's own loop, then close its connections."""
        assert self._server is not None
        assert self._loop is not None
        try:
            self._loop.run_until_complete(self._server.serve(sockets=[sock]))
            self._loop.run_until_complete(self.deployment.close())
        finally:
            self._loop.close()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run one of the deployment's coroutines (`mock.run(mock.store.outbox())`) from
        synchronous code: on the server's loop once started (its Redis client is that
        loop's), else on a loop of its own."""
        loop = self._loop
        if loop is not None and loop.is_running():
            return asyncio.run_coroutine_threadsafe(work, loop).result(timeout=30)

        async def then_close() -> T:
            try:
                return await work
            finally:
                await self.deployment.close()

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(then_close())
        # this thread already runs a loop (playwright's sync API, a sync test inside async
        # code): asyncio.run would refuse, so the work gets a thread and a loop of its own
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, then_close()).result(timeout=30)

    def stop(self) -> None:
        """Stop serving and wait for the thread; a stopped server can be inspected, not reused."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def clear(self) -> None:
        """Back to the state this server was built in, as between two tests.

        Settings, preferences and outbox go back to the configured fixture set (also after
        `PUT /__mock/fixtures` switched to another one), the journal is emptied, and the faults
        are those of the configuration again (`faults`, `latency`): any added since are removed.
        The server keeps serving on the same port.
        """
        self.run(self._clear())

    async def _clear(self) -> None:
        fixtures = self.config.fixtures.resolve()
        await self.store.reset(None if self.store.seed.source == fixtures
                               else load_seed(fixtures))
        await self.journal.clear()
        await self.faults.clear()
        for fault in initial_faults(self.config):
            await self.faults.add(fault)

    def close(self) -> None:
        """Stop serving, if started; calling it again (or on a server never started) does
        nothing."""
        if self._thread is not None and self._thread.is_alive():
            self.stop()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
