"""`python -m mock_server`: parse options, bind the socket, print who can sign in, serve."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import inspect
import ipaddress
import logging
import os
import socket
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, get_args, get_type_hints

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from mock_server.app import create_app
from mock_server.config import (
    BASE_PATH,
    CONTROL_PATH,
    DISPATCH_METHODS,
    DOCS_PATH,
    ENV_VAR,
    SPEC_PATH,
    MockConfig,
)
from mock_server.deployment import Deployment, build_deployment
from mock_server.faults import FaultError
from mock_server.fixtures import FixtureError, load_seed
from mock_server.models import Seed
from mock_server.reload import ReloadingApp
from mock_server.server import bound_config, quiet_deliberate_drops, server_options
from mock_server.state.backend import StateUnavailable
from mock_server.state.file import StateFileError
from mock_server.state.redis_backend import StateBackendError, redact

FACTORY = "mock_server.cli:app_from_env"


def build_parser() -> argparse.ArgumentParser:
    """The command line, documented in README's "Running the mock"; defaults are MockConfig's."""
    defaults = MockConfig()
    parser = argparse.ArgumentParser(
        prog="python -m mock_server",
        description=f"A local mock of Coder's notifications API ({BASE_PATH}).")
    add = parser.add_argument
    add("--host", default="127.0.0.1",
        help="address to bind (default 127.0.0.1; 0.0.0.0 shares the mock)")
    add("--port", type=int, default=8080, help="port (default 8080; 0 picks one)")
    add("--fixtures", type=Path, default=defaults.fixtures,
        help="fixture set directory: users.yaml, templates.yaml, state.yaml, inbox.yaml")
    add("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    add("--no-access-log", dest="access_log", action="store_false",
        help="do not log every request")
    add("--default-method", default=defaults.default_method, choices=DISPATCH_METHODS,
        help="the default dispatch method (CODER_NOTIFICATIONS_METHOD)")
    add("--user-not-found", type=int, default=defaults.user_not_found_status,
        choices=get_args(get_type_hints(MockConfig)["user_not_found_status"]),
        help="status for an unknown {user}: 400 (Coder to 2025) or 404 (newer)")
    add("--task-templates", action="store_true",
        help="also serve the six Task Events templates (Coder versions with Tasks)")
    add("--validate-responses", action="store_true",
        help="check every response against openapi.yaml (a self-test; slower)")
    add("--cors-origin", action="append", default=[], metavar="ORIGIN",
        help="allow this browser origin (repeatable; default: any localhost port)")
    add("--fault", action="append", default=[], metavar="SPEC",
        help="inject a fault: OPERATION[@USER]=STATUS|drop[,times=N][,percent=P][,latency=MS]")
    add("--latency", metavar="MS", help="delay every call: 250, or a range like 100-400")
    add("--journal-size", type=int, default=defaults.journal_size,
        help="calls kept in the journal (default %(default)s)")
    add("--journal-entry-bytes", type=int, default=defaults.journal_entry_bytes,
        help="bytes per journal entry; longer paths are cut (default %(default)s)")
    add("--max-outbox", type=int, default=defaults.max_outbox,
        help="outbox messages kept, and held ones; the oldest go (default %(default)s)")
    add("--max-inbox", type=int, default=defaults.max_inbox,
        help="inbox notifications kept per user; the oldest go (default %(default)s)")
    add("--max-faults", type=int, default=defaults.max_faults,
        help="active faults at most (default %(default)s)")
    add("--max-state-bytes", type=int, default=defaults.max_state_bytes,
        help="largest PUT /__mock/state body (default %(default)s bytes)")
    add("--state-timeout", type=float, default=defaults.state_timeout, metavar="SECONDS",
        help="Redis gets this long to connect or answer, else 503 (default %(default)s)")
    add("--state-file", type=Path, help="keep the state in this JSON file across restarts")
    add("--state", metavar="URL", help="share the state through Redis: redis://HOST:PORT/DB")
    add("--workers", type=int, default=1, help="worker processes (more than 1 needs --state)")
    add("--no-control", dest="control", action="store_false",
        help=f"serve no control API under {CONTROL_PATH}")
    add("--control-token", help="require this Mock-Control-Token header on the control API")
    add("--max-body-bytes", type=int, default=defaults.max_body_bytes,
        help="answer 413 to larger request bodies (default %(default)s bytes)")
    add("--allowed-host", action="append", default=[], metavar="NAME",
        help="also answer requests for this host name (repeatable; .example.test: a domain "
             "and its subdomains); localhost, IP addresses and --host are always served")
    add("--max-header-bytes", type=int, default=defaults.max_header_bytes,
        help="answer 431 to larger request heads (default %(default)s bytes, as Go)")
    add("--header-timeout", type=float, default=defaults.header_timeout, metavar="SECONDS",
        help="answer 408 to a request head that takes longer (default %(default)s)")
    add("--body-timeout", type=float, default=defaults.body_timeout, metavar="SECONDS",
        help="answer 408 to a request body that takes longer (default %(default)s)")
    add("--ws-ping-interval", type=float, default=defaults.ws_ping_interval, metavar="SECONDS",
        help="ping watch sockets this often (default %(default)s, as Coder; 0: never)")
    add("--reload", action="store_true",
        help="rebuild when openapi.yaml or the fixtures change; a broken edit is reported")
    return parser


def config_from(args: argparse.Namespace) -> MockConfig:
    """The app's configuration from parsed options."""
    return MockConfig(fixtures=args.fixtures, default_method=args.default_method,
                      user_not_found_status=args.user_not_found,
                      task_templates=args.task_templates,
                      validate_responses=args.validate_responses,
                      cors_origins=tuple(args.cors_origin), faults=tuple(args.fault),
                      latency=args.latency, journal_size=args.journal_size,
                      journal_entry_bytes=args.journal_entry_bytes, max_outbox=args.max_outbox,
                      max_inbox=args.max_inbox, max_faults=args.max_faults,
                      max_state_bytes=args.max_state_bytes, state_timeout=args.state_timeout,
                      state_file=args.state_file, state_url=args.state,
                      control=args.control,
                      control_token=args.control_token, max_body_bytes=args.max_body_bytes,
                      ws_ping_interval=args.ws_ping_interval,
                      allowed_hosts=tuple(args.allowed_host),
                      max_header_bytes=args.max_header_bytes,
                      header_timeout=args.header_timeout, body_timeout=args.body_timeout)


