"""Fan-out of the inbox watch socket: N idle watchers, one notification, how long until all have it.

For each case (one worker with in-memory state; Redis-shared state with 2 workers), the mock
starts on a free loopback port, client processes (bench/watchers.py) open N watch sockets for
one user, and each round delivers one notification to that user through the control API. A
watcher's latency is the time from the moment this process sends the POST to the moment its
socket's recv() returns in the client (CLOCK_MONOTONIC, one clock for every process); each
round reports p50, p99 and max over the watchers. Memory per idle watcher is the growth of the
mock's resident set (summed over its processes) from before the sockets opened to after,
divided by N.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import queue
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType
from typing import IO, Any

from websockets.sync.client import connect as sync_connect

from bench import report, servers
from bench.servers import HOST, Server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
API = "/api/v2"
WATCH_PATH = API + "/notifications/inbox/watch"
OWNER_TOKEN = "AdminToken-adminSecretValue000000"
MEMBER_TOKEN = "MemberTokn-memberSecretValue00000"
WORKSPACE_DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"
TARGET_P99_MS = 100.0  # issue #11: 1,000 watchers on one worker, on a 2-core machine
READY_LINE = "Application startup complete."  # uvicorn, once per worker process
CASES = ("memory", "redis")
OUTERMOST = ("(mock_server/cli.py)", "(mock_server/__main__.py)")  # below them: uvicorn's loop


@dataclass
class Case:
    """One configuration of the mock: its name in --cases and the JSON, and how it starts."""

    name: str
    label: str
    workers: int
    argv_extra: list[str]


def build_parser() -> argparse.ArgumentParser:
    """Options; with the defaults both cases take about a minute."""
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, default=1000,
                        help="idle watch sockets per case (default 1000)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="recorded notifications per case, after one unrecorded warm-up "
                             "round (default 5)")
    parser.add_argument("--clients", type=int, default=2,
                        help="client processes the watchers are split across (default 2)")
    parser.add_argument("--workers", type=int, default=2,
                        help="mock worker processes of the Redis case (default 2)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated: memory (1 worker, in-memory state), redis "
                             "(--state redis:// with --workers); default both")
    parser.add_argument("--deflate", action=argparse.BooleanOptionalAction, default=True,
                        help="clients offer permessage-deflate as browsers do, so the mock "
                             "compresses every frame per socket (default on)")
    parser.add_argument("--pause", type=float, default=0.5,
                        help="idle seconds between rounds (default 0.5)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds any one step may take: start-up, connecting, a round "
                             "(default 30)")
    parser.add_argument("--profile", action="store_true",
                        help="sample every mock process with py-spy (pip install py-spy) during "
                             "the recorded rounds: bench/results/fanout-CASE-PID.txt, collapsed "
                             "stacks, and the heaviest functions in the output")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json",
                        help="JSON report to add the `fanout` figures to, keeping the rest "
                             "(default bench/results/latest.json)")
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options, checked, and signals set to unwind (so `finally` stops every process)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.case_names = [c.strip() for c in args.cases.split(",") if c.strip()]
    if not args.case_names or set(args.case_names) - set(CASES):
        parser.error(f"--cases takes a comma-separated subset of {', '.join(CASES)}")
    if min(args.watchers, args.rounds, args.clients, args.workers) < 1:
        parser.error("--watchers, --rounds, --clients and --workers must be >= 1")
    if args.clients > args.watchers:
        parser.error("--clients must not exceed --watchers")
    if args.profile and shutil.which("py-spy") is None and not _venv_py_spy().exists():
        parser.error("--profile needs py-spy: pip install py-spy")
    if args.timeout <= 0 or args.pause < 0:
        parser.error("--timeout must be > 0 and --pause >= 0")
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_on_term)
    signal.signal(signal.SIGHUP, _raise_on_term)
    return args


def _raise_on_term(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


# --- processes -----------------------------------------------------------------------------------

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


def _venv_py_spy() -> Path:
    return Path(sys.executable).with_name("py-spy")


@contextlib.contextmanager
def profiled(case: Case, pids: Sequence[int], enabled: bool) -> Iterator[list[Path]]:
    """py-spy on each mock process that serves (not uvicorn's supervisor) while the block runs;
    collapsed stacks (one line per stack, with its sample count) in bench/results/."""
    if not enabled:
        yield []
        return
    binary = shutil.which("py-spy") or str(_venv_py_spy())
    outputs, spies = [], []
    for pid in pids:
        out = RESULTS / f"fanout-{case.name}-{pid}.txt"
        outputs.append(out)
        spies.append(subprocess.Popen([binary, "record", "--pid", str(pid), "--rate", "250",
                                       "--format", "raw", "--output", str(out)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # py-spy attaches
    try:
        yield outputs
    finally:
        for spy in spies:
            with contextlib.suppress(ProcessLookupError):
                spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for spy in spies:
            try:
                spy.wait(timeout=20)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(timeout=5)


def heaviest(outputs: Sequence[Path], top: int = 10) -> dict[str, Any]:
    """From py-spy's collapsed stacks (one line per stack and its sample count): each sample
    charged to the innermost frame of the mock's own code (mock_server/, with whatever library
    it called below), and to the frame on top of the stack (self time)."""
    mine: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for out in outputs:
        with contextlib.suppress(OSError):
            for line in out.read_text().splitlines():
                stack, _, count = line.rpartition(" ")
                if not stack or not count.isdigit():
                    continue
                n = int(count)
                total += n
                frames = [frame.rsplit(":", 1)[0] + ")" if frame.endswith(")") else frame
                          for frame in stack.split(";")]
                inner = next((f for f in reversed(frames) if "(mock_server/" in f
                              and not f.endswith(OUTERMOST)), "(the event loop itself)")
                mine[inner] = mine.get(inner, 0) + n
                own[frames[-1]] = own.get(frames[-1], 0) + n

    def ranked(counts: dict[str, int]) -> list[dict[str, Any]]:
        return [{"function": f, "share": round(counts[f] / total, 4)}
                for f in sorted(counts, key=lambda f: -counts[f])[:top]]

    return {"samples": total, "by_mock_frame": ranked(mine), "self": ranked(own)} if total else {}


# --- what the mock's processes hold --------------------------------------------------------------

def mock_pids(mock: Server) -> list[int]:
    """The mock's process tree (with --workers: the supervisor and its workers)."""
    assert mock.proc is not None
    return servers.descendants(mock.proc.pid)


