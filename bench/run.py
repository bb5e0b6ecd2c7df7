"""`make bench`: the mock beside its peers (Prism, WireMock, Mockoon) and the ceiling (the mock's
bytes from a bare ASGI app under the same uvicorn), under wrk on loopback, in alternating rounds."""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import command, loadgen, report, servers
from bench.peers import lineup, prism
from bench.peers.capture import Answer, fetch, steady
from bench.servers import HOST, Server
from bench.workloads import HEADERS, TEMPLATE_ID, TOKEN_HEADER, Workload, named

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# Delivered to the owner through the mock's control API when the owner's inbox is empty at set-up
# (a fixture set without an inbox), so that read-status has an id to mark: Workspace Deleted.
DELIVERY = json.dumps({"template_id": TEMPLATE_ID, "user": "admin",
                       "labels": {"name": "bench", "reason": "bench set-up", "initiator": "bench"}})


def build_parser() -> argparse.ArgumentParser:
    """Options (wrk takes whole seconds); the defaults keep `bench.run` to about 8 minutes."""
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--duration", type=int, default=2,
                        help="seconds of wrk per workload, server and round (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk -t (default 1)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="seconds of unrecorded wrk per workload and server before round 1, "
                             "so the JVM's and Node's JITs are warm (default 1; 0: none)")
    parser.add_argument("--jvm-warmup", type=int, default=10,
                        help="seconds of unrecorded wrk on WireMock before the warm-up, for the "
                             "JVM's JIT (default 10)")
    parser.add_argument("--peers", default=",".join(lineup.PEERS),
                        help=f"comma-separated, of {','.join(lineup.PEERS)} (default: all)")
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="only the workloads whose name contains TEXT (repeatable)")
    parser.add_argument("--prism-log-level", default="warn", choices=prism.LOG_LEVELS,
                        help="Prism -v (default warn: no per-request log, like the mock's "
                             "--no-access-log; info is Prism's own default)")
    parser.add_argument("--startup-timeout", type=float, default=120.0,
                        help="seconds each server may take to answer (default 120)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json",
                        help="JSON report, merged into (default bench/results/latest.json)")
    return parser


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
    Before any settings PUT pauses the notifier (a delivery would then be held)."""
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
    print(f"  {server.name:<8} inbox id {ids[0]} ({how})", flush=True)


def url(server: Server, work: Workload) -> str:
    """The URL wrk loads for this workload on this server."""
    return f"http://{HOST}:{server.port}{work.url_path(server.base_path or '', server.params)}"


def capture(mock: Server, works: tuple[Workload, ...]) -> tuple[dict[str, Answer], Answer]:
    """Each workload's steady answer from the running mock (the stubs' bytes), and its 401.
    Every workload is sent once first, so each GET sees the state the PUTs leave (wrk's
    repeats do), and the answers are the ones the mock then serves."""
    for work in works:
        fetch(mock.port, work.method, work.url_path(mock.base_path or "", mock.params),
              HEADERS, work.body)
    answers = {}
    for work in works:
        path = work.url_path(mock.base_path or "", mock.params)
        answers[work.name], _ = steady(mock.port, work.method, path, HEADERS, work.body)
    denied = fetch(mock.port, "GET", f"{mock.base_path}/notifications/settings", {})
    return answers, denied


def verify(server: Server, works: tuple[Workload, ...],
           answers: dict[str, Answer]) -> dict[str, dict[str, Any]]:
    """Each workload twice (a repeated PUT may turn 200 into 304), then once without the token:
    the statuses, and whether the steady answer is the mock's bytes."""
    seen: dict[str, dict[str, Any]] = {}
    for work in works:
        path = work.url_path(server.base_path or "", server.params)
        answer, statuses = steady(server.port, work.method, path, HEADERS, work.body)
        no_token = {k: v for k, v in HEADERS.items() if k != TOKEN_HEADER}
        denied = fetch(server.port, work.method, path, no_token, work.body).status
        expected = answers[work.name]
        same = None if server.control_path else (answer.status == expected.status
                                                 and answer.body == expected.body)
        seen[work.name] = {"status": statuses, "without_token": denied, "mock_bytes": same}
        ok = all(200 <= s < 300 or s == 304 for s in statuses)
        print(f"  {server.name:<8} {work.method} {path:<62} -> "
              f"{','.join(map(str, statuses))} (no token: {denied})"
              f"{'  (not the mock bytes)' if same is False else ''}"
              f"{'' if ok else '  (NOT 2xx/304)'}")
    return seen


def warm_up(lineup_: list[Server], works: tuple[Workload, ...], args: argparse.Namespace) -> None:
    """Unrecorded load on every workload, so round 1 does not measure a cold JIT."""
    for server in lineup_:
        if server.name == "wiremock" and args.jvm_warmup > 0:
            print(f"warming up WireMock's JVM: {args.jvm_warmup}s", flush=True)
            loadgen.run(url(server, works[0]), works[0].method, works[0].body, HEADERS,
                        threads=args.threads, connections=args.connections,
                        duration=args.jvm_warmup)
    if args.warmup <= 0:
        return
    print(f"warming up: {args.warmup:g}s per workload and server", flush=True)
    for work in works:
        for server in lineup_:
            loadgen.run(url(server, work), work.method, work.body, HEADERS, threads=args.threads,
                        connections=args.connections, duration=args.warmup)


