"""The servers under test, each in its own process group so that nothing outlives the run."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

HOST = "127.0.0.1"


@dataclass
class Server:
    """One server under test: how to start it, and what was seen of it while it ran."""

    name: str
    argv: list[str]
    port: int
    prefixes: tuple[str, ...]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    started_at: float = 0.0
    startup_s: float | None = None
    base_path: str | None = None
    probe: dict[str, int] = field(default_factory=dict)
    control_path: str | None = None  # the mock's control API (`/__mock`); Prism has none
    params: dict[str, str] = field(default_factory=dict)  # path parameters found at set-up
    setup: dict[str, object] = field(default_factory=dict)  # how they were found, for the JSON
    env: dict[str, str] = field(default_factory=dict)  # added to this process's environment


def free_port() -> int:
    """A loopback port nobody listens on now, so two servers never collide."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(server: Server, cwd: Path) -> None:
    """Start the server in a new session (its own process group), logging to a file."""
    server.log = server.log_path.open("wb")
    server.started_at = time.monotonic()
    server.proc = subprocess.Popen(server.argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                   stdout=server.log, stderr=subprocess.STDOUT,
                                   env={**os.environ, **server.env} if server.env else None,
                                   start_new_session=True)


def exchange(port: int, method: str, path: str, headers: dict[str, str],
             body: str | None = None, timeout: float = 5.0
             ) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP request on loopback; its status, headers and body."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        hdrs = dict(headers)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        conn.request(method, path, body=body, headers=hdrs)
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def fetch(port: int, method: str, path: str, headers: dict[str, str],
          body: str | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    """One HTTP request on loopback; its status and body."""
    status, _, data = exchange(port, method, path, headers, body, timeout)
    return status, data


def send(port: int, method: str, path: str, headers: dict[str, str],
         body: str | None = None, timeout: float = 5.0) -> int:
    """One HTTP request; the status, so readiness and verification see what wrk will."""
    return fetch(port, method, path, headers, body, timeout)[0]


def wait_ready(server: Server, path: str, headers: dict[str, str], timeout: float) -> float:
    """Poll until a GET answers 2xx under one of the candidate base paths; the start-up time."""
    assert server.proc is not None
    deadline = server.started_at + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with {server.proc.returncode} before "
                               f"answering; see {server.log_path}:\n{log_tail(server)}")
        for prefix in server.prefixes:
            try:
                status = send(server.port, "GET", prefix + path, headers, timeout=1.0)
            except OSError:
                break  # not listening yet
            server.probe[prefix or "/"] = status
            if 200 <= status < 300:
                server.startup_s = time.monotonic() - server.started_at
                server.base_path = prefix
                return server.startup_s
        time.sleep(0.02)
    raise RuntimeError(f"{server.name} gave no 2xx for GET {path} within {timeout:.0f}s "
                       f"(seen: {server.probe}); see {server.log_path}:\n{log_tail(server)}")


def log_tail(server: Server, lines: int = 15) -> str:
    """The end of a server's log, to explain a failure without opening the file."""
    try:
        text = server.log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def descendants(pid: int) -> list[int]:
    """The process and all its descendants (npx starts node under a shell), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


LISTEN, ESTABLISHED = "0A", "01"  # TCP states as /proc/net/tcp writes them


def socket_inodes(port: int, state: str = LISTEN) -> set[str]:
    """Sockets on the local port in a TCP state, as a process's fd links name them
    (`socket:[INODE]`), from /proc/net/tcp{,6}."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in list(handle)[1:]:
                cols = line.split()
                if cols[3] == state and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    return inodes


def open_files(pid: int) -> list[str]:
    """What the process's file descriptors point at (`socket:[INODE]` for a socket)."""
    found = []
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                found.append(os.readlink(fd))
    return found


def listener_pid(server: Server) -> int | None:
    """The process of the server's tree that holds the listening socket (node, not npx)."""
    assert server.proc is not None
    wanted = socket_inodes(server.port)
    for pid in descendants(server.proc.pid):
        if not wanted.isdisjoint(open_files(pid)):
            return pid
    return None


def status_field(pid: int, key: str) -> int | None:
    """A kB field (VmHWM: peak resident set) of /proc/PID/status."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def memory(server: Server) -> dict[str, object]:
    """Peak RSS of the listening process and of the whole tree, read before the kill."""
    assert server.proc is not None
    pid = listener_pid(server)
    tree = descendants(server.proc.pid)
    peaks = [status_field(p, "VmHWM") or 0 for p in tree]
    cmd = ""
    if pid is not None:
        with contextlib.suppress(OSError):
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    return {"listener_pid": pid, "listener_cmd": cmd.strip(),
            "peak_rss_kib": status_field(pid, "VmHWM") if pid else None,
            "tree_pids": tree, "tree_peak_rss_kib": sum(peaks)}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(server: Server, grace: float = 5.0) -> None:
    """SIGTERM the server's process group; SIGKILL whatever of it is left after a grace period."""
    proc = server.proc
    if proc is not None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
        while _group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)  # npx's node child may outlive npx by a moment
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    if server.log is not None:
        server.log.close()


def cpu_ns(pid: int) -> int:
    """CPU time used so far by every thread of the process tree (schedstat: nanoseconds)."""
    total = 0
    for member in descendants(pid):
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{member}/task").iterdir():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int((task / "schedstat").read_text().split()[0])
    return total
