"""An in-process target on a real loopback socket, for the checks that need bytes and sockets
(a 304 read from the wire, the watch socket): uvicorn serves the run's app, the same counted app
the other checks call in-process, on 127.0.0.1 port 0, in a thread, for the session.

uvicorn sends the WebSocket pings (as it does for the mock's own command line); the interval
is set short here so the ping check of an in-process run takes about a second, not Coder's 15.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

PING_INTERVAL = 1.0  # seconds, in-process only
START_TIMEOUT = 15.0


class LocalServer:
    """`app` served on a loopback socket until `stop()`."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(
            app, log_level="critical", access_log=False, lifespan="auto",
            ws_ping_interval=PING_INTERVAL, ws_ping_timeout=None, ws_per_message_deflate=False))
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [self._sock]},
                                        name="contract-local-server", daemon=True)

    def start(self) -> LocalServer:
        """Serve, and return once uvicorn says it started."""
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the in-process app did not start serving on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
