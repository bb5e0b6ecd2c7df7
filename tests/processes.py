"""The mock as a separate process, for tests that kill it, reload it or read its output."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_URL = re.compile(r"Coder notifications mock: (http://\S+)/api/v2")


class MockProcess:
    """A running `python -m mock_server`: its URL, and its output read as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def output(self) -> str:
        """What it printed so far."""
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """The first output line matching `pattern`, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = regex.search(line)
                if match:
                    return match
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no output line matched {pattern!r}:\n{self.output()}")

    @property
    def url(self) -> str:
        """The deployment URL it printed at start."""
        return self.wait_for(_URL.pattern).group(1)


@contextmanager
def mock_process(*args: str) -> Iterator[MockProcess]:
    """Start the mock on a free port with `args`; it is always killed at the end."""
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        yield MockProcess(process)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
