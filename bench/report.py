"""The results as a table for people and as JSON for tools, with the machine they came from."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.peers.lineup import REFERENCES


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo: numbers mean little without it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info(extra: dict[str, Any]) -> dict[str, Any]:
    """What the figures depend on: cores, CPU, and the versions of every moving part."""
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "connexion": _package_version("connexion"),
        "uvicorn": _package_version("uvicorn"),
        "starlette": _package_version("starlette"),
        "node": node.stdout.strip() or None,
        "loadavg_1m_end": round(os.getloadavg()[0], 2),
        **extra,
    }


def summarise(runs: list[Any], checks: dict[str, Any]) -> dict[str, Any]:
    """Medians across rounds, plus every round and what verification saw."""
    keys = ("requests_per_s", "p50_ms", "p99_ms")
    median = {k: statistics.median(getattr(r, k) for r in runs) for k in keys}
    return {"median": median, "rounds": [r.as_dict() for r in runs], **checks,
            "non_2xx_3xx": sum(r.non_2xx_3xx for r in runs),
            "socket_errors": sum(r.socket_errors for r in runs)}


def ratios(entry: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """mock/best peer and mock/ceiling in req/s (best peer: the fastest of the mocks a user
    would pick instead; the ceiling and the mock's own stack without replay are no other mock,
    so never the best peer)."""
    rps = {n: entry[n]["median"]["requests_per_s"] for n in names}
    peers = [n for n in names if n != "mock" and n not in REFERENCES]
    best = max(peers, key=lambda n: rps[n]) if peers else None
    return {"best_peer": best,
            "mock_over_best_peer": rps["mock"] / rps[best] if best and rps[best] else None,
            "mock_over_ceiling": rps["mock"] / rps["ceiling"]
            if rps.get("ceiling") else None}


def build(args: Any, started: list[Any], checks: dict[str, Any], runs: dict[str, Any],
          memory: dict[str, Any], tools: Any, load_start: float) -> dict[str, Any]:
    """Everything measured, as the JSON report and the tables read it."""
    names = [s.name for s in started]
    workloads = []
    for work in args.works:
        entry: dict[str, Any] = {"name": work.name, "method": work.method, "body": work.body}
        for server in started:
            entry[server.name] = summarise(runs[work.name][server.name],
                                           checks[server.name][work.name])
            entry[server.name]["url_path"] = work.url_path(server.base_path or "", server.params)
        entry.update(ratios(entry, names))
        workloads.append(entry)
    extra = {"tools": tools.versions, "tools_fetch_s": {k: round(v, 2) for k, v in
                                                        tools.fetch_s.items()},
             "java": _java_version() if "wiremock" in names else None,
             "loadavg_1m_start": round(load_start, 2), "wrk": loadgen.wrk_version()}
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {"rounds": args.rounds, "duration_s": args.duration,
                   "connections": args.connections, "threads": args.threads,
                   "warmup_s": args.warmup, "servers": names,
                   "prism_log_level": args.prism_log_level,
                   "order": "per workload, every server; each round starts one server later"},
        "machine": machine_info(extra),
        "servers": {s.name: {"command": s.argv, "base_path": s.base_path, "probe": s.probe,
                             "startup_s": s.startup_s, "params": s.params, "setup": s.setup,
                             **memory[s.name]} for s in started},
        "workloads": workloads,
        "ratios": {w["name"]: {k: w[k] for k in ("best_peer", "mock_over_best_peer",
                                                  "mock_over_ceiling")} for w in workloads},
    }


def _java_version() -> str | None:
    done = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    lines = (done.stderr or done.stdout).splitlines()
    return lines[0].strip() if lines else None


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


def render(head: tuple[str, ...], rows: list[tuple[str, ...]], split: int | None = None) -> str:
    """A fixed-width table, the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([cells[0].ljust(widths[0]), *rest]).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    body = [line(r) for r in rows]
    if split is not None:
        body.insert(split, rule)
    return "\n".join([line(head), rule, *body])


def tables(out: dict[str, Any]) -> str:
    """req/s with the ratios, p50/p99, then start-up and peak RSS per server."""
    names = out["config"]["servers"]
    rps_rows, lat_rows = [], []
    for w in out["workloads"]:
        marks = {n: "*" if w[n]["mock_bytes"] is False else "" for n in names}
        rps_rows.append((w["name"], *(_num(w[n]["median"]["requests_per_s"]) + marks[n]
                                      for n in names),
                         _num(w["mock_over_best_peer"], 2) + "x", w["best_peer"] or "-",
                         _num(w["mock_over_ceiling"], 2) + "x"))
        lat_rows.append((w["name"], *(f"{w[n]['median']['p50_ms']:.2f} / "
                                      f"{w[n]['median']['p99_ms']:.2f}" for n in names)))
    servers = out["servers"]
    srv_rows = [(n, _num(servers[n]["startup_s"], 2), _num(_mib(servers[n]["peak_rss_kib"]), 1),
                 _num(_mib(servers[n]["tree_peak_rss_kib"]), 1)) for n in names]
    return "\n\n".join([
        "req/s (median of rounds; * = answer not byte-equal to the mock's)",
        render(("workload", *names, "mock/best peer", "best peer", "mock/ceiling"), rps_rows),
        "latency p50 / p99, ms (median of rounds)",
        render(("workload", *names), lat_rows),
        render(("server", "start-up to first 2xx (s)", "peak RSS, listener (MiB)",
                "peak RSS, process tree (MiB)"), srv_rows)])


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the report, creating bench/results/ on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")


def merge_json(report: dict[str, Any], path: Path) -> None:
    """Write these keys into the JSON, keeping the others (bench.fanout's `fanout`)."""
    data: dict[str, Any] = {}
    with contextlib.suppress(OSError, json.JSONDecodeError):
        loaded = json.loads(path.read_text())
        if isinstance(loaded, dict):
            data = loaded
    write_json({**data, **report}, path)
