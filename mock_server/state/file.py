"""`--state-file`: the store's state survives restarts, and a crash never leaves a broken file.

Each change wakes a writer thread that saves the latest snapshot atomically (a temporary file
in the same directory, fsync, rename over the old one). A burst of changes coalesces into few
writes; a process killed at any moment leaves either the old file or the new one, whole.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mock_server.state.store import Store

FORMAT = "coder-notifications-mock/state@1"
logger = logging.getLogger(__name__)


class StateFileError(ValueError):
    """A state file that cannot be loaded; the message says why and how to recover."""


def read_state(path: Path) -> dict[str, Any] | None:
    """The snapshot saved at `path`, None when there is no file yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateFileError(f"{path}: cannot read the state file: {exc}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise StateFileError(f"{path}: not valid JSON ({exc}); delete it to start from the "
                             "fixtures, or fix it") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateFileError(f"{path}: not a state file of this mock (expected "
                             f'"format": "{FORMAT}"); delete it or choose another path')
    return document["state"]


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the file atomically: readers and crashes see the old file or the new, never half."""
    data = json.dumps({"format": FORMAT, "state": state}, indent=1).encode()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class StateFile:
    """Keeps `path` in step with a store: load once at start, then save after changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None
        self._changes = threading.Condition()
        self._seen = 0  # changes notified so far
        self._saved = 0  # changes on disk
        self._thread = threading.Thread(target=self._write_forever, daemon=True,
                                        name=f"state-file {path.name}")

    def attach(self, store: Store) -> None:
        """Restore the saved state into `store` (if any) and save every later change."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            leftover.unlink(missing_ok=True)  # a write a kill interrupted; the file itself is whole
        state = read_state(self.path)
        if state is not None:
            try:
                store.restore(state)
            except ValueError as exc:
                raise StateFileError(f"{self.path}: the saved state does not fit this mock "
                                     f"({exc}); delete it to start from the fixtures") from None
        self._store = store
        store.subscribe(self._changed)
        if not self._thread.is_alive():
            self._thread.start()
            atexit.register(self.flush)  # the writer is a daemon: let it finish the last change

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every change so far is on disk (tests and shutdown use it)."""
        with self._changes:
            wanted = self._seen
            return self._changes.wait_for(lambda: self._saved >= wanted, timeout)

    def _changed(self) -> None:
        with self._changes:
            self._seen += 1
            self._changes.notify_all()

    def _write_forever(self) -> None:
        while True:
            with self._changes:
                self._changes.wait_for(lambda: self._seen > self._saved)
                version = self._seen
            assert self._store is not None
            try:
                write_state(self.path, self._store.snapshot())
            except OSError:
                logger.exception("cannot save the state to %s; retrying in a second", self.path)
                time.sleep(1)
                continue
            with self._changes:
                self._saved = version
                self._changes.notify_all()
