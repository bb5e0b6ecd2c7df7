"""One client process of the fan-out benchmark (bench/watchers.py), spoken to in JSON lines."""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
from typing import IO, Any

from bench.fanout_config import MEMBER_TOKEN, ROOT


class Client:
    """One bench/watchers.py process, spoken to in JSON lines; every answer awaited in bounds."""

    def __init__(self, index: int, url: str, count: int, deflate: bool, log: IO[bytes],
                 lifetime: float) -> None:
        self.index = index
        self.count = count
        argv = [sys.executable, "-m", "bench.watchers", "--url", url, "--count", str(count),
                "--token", MEMBER_TOKEN, "--lifetime", f"{lifetime:g}",
                "--deflate" if deflate else "--no-deflate"]
        self.proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready: dict[str, Any] = {}

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                self._answers.put(json.loads(line))
        self._answers.put(None)

    def send(self, **command: Any) -> None:
        """One command line."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()

    def answer(self, event: str, timeout: float) -> dict[str, Any]:
        """The next answer, which must be `event`, within `timeout` seconds."""
        try:
            got = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"client {self.index} gave no {event!r} within {timeout:g}s") \
                from None
        if got is None or got.get("event") != event:
            raise RuntimeError(f"client {self.index}: expected {event!r}, got {got!r} "
                               f"(exit status {self.proc.poll()})")
        return got

    def stop(self, timeout: float = 10.0) -> None:
        """Ask it to close its sockets and exit; kill it if it does not."""
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.send(cmd="close")
                self.proc.stdin.close()  # type: ignore[union-attr]
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
