"""Skips nobody can miss: a check skipped for want of an option says which option, in one fixed
form, so the report can group skipped checks by reason and name the flag that enables them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import NoReturn

import pytest

from contract_tests.options import flag_of

_ENABLE = re.compile(r"^(?P<reason>.*) \(enable with (?P<flags>--[^)]+)\)$", re.DOTALL)


def skip_without(*dests: str, reason: str) -> NoReturn:
    """Skip this check: it needs one of these options (Target fields) and the run lacks them."""
    pytest.skip(f"{reason} (enable with {' or '.join(flag_of(dest) for dest in dests)})")


@dataclass(frozen=True)
class SkipGroup:
    """Checks skipped for one reason."""

    reason: str
    flags: str  # "" when no option enables them (the server lacks what they need)
    checks: tuple[str, ...]

    def line(self) -> str:
        """`3 checks: sending notifications needs it; enable with --send-notifications`."""
        enable = f"; enable with {self.flags}" if self.flags else "; no option enables them"
        return f"{len(self.checks)} skipped: {self.reason}{enable}"


@dataclass
class Skips:
    """Every skipped check of the run, by reason."""

    by_reason: dict[str, list[str]] = field(default_factory=dict)

    def add(self, check: str, message: str) -> None:
        """Record one skipped check and its skip message."""
        self.by_reason.setdefault(message.removeprefix("Skipped: "), []).append(check)

    def groups(self) -> list[SkipGroup]:
        """The groups, those an option enables first, then by size."""
        groups = []
        for message, checks in self.by_reason.items():
            match = _ENABLE.match(message)
            reason, flags = (match["reason"], match["flags"]) if match else (message, "")
            groups.append(SkipGroup(reason, flags, tuple(checks)))
        return sorted(groups, key=lambda g: (not g.flags, -len(g.checks), g.reason))
