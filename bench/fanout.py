"""Fan-out of the inbox watch socket: N idle watchers, one notification, how long until all have it.

For each case (one worker with in-memory state; Redis-shared state with 2 workers), the mock
starts on a free loopback port, client processes (bench/watchers.py) open N watch sockets for
one user, and each round delivers one notification to that user through the control API. A
watcher's latency is the time from the moment this process sends the POST to the moment its
socket's recv() returns in the client (CLOCK_MONOTONIC, one clock for every process); each
round reports p50, p99 and max over the watchers. Memory per idle watcher is the growth of the
mock's resident set (summed over its processes) from before the sockets opened to after,
divided by N.

The parts: fanout_config (options, cases), fanout_processes (redis-server, the mock, /proc),
fanout_client (a bench/watchers.py process), fanout_rounds (one round), fanout_case (one
case), fanout_profile (--profile) and fanout_report (tables, verdict, JSON).
"""

from __future__ import annotations

import argparse
import shutil
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench import command
from bench.fanout_case import run_case
from bench.fanout_config import RESULTS, TARGET_P99_MS, WORKSPACE_DELETED, cases, parse_args
from bench.fanout_processes import raise_open_files, redis_server
from bench.fanout_report import HOW, machine_info, print_profiles, table, verdict, write


def run_cases(args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    """Every case asked for (Redis's only where redis-server is installed)."""
    results: dict[str, Any] = {}
    for case in cases(args):
        if case.name == "redis" and shutil.which("redis-server") is None:
            results[case.name] = {"label": case.label, "skipped": "redis-server is not "
                                  "installed (`make redis` installs it)"}
            print(f"  {case.label}: SKIPPED, redis-server is not installed (`make redis` "
                  "installs it with apt-get)", flush=True)
        elif case.name == "redis":
            with redis_server(RESULTS / "fanout-redis-server.log", args.timeout) as url:
                case.argv_extra = ["--state", url, *case.argv_extra]
                results[case.name] = run_case(case, args, run_id)
        else:
            results[case.name] = run_case(case, args, run_id)
    return results


def compression(results: dict[str, Any], offered: bool) -> str:
    """What the clients offered and what the mock agreed to (Coder agrees to none)."""
    if not offered:
        return "no compression offered"
    agreed = any(case.get("client_extensions") for case in results.values())
    return "permessage-deflate offered, " + ("agreed" if agreed else "declined, as Coder does")


def main(argv: Sequence[str] | None = None) -> int:
    """Run every case, always stopping what was started; print the table, write the JSON."""
    args = parse_args(argv, __doc__)
    RESULTS.mkdir(parents=True, exist_ok=True)
    nofile = raise_open_files(args.watchers + 1024)
    print(f"fan-out: {args.watchers} idle watch sockets per case in {args.clients} client "
          f"processes, {args.rounds} rounds (+1 warm-up)", flush=True)
    load_start = command.load_before()
    results = run_cases(args, f"{int(time.time()):x}")
    fanout: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "how": HOW,
        "config": {"watchers": args.watchers, "rounds": args.rounds, "warmup_rounds": 1,
                   "clients": args.clients, "deflate_offered": args.deflate,
                   "pause_s": args.pause, "watcher_user": "member",
                   "notification": f"Workspace Deleted ({WORKSPACE_DELETED}), name label per "
                                   "round", "nofile": list(nofile),
                   "target_p99_ms": TARGET_P99_MS},
        "machine": machine_info(load_start), "cases": results}
    print(f"\nfan-out of one notification to {args.watchers} idle watchers "
          f"({compression(results, args.deflate)})\nhow: {HOW}\n\n{table(fanout)}")
    print_profiles(results)
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
    command.run(main, "processes")
