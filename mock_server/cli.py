"""`python -m mock_server`: parse options, bind the socket, print who can sign in, serve."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

from mock_server.app import BASE_PATH, build_store, create_app
from mock_server.config import DEFAULT_FIXTURES, DISPATCH_METHODS, MockConfig
from mock_server.fixtures import FixtureError
from mock_server.models import Seed


def build_parser() -> argparse.ArgumentParser:
    """The command line, documented in README's "Running the mock"."""
    parser = argparse.ArgumentParser(
        prog="python -m mock_server",
        description="A local mock of Coder's notifications API (/api/v2).")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; 0.0.0.0 shares the mock)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    parser.add_argument("--fixtures", type=Path, default=DEFAULT_FIXTURES,
                        help="fixture set directory: users.yaml, templates.yaml, state.yaml")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.add_argument("--no-access-log", dest="access_log", action="store_false",
                        help="do not log every request")
    parser.add_argument("--default-method", default="smtp", choices=DISPATCH_METHODS,
                        help="the default dispatch method (CODER_NOTIFICATIONS_METHOD)")
    parser.add_argument("--user-not-found", type=int, default=400, choices=[400, 404],
                        help="status for an unknown {user}: 400 (Coder to 2025) or 404 (newer)")
    parser.add_argument("--task-templates", action="store_true",
                        help="also serve the six Task Events templates (Coder versions with Tasks)")
    parser.add_argument("--validate-responses", action="store_true",
                        help="check every response against openapi.yaml (a self-test; slower)")
    return parser


def config_from(args: argparse.Namespace) -> MockConfig:
    """The app's configuration from parsed options."""
    return MockConfig(fixtures=args.fixtures, default_method=args.default_method,
                      user_not_found_status=args.user_not_found,
                      task_templates=args.task_templates,
                      validate_responses=args.validate_responses)


def banner(url: str, config: MockConfig, seed: Seed) -> str:
    """What a developer needs at start: where it listens and which tokens sign in whom."""
    users = {user.id: user for user in seed.users}
    lines = [f"Coder notifications mock: {url}{BASE_PATH}  (Swagger UI: {url}{BASE_PATH}/docs/)",
             f"Fixtures: {config.fixtures.resolve()}", "Sign in with Coder-Session-Token:"]
    for key in seed.keys:
        user = users[key.user_id]
        role = "owner" if user.is_owner else "member"
        note = "" if user.is_active else f" ({user.status})"
        note += f" (expired {key.expires_at:%Y-%m-%d})" if key.expires_at else ""
        lines.append(f"  {user.username:<10} {role:<7} {key.token}{note}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mock until interrupted."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from(args)
        store = build_store(config)
    except (FixtureError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(config, store=store)
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    print(banner(f"http://{_url_host(host)}:{port}", config, store.seed), flush=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level=args.log_level,
                                           access_log=args.access_log, lifespan="on"))
    logging.getLogger("connexion").setLevel(logging.WARNING)
    server.run(sockets=[sock])
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
