"""The run's state and report, handed to the suite's fixtures through pytest's config stash.

`run()` registers one `ContractPlugin` per run, so nothing is global: two runs in one process
(the mutation tests do that) never share a target, a counter or a guard.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode

from contract_tests.target import Target

RUN = pytest.StashKey["ContractRun"]()
PREFERENCES_PUT = "update-user-notification-preferences"


@dataclass
class ContractRun:
    """What one run knows and counts: the target, the depth, requests sent, what was restored."""

    target: Target
    max_examples: int
    requests: int = 0
    restore_notes: list[str] = field(default_factory=list)


class ContractPlugin:
    """Hands the run to the fixtures (contract_tests/conftest.py) and reports on it."""

    def __init__(self, run: ContractRun) -> None:
        self.run = run
        self._previous_profile = "default"

    def pytest_configure(self, config: pytest.Config) -> None:
        """Make the run reachable from fixtures; set Hypothesis' depth before tests are collected.

        Property tests run as deep as the run asks and write no example database anywhere.
        """
        config.stash[RUN] = self.run
        self._previous_profile = settings.get_current_profile_name()
        settings.register_profile("coder-contract", max_examples=self.run.max_examples,
                                  database=None, deadline=None,
                                  suppress_health_check=[HealthCheck.too_slow])
        settings.load_profile("coder-contract")

    def pytest_unconfigure(self) -> None:
        """Leave Hypothesis as it was, for whatever else runs in this process."""
        settings.load_profile(self._previous_profile)

    def pytest_report_header(self) -> list[str]:
        """Say what is being tested, before anything runs."""
        target = self.run.target
        member = "given" if target.member_token else "not given (role checks skipped)"
        sent = "sent" if target.send_test_notification else "refusals only"
        return [f"coder contract suite: target {target.label}",
                f"member token: {member}; test notification: {sent}; "
                f"max examples: {self.run.max_examples}"]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The figures a CI log wants: requests sent, and what was put back."""
        terminalreporter.write_sep("-", "coder contract suite")
        terminalreporter.write_line(f"requests sent: {self.run.requests}")
        for note in self.run.restore_notes or ["nothing to put back"]:
            terminalreporter.write_line(f"server state: {note}")


@dataclass
class References:
    """Makes positive cases valid for the server, not only for the schema.

    The schema says `{user}` is any string and preference keys any string; the server wants an
    existing user and existing template ids. Positive cases get the caller's own user (as `me`,
    username or UUID) and templates the guard may write; negative cases stay as generated.
    """

    refs: tuple[str, ...]
    writable: tuple[str, ...]
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def apply(self, case: Case) -> Case:
        """Rewrite the server-specific values of a positive case."""
        if case.path_parameters and "user" in case.path_parameters and _positive(
                case, ParameterLocation.PATH):
            case.path_parameters = {**case.path_parameters, "user": self.rng.choice(self.refs)}
        operation_id = case.operation.definition.raw.get("operationId")
        if operation_id == PREFERENCES_PUT and isinstance(case.body, dict) and _positive(
                case, ParameterLocation.BODY):
            chosen = self.rng.sample(self.writable, self.rng.randint(0, len(self.writable)))
            choices = {template_id: self.rng.random() < 0.5 for template_id in chosen}
            case.body = {**case.body, "template_disabled_map": choices}
        return case


def _positive(case: Case, location: ParameterLocation) -> bool:
    """Whether this part of the case was generated as valid data (explicit examples are)."""
    if case.meta is None:
        return True
    component = case.meta.components.get(location)
    return component is None or component.mode == GenerationMode.POSITIVE
