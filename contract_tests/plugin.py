"""The run's state and report, handed to the suite's fixtures through pytest's config stash.

`run()` registers one `ContractPlugin` per run, so nothing is global: two runs in one process
(the mutation tests do that) never share a target, a counter or a guard. Under a plain
`pytest contract_tests`, conftest.py builds the run from the `--coder-*` options instead
(`run_from_options`), or stops with a usage error that says what is missing.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode

from contract_tests.target import Target, bundled_mock

RUN = pytest.StashKey["ContractRun"]()
PREFERENCES_PUT = "update-user-notification-preferences"
INBOX_LIST = "list-inbox-notifications"


@dataclass
class ContractRun:
    """What one run knows and counts: the target, the depth, requests sent, what was restored."""

    target: Target
    max_examples: int
    requests: int = 0
    sent: int = 0  # notifications a server accepted for delivery (test and custom)
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
        """Say what is being tested, and what the run may send and change, before anything runs."""
        target = self.run.target
        member = "given" if target.member_token else "not given (role and scoping checks skipped)"
        return [f"coder contract suite: target {target.label}",
                f"member token: {member}; max examples: {self.run.max_examples}",
                f"sends: {_sends(target)}",
                *(f"changes, then puts back: {line}" for line in _changes(target))]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The figures a CI log wants: requests sent, and what was put back."""
        terminalreporter.write_sep("-", "coder contract suite")
        terminalreporter.write_line(f"requests sent: {self.run.requests}")
        for note in self.run.restore_notes or ["nothing to put back"]:
            terminalreporter.write_line(f"server state: {note}")


def _sends(target: Target) -> str:
    """What the run may really send, for the report header."""
    if target.send_notifications:
        return ("custom notifications and the test notification, each to the caller itself "
                "(owner and member), waiting up to "
                f"{target.delivery_timeout:g} s for each; they stay in the inboxes, unread")
    if target.send_test_notification:
        return "the test notification, to the owner; custom notifications: refusals only"
    return "nothing (the test and custom notifications: refusals only)"


def _changes(target: Target) -> list[str]:
    """What the run may change (and then put back), for the report header."""
    return [
        "settings; both users' preferences" + (
            ", storing a few new ones (left at their default-equivalent value)"
            if target.allow_new_preferences else " (only those already stored)"),
        "the owner's read states: one unread notification read, then unread (exact)" + (
            "; mark all read, and re-mark a read one (read_at then moves to the time of the run)"
            if target.allow_read_state_changes else "; never mark all read"),
        "the method of one template whose method is not \"\" (exact)"
        if target.allow_method_changes else "template methods: never (refusals only)",
    ]


USAGE = """usage:
  pytest contract_tests --coder-url URL --coder-token OWNER_TOKEN [--coder-member-token TOKEN]
  pytest contract_tests --coder-mock    (the bundled mock, in-process)
The URL and tokens may also come from CODER_URL, CODER_SESSION_TOKEN and
CODER_MEMBER_SESSION_TOKEN; `python -m contract_tests` runs the same suite."""


def add_options(parser: pytest.Parser, *, default_max_examples: int) -> None:
    """The options of `pytest contract_tests` (the command line's, named for a shared session)."""
    group = parser.getgroup("coder-contract", "Coder notifications contract suite")
    group.addoption("--coder-url", help="deployment URL, e.g. https://coder.example.com "
                    "(env CODER_URL); /api/v2 is added")
    group.addoption("--coder-token", help="an owner's session token (env CODER_SESSION_TOKEN)")
    group.addoption("--coder-member-token", help="a plain member's session token, for role "
                    "checks (env CODER_MEMBER_SESSION_TOKEN); without it they are skipped")
    group.addoption("--coder-mock", action="store_true",
                    help="check the bundled mock, in-process, instead of a deployment")
    group.addoption("--coder-max-examples", type=int, default=default_max_examples,
                    help=f"generated cases per operation and property "
                         f"(default {default_max_examples})")
    group.addoption("--coder-send-test-notification", action="store_true",
                    help="really send a test notification (otherwise only refusals are checked)")
    group.addoption("--coder-allow-new-preferences", action="store_true",
                    help="let the suite store preferences the users do not have yet")
    group.addoption("--coder-send-notifications", action="store_true",
                    help="really send custom notifications and the test notification, each to "
                         "the caller itself, and check they reach its inbox")
    group.addoption("--coder-allow-read-state-changes", action="store_true",
                    help="let the suite mark all of the owner's notifications read and re-mark "
                         "read ones (read states are put back; read_at of re-marked ones moves)")
    group.addoption("--coder-allow-method-changes", action="store_true",
                    help="let the suite change one template's non-empty dispatch method and "
                         "put it back")
    group.addoption("--coder-delivery-timeout", type=float, default=10.0,
                    help="seconds a sent notification may take to reach the inbox (default 10)")


