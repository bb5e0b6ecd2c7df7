"""What every bench command does around its work (bench.run, bench.fanout): signals that unwind
through `finally`, so the processes it started are stopped; a note when the machine is already
busy; an exit code on Ctrl-C instead of a traceback."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from types import FrameType

BUSY_LOAD = 0.5  # a 1-minute load average above this before a run makes its figures noisy


def unwind_on_signals() -> None:
    """Ctrl-C, SIGTERM and SIGHUP raise, even when the command was started with them ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_on_term)
    signal.signal(signal.SIGHUP, _raise_on_term)


def _raise_on_term(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `finally`, which stops the processes


def load_before() -> float:
    """The 1-minute load average now, with a note when something else is using the CPU."""
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        print(f"note: 1-minute load average is {load:.2f} before the run: something else "
              "is using the CPU, so the figures will be noisy", flush=True)
    return load


def run(main: Callable[[], int], stopped: str) -> None:
    """Exit with main's code; on Ctrl-C (after `finally` stopped them), say what was stopped."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print(f"\ninterrupted: {stopped} stopped", file=sys.stderr)
        sys.exit(130)
