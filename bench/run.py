"""`make bench`: the mock and Prism side by side under wrk, on loopback, in one bounded run."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import loadgen, report, servers
from bench.servers import HOST, Server

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PRISM_PKG = "@stoplight/prism-cli@5.16.0"
OWNER_TOKEN = "AdminToken-adminSecretValue000000"
# The bypass header keeps a future rate limiter (Coder's 512/min) from turning the run into 429s.
HEADERS = {"Coder-Session-Token": OWNER_TOKEN, "X-Coder-Bypass-Ratelimit": "true"}
API = "/api/v2"
PREF_BODY = json.dumps({"template_disabled_map": {"f517da0b-cdc9-410f-ab89-a86107c420ed": True}})
READ_BODY = json.dumps({"is_read": True})
# Delivered to the owner through the mock's control API when the owner's inbox is empty at set-up
# (a fixture set without an inbox), so that read-status has an id to mark: Workspace Deleted.
DELIVERY = json.dumps({"template_id": "f517da0b-cdc9-410f-ab89-a86107c420ed", "user": "admin",
                       "labels": {"name": "bench", "reason": "bench set-up", "initiator": "bench"}})


@dataclass(frozen=True)
class Workload:
    """One request repeated by wrk; `path` is relative to the API base path, and its `{id}`
    is each server's own, found at set-up (`prepare`)."""

    method: str
    path: str
    body: str | None = None

    @property
    def name(self) -> str:
        """How the table names it: the request as a client of /api/v2 sends it."""
        return f"{self.method} {API}{self.path}"

    def url_path(self, server: Server) -> str:
        """The path this server is loaded at: its base path, its parameters filled in."""
        return f"{server.base_path}{self.path.format_map(server.params)}"


WORKLOADS = (
    Workload("GET", "/notifications/settings"),
    Workload("GET", "/notifications/dispatch-methods"),
    Workload("GET", "/notifications/templates/system"),
    Workload("GET", "/users/me/notifications/preferences"),
    Workload("GET", "/users/me"),
    Workload("GET", "/notifications/inbox"),
    Workload("PUT", "/notifications/settings", json.dumps({"notifier_paused": True})),
    Workload("PUT", "/users/me/notifications/preferences", PREF_BODY),
    Workload("PUT", "/notifications/inbox/{id}/read-status", READ_BODY),
)


