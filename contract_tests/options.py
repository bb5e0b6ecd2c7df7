"""The suite's options, one table for both front ends: `python -m contract_tests
--send-notifications` and `pytest contract_tests --coder-send-notifications` are the same row,
with one help text, one environment variable and one default, and both make the same `Target`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

DEFAULT_MAX_EXAMPLES = 50
DEFAULT_DELIVERY_TIMEOUT = 10.0
DEFAULT_PING_TIMEOUT = 20.0  # Coder pings every 15 s (httpapi.Heartbeat)


@dataclass(frozen=True)
class Option:
    """One option: its Target field (or run setting), its two spellings, its help."""

    dest: str
    cli: str
    help: str
    kind: Callable[[str], Any] | None = None  # None: a flag (store_true)
    default: Any = None
    env: str | None = None
    metavar: str | None = None
    pytest_name: str | None = None  # default: --coder-<cli without -->

    @property
    def pytest(self) -> str:
        """The name under `pytest contract_tests`."""
        return self.pytest_name or "--coder-" + self.cli.removeprefix("--")

    def full_help(self) -> str:
        """The help text with the environment variable and default it falls back to."""
        extra = [f"env {self.env}"] if self.env else []
        if self.kind is not None and self.default is not None:
            extra.append(f"default {self.default:g}" if isinstance(self.default, float)
                         else f"default {self.default}")
        return self.help + (f" ({'; '.join(extra)})" if extra else "")


OPTIONS: tuple[Option, ...] = (
    Option("base_url", "--base-url", "deployment URL, e.g. https://coder.example.com; /api/v2 "
           "is added", kind=str, env="CODER_URL", pytest_name="--coder-url"),
    Option("owner_token", "--token", "an owner's session token", kind=str,
           env="CODER_SESSION_TOKEN"),
    Option("member_token", "--member-token", "a plain member's session token, for role and "
           "scoping checks; without it they are skipped", kind=str,
           env="CODER_MEMBER_SESSION_TOKEN"),
    Option("max_examples", "--max-examples", "generated cases per operation and property; "
           "fewer is faster, more is deeper", kind=int, default=DEFAULT_MAX_EXAMPLES),
    Option("send_test_notification", "--send-test-notification", "really send a test "
           "notification, to the owner (otherwise only refusals are checked)"),
    Option("allow_new_preferences", "--allow-new-preferences", "let the suite store "
           "preferences the users do not have yet; Coder cannot delete them, so they are left "
           "at their default-equivalent value"),
    Option("send_notifications", "--send-notifications", "really send custom notifications "
           "and the test notification, each to the caller itself, and check they reach its "
           "inbox and its watch socket (they stay there, unread: Coder cannot delete them)"),
    Option("allow_read_state_changes", "--allow-read-state-changes", "let the suite mark all "
           "of the owner's notifications read and re-mark read ones; every read state is put "
           "back, but the read_at of a re-marked notification becomes the time of the run"),
    Option("allow_method_changes", "--allow-method-changes", "let the suite change the "
           "dispatch method of one template that has one, and put it back (a method of \"\" "
           "cannot be put back, so those templates are never changed)"),
    Option("delivery_timeout", "--delivery-timeout", "seconds a sent notification may take to "
           "reach the inbox or a watch socket (Coder delivers asynchronously, normally within "
           "a second)", kind=float, default=DEFAULT_DELIVERY_TIMEOUT, metavar="SECONDS"),
    Option("ping_timeout", "--ping-timeout", "seconds to wait for the watch socket's first "
           "ping (Coder pings every 15 s)", kind=float, default=DEFAULT_PING_TIMEOUT,
           metavar="SECONDS"),
)
BY_DEST = {option.dest: option for option in OPTIONS}
TARGET_FIELDS = tuple(o.dest for o in OPTIONS if o.dest != "max_examples")


def add_to_argparse(parser: argparse.ArgumentParser) -> None:
    """Every option, as the command line spells it."""
    for option in OPTIONS:
        if option.kind is None:
            parser.add_argument(option.cli, dest=option.dest, action="store_true",
                                help=option.full_help())
        else:
            parser.add_argument(option.cli, dest=option.dest, type=option.kind,
                                default=option.default, metavar=option.metavar,
                                help=option.full_help())


def add_to_pytest(group: Any) -> None:
    """Every option, as `pytest contract_tests` spells it (`group` is a pytest OptionGroup)."""
    for option in OPTIONS:
        dest = "coder_" + option.dest
        if option.kind is None:
            group.addoption(option.pytest, dest=dest, action="store_true",
                            help=option.full_help())
        else:
            group.addoption(option.pytest, dest=dest, type=option.kind, default=option.default,
                            metavar=option.metavar, help=option.full_help())


def from_pytest(config: pytest.Config) -> dict[str, Any]:
    """The values pytest parsed, by Target field (None where a late conftest added none)."""
    return {option.dest: config.getoption("coder_" + option.dest, None) for option in OPTIONS}


def resolve(values: Mapping[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Option values with the environment filling the gaps, and defaults for the rest."""
    resolved = {}
    for option in OPTIONS:
        value = values.get(option.dest)
        if value in (None, "") and option.env:
            value = environ.get(option.env) or None
        if value is None:
            value = option.default if option.kind is not None else False
        resolved[option.dest] = value
    return resolved


def flag_of(dest: str) -> str:
    """How a report names the option that sets `dest`: `--send-notifications`."""
    return BY_DEST[dest].cli