def banner(url: str, config: MockConfig, seed: Seed, *, workers: int = 1) -> str:
    """What a developer needs at start: where it listens and which tokens sign in whom."""
    processes = f"{workers} worker processes" if workers > 1 else "this process"
    if config.state_url:
        state = f"shared in {redact(config.state_url)} (by {processes} and any replica using it)"
    elif config.state_file is not None:
        state = f"in memory, kept in {config.state_file.resolve()} (this process only)"
    else:
        state = "in memory (this process only)"
    api = f"{url}{BASE_PATH}"
    lines = [f"Coder notifications mock: {api}  (Swagger UI: {api}{DOCS_PATH}/)",
             f"Fixtures: {config.fixtures.resolve()}", f"State: {state}"]
    if config.control:
        lines.append(f"Control API: {url}{CONTROL_PATH}  (reset, faults, journal, outbox)")
    lines.append("Sign in with Coder-Session-Token:")
    for user, key in seed.accounts():
        role = "owner" if user.is_owner else "member"
        note = "" if user.is_active else f" ({user.status})"
        note += f" (expired {key.expires_at:%Y-%m-%d})" if key.expires_at else ""
        lines.append(f"  {user.username:<10} {role:<7} {key.token}{note}")
    return "\n".join(lines)


def build(config: MockConfig, *, reload: bool) -> tuple[ASGIApp, Seed]:
    """The app to serve (reloading or not) and the seed it starts from."""
    deployment = build_deployment(config)
    store = deployment.store
    asyncio.run(_start(deployment, config))
    app = create_app(config, deployment)
    if not reload:
        return app, store.seed

    fixtures = config.fixtures.resolve()

    def rebuild(changed: Sequence[Path]) -> ASGIApp:
        """A new app on the same state; new fixtures replace the state once all of it loads.

        Only edits to the fixture set in use count: after PUT /__mock/fixtures loaded another
        set, the one named on the command line no longer replaces it.
        """
        in_use = store.seed.source
        edited = in_use is not None and in_use == fixtures and any(
            fixtures in path.parents for path in changed)
        seed = load_seed(fixtures) if edited else None
        rebuilt = create_app(config, deployment)
        if seed is not None:
            _soon(store.reset(seed))
        return rebuilt

    return ReloadingApp(app, rebuild, [SPEC_PATH, config.fixtures]), store.seed


