"""`--reload`: rebuild the app in-process when the spec or the fixtures change.

An edit that breaks a file is reported and the last good app keeps serving, so a typo in a
fixture never takes the mock down in the middle of a UI session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import watchfiles
from starlette.types import ASGIApp, Receive, Scope, Send

logger = logging.getLogger("mock_server.reload")


class ReloadingApp:
    """An ASGI app that delegates to the latest good build and watches what it was built from."""

    def __init__(self, app: ASGIApp, build: Callable[[Sequence[Path]], ASGIApp],
                 paths: Sequence[Path], *, debounce_ms: int = 200) -> None:
        self.app = app
        self.build = build
        self.paths = [path.resolve() for path in paths]
        self.debounce_ms = debounce_ms
        self.reloads = 0
        self.last_error: str | None = None
        self._stop = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        watcher: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                watcher = asyncio.create_task(self.watch())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._stop.set()
                if watcher is not None:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def watch(self) -> None:
        """Rebuild after every burst of changes until the server stops."""
        async for changes in watchfiles.awatch(*self.paths, stop_event=self._stop,
                                               debounce=self.debounce_ms):
            self.rebuild(sorted({Path(path) for _, path in changes}))

    def rebuild(self, changed: Sequence[Path]) -> bool:
        """Swap in a fresh build; on any error keep serving the old one and say what was wrong."""
        names = ", ".join(path.name for path in changed) or "files"
        try:
            app = self.build(changed)
        except Exception as exc:  # any broken edit: YAML, fixtures, spec, handlers
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.error("reload after changes to %s failed, still serving the last good "
                         "configuration: %s", names, self.last_error)
            return False
        self.app, self.last_error = app, None
        self.reloads += 1
        logger.warning("reloaded after changes to %s", names)
        return True
