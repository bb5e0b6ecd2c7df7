"""The results as a table for people and as JSON for tools, with the machine they came from."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


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


def _num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(report: dict[str, Any]) -> str:
    """A fixed-width table: one row per workload, then start-up and peak RSS."""
    head = ("workload", "mock rps", "prism rps", "mock/prism", "mock p50", "mock p99",
            "prism p50", "prism p99", "status mock/prism")
    rows = []
    for work in report["workloads"]:
        mock, prism = work["mock"]["median"], work["prism"]["median"]
        status = (",".join(map(str, work["mock"]["status"])) + " / "
                  + ",".join(map(str, work["prism"]["status"])))
        rows.append((work["name"], _num(mock["requests_per_s"]), _num(prism["requests_per_s"]),
                     _num(work["ratio_rps"], 2) + "x",
                     _num(mock["p50_ms"], 2) + "ms", _num(mock["p99_ms"], 2) + "ms",
                     _num(prism["p50_ms"], 2) + "ms", _num(prism["p99_ms"], 2) + "ms", status))
    servers = report["servers"]
    mock, prism = servers["mock"], servers["prism"]
    rows.append(("start-up to first 2xx (s)", _num(mock["startup_s"], 2),
                 _num(prism["startup_s"], 2), "", "", "", "", "", ""))
    rows.append(("peak RSS, listener (MiB)", _num(_mib(mock["peak_rss_kib"]), 1),
                 _num(_mib(prism["peak_rss_kib"]), 1), "", "", "", "", "", ""))
    rows.append(("peak RSS, process tree (MiB)", _num(_mib(mock["tree_peak_rss_kib"]), 1),
                 _num(_mib(prism["tree_peak_rss_kib"]), 1), "", "", "", "", "", ""))
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]

    def line(cells: tuple[str, ...]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [str(c).rjust(w) for c, w in zip(cells[1:-1], widths[1:-1], strict=True)]
        return "  ".join([first, *rest, cells[-1]]).rstrip()

    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    return "\n".join([line(head), rule, *(line(r) for r in rows[:-3]), rule,
                      *(line(r) for r in rows[-3:])])


def _mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write the report, creating bench/results/ on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
