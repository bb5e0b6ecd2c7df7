"""The contract suite's tables: every operation of the spec has a row saying what it changes and
which option allows that, the client refuses what the row does not allow, and the options of both
front ends come from one list."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import schemathesis
import yaml

from contract_tests.cli import build_parser
from contract_tests.client import NO_EFFECT, Api, NotAllowed
from contract_tests.conftest import SPEC_PATH
from contract_tests.operations import OPERATIONS, Operation, not_generated
from contract_tests.options import OPTIONS
from contract_tests.target import Target

OWNER = "AdminToken-adminSecretValue000000"
GATED = [o for o in OPERATIONS if o.flags]


def spec_operations() -> set[tuple[str, str, str]]:
    """(operation id, METHOD, path) of every operation the spec names, sockets too."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    found = set()
    for section in (spec["paths"], spec.get("x-websockets", {})):
        for path, methods in section.items():
            for method, operation in methods.items():
                if isinstance(operation, dict) and "operationId" in operation:
                    found.add((operation["operationId"], method.upper(), path))
    return found


def test_every_operation_of_the_spec_has_a_row() -> None:
    rows = {(o.operation_id, o.method, o.path) for o in OPERATIONS}
    assert rows == spec_operations()


def test_a_default_target_generates_no_operation_with_an_effect() -> None:
    target = Target(base_url="http://127.0.0.1:9", owner_token=OWNER)
    assert {o.operation_id for o in GATED} <= set(not_generated(target))


@pytest.mark.parametrize("row", GATED, ids=[o.operation_id for o in GATED])
def test_the_client_refuses_an_effect_its_option_does_not_allow(row: Operation) -> None:
    schema = schemathesis.openapi.from_path(SPEC_PATH)
    schema.config.base_url = "http://127.0.0.1:9/api/v2"  # nothing listens: a send would fail
    api = Api(schema, OWNER, allows=lambda _operation_id: False)
    with pytest.raises(NotAllowed, match=row.enabled_by):
        api.call(row.operation_id, user="me")
    with pytest.raises(Exception, match=r"Connection refused|Failed to establish"):
        api.call(row.operation_id, user="me", purpose=NO_EFFECT,
                 path={"id": "x", "notification_template": "x"}, validate=False)


def test_both_front_ends_take_every_option_of_the_table(tmp_path: Path) -> None:
    cli_help = build_parser().format_help()
    pytest_help = subprocess.run(
        [sys.executable, "-m", "pytest", str(Path(SPEC_PATH).parent), "--help",
         "-p", "no:cacheprovider"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120).stdout
    for option in OPTIONS:
        assert option.cli in cli_help
        assert option.pytest in pytest_help
