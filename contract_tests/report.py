"""What a run reports, the same in the terminal and in the JUnit file: the target, what it may send
and change (before), and requests sent, what was delivered and put back, skipped check groups
and which phase covered which operation (after)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contract_tests.operations import OPERATIONS, describe_sent, may_change
from contract_tests.wire import CHECKS, SOCKETS

if TYPE_CHECKING:
    from contract_tests.plugin import ContractRun

PHASES = ("examples", "coverage", "fuzzing", "stateful", CHECKS, SOCKETS)


def header(run: ContractRun) -> list[str]:
    """Before anything runs: what is tested, and everything the run may send or change."""
    target = run.target
    member = "given" if target.member_token else "not given (role and scoping checks skipped; " \
        "enable with --member-token)"
    return [f"coder contract suite: target {target.label}",
            f"member token: {member}; max examples: {run.max_examples}",
            *(f"may send or change: {line}" for line in may_change(target)),
            "always put back exactly: settings, preferences already stored, one unread "
            "notification read then unread"]


def coverage(run: ContractRun) -> list[str]:
    """`GET /notifications/settings: examples, coverage, fuzzing, checks`, per operation."""
    lines = []
    for operation in OPERATIONS:
        phases = run.wire.phases.get(operation.operation_id, set())
        named = [phase for phase in PHASES if phase in phases] + sorted(phases - set(PHASES))
        lines.append(f"{operation.label}: {', '.join(named) or 'NOT CALLED'}")
    return lines


def summary(run: ContractRun) -> dict[str, list[str]]:
    """After the last check: the report's sections, each a list of lines."""
    interrupted = {"interrupted": ["by SIGTERM: the run stopped early and does not pass "
                                   "(exit status 2)"]} if run.interrupt.signalled else {}
    return {
        **interrupted,
        "requests sent": [f"{run.wire.requests} (every HTTP request and WebSocket handshake)"],
        "delivered": [describe_sent(dict(run.wire.accepted))],
        "server state": run.restore_notes or ["nothing to put back"],
        "skipped": [group.line() for group in run.skips.groups()] or ["nothing"],
        "covered": coverage(run),
    }


def terminal_lines(run: ContractRun) -> list[str]:
    """The summary as the terminal shows it."""
    lines = []
    for section, entries in summary(run).items():
        if len(entries) == 1 and section != "covered":
            lines.append(f"{section}: {entries[0]}")
        else:
            lines.append(f"{section}:")
            lines.extend(f"  {entry}" for entry in entries)
    return lines


def junit_properties(run: ContractRun) -> list[tuple[str, str]]:
    """The summary as JUnit test-suite properties (one per line, the same words)."""
    properties = [("target", run.target.label)]
    for section, entries in summary(run).items():
        properties.extend((section, entry) for entry in entries)
    return properties
