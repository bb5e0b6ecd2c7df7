"""`python -m contract_tests`: check a Coder deployment (or the bundled mock) against the spec."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hypothesis.configuration import set_hypothesis_home_dir

from contract_tests import options
from contract_tests.suite import run
from contract_tests.target import Target, bundled_mock


def build_parser() -> argparse.ArgumentParser:
    """The command line, documented in README's "Contract tests" (options.py holds the
    options it shares with `pytest contract_tests`)."""
    parser = argparse.ArgumentParser(
        prog="python -m contract_tests",
        description="Check a Coder deployment's notifications API against the contract. "
                    "Without --base-url, the bundled mock is checked in-process.")
    options.add_to_argparse(parser)
    parser.add_argument("--junit-xml", type=Path, help="write a JUnit XML report here")
    parser.add_argument("-k", dest="select", metavar="EXPR",
                        help="only run checks whose names match (pytest -k syntax)")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    parser.add_argument("-q", "--quiet", action="store_true", help="less output")
    return parser


def target_from(values: Mapping[str, Any]) -> Target:
    """The target the resolved options describe (the bundled mock without a URL)."""
    if not values["base_url"]:
        return bundled_mock()
    if not values["owner_token"]:
        raise ValueError("--base-url needs an owner's token: --token or CODER_SESSION_TOKEN")
    return Target(**{name: values[name] for name in options.TARGET_FIELDS})


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run the suite, exit 0 only when every check passed."""
    args = build_parser().parse_args(argv)
    # Hypothesis keeps a cache beside the current directory; the suite runs from anywhere and
    # must leave no files there.
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "coder-contract-tests")
    values = options.resolve(vars(args), os.environ)
    try:
        target = target_from(values)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run(target, max_examples=values["max_examples"], junit_xml=args.junit_xml,
               select=args.select, exitfirst=args.exitfirst, quiet=args.quiet)
