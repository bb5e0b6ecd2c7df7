"""`--state` and `--workers` on the command line: worker processes share one Redis state, and
every combination that could not be one mock is refused with a clear error."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import redis

from mock_server.cli import banner
from mock_server.config import MockConfig
from mock_server.fixtures import load_seed
from tests.conftest import OWNER, auth
from tests.processes import MockProcess
from tests.redis_server import free_port, redis_server

CLOSED = "redis://127.0.0.1:{closed}/0"


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


@pytest.mark.parametrize(("argv", "message"), [
    (["--workers", "2"], "--workers 2 needs --state redis://HOST:PORT/DB: each worker would"),
    (["--workers", "0"], "--workers 0 must be at least 1"),
    (["--state", CLOSED], "cannot use the shared state at redis://127.0.0.1:{closed}/0: "),
    (["--state", "redis://:hunter2@127.0.0.1:{closed}/0"], "shared state at redis://:***@"),
    (["--state", "http://127.0.0.1/"], "expected redis://HOST:PORT/DB"),
    (["--state-file", "{tmp}/state.json", "--state", CLOSED], "exclude each other"),
    (["--workers", "2", "--reload", "--state", CLOSED], "cannot be combined with --workers"),
], ids=["workers-in-memory", "no-workers", "unreachable", "password-hidden", "not-redis",
        "with-state-file", "with-reload"])
def test_a_state_that_cannot_be_one_mock_is_a_clear_error(tmp_path: Path, argv: list[str],
                                                          message: str) -> None:
    values = {"closed": free_port(), "tmp": tmp_path}
    result = subprocess.run(
        [sys.executable, "-m", "mock_server", "--port", "0",
         *(arg.format(**values) for arg in argv)],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith("error: ")
    assert message.format(**values) in result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr
    assert not (tmp_path / "state.json").exists()


@pytest.mark.parametrize(("config", "workers", "line"), [
    (MockConfig(), 1, "State: in memory (this process only)"),
    (MockConfig(state_url="redis://db:6379/2"), 1,
     "State: shared in redis://db:6379/2 (by this process and any replica using it)"),
    (MockConfig(state_url="redis://u:secret@db:6379/0"), 3,
     "State: shared in redis://u:***@db:6379/0 (by 3 worker processes and any replica using it)"),
], ids=["memory", "redis", "workers-password"])
def test_the_banner_names_the_state_backend(config: MockConfig, workers: int, line: str) -> None:
    text = banner("http://127.0.0.1:1", config, load_seed(config.fixtures), workers=workers)
    assert line in text.splitlines()


def test_the_state_url_reaches_the_workers_through_the_environment() -> None:
    config = MockConfig(state_url="redis://db:6379/1", journal_size=7)
    assert MockConfig.from_env({"CODER_MOCK_CONFIG": config.to_env()}) == config


@contextmanager
def mock_workers(*args: str) -> Iterator[MockProcess]:
    """`python -m mock_server` with workers, in its own session so no worker outlives a test."""
    process = subprocess.Popen([sys.executable, "-m", "mock_server", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"},
                               start_new_session=True)
    try:
        yield MockProcess(process)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the group this test started
        process.wait(timeout=10)


class JournalWriters:
    """Which Redis connections append to the shared journal (MONITOR sees every command; an
    append is one script naming the journal's key)."""

    def __init__(self, url: str) -> None:
        self.addresses: set[str] = set()
        self._client = redis.Redis.from_url(url, decode_responses=True)
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._ready = threading.Event()
        self._thread.start()
        assert self._ready.wait(10)

    def _watch(self) -> None:
        with self._client.monitor() as monitor:
            self._ready.set()
            while True:
                command = monitor.next_command()
                if "stop-watching" in command["command"]:
                    return
                text = command["command"].lower()
                if text.startswith("evalsha") and " coder-mock:journal " in text:  # append
                    self.addresses.add(f"{command['client_address']}:{command['client_port']}")

    def names(self) -> set[str]:
        """The client names (coder-mock-PID) of the connections seen so far."""
        return {c["name"] for c in self._client.client_list() if c["addr"] in self.addresses}

    def stop(self) -> None:
        self._client.echo("stop-watching")
        self._thread.join(timeout=10)


def test_workers_serve_one_shared_state(redis_url: str) -> None:
    with mock_workers("--workers", "2", "--state", redis_url, "--no-access-log") as mock:
        mock.wait_for(r"^State: shared in redis://127\.0\.0\.1:\d+/0 \(by 2 worker processes")
        url = mock.url
        wait_until_healthy(url)
        writers = JournalWriters(redis_url)
        sent = 0
        deadline = time.monotonic() + 30
        with ThreadPoolExecutor(8) as pool:
            while len(writers.names() - {f"coder-mock-{mock.process.pid}"}) < 2:
                assert time.monotonic() < deadline, f"one worker served all {sent} calls"
                statuses = pool.map(lambda _: post_test(url), range(16))
                assert set(statuses) == {204}
                sent += 16
        writers.stop()
        outbox = httpx.get(f"{url}/__mock/outbox").json()
        assert len(outbox) == sent
        httpx.post(f"{url}/__mock/faults", json={"status": 503, "times": 5}).raise_for_status()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda _: post_test(url), range(20)))
        assert sorted(statuses) == [204] * 15 + [503] * 5


def post_test(url: str) -> int:
    """One test notification on a new connection, so the kernel may hand it to any worker."""
    return httpx.post(f"{url}/api/v2/notifications/test", headers=auth(OWNER)).status_code


def wait_until_healthy(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/__mock/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer"
        time.sleep(0.05)