def build_parser() -> argparse.ArgumentParser:
    """Options (wrk takes whole seconds); the defaults keep a run to about 3.5 minutes."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="A/B rounds (default 3)")
    parser.add_argument("--duration", type=int, default=3,
                        help="seconds of wrk per workload, server and round (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="seconds of unrecorded wrk per workload and server before round 1, "
                             "so Node's JIT and Python's caches are warm (default 1; 0: none)")
    parser.add_argument("--prism-log-level", default="warn",
                        choices=["trace", "debug", "info", "warn", "error", "fatal", "silent"],
                        help="Prism -v (default warn: no per-request log, like the mock's "
                             "--no-access-log; info is Prism's own default)")
    parser.add_argument("--startup-timeout", type=float, default=120.0,
                        help="seconds each server may take to answer (default 120)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json",
                        help="JSON report (default bench/results/latest.json)")
    return parser


def prefetch_prism() -> tuple[str, float]:
    """Fetch Prism into npx's cache first, so its start-up time is not a download time."""
    began = time.monotonic()
    done = subprocess.run(["npx", "--yes", PRISM_PKG, "--version"], cwd=ROOT, text=True,
                          capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"npx could not run {PRISM_PKG}: {done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1], time.monotonic() - began


def make_servers(prism_log_level: str) -> list[Server]:
    """The mock (as `make serve` runs it, access log off) and Prism in static mode."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    mock_port, prism_port = servers.free_port(), servers.free_port()
    while prism_port == mock_port:
        prism_port = servers.free_port()
    mock = Server("mock", [sys.executable, "-m", "mock_server", "--host", HOST,
                           "--port", str(mock_port), "--no-access-log"],
                  mock_port, (API,), RESULTS / "mock.log", control_path="/__mock")
    # Prism drops a relative `servers` URL's path, so it may serve the spec's paths at the root:
    # probe both and use whichever answers 2xx.
    prism = Server("prism", ["npx", "--yes", PRISM_PKG, "mock", "-h", HOST, "-p",
                             str(prism_port), "-v", prism_log_level, "openapi.yaml"],
                   prism_port, (API, ""), RESULTS / "prism.log")
    return [mock, prism]


def inbox_ids(server: Server) -> list[str]:
    """The ids of the owner's inbox, as the first page lists them."""
    path = f"{server.base_path}/notifications/inbox"
    status, body = servers.fetch(server.port, "GET", path, HEADERS)
    if status != 200:
        raise RuntimeError(f"{server.name}: GET {path} answered {status}: {body[:500]!r}")
    return [row["id"] for row in json.loads(body)["notifications"]]


def prepare(server: Server) -> None:
    """Path parameters: `{id}` is the first notification of the owner's inbox, read from the
    list (Prism's is its example's); on the mock, one is delivered first when the list is empty.
    Before `verify`, whose settings PUT pauses the notifier (a delivery would then be held)."""
    ids = inbox_ids(server)
    server.setup["inbox_listed"] = len(ids)
    if not ids and server.control_path is not None:
        path = f"{server.control_path}/notifications"
        status, body = servers.fetch(server.port, "POST", path, {}, DELIVERY)
        if status != 201:
            raise RuntimeError(f"{server.name}: POST {path} answered {status}: {body[:500]!r}")
        server.setup["delivered"] = json.loads(DELIVERY)
        ids = inbox_ids(server)
    if not ids:
        raise RuntimeError(f"{server.name}: the owner's inbox is empty, so read-status has no id")
    server.params["id"] = ids[0]
    how = "delivered at set-up" if "delivered" in server.setup else f"first of {len(ids)} listed"
    print(f"  {server.name:<5} inbox id {ids[0]} ({how})", flush=True)


def verify(server: Server) -> dict[str, list[int]]:
    """Send each workload twice (a repeated PUT may turn 200 into 304); the statuses seen."""
    seen: dict[str, list[int]] = {}
    for work in WORKLOADS:
        path = work.url_path(server)
        statuses = [servers.send(server.port, work.method, path, HEADERS, work.body)
                    for _ in range(2)]
        seen[work.name] = sorted(set(statuses), key=statuses.index)
        ok = all(200 <= s < 300 or s == 304 for s in statuses)
        print(f"  {server.name:<5} {work.method} {path:<45} -> "
              f"{', '.join(map(str, seen[work.name]))}{'' if ok else '  (NOT 2xx/304)'}")
    return seen


def warm_up(pair: list[Server], args: argparse.Namespace) -> None:
    """Unrecorded load on every workload, so round 1 does not measure a cold JIT."""
    if args.warmup <= 0:
        return
    print(f"warming up: {args.warmup:g}s per workload and server", flush=True)
    for work in WORKLOADS:
        for server in pair:
            url = f"http://{HOST}:{server.port}{work.url_path(server)}"
            loadgen.run(url, work.method, work.body, HEADERS, threads=args.threads,
                        connections=args.connections, duration=args.warmup)


def measure(pair: list[Server], args: argparse.Namespace) -> dict[str, dict[str, list[Any]]]:
    """wrk on every workload, A then B, round after round; every run's figures."""
    runs: dict[str, dict[str, list[Any]]] = {w.name: {s.name: [] for s in pair} for w in WORKLOADS}
    for rnd in range(1, args.rounds + 1):
        for work in WORKLOADS:
            for server in pair:
                url = f"http://{HOST}:{server.port}{work.url_path(server)}"
                result = loadgen.run(url, work.method, work.body, HEADERS, threads=args.threads,
                                     connections=args.connections, duration=args.duration)
                runs[work.name][server.name].append(result)
                bad = f"  non-2xx/3xx {result.non_2xx_3xx}" if result.non_2xx_3xx else ""
                print(f"  round {rnd}/{args.rounds}  {server.name:<5} {work.name:<50} "
                      f"{result.requests_per_s:>9,.0f} req/s  p50 {result.p50_ms:.2f}ms  "
                      f"p99 {result.p99_ms:.2f}ms{bad}", flush=True)
    return runs


def summarise(runs: list[loadgen.WrkResult], status: list[int]) -> dict[str, Any]:
    """Medians across rounds, plus every round and the verification statuses."""
    keys = ("requests_per_s", "p50_ms", "p99_ms")
    median = {k: statistics.median(getattr(r, k) for r in runs) for k in keys}
    return {"median": median, "rounds": [r.as_dict() for r in runs], "status": status,
            "non_2xx_3xx": sum(r.non_2xx_3xx for r in runs),
            "socket_errors": sum(r.socket_errors for r in runs)}


def _raise_on_term(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`, which kills the servers


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options, checked, and signals set to unwind (so `finally` kills the servers)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if min(args.rounds, args.duration, args.connections, args.threads) < 1 or args.warmup < 0:
        parser.error("--rounds, --duration, --connections, --threads must be >= 1, --warmup >= 0")
    if args.threads > args.connections:
        parser.error("wrk needs --connections >= --threads")
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with it ignored
    signal.signal(signal.SIGTERM, _raise_on_term)
    signal.signal(signal.SIGHUP, _raise_on_term)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Install what is missing, start both servers, verify, measure, report; always clean up."""
    args = parse_args(argv)
    loadgen.ensure_wrk()
    load_start = os.getloadavg()[0]
    if load_start > 0.5:
        print(f"note: 1-minute load average is {load_start:.2f} before the run: something else "
              "is using the CPU, so the figures will be noisy", flush=True)
    print(f"fetching {PRISM_PKG} through npx (cached after the first run)", flush=True)
    prism_version, fetch_s = prefetch_prism()
    total = len(WORKLOADS) * 2 * (args.rounds * args.duration + max(args.warmup, 0))
    print(f"benchmark: {len(WORKLOADS)} workloads x 2 servers x {args.rounds} rounds x "
          f"{args.duration:g}s (+ warm-up) = {total:.0f}s of load, wrk -t{args.threads} "
          f"-c{args.connections}", flush=True)
    pair = make_servers(args.prism_log_level)
    statuses: dict[str, dict[str, list[int]]] = {}
    try:
        for server in pair:  # one at a time, so neither start-up competes for the CPU
            servers.start(server, ROOT)
            servers.wait_ready(server, "/notifications/settings", HEADERS, args.startup_timeout)
            print(f"{server.name} answered 2xx after {server.startup_s:.2f}s under base path "
                  f"{server.base_path or '/'!r} (probe statuses {server.probe})", flush=True)
        print("setting up (path parameters):")
        for server in pair:
            prepare(server)
        print("verifying each workload:")
        for server in pair:
            statuses[server.name] = verify(server)
        warm_up(pair, args)
        runs = measure(pair, args)
        memory = {server.name: servers.memory(server) for server in pair}
    finally:
        for server in pair:
            servers.stop(server)
    out = build_report(args, pair, statuses, runs, memory,
                       {"prism_cli": prism_version, "prism_fetch_s": round(fetch_s, 2),
                        "loadavg_1m_start": round(load_start, 2),
                        "wrk": loadgen.wrk_version()})
    print()
    print(report.table(out))
    report.write_json(out, args.output)
    print(f"\nJSON: {args.output}")
    return 0


def build_report(args: argparse.Namespace, pair: list[Server],
                 statuses: dict[str, dict[str, list[int]]],
                 runs: dict[str, dict[str, list[Any]]], memory: dict[str, dict[str, Any]],
                 extra: dict[str, Any]) -> dict[str, Any]:
    """Everything measured, as the JSON report and the table read it."""
    workloads = []
    for work in WORKLOADS:
        entry: dict[str, Any] = {"name": work.name, "method": work.method,
                                 "path": f"{API}{work.path}", "body": work.body}
        for server in pair:
            entry[server.name] = summarise(runs[work.name][server.name],
                                           statuses[server.name][work.name])
            entry[server.name]["url_path"] = work.url_path(server)
        prism_rps = entry["prism"]["median"]["requests_per_s"]
        entry["ratio_rps"] = entry["mock"]["median"]["requests_per_s"] / prism_rps \
            if prism_rps else None
        workloads.append(entry)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {"rounds": args.rounds, "duration_s": args.duration,
                   "connections": args.connections, "threads": args.threads,
                   "warmup_s": args.warmup,
                   "prism_log_level": args.prism_log_level, "headers": sorted(HEADERS),
                   "order": "per workload: mock then prism, every round"},
        "machine": report.machine_info(extra),
        "servers": {s.name: {"command": s.argv, "base_path": s.base_path, "probe": s.probe,
                             "startup_s": s.startup_s, "params": s.params, "setup": s.setup,
                             **memory[s.name]} for s in pair},
        "workloads": workloads,
    }


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped", file=sys.stderr)
        sys.exit(130)