def rss_kib(pids: Sequence[int]) -> dict[int, int]:
    """Current resident set (VmRSS) of each process, KiB."""
    return {pid: servers.status_field(pid, "VmRSS") or 0 for pid in pids}


def cpu_ns(pids: Sequence[int]) -> int:
    """CPU time used so far by every thread of these processes (schedstat: nanoseconds)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{pid}/task").iterdir():
                with contextlib.suppress(OSError, ValueError, IndexError):
                    total += int((task / "schedstat").read_text().split()[0])
    return total


def connections_per_process(pids: Sequence[int], port: int) -> dict[int, int]:
    """Established TCP connections to the mock's port held by each of its processes."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as handle:
            for line in list(handle)[1:]:
                cols = line.split()
                if cols[3] == "01" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{cols[9]}]")
    held = {}
    for pid in pids:
        count = 0
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    count += os.readlink(fd) in inodes
        held[pid] = count
    return held


# --- one case ------------------------------------------------------------------------------------

def deliver(mock: Server, label: str) -> dict[str, Any]:
    """POST /__mock/notifications: one Workspace Deleted notification to the member."""
    body = json.dumps({"template_id": WORKSPACE_DELETED, "user": "member",
                       "labels": {"name": label, "reason": "autodeleted due to dormancy",
                                  "initiator": "autobuild"}})
    status, answer = servers.fetch(mock.port, "POST", "/__mock/notifications", {}, body,
                                   timeout=30)
    if status != 201:
        raise RuntimeError(f"POST /__mock/notifications answered {status}: {answer[:500]!r}")
    receipt = json.loads(answer)
    if receipt["duplicate"] or receipt["held"]:
        raise RuntimeError(f"the notification was not delivered: {receipt!r}")
    return next(m for m in receipt["messages"] if m["method"] == "inbox")