def run_from_options(config: pytest.Config, environ: Mapping[str, str], *,
                     default_max_examples: int) -> ContractRun:
    """The run `pytest contract_tests --coder-...` asks for; a `pytest.UsageError` naming what is
    missing or wrong otherwise."""
    def option(name: str) -> Any:
        return config.getoption(name, None)  # None also where a late conftest added no options

    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist",
                                                               "no") != "no":
        raise pytest.UsageError(
            "the contract suite runs in one process: it records the server's state before the "
            "first test and puts it back after the last, and its checks assume nobody else "
            "writes meanwhile; run it without -n (or with -n 0)")
    max_examples = option("coder_max_examples")
    max_examples = default_max_examples if max_examples is None else max_examples
    if max_examples < 1:
        raise pytest.UsageError(f"--coder-max-examples {max_examples} must be at least 1")
    url = option("coder_url")
    if option("coder_mock"):
        if url or option("coder_token") or option("coder_member_token"):
            raise pytest.UsageError("--coder-mock checks the bundled mock with its own tokens; "
                                    "drop --coder-url, --coder-token and --coder-member-token, "
                                    "or drop --coder-mock")
        return ContractRun(target=bundled_mock(), max_examples=max_examples)
    url = url or environ.get("CODER_URL")
    if not url:
        raise pytest.UsageError("the contract suite has no server to check: --coder-url (or "
                                f"CODER_URL) is missing.\n{USAGE}")
    token = option("coder_token") or environ.get("CODER_SESSION_TOKEN")
    if not token:
        raise pytest.UsageError(f"--coder-url {url} needs an owner's token: --coder-token (or "
                                f"CODER_SESSION_TOKEN) is missing.\n{USAGE}")
    try:
        target = Target(base_url=url, owner_token=token,
                        member_token=option("coder_member_token")
                        or environ.get("CODER_MEMBER_SESSION_TOKEN") or None,
                        send_test_notification=bool(option("coder_send_test_notification")),
                        allow_new_preferences=bool(option("coder_allow_new_preferences")),
                        send_notifications=bool(option("coder_send_notifications")),
                        allow_read_state_changes=bool(
                            option("coder_allow_read_state_changes")),
                        allow_method_changes=bool(option("coder_allow_method_changes")),
                        delivery_timeout=option("coder_delivery_timeout") or 10.0)
    except ValueError as exc:
        raise pytest.UsageError(f"{exc}\n{USAGE}") from None
    return ContractRun(target=target, max_examples=max_examples)


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
        if operation_id == INBOX_LIST and _positive(case, ParameterLocation.QUERY):
            case.query = self._inbox_query(case.query or {})
        return case

    def _inbox_query(self, query: dict[str, Any]) -> dict[str, Any]:
        """The list's parameters as the server parses them: UUID lists, a known read status."""
        def uuids() -> str:
            return ",".join(str(uuid.UUID(int=self.rng.getrandbits(128)))
                            for _ in range(self.rng.randint(1, 2)))

        rewritten = {"targets": uuids, "templates": uuids,
                     "read_status": lambda: self.rng.choice(("all", "read", "unread", "")),
                     "starting_before": lambda: str(uuid.UUID(int=self.rng.getrandbits(128)))}
        return {name: rewritten[name]() if name in rewritten else value
                for name, value in query.items()}


def _positive(case: Case, location: ParameterLocation) -> bool:
    """Whether this part of the case was generated as valid data (explicit examples are)."""
    if case.meta is None:
        return True
    component = case.meta.components.get(location)
    return component is None or component.mode == GenerationMode.POSITIVE
