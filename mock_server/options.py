"""The mock's command line: one option per MockConfig field, grouped as `--help` shows them.

An option whose `dest` is a MockConfig field fills that field (`config_from` needs no list of
its own); the others (`--host`, `--port`, `--workers`, logging, `--reload`) belong to serving.
Defaults come from MockConfig, so the command line and the pytest plugin cannot drift apart.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import get_args, get_type_hints

from mock_server.config import BASE_PATH, CONTROL_PATH, DISPATCH_METHODS, MockConfig

_DEFAULTS = MockConfig()
_FIELDS = frozenset(field.name for field in dataclasses.fields(MockConfig))


def build_parser() -> argparse.ArgumentParser:
    """The command line, documented in README's "Running the mock"."""
    parser = argparse.ArgumentParser(
        prog="python -m mock_server",
        description=f"A local mock of Coder's notifications API ({BASE_PATH}).")
    _serving(parser.add_argument_group("serving"))
    _answers(parser.add_argument_group("answers"))
    _faults(parser.add_argument_group("faults and the control API"))
    _state(parser.add_argument_group("state"))
    _limits(parser.add_argument_group("limits"))
    parser.set_defaults(**{name: [] for name in ("cors_origins", "faults", "allowed_hosts")})
    return parser


def config_from(args: argparse.Namespace) -> MockConfig:
    """The app's configuration from parsed options (repeatable ones become tuples)."""
    values = {name: value for name, value in vars(args).items() if name in _FIELDS}
    return MockConfig(**{name: tuple(value) if isinstance(value, list) else value
                         for name, value in values.items()})


def _serving(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--host", default="127.0.0.1",
        help="address to bind (default 127.0.0.1; 0.0.0.0 shares the mock)")
    add("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    add("--workers", type=int, default=1, help="worker processes (more than 1 needs --state)")
    add("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add("--no-access-log", dest="access_log", action="store_false",
        help="do not log every request")
    add("--allowed-host", dest="allowed_hosts", action="append", metavar="NAME",
        help="also answer requests for this host name (repeatable; .example.test: a domain "
             "and its subdomains); localhost, IP addresses and --host are always served")
    add("--cors-origin", dest="cors_origins", action="append", metavar="ORIGIN",
        help="allow this browser origin (repeatable; default: any localhost port)")
    add("--reload", action="store_true",
        help="rebuild when openapi.yaml or the fixtures change; a broken edit is reported")
    add("--no-replay", dest="replay", action="store_false",
        help="answer every request through the whole stack, never from the answers kept "
             "for the same request bytes and state")


def _answers(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--fixtures", type=Path, default=_DEFAULTS.fixtures,
        help="fixture set directory: users.yaml, templates.yaml, state.yaml, inbox.yaml")
    add("--default-method", default=_DEFAULTS.default_method, choices=DISPATCH_METHODS,
        help="the default dispatch method (CODER_NOTIFICATIONS_METHOD)")
    add("--user-not-found", dest="user_not_found_status", type=int,
        default=_DEFAULTS.user_not_found_status,
        choices=get_args(get_type_hints(MockConfig)["user_not_found_status"]),
        help="status for an unknown {user}: 400 (Coder to 2025) or 404 (newer)")
    add("--task-templates", action="store_true",
        help="also serve the six Task Events templates (Coder versions with Tasks)")
    add("--validate-responses", action="store_true",
        help="check every response against openapi.yaml (a self-test; slower)")
    add("--ws-ping-interval", type=float, default=_DEFAULTS.ws_ping_interval, metavar="SECONDS",
        help="ping watch sockets this often (default %(default)s, as Coder; 0: never)")


def _faults(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--fault", dest="faults", action="append", metavar="SPEC",
        help="inject a fault: OPERATION[@USER]=STATUS|drop[,times=N][,percent=P][,latency=MS]")
    add("--latency", metavar="MS", help="delay every call: 250, or a range like 100-400")
    add("--no-control", dest="control", action="store_false",
        help=f"serve no control API under {CONTROL_PATH}")
    add("--control-token", help="require this Mock-Control-Token header on the control API")
    add("--journal-size", type=int, default=_DEFAULTS.journal_size,
        help="calls kept in the journal (default %(default)s)")
    add("--journal-entry-bytes", type=int, default=_DEFAULTS.journal_entry_bytes,
        help="bytes per journal entry; longer paths are cut (default %(default)s)")
    add("--max-faults", type=int, default=_DEFAULTS.max_faults,
        help="active faults at most (default %(default)s)")


def _state(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--state-file", type=Path, help="keep the state in this JSON file across restarts")
    add("--state", dest="state_url", metavar="URL",
        help="share the state through Redis: redis://HOST:PORT/DB")
    add("--state-timeout", type=float, default=_DEFAULTS.state_timeout, metavar="SECONDS",
        help="Redis gets this long to connect or answer, else 503 (default %(default)s)")
    add("--max-outbox", type=int, default=_DEFAULTS.max_outbox,
        help="outbox messages kept, and held ones; the oldest go (default %(default)s)")
    add("--max-inbox", type=int, default=_DEFAULTS.max_inbox,
        help="inbox notifications kept per user; the oldest go (default %(default)s)")
    add("--max-state-bytes", type=int, default=_DEFAULTS.max_state_bytes,
        help="largest PUT /__mock/state body (default %(default)s bytes)")


def _limits(group: argparse._ArgumentGroup) -> None:
    add = group.add_argument
    add("--max-body-bytes", type=int, default=_DEFAULTS.max_body_bytes,
        help="answer 413 to larger request bodies (default %(default)s bytes)")
    add("--max-header-bytes", type=int, default=_DEFAULTS.max_header_bytes,
        help="answer 431 to larger request heads (default %(default)s bytes, as Go)")
    add("--header-timeout", type=float, default=_DEFAULTS.header_timeout, metavar="SECONDS",
        help="answer 408 to a request head that takes longer (default %(default)s)")
    add("--body-timeout", type=float, default=_DEFAULTS.body_timeout, metavar="SECONDS",
        help="answer 408 to a request body that takes longer (default %(default)s)")
