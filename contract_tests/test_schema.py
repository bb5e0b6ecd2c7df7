"""Every operation against the spec, with Schemathesis: examples, coverage and fuzzing phases,
positive and negative data, every check (status codes, content types, schemas, headers, no 5xx,
bad input rejected, missing or invalid credentials rejected, unsupported methods refused)."""

from __future__ import annotations

import schemathesis
from schemathesis.generation.case import Case

from contract_tests.references import References

schema = schemathesis.pytest.from_fixture("coder_schema")


@schema.parametrize()
def test_operation_follows_the_spec(case: Case, references: References) -> None:
    references.apply(case)
    case.call_and_validate()
