"""Run the suite: a preflight, then pytest over this package's test modules, with one
ContractPlugin per run."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from contract_tests.options import DEFAULT_MAX_EXAMPLES
from contract_tests.plugin import ContractPlugin, ContractRun
from contract_tests.preflight import NotTestable, preflight
from contract_tests.target import Target

PACKAGE_DIR = Path(__file__).resolve().parent
NOT_TESTABLE = 2  # as pytest's INTERRUPTED: nothing was tested

__all__ = ["DEFAULT_MAX_EXAMPLES", "run"]


def run(target: Target, *, max_examples: int = DEFAULT_MAX_EXAMPLES,
        junit_xml: Path | None = None, select: str | None = None, exitfirst: bool = False,
        quiet: bool = False, pytest_args: Sequence[str] = ()) -> int:
    """Check `target` against the contract; the exit code is 0 only when every check passed,
    2 (after one line on stderr) when the target cannot be tested at all."""
    if max_examples < 1:
        raise ValueError(f"max_examples {max_examples!r} must be at least 1")
    contract_run = ContractRun(target=target, max_examples=max_examples)
    try:
        preflight(target, contract_run.wire)
    except NotTestable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return NOT_TESTABLE
    args = [str(PACKAGE_DIR), "-c", str(PACKAGE_DIR / "pytest.ini"),
            "--rootdir", str(PACKAGE_DIR)]
    if select:
        args += ["-k", select]
    if junit_xml is not None:
        args += ["--junitxml", str(junit_xml)]
    if exitfirst:
        args.append("-x")
    if quiet:
        args += ["-q", "--no-header"]
    args += list(pytest_args)
    return int(pytest.main(args, plugins=[ContractPlugin(contract_run)]))
