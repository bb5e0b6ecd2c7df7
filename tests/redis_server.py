"""A real `redis-server` for the shared-state tests: a free loopback port, no persistence."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

SKIP_REASON = ("redis-server is not installed: `make redis` installs it "
               "(apt-get install redis-server); the shared-state tests need a real one")


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def redis_server(directory: Path, *, attempts: int = 3) -> Iterator[str]:
    """Run redis-server until the block ends and yield its URL; skip the test if it is missing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(SKIP_REASON)
    for _ in range(attempts):  # another process may take the free port first
        port = free_port()
        process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
             "no", "--dir", str(directory)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            if _answers(port, process):
                yield f"redis://127.0.0.1:{port}/0"
                return
        finally:
            process.terminate()
            process.wait(timeout=10)
    raise RuntimeError(f"redis-server did not start in {attempts} attempts")


def _answers(port: int, process: subprocess.Popen[str], timeout: float = 10.0) -> bool:
    client = redis.Redis(port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                time.sleep(0.02)
        return False
    finally:
        client.close()


class RedisProcess:
    """A redis-server the test can kill, pause (SIGSTOP), resume and restart on the same port."""

    def __init__(self, binary: str, directory: Path, port: int) -> None:
        self.binary, self.directory, self.port = binary, directory, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> bool:
        """Run it (empty: no persistence); whether it answers."""
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        return _answers(self.port, self.process)

    def kill(self) -> None:
        """SIGKILL: every connection is refused from now on, and the data is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: connections are accepted by the kernel and never answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """End it, paused or not."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)


@contextmanager
def redis_process(directory: Path, *, attempts: int = 3) -> Iterator[RedisProcess]:
    """A RedisProcess, started; stopped when the block ends; the test skips without one."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(SKIP_REASON)
    for _ in range(attempts):
        server = RedisProcess(binary, directory, free_port())
        try:
            if server.start():
                yield server
                return
        finally:
            server.stop()
    raise RuntimeError(f"redis-server did not start in {attempts} attempts")
