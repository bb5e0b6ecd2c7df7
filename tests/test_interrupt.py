"""SIGTERM stops a contract run even where Python loses the KeyboardInterrupt it raised."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

import pytest

from contract_tests.interrupt import Interrupt


class Finalized:
    """Receives SIGTERM in its finalizer, as urllib3's pool finalizer did during a GC."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)


def in_code() -> None:
    signal.raise_signal(signal.SIGTERM)


def in_a_finalizer() -> None:
    Finalized()  # dropped at once, so its finalizer runs here


@pytest.mark.parametrize(("deliver", "raised_at_once", "lost"), [
    (in_code, True, []),
    (in_a_finalizer, False, [KeyboardInterrupt]),
], ids=["in code", "in a finalizer"])
def test_a_sigterm_stops_the_run_at_once_or_at_the_next_check(
        monkeypatch: pytest.MonkeyPatch, deliver: Callable[[], None], raised_at_once: bool,
        lost: list[type[BaseException]]) -> None:
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    interrupt = Interrupt()
    with interrupt.on_sigterm():
        try:
            deliver()
        except KeyboardInterrupt:
            at_once = True
        else:
            at_once = False
        assert at_once is raised_at_once
        assert [u.exc_type for u in unraisable] == lost
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()


def test_after_the_run_checks_pass_and_the_previous_handler_is_back() -> None:
    interrupt = Interrupt()
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), interrupt.on_sigterm():
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before
    assert interrupt.signalled
    interrupt.check()  # the restore's requests come after: none of them is interrupted


def test_without_sigterm_every_check_passes() -> None:
    interrupt = Interrupt()
    with interrupt.on_sigterm():
        for _ in range(3):
            interrupt.check()
    assert not interrupt.signalled