async def _start(deployment: Deployment, config: MockConfig) -> None:
    """Seed now, so that a Redis that cannot be used is an error before serving (reported in
    the error's one line, not also as an outage in the log)."""
    quiet = logging.getLogger("mock_server.state")
    quiet.disabled = True
    try:
        await deployment.start()
    except StateUnavailable as exc:
        raise StateBackendError(f"cannot use the shared state at {exc.where}: {exc.reason} "
                                "(is redis-server running there? see --state)") from None
    finally:
        quiet.disabled = False
        await deployment.close()


_tasks: set[asyncio.Task[None]] = set()


def _soon(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` on the running loop (a reload's reset); kept until done, failures logged."""
    task = asyncio.get_running_loop().create_task(work)
    _tasks.add(task)
    task.add_done_callback(_done)


def _done(task: asyncio.Task[None]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logging.getLogger("mock_server.reload").error("reset after a reload failed: %s",
                                                      task.exception())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mock until interrupted."""
    args = build_parser().parse_args(argv)
    try:
        _check_port(args.port)
        config = bound_config(config_from(args), args.host)
        _check_workers(args, config)
        _check_exposure(args.host, config)
    except (FaultError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        sock = socket.create_server((args.host, args.port))
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    url = f"http://{_url_host(host)}:{port}"
    try:
        config = dataclasses.replace(config, access_url=config.access_url or url)
        app, seed = build(config, reload=args.reload)
    except (FixtureError, StateFileError, FaultError, ValueError) as exc:
        sock.close()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(banner(url, config, seed, workers=args.workers), flush=True)
    _quiet_logs()
    if args.workers > 1:
        _serve_workers(args, config, sock)
    else:
        uvicorn.Server(uvicorn.Config(app, log_level=args.log_level, access_log=args.access_log,
                                      lifespan="on", **server_options(config))
                       ).run(sockets=[sock])
    return 0


def _check_port(port: int) -> None:
    """A TCP port is 0 to 65535; anything else would only fail later, in bind()."""
    if not 0 <= port <= 65535:
        raise ValueError(f"--port {port} is not a TCP port: use 1 to 65535, or 0 for a free one")


def _check_exposure(host: str, config: MockConfig) -> None:
    """Off loopback, the control API (every token, reset, faults) must not be open to all."""
    if config.control and not config.control_token and not _is_loopback(host):
        raise ValueError(f"--host {host} would let anyone who can reach it read every token, "
                         "reset the state and inject faults through the control API: add "
                         "--control-token SECRET, or --no-control")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _check_workers(args: argparse.Namespace, config: MockConfig) -> None:
    """Several processes are one mock only with a shared state, and without `--reload`."""
    if args.workers < 1:
        raise ValueError(f"--workers {args.workers} must be at least 1")
    if args.workers > 1 and config.state_url is None:
        raise ValueError(f"--workers {args.workers} needs --state redis://HOST:PORT/DB: each "
                         "worker would keep its own in-memory state, and calls would see "
                         "different mocks")
    if args.workers > 1 and args.reload:
        raise ValueError("--reload rebuilds one process; it cannot be combined with --workers")


def _serve_workers(args: argparse.Namespace, config: MockConfig, sock: socket.socket) -> None:
    """uvicorn's worker processes on our socket, each building the app from the environment."""
    os.environ[ENV_VAR] = config.to_env()
    worker_config = uvicorn.Config(FACTORY, factory=True, workers=args.workers,
                                   log_level=args.log_level, access_log=args.access_log,
                                   lifespan="on", **server_options(config))
    if "target" in inspect.signature(Multiprocess).parameters:  # older uvicorn versions
        supervisor = Multiprocess(worker_config, target=uvicorn.Server(worker_config).run,
                                  sockets=[sock])
    else:
        supervisor = Multiprocess(worker_config, sockets=[sock])
    supervisor.run()


def app_from_env() -> ASGIApp:
    """The app of one worker process: the configuration the CLI left in CODER_MOCK_CONFIG."""
    _quiet_logs()
    return create_app(MockConfig.from_env())


def _quiet_logs() -> None:
    logging.getLogger("connexion").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").addFilter(quiet_deliberate_drops)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