def warm_up(mock: Server, run_id: str, timeout: float, deflate: bool) -> None:
    """One watcher and one delivery, so every code path is loaded before memory is read."""
    url = f"ws://{HOST}:{mock.port}{WATCH_PATH}"
    with sync_connect(url, additional_headers={"Coder-Session-Token": MEMBER_TOKEN},
                      compression="deflate" if deflate else None, open_timeout=timeout,
                      close_timeout=5, proxy=None) as watcher:
        sent = deliver(mock, f"fanout-{run_id}-warm-up")
        got = json.loads(watcher.recv(timeout=timeout))
        if got["notification"]["id"] != sent["id"]:
            raise RuntimeError(f"the warm-up watcher got {got!r}, not {sent['id']}")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of them at or
    below it (p99 of 1,000 is the 990th)."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


def one_round(mock: Server, clients: list[Client], number: int, run_id: str,
              timeout: float) -> dict[str, Any]:
    """Arm the clients, deliver, collect every watcher's arrival; the round's figures."""
    for client in clients:
        client.send(cmd="arm", round=number)
    armed = [client.answer("armed", timeout) for client in clients]
    pids = mock_pids(mock)
    cpu_before = cpu_ns(pids)
    sent_at = time.monotonic()
    sent = deliver(mock, f"fanout-{run_id}-{number}")
    answered_at = time.monotonic()
    for client in clients:
        client.send(cmd="collect", round=number, timeout=timeout)
    collected = [client.answer("collected", timeout + 10) for client in clients]
    cpu_after = cpu_ns(pids)
    latencies: list[float] = []
    missing = wrong = 0
    busy = []
    unread: set[int] = set()
    for arm, got in zip(armed, collected, strict=True):
        arrivals = [a for a in got["arrivals"] if a is not None]
        missing += len(got["arrivals"]) - len(arrivals)
        wrong += sum(n for key, n in got["ids"].items() if key != sent["id"])
        latencies.extend((a - sent_at) * 1000 for a in arrivals)
        unread.update(got["unread_counts"])
        if arrivals and got["cpu_at_last_s"] is not None:
            window = max(arrivals) - sent_at
            busy.append((got["cpu_at_last_s"] - arm["cpu_s"]) / window if window > 0 else None)
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"round {number}: no watcher received notification {sent['id']}")
    return {"round": number, "notification_id": sent["id"], "received": len(latencies),
            "missing": missing, "wrong_notification": wrong,
            "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
            "max_ms": latencies[-1], "min_ms": latencies[0],
            "post_answered_ms": (answered_at - sent_at) * 1000,
            "mock_cpu_ms": (cpu_after - cpu_before) / 1e6,
            "client_busy": [None if b is None else round(b, 3) for b in busy],
            "unread_counts": sorted(unread)}


def report_round(case: Case, tag: str, figures: dict[str, Any]) -> None:
    """One progress line per round."""
    print(f"  {case.label}: {tag:<11} p50 {figures['p50_ms']:7.1f}ms  "
          f"p99 {figures['p99_ms']:7.1f}ms  max {figures['max_ms']:7.1f}ms  "
          f"POST {figures['post_answered_ms']:6.1f}ms  mock CPU "
          f"{figures['mock_cpu_ms']:6.1f}ms  client busy {figures['client_busy']}"
          + (f"  MISSING {figures['missing']}" if figures["missing"] else "")
          + (f"  WRONG {figures['wrong_notification']}"
             if figures["wrong_notification"] else ""), flush=True)


