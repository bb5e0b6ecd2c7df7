"""The fan-out benchmark's report: the tables it prints, the verdict against the target, the
machine's details, and the `fanout` key it adds to bench/results/latest.json (keeping what
bench.run wrote there)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import report
from bench.fanout_config import TARGET_P99_MS

HOW = ("latency = CLOCK_MONOTONIC at the moment each socket's recv() returns in a client "
       "process (websockets' asyncio client), minus the moment this process sent the POST "
       "/__mock/notifications; p50/p99/max over the watchers of each round (nearest rank); "
       "memory = growth of the mock processes' summed VmRSS from before the watchers connected "
       "to after, over N")


def table(fanout: dict[str, Any]) -> str:
    """One block per case: every round, then the median across rounds; then memory."""
    ran = [case for case in fanout["cases"].values() if "skipped" not in case]
    skipped = [f"{case['label']}: SKIPPED, {case['skipped']}"
               for case in fanout["cases"].values() if "skipped" in case]
    head = ("case", "round", "received", "p50 ms", "p99 ms", "max ms", "POST ms",
            "mock CPU ms", "client busy")
    mem_head = ("case", "watchers", "per process", "RSS before MiB", "RSS idle MiB",
                "KiB/watcher", "connect s")
    rows = [row for case in ran for row in _round_rows(case)]
    mem_rows = [_memory_row(case) for case in ran]
    return "\n\n".join(filter(None, [_grid(head, rows) if rows else "",
                                     _grid(mem_head, mem_rows) if mem_rows else "",
                                     "\n".join(skipped)]))


def _round_rows(case: dict[str, Any]) -> list[tuple[str, ...]]:
    rows = []
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
    return rows


def _memory_row(case: dict[str, Any]) -> tuple[str, ...]:
    held = "/".join(str(n) for n in case["connections_per_process"].values() if n)
    return (case["label"], str(case["watchers"]), held,
            f"{case['rss_kib']['before'] / 1024:.1f}",
            f"{case['rss_kib']['idle_watchers'] / 1024:.1f}",
            f"{case['rss_per_watcher_kib']:.1f}", f"{case['connect_s']:.2f}")


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
    report.merge_json({"fanout": fanout}, path)


def print_profiles(results: dict[str, Any]) -> None:
    """With --profile: the heaviest functions py-spy saw in each case."""
    for case in results.values():
        profile = case.get("profile")
        if not profile or not profile.get("samples"):
            continue
        print(f"\npy-spy on the mock, {case['label']}, recorded rounds: "
              f"{profile['samples']} samples ({', '.join(profile['files'])}); py-spy "
              "pauses the mock to sample it, so these rounds' times are slower")
        for title, key in (("charged to the innermost mock_server/ frame", "by_mock_frame"),
                           ("self (top of the stack)", "self")):
            print(f"  {title}:")
            for row in profile[key]:
                print(f"    {row['share']:6.1%}  {row['function']}")
