"""The run's state and report, handed to the suite's fixtures through pytest's config stash.

`run()` registers one `ContractPlugin` per run, so nothing is global: two runs in one process
(the mutation tests do that) never share a target, a counter or a guard. Under a plain
`pytest contract_tests`, conftest.py builds the run from the `--coder-*` options instead
(`run_from_options`), or stops with a usage error that says what is missing.

The JUnit report is reached through pytest's private `xml_key`, as Hypothesis' own plugin does:
no public API renames the test cases from a plugin (`record_xml_attribute` is an experimental
fixture that each test would have to request, that warns under the default junit_family, and
that cannot reach the per-operation subtests Schemathesis reports) or drops a suite property
(Hypothesis' per-test statistics blobs).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from _pytest.junitxml import xml_key  # private, and no public stand-in: see the docstring
from hypothesis import HealthCheck, settings

from contract_tests import options, report
from contract_tests.interrupt import Interrupt
from contract_tests.operations import BY_LABEL
from contract_tests.skips import Skips
from contract_tests.target import Target, bundled_mock
from contract_tests.wire import CountingApp, Wire

RUN = pytest.StashKey["ContractRun"]()


@dataclass
class ContractRun:
    """What one run knows and counts: the target, the depth, requests sent, what was restored."""

    target: Target
    max_examples: int
    wire: Wire = field(init=False)
    app: Any = field(init=False)  # the in-process app, counting what reaches it
    restore_notes: list[str] = field(default_factory=list)
    interrupt: Interrupt = field(default_factory=Interrupt)  # SIGTERM, while it tests
    skips: Skips = field(default_factory=Skips)
    operations_of: dict[str, list[str]] = field(default_factory=dict)  # check -> operations

    def __post_init__(self) -> None:
        self.wire = Wire(in_process=self.target.app is not None)
        self.app = None if self.target.app is None else CountingApp(self.target.app, self.wire)


class ContractPlugin:
    """Hands the run to the fixtures (contract_tests/conftest.py) and reports on it."""

    def __init__(self, run: ContractRun) -> None:
        self.run = run
        self._previous_profile = "default"
        self._config: pytest.Config | None = None

    def pytest_configure(self, config: pytest.Config) -> None:
        """Make the run reachable from fixtures; set Hypothesis' depth before tests are collected.

        Property tests run as deep as the run asks, write no example database anywhere, and
        print no reproduction blob (a CI log cannot use one; the failure names the request).
        """
        config.stash[RUN] = self.run
        self._config = config
        self._previous_profile = settings.get_current_profile_name()
        settings.register_profile("coder-contract", max_examples=self.run.max_examples,
                                  database=None, deadline=None, print_blob=False,
                                  suppress_health_check=[HealthCheck.too_slow])
        settings.load_profile("coder-contract")

    def pytest_unconfigure(self) -> None:
        """Leave Hypothesis as it was, for whatever else runs in this process."""
        settings.load_profile(self._previous_profile)

    def pytest_report_header(self) -> list[str]:
        """Say what is being tested, and what the run may send and change, before anything runs."""
        return report.header(self.run)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        """Record the operations each check's body sends (its JUnit test case is named so)."""
        self.run.wire.current = []
        yield
        self.run.operations_of[item.nodeid] = self.run.wire.current
        self.run.wire.current = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Collect skips; name the JUnit test case by the operations it sent and its rule."""
        if report.skipped:
            message = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(
                report.longrepr)
            self.run.skips.add(report.nodeid, message)
        xml = self._config.stash.get(xml_key, None) if self._config is not None else None
        if xml is None:
            return
        context = getattr(report, "context", None)  # a subtest: Schemathesis' per operation
        if context is not None and report.when == "call":
            label = report.nodeid.partition("[")[2].removesuffix("]")
            sent = [BY_LABEL[label]] if label in BY_LABEL else []
        elif report.when == "teardown":
            sent = self.run.operations_of.get(report.nodeid, [])
        else:
            return
        reporter = xml.node_reporter(report)
        reporter.add_attribute("classname", "+".join(sent) or module_of(report.nodeid))
        reporter.add_attribute("name", rule_of(report.nodeid))
        reporter.add_property("operations", ", ".join(sent) or "none")

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self) -> None:
        """A safe point before each check (the raw-socket ones have no `after_call`): raise
        SIGTERM's KeyboardInterrupt, should it have been lost (interrupt.py)."""
        self.run.interrupt.check()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """A run SIGTERM reached never passes, even when its KeyboardInterrupt was lost in the
        last checks; the summary's figures as JUnit test-suite properties (written after this)."""
        if self.run.interrupt.signalled:
            session.exitstatus = pytest.ExitCode.INTERRUPTED
        xml = session.config.stash.get(xml_key, None)
        if xml is not None:
            # Hypothesis' plugin adds a base64 blob of statistics per property: noise in CI.
            xml.global_properties[:] = [(name, value) for name, value in xml.global_properties
                                        if not name.startswith("hypothesis-statistics-")]
            for name, value in report.junit_properties(self.run):
                xml.add_global_property(name, value)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The figures a CI log wants: requests sent, what was sent and put back, what was
        skipped and why, which phase covered which operation."""
        terminalreporter.write_sep("-", "coder contract suite")
        for line in report.terminal_lines(self.run):
            terminalreporter.write_line(line)


def module_of(nodeid: str) -> str:
    """`test_inbox` for `contract_tests/test_inbox.py::test_x[y]`."""
    return nodeid.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")


def rule_of(nodeid: str) -> str:
    """`every write moves updated_at [a]` for `...::test_every_write_moves_updated_at[a]`."""
    name = nodeid.split("::")[-1]
    function, _, parameters = name.partition("[")
    rule = function.removeprefix("test_").replace("_", " ")
    return f"{rule} [{parameters}" if parameters else rule


USAGE = """usage:
  pytest contract_tests --coder-url URL --coder-token OWNER_TOKEN [--coder-member-token TOKEN]
  pytest contract_tests --coder-mock    (the bundled mock, in-process)
