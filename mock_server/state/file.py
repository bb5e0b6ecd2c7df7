"""`--state-file`: the store's state survives restarts, kill -9 included, and a crash never
leaves a broken file.

Every change is on disk before it is answered: the change's call waits until a writer thread
has saved a snapshot taken after it (a temporary file in the same directory, fsync, rename over
the old one, fsync of the directory). Calls that change the state at the same time share one
write (group commit), so the cost is one write per burst, not per call. A process killed at any
moment leaves either the old file or the new one, whole, holding every answered change.

A file is checked whole at start (`load`): anything that is not a state of this mock is an
error naming the file, the key and what was expected, and the file is left as it was.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from mock_server.state.backend import Limits, StateUnavailable
from mock_server.state.model import State
from mock_server.state.store import Store

FORMAT = "coder-notifications-mock/state@1"
RETRY_AFTER = 1.0  # seconds before a failed write is tried again
logger = logging.getLogger(__name__)
Waiter = tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]


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
    if not isinstance(document.get("state"), dict):
        raise StateFileError(f'{path}: "state" must be the state object (GET /__mock/state '
                             "gives one); delete the file to start from the fixtures")
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
    """Keeps `path` in step with a store: load once at start, then save every change before it
    is answered."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None
        self._changes = threading.Condition()
        self._seen = 0  # changes notified so far
        self._saved = 0  # changes on disk
        self._waiters: list[Waiter] = []
        self.writes = 0  # files written so far (one per burst of changes)
        self._thread = threading.Thread(target=self._write_forever, daemon=True,
                                        name=f"state-file {path.name}")

    def load(self, limits: Limits) -> State | None:
        """The saved state, checked whole (shape and limits); None when there is no file yet."""
        saved = read_state(self.path)
        if saved is None:
            return None
        try:
            state = State.from_json(saved)
            limits.check(state)
        except ValueError as exc:
            raise StateFileError(f"{self.path}: the saved state does not fit this mock: {exc}; "
                                 "fix that value, or delete the file to start from the "
                                 "fixtures (it is left as it is)") from None
        return state

    def attach(self, store: Store) -> None:
        """Save every later change of `store` before the change is answered."""
        for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            leftover.unlink(missing_ok=True)  # a write a kill interrupted; the file itself is whole
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

    async def _changed(self) -> None:
        """Return once a snapshot taken after this change is on disk."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        with self._changes:
            self._seen += 1
            self._waiters.append((self._seen, loop, done))
            self._changes.notify_all()
        await done

    def _write_forever(self) -> None:
        loop = asyncio.new_event_loop()  # the writer's own, to take the store's snapshots
        while True:
            with self._changes:
                self._changes.wait_for(lambda: self._seen > self._saved)
                version = self._seen
            assert self._store is not None
            try:
                write_state(self.path, loop.run_until_complete(self._store.snapshot()))
            except OSError as exc:
                logger.error("cannot save the state to %s (%s); calls that changed it are "
                             "answered 503, retrying in %g s", self.path, exc, RETRY_AFTER)
                self._settle(version, StateUnavailable(str(self.path), f"cannot save: {exc}"))
                time.sleep(RETRY_AFTER)
                continue
            self.writes += 1
            with self._changes:
                self._saved = version
                self._changes.notify_all()
            self._settle(version, None)

    def _settle(self, version: int, error: BaseException | None) -> None:
        """Answer the calls whose change the write at `version` covered (or failed to)."""
        with self._changes:
            due = [w for w in self._waiters if w[0] <= version]
            self._waiters = [w for w in self._waiters if w[0] > version]
        for _, loop, done in due:
            with contextlib.suppress(RuntimeError):  # a loop that has ended: nobody waits
                loop.call_soon_threadsafe(_finish, done, error)


def _finish(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
