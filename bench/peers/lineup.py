"""The line-up: the mock and each peer as a Server, each stubbed peer given the mock's answers."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import servers
from bench.peers import ceiling, mockoon, npx, prism, wiremock
from bench.peers.capture import Answer
from bench.servers import HOST, Server
from bench.workloads import API, OWNER_TOKEN, TOKEN_HEADER

PEERS = ("prism", "wiremock", "mockoon", "ceiling", "stack")
# The peers that serve the mock's own bytes (Prism answers the spec's examples).
STUBBED = frozenset({"wiremock", "mockoon", "ceiling"})
CEILING = "ceiling"
STACK = "stack"  # the mock with --no-replay: every request through the whole stack
REFERENCES = frozenset({CEILING, STACK})  # measured beside the peers, never a best peer


@dataclass
class Tools:
    """What the peers need fetched before any start-up is timed, and their versions."""

    versions: dict[str, str] = field(default_factory=dict)
    fetch_s: dict[str, float] = field(default_factory=dict)
    wiremock_jar: Path | None = None


def prefetch(names: tuple[str, ...], root: Path) -> Tools:
    """Fetch each chosen npm tool into npx's cache (pinned), so start-up is not download."""
    tools = Tools()
    pinned = {"prism": prism.PACKAGE, "wiremock": wiremock.PACKAGE, "mockoon": mockoon.PACKAGE}
    for name in names:
        if name in pinned:
            print(f"fetching {pinned[name]} through npx (cached after the first run)", flush=True)
            tools.versions[name], tools.fetch_s[name] = npx.prefetch(pinned[name], ["--version"],
                                                                     root)
    if "wiremock" in names:
        tools.wiremock_jar = wiremock.jar(root)
        wiremock.java()  # fail now, not after the mock has started
    return tools


def mock(results: Path, *, name: str = "mock", options: tuple[str, ...] = ()) -> Server:
    """The mock as `make serve` runs it, the access log off (and `options`)."""
    port = servers.free_port()
    return Server(name, [sys.executable, "-m", "mock_server", "--host", HOST, "--port",
                         str(port), "--no-access-log", *options],
                  port, (API,), results / f"{name}.log", control_path="/__mock")


def peer(name: str, answers: list[Answer], denied: Answer, work: Path, root: Path,
         tools: Tools, options: dict[str, Any]) -> Server:
    """One peer on a free port; a stubbed one's files written into `work` first."""
    port = servers.free_port()
    log = root / "bench" / "results" / f"{name}.log"
    if name == "prism":
        # Prism drops a relative `servers` URL's path, so it may serve the spec's paths at the
        # root: probe both and use whichever answers 2xx.
        return Server(name, prism.argv(HOST, port, options["prism_log_level"]), port,
                      (API, ""), log)
    if name == "wiremock":
        assert tools.wiremock_jar is not None
        wiremock.write_stubs(work / "wiremock", answers, denied, TOKEN_HEADER, OWNER_TOKEN)
        return Server(name, wiremock.argv(tools.wiremock_jar, HOST, port, work / "wiremock"),
                      port, (API,), log)
    if name == "mockoon":
        env = work / "mockoon.json"
        routes = mockoon.write_env(env, root / "openapi.yaml", answers, denied, TOKEN_HEADER,
                                   OWNER_TOKEN, root)
        server = Server(name, mockoon.argv(HOST, port, env), port, (API,), log)
        server.setup["routes_patched"] = routes
        return server
    if name == CEILING:
        path = work / "ceiling.json"
        ceiling.write(path, answers, denied, TOKEN_HEADER, OWNER_TOKEN)
        return Server(name, ceiling.argv(HOST, port), port, (API,), log,
                      env={ceiling.ANSWERS_ENV: str(path)})
    if name == STACK:
        return mock(log.parent, name=STACK, options=("--no-replay",))
    raise ValueError(f"unknown peer {name!r}; the peers are {', '.join(PEERS)}")