def run_case(case: Case, args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    """Start the mock, connect the watchers, run the rounds; every figure of the case."""
    mock = start_mock(case, args.timeout)
    clients: list[Client] = []
    client_log = (RESULTS / f"fanout-{case.name}-clients.log").open("wb")
    try:
        print(f"  {case.label}: mock on {HOST}:{mock.port} ready after {mock.startup_s:.2f}s",
              flush=True)
        warm_up(mock, run_id, args.timeout, args.deflate)
        time.sleep(args.pause)
        pids = mock_pids(mock)
        rss_before = rss_kib(pids)
        url = f"ws://{HOST}:{mock.port}{WATCH_PATH}"
        shares = [args.watchers // args.clients + (i < args.watchers % args.clients)
                  for i in range(args.clients)]
        lifetime = args.timeout * (args.rounds + 4) + 60
        began = time.monotonic()
        clients = [Client(i, url, n, args.deflate, client_log, lifetime)
                   for i, n in enumerate(shares)]
        for client in clients:
            client.ready = client.answer("ready", args.timeout + 30)
        connect_s = time.monotonic() - began
        failed = sum(c.ready["failed"] for c in clients)
        if failed:
            raise RuntimeError(f"{failed} of {args.watchers} watchers could not connect: "
                               f"{[c.ready['failures'] for c in clients]}")
        time.sleep(args.pause)
        pids = mock_pids(mock)
        rss_idle = rss_kib(pids)
        held = connections_per_process(pids, mock.port)
        print(f"  {case.label}: {args.watchers} watchers connected in {connect_s:.2f}s "
              f"({args.clients} client processes; connections per mock process "
              f"{ {p: n for p, n in held.items() if n} }); RSS "
              f"{sum(rss_before.values()) / 1024:.1f} -> {sum(rss_idle.values()) / 1024:.1f} MiB",
              flush=True)
        rounds = []
        figures = one_round(mock, clients, 1, run_id, args.timeout)  # unrecorded warm-up
        report_round(case, "warm-up", figures)
        time.sleep(args.pause)
        serving = [p for p, n in held.items() if n]  # the workers that hold sockets
        with profiled(case, serving, args.profile) as profiles:
            for number in range(2, args.rounds + 2):
                figures = one_round(mock, clients, number, run_id, args.timeout)
                report_round(case, f"round {number - 1}/{args.rounds}", figures)
                rounds.append(figures)
                time.sleep(args.pause)
        rss_after = rss_kib(mock_pids(mock))
    finally:
        for client in clients:
            client.stop()
        client_log.close()
        servers.stop(mock)
    before, idle = sum(rss_before.values()), sum(rss_idle.values())
    keys = ("p50_ms", "p99_ms", "max_ms", "post_answered_ms", "mock_cpu_ms")
    return {
        "label": case.label, "workers": case.workers, "command": mock.argv,
        "watchers": args.watchers, "clients": shares,
        "client_extensions": clients[0].ready.get("extensions") if clients else None,
        "connect_s": round(connect_s, 3), "startup_s": mock.startup_s,
        "connections_per_process": {str(p): n for p, n in held.items()},
        "rss_kib": {"before": before, "idle_watchers": idle,
                    "after_rounds": sum(rss_after.values()),
                    "per_process_before": {str(p): v for p, v in rss_before.items()},
                    "per_process_idle": {str(p): v for p, v in rss_idle.items()}},
        "rss_per_watcher_kib": (idle - before) / args.watchers,
        "median": {k: statistics.median(r[k] for r in rounds) for k in keys},
        "worst": {k: max(r[k] for r in rounds) for k in keys},
        "missing": sum(r["missing"] for r in rounds),
        "wrong_notification": sum(r["wrong_notification"] for r in rounds),
        "rounds": rounds,
        **({"profile": {"files": [str(p) for p in profiles], **heaviest(profiles)}}
           if args.profile else {}),
    }


def cases(args: argparse.Namespace) -> list[Case]:
    """The configurations asked for."""
    found = []
    for name in args.case_names:
        if name == "memory":
            found.append(Case("memory", "1 worker, memory", 1, []))
        else:
            found.append(Case("redis", f"{args.workers} workers, Redis", args.workers,
                              ["--workers", str(args.workers)]))
    return found


# --- the report ----------------------------------------------------------------------------------

HOW = ("latency = CLOCK_MONOTONIC at the moment each socket's recv() returns in a client "
       "process (websockets' asyncio client), minus the moment this process sent the POST "
       "/__mock/notifications; p50/p99/max over the watchers of each round (nearest rank); "
       "memory = growth of the mock processes' summed VmRSS from before the watchers connected "
       "to after, over N")


def table(fanout: dict[str, Any]) -> str:
    """One block per case: every round, then the median across rounds; then memory."""
    head = ("case", "round", "received", "p50 ms", "p99 ms", "max ms", "POST ms",
            "mock CPU ms", "client busy")
    rows: list[tuple[str, ...]] = []
    skipped = [f"{case['label']}: SKIPPED, {case['skipped']}"
               for case in fanout["cases"].values() if "skipped" in case]
    for case in fanout["cases"].values():
        if "skipped" in case:
            continue
        for r in case["rounds"]:
            busy = "/".join("-" if b is None else f"{b:.0%}" for b in r["client_busy"])
            rows.append((case["label"], str(r["round"] - 1),
                         f"{r['received']}/{r['received'] + r['missing']}", f"{r['p50_ms']:.1f}",
                         f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}",
                         f"{r['post_answered_ms']:.1f}", f"{r['mock_cpu_ms']:.1f}", busy))
        med = case["median"]
        rows.append((case["label"], "median", "", f"{med['p50_ms']:.1f}", f"{med['p99_ms']:.1f}",
                     f"{med['max_ms']:.1f}", f"{med['post_answered_ms']:.1f}",
                     f"{med['mock_cpu_ms']:.1f}", ""))
    mem_head = ("case", "watchers", "per process", "RSS before MiB", "RSS idle MiB",
                "KiB/watcher", "connect s")
    mem_rows: list[tuple[str, ...]] = []
    for case in fanout["cases"].values():
        if "skipped" in case:
            continue
        held = "/".join(str(n) for n in case["connections_per_process"].values() if n)
        mem_rows.append((case["label"], str(case["watchers"]), held,
                         f"{case['rss_kib']['before'] / 1024:.1f}",
                         f"{case['rss_kib']['idle_watchers'] / 1024:.1f}",
                         f"{case['rss_per_watcher_kib']:.1f}", f"{case['connect_s']:.2f}"))
    return "\n\n".join(filter(None, [_grid(head, rows) if rows else "",
                                     _grid(mem_head, mem_rows) if mem_rows else "",
                                     "\n".join(skipped)]))


