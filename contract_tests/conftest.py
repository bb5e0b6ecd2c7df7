"""Fixtures of the suite: the schema pointed at the target, the three callers, facts, guard
and the recorded inbox."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.hooks import HookContext
from schemathesis.schemas import BaseSchema

from contract_tests.client import BYPASS_RATE_LIMIT, TOKEN_HEADER, Api, InboxPage
from contract_tests.facts import Facts
from contract_tests.guard import InboxRecord, StateGuard
from contract_tests.inbox import check_notification
from contract_tests.local import LocalServer
from contract_tests.operations import SENDS, not_generated, operation
from contract_tests.plugin import (
    RUN,
    USAGE,
    ContractPlugin,
    ContractRun,
    add_options,
    run_from_options,
)
from contract_tests.preflight import NotTestable, preflight
from contract_tests.references import References
from contract_tests.skips import skip_without
from contract_tests.target import API_PREFIX, Target
from contract_tests.wire import count_sends

SPEC_PATH = Path(__file__).resolve().parent / "openapi.yaml"
IN_PROCESS_URL = "http://localhost/api/v2"


def pytest_addoption(parser: pytest.Parser) -> None:
    """`pytest contract_tests --coder-url URL --coder-token T` (or `--coder-mock`)."""
    add_options(parser)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under `run()` (the command line, the repository's tests) its ContractPlugin brings the
    run; under `pytest contract_tests` the options do, or a usage error stops pytest.

    Only a conftest loaded before the session starts sees this hook, as only then were its
    options parsed; one collected from a parent directory (`pytest .`) comes later, and its
    tests skip (`contract_run`).
    """
    config = session.config
    if not any(isinstance(p, ContractPlugin) for p in config.pluginmanager.get_plugins()):
        run = run_from_options(config, os.environ)
        plugin = ContractPlugin(run)
        config.pluginmanager.register(plugin, "coder-contract")  # pytest_configure: historic
        try:
            preflight(run.target, run.wire)
        except NotTestable as exc:
            pytest.exit(str(exc), returncode=2)


@pytest.fixture(scope="session")
def contract_run(pytestconfig: pytest.Config) -> ContractRun:
    """This run's target and counters."""
    if RUN not in pytestconfig.stash:
        pytest.skip("contract_tests was collected from a parent directory, too late for its "
                    f"--coder-* options; name it on the command line.\n{USAGE}")
    return pytestconfig.stash[RUN]


@pytest.fixture(scope="session")
def target(contract_run: ContractRun) -> Target:
    """The server under test."""
    return contract_run.target


@pytest.fixture(scope="session")
def base_schema(contract_run: ContractRun) -> BaseSchema:
    """The packaged spec, pointed at the target, counting every request sent."""
    return _schema(contract_run, disabled=())


def _schema(contract_run: ContractRun, *, disabled: Sequence[str]) -> BaseSchema:
    """The spec with Schemathesis' settings for this run; `disabled` operations are turned off in
    its configuration, the one filter Schemathesis keeps when a test loads the schema from a
    fixture (an `exclude()` on the fixture's value is replaced by the test's own filters)."""
    target = contract_run.target
    config = SchemathesisConfig.from_dict({
        "generation": {"mode": "all", "max-examples": contract_run.max_examples,
                       "database": "none"},
        "checks": {"enabled": True},
        "headers": {TOKEN_HEADER: target.owner_token, BYPASS_RATE_LIMIT: "true"},
        # An in-process app is reached as localhost: a server that checks Host (the mock
        # refuses names that could be DNS rebinding) accepts a loopback name.
        "base-url": target.api_url or IN_PROCESS_URL,
        "operations": [{"include-operation-id": operation_id, "enabled": False}
                       for operation_id in disabled],
    })
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=config)
    if contract_run.app is not None:
        schema.app = contract_run.app
    else:
        count_sends(schema, contract_run.wire)

    def after_call(_context: HookContext, case: Case, response: Response) -> None:
        contract_run.wire.answered(case, response.status_code)
        contract_run.interrupt.check()  # a safe point, should SIGTERM's interrupt have been lost

    schema.hook(after_call)
    return schema


