"""`python -m bench.profile`: py-spy on the live mock (and on the ceiling) under wrk, uvicorn
as `make serve` runs it, each sample charged to a part of the request's path; CPU time per
request from the kernel's own count. The figures behind docs/performance.md."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import loadgen, report, servers
from bench.peers import lineup
from bench.profile_categories import IDLE, tally
from bench.run import RESULTS, ROOT, capture, prepare, start, url
from bench.servers import Server
from bench.workloads import HEADERS, Workload, named

DEFAULT_WORKLOADS = ["GET /api/v2/notifications/settings", "PUT /api/v2/notifications/settings"]


def build_parser() -> argparse.ArgumentParser:
    """Options; the defaults profile one GET and one PUT on the mock and the ceiling."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--servers", default="mock,ceiling", help="mock, ceiling or both")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="workloads whose name contains TEXT (default: GET and PUT settings)")
    parser.add_argument("--duration", type=int, default=10, help="seconds sampled (default 10)")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples/s (default 250)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("--access-log", action="store_true",
                        help="the mock with its access log on (make serve's default)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json",
                        help="JSON merged into, under `profile` (default: bench/results/"
                             "latest.json)")
    return parser


def cpu_per_request(server: Server, work: Workload, args: argparse.Namespace) -> dict[str, float]:
    """An unprofiled wrk run: req/s, and the server's CPU µs per request (schedstat)."""
    assert server.proc is not None
    before = servers.cpu_ns(server.proc.pid)
    result = loadgen.run(url(server, work), work.method, work.body, HEADERS, threads=1,
                         connections=args.connections, duration=args.duration)
    used = servers.cpu_ns(server.proc.pid) - before
    return {"requests_per_s": result.requests_per_s, "requests": result.requests,
            "cpu_us_per_request": used / 1000 / max(result.requests, 1)}


def sample(server: Server, work: Workload, args: argparse.Namespace, out: Path) -> str:
    """py-spy record (native frames) on the server while wrk loads one workload."""
    assert server.proc is not None
    argv = loadgen.command(url(server, work), work.method, work.body, HEADERS, threads=1,
                           connections=args.connections, duration=args.duration + 2)
    wrk = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        spy = [py_spy(), "record", "--pid", str(servers.listener_pid(server) or server.proc.pid),
               "--duration", str(args.duration), "--rate", str(args.rate), "--native",
               "--format", "raw", "-o", str(out)]
        subprocess.run(spy, check=True, capture_output=True, timeout=args.duration + 60)
    finally:
        wrk.wait(timeout=args.duration + 60)
    return out.read_text()


def py_spy() -> str:
    """py-spy from the venv (the `bench` extra); a clear error where it is missing."""
    path = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(path).exists():
        raise RuntimeError("py-spy is missing: pip install -e '.[bench]' (make bench does)")
    return path


def profile(server: Server, work: Workload, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, price a request, sample it; the shares with their µs."""
    loadgen.run(url(server, work), work.method, work.body, HEADERS, threads=1,
                connections=args.connections, duration=1)
    cost = cpu_per_request(server, work, args)
    slug = work.name.split(" ", 1)[0] + work.name.split("/api/v2", 1)[1].replace("/", "-")
    path = RESULTS / f"profile-{server.name}-{slug.lower()}.txt"
    counts = tally(sample(server, work, args, path))
    idle = counts.pop(IDLE, 0)
    total = sum(counts.values()) or 1
    shares = {name: {"percent": 100 * n / total,
                     "us_per_request": cost["cpu_us_per_request"] * n / total}
              for name, n in counts.most_common()}
    return {**cost, "samples": total, "idle_samples": idle,
            "collapsed": str(path.relative_to(ROOT)),
            "categories": shares}


def table(server: str, work: str, entry: dict[str, Any]) -> str:
    """One profile as text: the shares, largest first, with µs per request."""
    rows = [(name, f"{v['percent']:.1f}%", f"{v['us_per_request']:.1f}")
            for name, v in entry["categories"].items()]
    head = (f"{server}: {work}  {entry['requests_per_s']:,.0f} req/s unprofiled, "
            f"{entry['cpu_us_per_request']:.1f} µs CPU per request, {entry['samples']} busy "
            f"samples ({entry['idle_samples']} idle, left out)")
    return head + "\n" + report.render(("where", "share", "µs/request"), rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Start the mock (and the ceiling, fed the mock's answers), profile, report, stop."""
    args = build_parser().parse_args(argv)
    works = named(args.only or DEFAULT_WORKLOADS)
    loadgen.ensure_wrk()
    py_spy()
    RESULTS.mkdir(parents=True, exist_ok=True)
    mock = lineup.mock(RESULTS)
    if args.access_log:
        mock.argv.remove("--no-access-log")
    started, results = [mock], {}
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as work_dir:
        try:
            start(mock, 60)
            prepare(mock)
            answers, denied = capture(mock, works)
            if "ceiling" in args.servers:
                ceiling = lineup.peer("ceiling", list(answers.values()), denied, Path(work_dir),
                                      ROOT, lineup.Tools(), {})
                started.append(ceiling)
                start(ceiling, 60)
                ceiling.params = dict(mock.params)
            for server in started:
                if server.name not in args.servers:
                    continue
                for work in works:
                    results.setdefault(server.name, {})[work.name] = entry = \
                        profile(server, work, args)
                    print("\n" + table(server.name, work.name, entry), flush=True)
        finally:
            for server in started:
                servers.stop(server)
    report.merge_json({"profile": {"access_log": args.access_log, "rate": args.rate,
                                   "duration_s": args.duration, "servers": results,
                                   "machine": report.machine_info({})}}, args.output)
    print(f"\nJSON: {args.output} (key `profile`); collapsed stacks: bench/results/profile-*.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