def _grid(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join([cells[0].ljust(widths[0]),
                          *(c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True))])

    return "\n".join([line(head), "-" * (sum(widths) + 2 * (len(widths) - 1)),
                      *(line(r) for r in rows)])


def verdict(fanout: dict[str, Any]) -> str | None:
    """Whether 1,000 watchers on one worker meet the p99 target in every round."""
    case = fanout["cases"].get("memory")
    if not case or "skipped" in case:
        return None
    worst, med = case["worst"]["p99_ms"], case["median"]["p99_ms"]
    if case["watchers"] < 1000:
        return (f"target p99 < {TARGET_P99_MS:.0f} ms, 1,000 watchers on one worker: not "
                f"evaluated, this run had {case['watchers']} watchers")
    held = "met in every round" if worst < TARGET_P99_MS else "NOT met"
    return (f"target p99 < {TARGET_P99_MS:.0f} ms, 1,000 watchers on one worker: {held} "
            f"(p99 median {med:.1f} ms, worst round {worst:.1f} ms; the mock's CPU time per "
            f"round {case['median']['mock_cpu_ms']:.0f} ms)")


def machine_info(load_start: float) -> dict[str, Any]:
    """What the figures depend on: cores, CPU, and the versions of the moving parts."""
    def package(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    redis_version = None
    binary = shutil.which("redis-server")
    if binary:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True,
                              timeout=10, check=False)
        redis_version = done.stdout.strip() or None
    return {"nproc": len(os.sched_getaffinity(0)), "cpu_model": report.cpu_model(),
            "kernel": platform.release(), "python": platform.python_version(),
            **{name: package(name) for name in ("uvicorn", "websockets", "uvloop", "redis")},
            "redis_server": redis_version, "loadavg_1m_start": round(load_start, 2),
            "loadavg_1m_end": round(os.getloadavg()[0], 2)}


