"""py-spy on the mock during a fan-out case's recorded rounds (`--profile`), and the heaviest
functions of what it sampled."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.fanout_config import RESULTS, Case, venv_py_spy

OUTERMOST = ("(mock_server/cli.py)", "(mock_server/__main__.py)")  # below them: uvicorn's loop


@contextlib.contextmanager
def profiled(case: Case, pids: Sequence[int], enabled: bool) -> Iterator[list[Path]]:
    """py-spy on each mock process that serves (not uvicorn's supervisor) while the block runs;
    collapsed stacks (one line per stack, with its sample count) in bench/results/."""
    if not enabled:
        yield []
        return
    binary = shutil.which("py-spy") or str(venv_py_spy())
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
