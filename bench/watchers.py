"""One client process of the fan-out benchmark: many idle inbox watch sockets in one event loop.

Started by bench/fanout.py as `python -m bench.watchers --url WS_URL --count N`; it talks to
its parent with one JSON object per line, commands on stdin and answers on stdout:

    (start)                       -> {"event": "ready", "connected": N, "failed": F, ...}
    {"cmd": "arm", "round": R}    -> {"event": "armed", "round": R, "cpu_s": ...}
    {"cmd": "collect", "round": R, "timeout": S}
                                  -> {"event": "collected", "round": R, "arrivals": [...], ...}
    {"cmd": "close"}              -> {"event": "closed"}, then the process exits

Each socket has one task that does nothing but `await socket.recv()` and note
`time.monotonic()` the moment recv() returns, keeping the raw frame; frames are parsed only when
the parent collects a round, so parsing never delays a later socket's arrival. CLOCK_MONOTONIC
is one clock for every process of the machine, so the parent compares these times with the
moment it sent its POST. The process also ends on stdin's EOF (its parent died) and after
`--lifetime` seconds, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

HANDSHAKES_IN_FLIGHT = 64  # connections opened at once, so the server's accept queue never fills


def raise_open_files(wanted: int) -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to at least `wanted` (never above the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def cpu_s() -> float:
    """This process's CPU time so far, user and system, at nanosecond resolution."""
    return time.process_time()


class Watchers:
    """The sockets, and what each received: (monotonic time recv() returned, frame)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.sockets: list[ClientConnection] = []
        self.frames: list[list[tuple[float, str | bytes]]] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.failures: list[str] = []
        self.closed_early = 0
        self._received: dict[int, int] = {}  # round -> sockets that have that many frames
        self._complete: dict[int, asyncio.Event] = {}
        self._cpu_at_last: dict[int, float] = {}

    async def open(self, url: str, headers: dict[str, str], *, deflate: bool,
                   open_timeout: float) -> None:
        """Open `count` sockets, a bounded number of handshakes at a time."""
        gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)

        async def one() -> ClientConnection | None:
            async with gate:
                try:
                    return await connect(url, additional_headers=headers, open_timeout=open_timeout,
                                         compression="deflate" if deflate else None,
                                         ping_interval=None, close_timeout=2, max_queue=64,
                                         proxy=None)
                except (OSError, TimeoutError, ValueError) as exc:
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    return None
                except Exception as exc:  # websockets' InvalidStatus, InvalidHandshake, ...
                    self.failures.append(f"{type(exc).__name__}: {exc}")
                    return None

        opened = await asyncio.gather(*(one() for _ in range(self.count)))
        self.sockets = [s for s in opened if s is not None]
        self.frames = [[] for _ in self.sockets]
        self.tasks = [asyncio.create_task(self._read(i, s)) for i, s in enumerate(self.sockets)]

    async def _read(self, index: int, socket: ClientConnection) -> None:
        frames = self.frames[index]
        try:
            while True:
                frame = await socket.recv()
                frames.append((time.monotonic(), frame))  # first thing after recv() returns
                seen = len(frames)
                self._received[seen] = self._received.get(seen, 0) + 1
                if self._received[seen] == len(self.sockets):
                    self._cpu_at_last[seen] = cpu_s()
                    self._event(seen).set()
        except ConnectionClosed:
            self.closed_early += 1

    def _event(self, messages: int) -> asyncio.Event:
        return self._complete.setdefault(messages, asyncio.Event())

    async def collect(self, messages: int, timeout: float) -> dict[str, Any]:
        """Each socket's `messages`-th frame: when it arrived and which notification it was."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event(messages).wait(), timeout)
        arrivals: list[float | None] = []
        ids: dict[str, int] = {}
        unread: set[int] = set()
        for frames in self.frames:
            if len(frames) < messages:
                arrivals.append(None)
                continue
            at, frame = frames[messages - 1]
            arrivals.append(at)
            body = json.loads(frame)
            key = body["notification"]["id"]
            ids[key] = ids.get(key, 0) + 1
            unread.add(body["unread_count"])
        return {"arrivals": arrivals, "ids": ids, "unread_counts": sorted(unread),
                "cpu_at_last_s": self._cpu_at_last.get(messages), "closed_early": self.closed_early}

    async def close(self) -> None:
        """Close every socket (each close bounded by its close_timeout) and stop the readers."""
        await asyncio.gather(*(s.close() for s in self.sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def say(**fields: Any) -> None:
    """One answer line to the parent."""
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def commands() -> asyncio.StreamReader:
    """stdin as an asyncio stream, so commands never block the sockets' loop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def serve(args: argparse.Namespace) -> None:
    """Open the sockets, then answer the parent's commands until `close` or EOF."""
    limit = raise_open_files(args.count + 256)
    watchers = Watchers(args.count)
    began = time.monotonic()
    await watchers.open(args.url, {"Coder-Session-Token": args.token}, deflate=args.deflate,
                        open_timeout=args.open_timeout)
    say(event="ready", connected=len(watchers.sockets), failed=len(watchers.failures),
        failures=watchers.failures[:5], connect_s=round(time.monotonic() - began, 3),
        nofile=list(limit), pid=os.getpid(),
        extensions=sorted({type(e).__name__ for s in watchers.sockets[:1]
                           for e in s.protocol.extensions}))
    reader = await commands()
    while True:
        line = await reader.readline()
        if not line:
            break  # the parent is gone
        command = json.loads(line)
        if command["cmd"] == "arm":
            say(event="armed", round=command["round"], cpu_s=cpu_s())
        elif command["cmd"] == "collect":
            result = await watchers.collect(command["round"], command["timeout"])
            say(event="collected", round=command["round"], **result)
        elif command["cmd"] == "close":
            break
    await watchers.close()
    say(event="closed")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options and run, for at most `--lifetime` seconds."""
    parser = argparse.ArgumentParser(prog="python -m bench.watchers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the watch socket's ws:// URL")
    parser.add_argument("--count", type=int, required=True, help="sockets to hold")
    parser.add_argument("--token", required=True, help="Coder-Session-Token of the watcher")
    parser.add_argument("--deflate", action=argparse.BooleanOptionalAction, default=True,
                        help="offer permessage-deflate, as browsers do (default on)")
    parser.add_argument("--open-timeout", type=float, default=30.0)
    parser.add_argument("--lifetime", type=float, default=600.0,
                        help="seconds after which the process gives up and exits (default 600)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(asyncio.wait_for(serve(args), args.lifetime))
    except TimeoutError:
        print(f"watchers: gave up after {args.lifetime:g}s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
