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
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.supervisors import Multiprocess

from mock_server.app import create_app
from mock_server.config import BASE_PATH, CONTROL_PATH, DOCS_PATH, ENV_VAR, SPEC_PATH, MockConfig
from mock_server.deployment import Deployment, build_deployment
from mock_server.faults import FaultError
from mock_server.fixtures import FixtureError, load_seed
from mock_server.models import Seed
from mock_server.options import build_parser, config_from
from mock_server.reload import ReloadingApp
from mock_server.server import bound_config, quiet_deliberate_drops, server_options
from mock_server.state.backend import StateUnavailable
from mock_server.state.file import StateFileError
from mock_server.state.redis_backend import StateBackendError, redact

FACTORY = "mock_server.cli:app_from_env"


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
        config = serving_config(args)
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


def serving_config(args: argparse.Namespace) -> MockConfig:
    """The configuration the options describe, as served on `--host`; `--reload` turns replay
    off, since a rebuild makes a new deployment that kept answers would outlive."""
    config = bound_config(config_from(args), args.host)
    return dataclasses.replace(config, replay=False) if args.reload else config


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