def write(fanout: dict[str, Any], path: Path) -> None:
    """Add the figures under `fanout`, keeping what the JSON already holds (bench.run's)."""
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, json.JSONDecodeError):
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            data = loaded
    data["fanout"] = fanout
    report.write_json(data, path)


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case, always stopping what was started; print the table, write the JSON."""
    args = parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    nofile = raise_open_files(args.watchers + 1024)
    run_id = f"{int(time.time()):x}"
    load_start = os.getloadavg()[0]
    print(f"fan-out: {args.watchers} idle watch sockets per case in {args.clients} client "
          f"processes, {args.rounds} rounds (+1 warm-up)", flush=True)
    if load_start > 0.5:
        print(f"note: 1-minute load average is {load_start:.2f} before the run: something else "
              "is using the CPU, so the figures will be noisy", flush=True)
    results: dict[str, Any] = {}
    for case in cases(args):
        if case.name == "redis" and shutil.which("redis-server") is None:
            results[case.name] = {"label": case.label, "skipped": "redis-server is not "
                                  "installed (`make redis` installs it)"}
            print(f"  {case.label}: SKIPPED, redis-server is not installed (`make redis` "
                  "installs it with apt-get)", flush=True)
            continue
        if case.name == "redis":
            with redis_server(RESULTS / "fanout-redis-server.log", args.timeout) as url:
                case.argv_extra = ["--state", url, *case.argv_extra]
                results[case.name] = run_case(case, args, run_id)
        else:
            results[case.name] = run_case(case, args, run_id)
    fanout = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "how": HOW,
        "config": {"watchers": args.watchers, "rounds": args.rounds, "warmup_rounds": 1,
                   "clients": args.clients, "deflate_offered": args.deflate,
                   "pause_s": args.pause, "watcher_user": "member",
                   "notification": f"Workspace Deleted ({WORKSPACE_DELETED}), name label per "
                                   "round", "nofile": list(nofile),
                   "target_p99_ms": TARGET_P99_MS},
        "machine": machine_info(load_start),
        "cases": results,
    }
    print()
    print(f"fan-out of one notification to {args.watchers} idle watchers "
          f"({'permessage-deflate' if args.deflate else 'no compression'})")
    print(f"how: {HOW}")
    print()
    print(table(fanout))
    for case in results.values():
        profile = case.get("profile")
        if profile and profile.get("samples"):
            print(f"\npy-spy on the mock, {case['label']}, recorded rounds: "
                  f"{profile['samples']} samples ({', '.join(profile['files'])}); py-spy "
                  "pauses the mock to sample it, so these rounds' times are slower")
            for title, key in (("charged to the innermost mock_server/ frame", "by_mock_frame"),
                               ("self (top of the stack)", "self")):
                print(f"  {title}:")
                for row in profile[key]:
                    print(f"    {row['share']:6.1%}  {row['function']}")
    line = verdict(fanout)
    if line:
        fanout["target"] = line
        fanout["target_met"] = None if "not evaluated" in line else "NOT" not in line
        print(f"\n{line}")
    machine = fanout["machine"]
    print(f"1-minute load average: {machine['loadavg_1m_start']} at the start, "
          f"{machine['loadavg_1m_end']} at the end ({machine['nproc']} cores)")
    write(fanout, args.output)
    print(f"\nJSON: {args.output} (key `fanout`)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: processes stopped", file=sys.stderr)
        sys.exit(130)
