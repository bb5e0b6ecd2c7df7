"""Pinned npm tools through npx: fetched into npx's cache before the run, so that no start-up
time is a download time."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


def prefetch(package: str, args: list[str], cwd: Path) -> tuple[str, float]:
    """Run `npx --yes PACKAGE ARGS` once (a version query); its last line and the seconds."""
    began = time.monotonic()
    done = subprocess.run(["npx", "--yes", package, *args], cwd=cwd, text=True,
                          capture_output=True, timeout=600, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"npx could not run {package}: {(done.stderr or done.stdout)[-2000:]}")
    lines = done.stdout.strip().splitlines() or [""]
    return lines[-1], time.monotonic() - began


def bin_path(package: str, command: str, cwd: Path) -> Path:
    """Where npx installed a package's command (the package's own file, links resolved)."""
    done = subprocess.run(["npx", "--yes", "-p", package, "sh", "-c", f"command -v {command}"],
                          cwd=cwd, text=True, capture_output=True, timeout=600, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        raise RuntimeError(f"npx could not find {command} of {package}: {done.stderr[-2000:]}")
    return Path(done.stdout.strip().splitlines()[-1]).resolve()
