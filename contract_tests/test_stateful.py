"""Stateful sequences along the spec's links (update → read), each scenario from the recorded
state: every step passes Schemathesis' checks, and a read returns what the last write stored."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema

from contract_tests.client import Exchange, Violation
from contract_tests.guard import StateGuard
from contract_tests.plugin import ContractRun
from contract_tests.references import References

WRITES = {"update-notifications-settings": "settings",
          "update-user-notification-preferences": "preferences"}
READS = {"get-notifications-settings": "settings",
         "get-user-notification-preferences": "preferences"}


def test_linked_sequences_keep_what_was_written(coder_schema: BaseSchema, guard: StateGuard,
                                                references: References,
                                                contract_run: ContractRun) -> None:
    base = coder_schema.as_state_machine()

    class Scenario(base):  # type: ignore[valid-type, misc]
        def setup(self) -> None:
            guard.restore()
            self.last_written: dict[str, Any] = {}

        def before_call(self, case: Case) -> None:
            references.apply(case)

        def after_call(self, response: Response, case: Case) -> None:
            super().after_call(response, case)
            _remember_or_compare(self.last_written, case, response)

    Scenario.run(settings=settings(max_examples=max(5, contract_run.max_examples // 2),
                                   stateful_step_count=6, deadline=None, database=None))


def _remember_or_compare(last_written: dict[str, Any], case: Case, response: Response) -> None:
    """All positive cases act on the owner, so one remembered value per resource suffices."""
    operation_id = case.operation.definition.raw.get("operationId")
    if response.status_code != 200:
        return
    exchange = Exchange(case, response)
    if operation_id in WRITES:
        last_written[WRITES[operation_id]] = exchange.json()
    elif operation_id in READS and READS[operation_id] in last_written:
        expected = last_written[READS[operation_id]]
        if exchange.json() != expected:
            raise Violation(exchange.describe(
                f"the read after a write must return what the write answered: {expected!r}"))
