"""SIGTERM (a cancelled CI job) stops a run as Ctrl-C does, even when its KeyboardInterrupt is lost.

Python runs a signal handler in the main thread between any two bytecodes, also inside a
finalizer: urllib3 closes a collected connection pool's sockets from `weakref.finalize` while the
garbage collector runs, and an exception raised there is unraisable (Python reports it and goes
on). A KeyboardInterrupt raised at once is therefore not enough: the run went on testing, for
minutes at 200 examples, with the server's state unrestored. So the handler also records the
signal, and `check()`, called at safe points (after each answer, before each check), raises it
again; a run it reached still ends with pytest's INTERRUPTED status when no safe point came after
(the last checks, on raw sockets), once the state is put back (plugin.py).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType


@dataclass
class Interrupt:
    """Whether SIGTERM arrived while the run was testing (`armed`)."""

    signalled: bool = False
    armed: bool = False

    @contextmanager
    def on_sigterm(self) -> Iterator[None]:
        """Inside, SIGTERM raises KeyboardInterrupt at once and at every check(); after it (the
        restore), checks pass and the previous handler is back."""
        previous = signal.signal(signal.SIGTERM, self._handle)
        self.armed = True
        try:
            yield
        finally:
            self.armed = False
            signal.signal(signal.SIGTERM, previous)

    def check(self) -> None:
        """A safe point: raise the KeyboardInterrupt of a SIGTERM, should it have been lost."""
        if self.armed and self.signalled:
            raise KeyboardInterrupt

    def _handle(self, _signum: int, _frame: FrameType | None) -> None:
        self.signalled = True
        self.check()
