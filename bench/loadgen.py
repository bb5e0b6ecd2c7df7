"""Load with wrk (fixed connections, C, not Python, so the client is never the bottleneck)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = Path(__file__).with_name("request.lua")
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


@dataclass
class WrkResult:
    """What one wrk run measured."""

    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx_3xx: int
    socket_errors: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain data for the JSON report."""
        return asdict(self)


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package first if it is missing (a fresh machine)."""
    path = shutil.which("wrk")
    if path:
        return path
    print("wrk not found: installing it with apt-get", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    path = shutil.which("wrk")
    if not path:
        raise RuntimeError("apt-get installed wrk but it is not on PATH")
    return path


def wrk_version() -> str:
    """wrk's version line, for the machine info."""
    done = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return (done.stdout or done.stderr).splitlines()[0].strip()


def command(url: str, method: str, body: str | None, headers: dict[str, str], *,
            threads: int, connections: int, duration: int) -> list[str]:
    """The wrk command line; the Lua script only when the request is not a plain GET."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "--timeout", "5s"]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    if method == "GET" and body is None:
        return [*argv, url]
    return [*argv, "-s", str(LUA), url, "--", method, *([body] if body is not None else [])]


def run(url: str, method: str, body: str | None, headers: dict[str, str], *,
        threads: int, connections: int, duration: int) -> WrkResult:
    """Run wrk once against one URL and parse what it printed."""
    argv = command(url, method, body, headers, threads=threads, connections=connections,
                   duration=duration)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)


def _ms(text: str) -> float:
    """A wrk duration ("812.00us", "1.20ms", "2.00s") in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse(output: str) -> WrkResult:
    """Requests/sec, the 50% and 99% latency, and the error counts of wrk's report."""
    def find(pattern: str) -> re.Match[str] | None:
        return re.search(pattern, output, re.MULTILINE)

    rps = find(r"^Requests/sec:\s+([\d.]+)")
    p50 = find(r"^\s+50%\s+(\S+)")
    p99 = find(r"^\s+99%\s+(\S+)")
    total = find(r"^\s+(\d+) requests in")
    if not (rps and p50 and p99 and total):
        raise ValueError(f"cannot parse wrk output:\n{output}")
    non_ok = find(r"Non-2xx or 3xx responses:\s+(\d+)")
    sock = find(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return WrkResult(requests_per_s=float(rps.group(1)), p50_ms=_ms(p50.group(1)),
                     p99_ms=_ms(p99.group(1)), requests=int(total.group(1)),
                     non_2xx_3xx=int(non_ok.group(1)) if non_ok else 0,
                     socket_errors=sum(int(g) for g in sock.groups()) if sock else 0)
