"""The processes of a fan-out case and what /proc says of them: a throw-away redis-server, the
mock (one worker or several), its process tree's memory, CPU time and held connections."""

from __future__ import annotations

import contextlib
import resource
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from bench import servers
from bench.fanout_config import API, OWNER_TOKEN, RESULTS, ROOT, Case
from bench.servers import HOST, Server

READY_LINE = "Application startup complete."  # uvicorn, once per worker process


def raise_open_files(wanted: int) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE (the mock and the clients inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        raise RuntimeError(f"{wanted} open files are needed but the hard limit is {hard}: "
                           "raise it (ulimit -Hn) or pass fewer --watchers")
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


@contextlib.contextmanager
def redis_server(log_path: Path, timeout: float) -> Iterator[str]:
    """A throw-away redis-server on a free loopback port (no persistence); its URL."""
    binary = shutil.which("redis-server")
    assert binary is not None
    with tempfile.TemporaryDirectory(prefix="fanout-redis-") as directory:
        port = servers.free_port()
        server = Server("redis", [binary, "--port", str(port), "--bind", HOST, "--save", "",
                                  "--appendonly", "no", "--dir", directory],
                        port, ("",), log_path)
        servers.start(server, ROOT)
        try:
            deadline = time.monotonic() + timeout
            while not _redis_answers(port):
                if server.proc is not None and server.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited: {servers.log_tail(server)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server gave no PONG within {timeout:g}s")
                time.sleep(0.05)
            yield f"redis://{HOST}:{port}/0"
        finally:
            servers.stop(server)


def _redis_answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(64).startswith(b"+PONG")
    return False


def start_mock(case: Case, timeout: float) -> Server:
    """`python -m mock_server --port 0 --no-access-log ...`; the port read from its banner, and
    every worker's start-up complete (uvicorn logs it once per worker)."""
    argv = [sys.executable, "-m", "mock_server", "--host", HOST, "--port", "0",
            "--no-access-log", *case.argv_extra]
    mock = Server(f"mock ({case.label})", argv, 0, (API,), RESULTS / f"fanout-{case.name}.log",
                  control_path="/__mock")
    servers.start(mock, ROOT)
    assert mock.proc is not None
    deadline = time.monotonic() + timeout
    while True:
        text = mock.log_path.read_text(errors="replace")
        if mock.port == 0 and "Coder notifications mock: http://" in text:
            address = text.split("Coder notifications mock: http://", 1)[1].split("/", 1)[0]
            mock.port = int(address.rsplit(":", 1)[1])
        if mock.port and text.count(READY_LINE) >= case.workers:
            break
        if mock.proc.poll() is not None:
            raise RuntimeError(f"the mock exited with {mock.proc.returncode}; see "
                               f"{mock.log_path}:\n{servers.log_tail(mock)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the mock was not ready within {timeout:g}s; see "
                               f"{mock.log_path}:\n{servers.log_tail(mock)}")
        time.sleep(0.05)
    servers.wait_ready(mock, "/notifications/settings", {"Coder-Session-Token": OWNER_TOKEN},
                       timeout)
    return mock


def mock_pids(mock: Server) -> list[int]:
    """The mock's process tree (with --workers: the supervisor and its workers)."""
    assert mock.proc is not None
    return servers.descendants(mock.proc.pid)


def rss_kib(pids: Sequence[int]) -> dict[int, int]:
    """Current resident set (VmRSS) of each process, KiB."""
    return {pid: servers.status_field(pid, "VmRSS") or 0 for pid in pids}


def connections_per_process(pids: Sequence[int], port: int) -> dict[int, int]:
    """Established TCP connections to the mock's port held by each of its processes."""
    held = servers.socket_inodes(port, servers.ESTABLISHED)
    return {pid: sum(name in held for name in servers.open_files(pid)) for pid in pids}