The URL and tokens may also come from CODER_URL, CODER_SESSION_TOKEN and
CODER_MEMBER_SESSION_TOKEN; `python -m contract_tests` runs the same suite."""


def add_options(parser: pytest.Parser) -> None:
    """The options of `pytest contract_tests`: the command line's (options.py), prefixed."""
    group = parser.getgroup("coder-contract", "Coder notifications contract suite")
    group.addoption("--coder-mock", action="store_true",
                    help="check the bundled mock, in-process, instead of a deployment")
    options.add_to_pytest(group)


def run_from_options(config: pytest.Config, environ: Mapping[str, str]) -> ContractRun:
    """The run `pytest contract_tests --coder-...` asks for; a `pytest.UsageError` naming what is
    missing or wrong otherwise."""
    if getattr(config.option, "numprocesses", None) or getattr(config.option, "dist",
                                                               "no") != "no":
        raise pytest.UsageError(
            "the contract suite runs in one process: it records the server's state before the "
            "first test and puts it back after the last, and its checks assume nobody else "
            "writes meanwhile; run it without -n (or with -n 0)")
    given = options.from_pytest(config)
    values = options.resolve(given, environ)
    max_examples = values.pop("max_examples")
    if max_examples < 1:
        raise pytest.UsageError(f"--coder-max-examples {max_examples} must be at least 1")
    if config.getoption("coder_mock", False):
        if given["base_url"] or given["owner_token"] or given["member_token"]:
            raise pytest.UsageError("--coder-mock checks the bundled mock with its own tokens; "
                                    "drop --coder-url, --coder-token and --coder-member-token, "
                                    "or drop --coder-mock")
        return ContractRun(target=bundled_mock(), max_examples=max_examples)
    if not values["base_url"]:
        raise pytest.UsageError("the contract suite has no server to check: --coder-url (or "
                                f"CODER_URL) is missing.\n{USAGE}")
    if not values["owner_token"]:
        raise pytest.UsageError(f"--coder-url {values['base_url']} needs an owner's token: "
                                f"--coder-token (or CODER_SESSION_TOKEN) is missing.\n{USAGE}")
    try:
        return ContractRun(target=Target(**values), max_examples=max_examples)
    except ValueError as exc:
        raise pytest.UsageError(f"{exc}\n{USAGE}") from None
