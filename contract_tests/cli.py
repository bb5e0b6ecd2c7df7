"""`python -m contract_tests`: check a Coder deployment (or the bundled mock) against the spec."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

from contract_tests.suite import DEFAULT_MAX_EXAMPLES, run
from contract_tests.target import Target, bundled_mock


def build_parser() -> argparse.ArgumentParser:
    """The command line, documented in README's "Contract tests"."""
    parser = argparse.ArgumentParser(
        prog="python -m contract_tests",
        description="Check a Coder deployment's notifications API against the contract. "
                    "Without --base-url, the bundled mock is checked in-process.")
    parser.add_argument("--base-url", help="deployment URL, e.g. https://coder.example.com "
                        "(env CODER_URL); /api/v2 is added")
    parser.add_argument("--token", help="an owner's session token (env CODER_SESSION_TOKEN)")
    parser.add_argument("--member-token", help="a plain member's session token, for role "
                        "checks (env CODER_MEMBER_SESSION_TOKEN); without it they are skipped")
    parser.add_argument("--junit-xml", type=Path, help="write a JUnit XML report here")
    parser.add_argument("--max-examples", type=int, default=DEFAULT_MAX_EXAMPLES,
                        help=f"generated cases per operation and property "
                             f"(default {DEFAULT_MAX_EXAMPLES}); fewer is faster, more is deeper")
    parser.add_argument("-k", dest="select", metavar="EXPR",
                        help="only run checks whose names match (pytest -k syntax)")
    parser.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failure")
    parser.add_argument("-q", "--quiet", action="store_true", help="less output")
    parser.add_argument("--send-test-notification", action="store_true",
                        help="really send a test notification (otherwise only refusals "
                             "are checked)")
    parser.add_argument("--allow-new-preferences", action="store_true",
                        help="let the suite store preferences the users do not have yet; "
                             "Coder cannot delete them, so they are left at their "
                             "default-equivalent value")
    parser.add_argument("--send-notifications", action="store_true",
                        help="really send custom notifications and the test notification, "
                             "each to the caller itself, and check they reach its inbox (they "
                             "stay there, unread: Coder cannot delete them)")
    parser.add_argument("--allow-read-state-changes", action="store_true",
                        help="let the suite mark all of the owner's notifications read and "
                             "re-mark read ones; every read state is put back, but the "
                             "read_at of a re-marked notification becomes the time of the run")
    parser.add_argument("--allow-method-changes", action="store_true",
                        help="let the suite change the dispatch method of one template that "
                             "has one, and put it back (a method of \"\" cannot be put back, "
                             "so those templates are never changed)")
    parser.add_argument("--delivery-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="how long a sent notification may take to reach the inbox "
                             "(default 10; Coder delivers asynchronously, normally within a "
                             "second)")
    return parser


def target_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Target:
    """The target the options (or the environment, or the bundled mock) describe."""
    base_url = args.base_url or environ.get("CODER_URL")
    if base_url is None:
        return bundled_mock()
    token = args.token or environ.get("CODER_SESSION_TOKEN")
    if not token:
        raise ValueError("--base-url needs an owner's token: --token or CODER_SESSION_TOKEN")
    return Target(base_url=base_url, owner_token=token,
                  member_token=args.member_token or environ.get("CODER_MEMBER_SESSION_TOKEN"),
                  send_test_notification=args.send_test_notification,
                  allow_new_preferences=args.allow_new_preferences,
                  send_notifications=args.send_notifications,
                  allow_read_state_changes=args.allow_read_state_changes,
                  allow_method_changes=args.allow_method_changes,
                  delivery_timeout=args.delivery_timeout)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse options, run the suite, exit 0 only when every check passed."""
    args = build_parser().parse_args(argv)
    # Hypothesis keeps a cache beside the current directory; the suite runs from anywhere and
    # must leave no files there.
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "coder-contract-tests")
    try:
        target = target_from(args, os.environ)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return run(target, max_examples=args.max_examples, junit_xml=args.junit_xml,
               select=args.select, exitfirst=args.exitfirst, quiet=args.quiet)
