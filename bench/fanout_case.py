"""One fan-out case: start the mock, connect N idle watchers (memory read before and after),
run the warm-up and the recorded rounds, always stop what was started; every figure of it."""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench import servers
from bench.fanout_client import Client
from bench.fanout_config import RESULTS, WATCH_PATH, Case
from bench.fanout_processes import connections_per_process, mock_pids, rss_kib, start_mock
from bench.fanout_profile import heaviest, profiled
from bench.fanout_rounds import one_round, report_round, warm_up
from bench.servers import HOST, Server

KEYS = ("p50_ms", "p99_ms", "max_ms", "post_answered_ms", "mock_cpu_ms")


@dataclass
class Run:
    """What one case saw while it ran, for its summary."""

    mock: Server
    clients: list[Client] = field(default_factory=list)
    shares: list[int] = field(default_factory=list)
    connect_s: float = 0.0
    rss_before: dict[int, int] = field(default_factory=dict)
    rss_idle: dict[int, int] = field(default_factory=dict)
    rss_after: dict[int, int] = field(default_factory=dict)
    held: dict[int, int] = field(default_factory=dict)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[Path] = field(default_factory=list)


def run_case(case: Case, args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    """Start the mock, connect the watchers, run the rounds; every figure of the case."""
    run = Run(start_mock(case, args.timeout))
    client_log = (RESULTS / f"fanout-{case.name}-clients.log").open("wb")
    try:
        print(f"  {case.label}: mock on {HOST}:{run.mock.port} ready after "
              f"{run.mock.startup_s:.2f}s", flush=True)
        warm_up(run.mock, run_id, args.timeout, args.deflate)
        time.sleep(args.pause)
        connect_watchers(run, case, args, client_log)
        record_rounds(run, case, args, run_id)
        run.rss_after = rss_kib(mock_pids(run.mock))
    finally:
        for client in run.clients:
            client.stop()
        client_log.close()
        servers.stop(run.mock)
    return summary(run, case, args)


def connect_watchers(run: Run, case: Case, args: argparse.Namespace,
                     client_log: IO[bytes]) -> None:
    """The client processes and their sockets, with the mock's memory before and after."""
    run.rss_before = rss_kib(mock_pids(run.mock))
    url = f"ws://{HOST}:{run.mock.port}{WATCH_PATH}"
    run.shares = [args.watchers // args.clients + (i < args.watchers % args.clients)
                  for i in range(args.clients)]
    lifetime = args.timeout * (args.rounds + 4) + 60
    began = time.monotonic()
    for index, count in enumerate(run.shares):
        run.clients.append(Client(index, url, count, args.deflate, client_log, lifetime))
    for client in run.clients:
        client.ready = client.answer("ready", args.timeout + 30)
    run.connect_s = time.monotonic() - began
    failed = sum(c.ready["failed"] for c in run.clients)
    if failed:
        raise RuntimeError(f"{failed} of {args.watchers} watchers could not connect: "
                           f"{[c.ready['failures'] for c in run.clients]}")
    time.sleep(args.pause)
    pids = mock_pids(run.mock)
    run.rss_idle = rss_kib(pids)
    run.held = connections_per_process(pids, run.mock.port)
    print(f"  {case.label}: {args.watchers} watchers connected in {run.connect_s:.2f}s "
          f"({args.clients} client processes; connections per mock process "
          f"{ {p: n for p, n in run.held.items() if n} }); RSS "
          f"{sum(run.rss_before.values()) / 1024:.1f} -> "
          f"{sum(run.rss_idle.values()) / 1024:.1f} MiB", flush=True)


def record_rounds(run: Run, case: Case, args: argparse.Namespace, run_id: str) -> None:
    """One unrecorded warm-up round, then the recorded ones (under py-spy with --profile)."""
    figures = one_round(run.mock, run.clients, 1, run_id, args.timeout)
    report_round(case, "warm-up", figures)
    time.sleep(args.pause)
    serving = [p for p, n in run.held.items() if n]  # the workers that hold sockets
    with profiled(case, serving, args.profile) as profiles:
        for number in range(2, args.rounds + 2):
            figures = one_round(run.mock, run.clients, number, run_id, args.timeout)
            report_round(case, f"round {number - 1}/{args.rounds}", figures)
            run.rounds.append(figures)
            time.sleep(args.pause)
    run.profiles = profiles


def summary(run: Run, case: Case, args: argparse.Namespace) -> dict[str, Any]:
    """The case's figures as the JSON keeps them."""
    before, idle = sum(run.rss_before.values()), sum(run.rss_idle.values())
    rounds = run.rounds
    return {
        "label": case.label, "workers": case.workers, "command": run.mock.argv,
        "watchers": args.watchers, "clients": run.shares,
        "client_extensions": run.clients[0].ready.get("extensions") if run.clients else None,
        "connect_s": round(run.connect_s, 3), "startup_s": run.mock.startup_s,
        "connections_per_process": {str(p): n for p, n in run.held.items()},
        "rss_kib": {"before": before, "idle_watchers": idle,
                    "after_rounds": sum(run.rss_after.values()),
                    "per_process_before": {str(p): v for p, v in run.rss_before.items()},
                    "per_process_idle": {str(p): v for p, v in run.rss_idle.items()}},
        "rss_per_watcher_kib": (idle - before) / args.watchers,
        "median": {k: statistics.median(r[k] for r in rounds) for k in KEYS},
        "worst": {k: max(r[k] for r in rounds) for k in KEYS},
        "missing": sum(r["missing"] for r in rounds),
        "wrong_notification": sum(r["wrong_notification"] for r in rounds),
        "rounds": rounds,
        **({"profile": {"files": [str(p) for p in run.profiles], **heaviest(run.profiles)}}
           if args.profile else {}),
    }
