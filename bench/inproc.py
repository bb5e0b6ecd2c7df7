"""`python -m bench.inproc`: the mock's own CPU time per request, with no server or socket.

N requests go straight to `create_app(MockConfig())` as ASGI calls, one after another, and the
figure is `time.process_time()` over them: CPU time, which another process's load on a shared
machine barely moves (unlike wrk's req/s). It leaves out uvicorn and the kernel (bench.profile
prices those); it is the figure a change to the mock's own code moves. `--calls` adds the
Python function calls per request (counted by cProfile), which no load moves at all.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import time
from collections.abc import Callable
from typing import Any

from bench.workloads import API, HEADERS, Workload
from mock_server.app import create_app
from mock_server.config import MockConfig

WORKLOADS = (
    Workload("GET", "/notifications/settings"),
    Workload("GET", "/users/me/notifications/preferences"),
    Workload("GET", "/notifications/inbox"),
    Workload("PUT", "/notifications/settings", '{"notifier_paused": true}'),
)
_HEADERS = [(b"host", b"127.0.0.1:3000"), *((k.lower().encode(), v.encode())
                                            for k, v in HEADERS.items())]


def _call(app: Any, workload: Workload) -> Callable[[], Any]:
    """One request of the workload, as uvicorn would hand it over; returns the status."""
    body = (workload.body or "").encode()
    headers = [*_HEADERS, (b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    path = API + workload.path

    async def call() -> int:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": workload.method, "scheme": "http", "path": path,
                 "raw_path": path.encode(), "query_string": b"", "root_path": "",
                 "headers": list(headers), "client": ("127.0.0.1", 5000),
                 "server": ("127.0.0.1", 3000), "state": {}, "extensions": {}}
        sent = False
        status = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    return call


async def _measure(requests: int, rounds: int) -> dict[str, list[float]]:
    app = create_app(MockConfig())
    figures: dict[str, list[float]] = {w.name: [] for w in WORKLOADS}
    calls = {w.name: _call(app, w) for w in WORKLOADS}
    for name, call in calls.items():  # warm up, and check every call succeeds
        status = await call()
        if status not in (200, 304):
            raise SystemExit(f"{name} answered {status}")
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.process_time()
            for _ in range(requests):
                await call()
            figures[name].append((time.process_time() - start) / requests * 1e6)
    return figures


async def _count_calls(requests: int) -> dict[str, float]:
    """Python function calls per request, workload by workload (after two warm-up calls)."""
    app = create_app(MockConfig())
    counts = {}
    for workload in WORKLOADS:
        call = _call(app, workload)
        await call()
        await call()
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(requests):
            await call()
        profile.disable()
        counts[workload.name] = pstats.Stats(profile).total_calls / requests  # type: ignore[attr-defined]
    return counts


def main() -> None:
    """Print CPU µs per request for each workload: the median and best of the rounds."""
    parser = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="per round and workload")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", action="store_true", help="also count function calls")
    args = parser.parse_args()
    figures = asyncio.run(_measure(args.requests, args.rounds))
    calls = asyncio.run(_count_calls(200)) if args.calls else {}
    print(f"{'workload':52} {'median µs':>10} {'best µs':>8}" + ("   calls" if calls else ""))
    for name, values in figures.items():
        count = f" {calls[name]:7.0f}" if calls else ""
        print(f"{name:52} {statistics.median(values):10.1f} {min(values):8.1f}{count}")


if __name__ == "__main__":
    main()