@pytest.fixture(scope="session")
def api(base_schema: BaseSchema, target: Target) -> Callable[[str | None], Api]:
    """Calls as the holder of a token (None: anonymously), allowed what operations.py allows."""
    def allows(operation_id: str) -> bool:
        return operation(operation_id).allowed(target)

    def make(token: str | None, bypass_rate_limit: bool = False) -> Api:
        return Api(base_schema, token, allows=allows, bypass_rate_limit=bypass_rate_limit)

    return make


@pytest.fixture(scope="session")
def owner(api: Callable[..., Api], target: Target) -> Api:
    """Calls as the owner (who may skip Coder's rate limiter)."""
    return api(target.owner_token, bypass_rate_limit=True)


@pytest.fixture(scope="session")
def member(api: Callable[..., Api], target: Target) -> Api:
    """Calls as the member; tests that need one are skipped (never passed) without it."""
    if target.member_token is None:
        skip_without("member_token", reason="role and scoping checks need a plain member's "
                     "token (or CODER_MEMBER_SESSION_TOKEN)")
    return api(target.member_token)


@pytest.fixture(scope="session")
def anonymous(api: Callable[..., Api]) -> Api:
    """Calls without any credentials."""
    return api(None)


@pytest.fixture(scope="session")
def facts(api: Callable[..., Api], owner: Api, target: Target) -> Facts:
    """Who the tokens are and which templates exist, learned from the server."""
    member = api(target.member_token) if target.member_token else None
    try:
        return Facts.learn(owner, member)
    except (NotTestable, RuntimeError, OSError, requests.RequestException) as exc:
        pytest.exit(f"cannot test {target.label}: {exc}", returncode=2)


@pytest.fixture(scope="session", autouse=True)
def guard(owner: Api, facts: Facts, target: Target,
          contract_run: ContractRun) -> Iterator[StateGuard]:
    """Record the state before the first test; put it back after the last, whatever happens."""
    guard = StateGuard(owner, facts, allow_new_preferences=target.allow_new_preferences)
    guard.record()
    try:
        with contract_run.interrupt.on_sigterm():  # SIGTERM unwinds like Ctrl-C (interrupt.py)
            yield guard
    finally:
        sent = sum(contract_run.wire.accepted[operation_id] for operation_id in SENDS)
        contract_run.restore_notes = guard.restore() + guard.final_notes(sent)


@pytest.fixture
def known_state(guard: StateGuard) -> StateGuard:
    """Start a test from the recorded state."""
    guard.restore()
    return guard


@pytest.fixture(scope="session")
def coder_schema(contract_run: ContractRun) -> BaseSchema:
    """The schema for generated tests: only the operations operations.py lets it generate for
    this target."""
    return _schema(contract_run, disabled=not_generated(contract_run.target))


@pytest.fixture(scope="session")
def socket_url(contract_run: ContractRun) -> Iterator[str]:
    """The deployment's root URL for raw sockets: the target's, or, in-process, the run's app
    served on a loopback port for the session (local.py)."""
    api_url = contract_run.target.api_url
    if api_url is not None:
        yield api_url.removesuffix(API_PREFIX)
        return
    server = LocalServer(contract_run.app).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def references(facts: Facts, guard: StateGuard) -> References:
    """Server-valid values for positive cases: the owner's own user, writable templates."""
    return References(refs=facts.owner.refs, writable=guard.writable(facts.owner))


@pytest.fixture(scope="module")
def writable(guard: StateGuard, facts: Facts) -> tuple[str, ...]:
    """Templates the suite may write for the owner and still put back."""
    ids = guard.writable(facts.owner)
    if not ids:
        skip_without("allow_new_preferences", reason="the owner has no stored preference to "
                     "rewrite (Coder cannot delete a preference the suite would create)")
    return ids


@pytest.fixture(scope="module")
def record(guard: StateGuard) -> InboxRecord:
    """The owner's recorded read states; the module skips on a server without an inbox."""
    if guard.inbox is None:
        pytest.skip("the server has no inbox (GET /notifications/inbox is 404: Coder before "
                    "March 2025)")
    return guard.inbox


@pytest.fixture
def first_page(owner: Api, facts: Facts, record: InboxRecord) -> InboxPage:
    """The owner's first page, each notification of the right shape."""
    page = owner.inbox_page()
    for item in page.items:
        check_notification(page.exchange, item, user_id=facts.owner.id)
    return page
