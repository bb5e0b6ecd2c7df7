"""Shared by the tests: Coder's error shape, asserted exactly, and workers started at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx

JSON_TYPE = "application/json; charset=utf-8"
SIGNED_OUT = ("You are signed out or your session has expired. "
              "Please sign in again to continue.")
INVALID_JSON = "Request body must be valid JSON."
FORBIDDEN_DETAIL = ("You don't have permission to view this content. If you believe this is a "
                    "mistake, please contact your administrator or try signing in with different "
                    "credentials.")
USER_NOT_FOUND = '"user" must be an existing uuid or username.'
RESOURCE_NOT_FOUND = "Resource not found or you do not have access to this resource"
T = TypeVar("T")
INVALID_CHALLENGE = ('Bearer realm="coder", error="invalid_token", '
                     'error_description="The access token is invalid"')
EXPIRED_CHALLENGE = ('Bearer realm="coder", error="invalid_token", '
                     'error_description="The access token has expired"')


def expect_json(response: httpx.Response, status: int, body: object) -> None:
    """A JSON answer as Go's encoder writes it: this status, this value, a trailing newline."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_TYPE
    assert response.content.endswith(b"\n")
    assert json.loads(response.content) == body


def expect_error(response: httpx.Response, status: int, message: str,
                 detail: str | None = None) -> None:
    """A `codersdk.Response`: `detail` and `validations` are absent, not empty, when unset."""
    body: dict[str, str] = {"message": message}
    if detail is not None:
        body["detail"] = detail
    expect_json(response, status, body)


def expect_empty(response: httpx.Response, status: int) -> None:
    """204, 304 or 405: no body, and no Content-Type that would claim one."""
    assert response.status_code == status, response.text
    assert response.content == b""
    assert "content-type" not in response.headers


def run_threads(count: int, work: Callable[[int], None], *, hang: float = 30) -> None:
    """Start `count` workers at once; re-raise the first failure of any of them. Each join
    waits up to `hang` seconds; a worker still running then counts as hung (a guard against a
    hang, not a speed)."""
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait()
            work(index)
        except BaseException as exc:  # re-raised in the calling thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=hang)
    assert not [t for t in threads if t.is_alive()], "a worker hung"
    if failures:
        raise failures[0]


def settled(work: Coroutine[Any, Any, T]) -> T:
    """The result of a coroutine that never waits, from synchronous code, inside an event loop
    or not: a memory-backed mock's store, journal and delivery (each runs whole under a lock).
    A coroutine that does wait (Redis, a state file) is an error here: use `MockServer.run`."""
    try:
        work.send(None)
    except StopIteration as done:
        return done.value
    work.close()
    raise RuntimeError("settled(): the coroutine waited; run it on a loop (MockServer.run)")


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler], *, name: str) -> Iterator[str]:
    """A plain HTTP server (a page's origin, a server that is not Coder) on a port-0 loopback
    socket in a thread of its own: its base URL while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=partial(server.serve_forever, poll_interval=0.05),
                              name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