def measure(lineup_: list[Server], works: tuple[Workload, ...],
            args: argparse.Namespace) -> dict[str, dict[str, list[loadgen.WrkResult]]]:
    """wrk on every workload and server, round after round; each round starts one server
    later than the one before, so no server always follows the same one."""
    runs: dict[str, dict[str, list[loadgen.WrkResult]]] = {
        w.name: {s.name: [] for s in lineup_} for w in works}
    for rnd in range(args.rounds):
        order = lineup_[rnd % len(lineup_):] + lineup_[:rnd % len(lineup_)]
        for work in works:
            for server in order:
                result = loadgen.run(url(server, work), work.method, work.body, HEADERS,
                                     threads=args.threads, connections=args.connections,
                                     duration=args.duration)
                runs[work.name][server.name].append(result)
                bad = f"  non-2xx/3xx {result.non_2xx_3xx}" if result.non_2xx_3xx else ""
                print(f"  round {rnd + 1}/{args.rounds}  {server.name:<8} {work.name:<58} "
                      f"{result.requests_per_s:>9,.0f} req/s  p50 {result.p50_ms:.2f}ms  "
                      f"p99 {result.p99_ms:.2f}ms{bad}", flush=True)
    return runs


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options, checked, and signals set to unwind (so `finally` kills the servers)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    counts = (args.rounds, args.duration, args.connections, args.threads)
    if min(counts) < 1 or min(args.warmup, args.jvm_warmup) < 0:
        parser.error("--rounds, --duration, --connections, --threads must be >= 1, "
                     "--warmup and --jvm-warmup >= 0")
    if args.threads > args.connections:
        parser.error("wrk needs --connections >= --threads")
    args.peers = tuple(p for p in args.peers.split(",") if p)
    unknown = set(args.peers) - set(lineup.PEERS)
    if unknown:
        parser.error(f"unknown --peers {sorted(unknown)}; choose from {', '.join(lineup.PEERS)}")
    try:
        args.works = named(args.only)
    except ValueError as exc:
        parser.error(str(exc))
    command.unwind_on_signals()
    return args


def start(server: Server, timeout: float) -> None:
    """Start one server and wait for its first 2xx (the start-up time)."""
    servers.start(server, ROOT)
    servers.wait_ready(server, "/notifications/settings", HEADERS, timeout)
    print(f"{server.name} answered 2xx after {server.startup_s:.2f}s under base path "
          f"{server.base_path or '/'!r} (probe statuses {server.probe})", flush=True)


def announce(args: argparse.Namespace) -> None:
    """What the run will load, and for how long, before the first server starts."""
    n = len(args.peers) + 1
    total = len(args.works) * n * (args.rounds * args.duration + args.warmup)
    print(f"benchmark: {len(args.works)} workloads x {n} servers x {args.rounds} rounds x "
          f"{args.duration}s (+ {args.warmup}s warm-up) = {total}s of load, "
          f"wrk -t{args.threads} -c{args.connections}", flush=True)


def start_lineup(args: argparse.Namespace, tools: lineup.Tools, work_dir: Path,
                 started: list[Server]) -> dict[str, Answer]:
    """Start the mock, capture its answers, then each peer stubbed with them, one at a time so
    no start-up competes for the CPU; the mock's answers. Each server is added to `started` as
    it starts, so the caller stops it whatever happens next."""
    mock = lineup.mock(RESULTS)
    started.append(mock)
    start(mock, args.startup_timeout)
    prepare(mock)
    answers, denied = capture(mock, args.works)
    for name in args.peers:
        peer = lineup.peer(name, list(answers.values()), denied, work_dir, ROOT,
                           tools, {"prism_log_level": args.prism_log_level})
        started.append(peer)
        start(peer, args.startup_timeout)
        if name in lineup.STUBBED:
            peer.params = dict(mock.params)
        else:
            prepare(peer)
    return answers


def main(argv: Sequence[str] | None = None) -> int:
    """Fetch the tools, start the mock, stub the peers with its answers, start them, verify,
    measure, report; always stop every server."""
    args = parse_args(argv)
    loadgen.ensure_wrk()
    load_start = command.load_before()
    tools = lineup.prefetch(args.peers, ROOT)
    announce(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="bench-stubs-") as work_dir:
        try:
            answers = start_lineup(args, tools, Path(work_dir), started)
            print("verifying each workload:")
            checks = {server.name: verify(server, args.works, answers) for server in started}
            warm_up(started, args.works, args)
            runs = measure(started, args.works, args)
            memory = {server.name: servers.memory(server) for server in started}
        finally:
            for server in started:
                servers.stop(server)
    out = report.build(args, started, checks, runs, memory, tools, load_start)
    print()
    print(report.tables(out))
    report.merge_json(out, args.output)
    print(f"\nJSON: {args.output}")
    return 0


if __name__ == "__main__":
    command.run(main, "servers")
