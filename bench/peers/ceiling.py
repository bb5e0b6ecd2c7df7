"""The ceiling: the mock's bytes from a bare ASGI app, under the mock's uvicorn settings.

It does what every stub does (find the answer by method and path, check the token) and nothing
more, so the gap between it and the mock is the mock's own work, not uvicorn's. A hand-written
ASGI callable on purpose: any framework would add the layers this row exists to leave out.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from bench.peers.capture import Answer

ANSWERS_ENV = "BENCH_CEILING_ANSWERS"
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]],
                    Callable[[Message], Awaitable[None]]], Awaitable[None]]
Prepared = tuple[Message, Message]


def prepared(answer: Answer) -> Prepared:
    """The two ASGI messages of an answer, built once at start."""
    headers = [(k.encode(), v.encode()) for k, v in answer.headers]
    if answer.status not in (204, 304):
        headers.append((b"content-length", str(len(answer.body)).encode()))
    return ({"type": "http.response.start", "status": answer.status, "headers": headers},
            {"type": "http.response.body", "body": answer.body})


NOT_FOUND = prepared(Answer("", "", 404, (("content-type", "text/plain"),), b"not stubbed"))


def build() -> ASGIApp:
    """uvicorn's --factory: the app serving the answers file named by $BENCH_CEILING_ANSWERS."""
    data = json.loads(Path(os.environ[ANSWERS_ENV]).read_text())
    answers = {(a["method"], a["path"]): prepared(Answer.from_dict(a)) for a in data["answers"]}
    denied = prepared(Answer.from_dict(data["denied"]))
    credential = (data["token_header"].lower().encode(), data["token"].encode())

    async def app(scope: Message, receive: Callable[[], Awaitable[Message]],
                  send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        more = True
        while more:  # read the body, as any server of a PUT must
            more = (await receive()).get("more_body", False)
        answer = answers.get((scope["method"], scope["path"]), NOT_FOUND)
        if answer is not NOT_FOUND and credential not in scope["headers"]:
            answer = denied
        await send(answer[0])
        await send(answer[1])

    return app


async def lifespan(receive: Callable[[], Awaitable[Message]],
                   send: Callable[[Message], Awaitable[None]]) -> None:
    """Start-up and shutdown, acknowledged (the mock runs uvicorn with lifespan on)."""
    while True:
        kind = (await receive())["type"]
        await send({"type": kind + ".complete"})
        if kind == "lifespan.shutdown":
            return


def write(path: Path, answers: list[Answer], denied: Answer, token_header: str,
          token: str) -> None:
    """The answers file `build` reads."""
    path.write_text(json.dumps({"answers": [a.as_dict() for a in answers],
                                "denied": denied.as_dict(), "token_header": token_header,
                                "token": token}))


def argv(host: str, port: int) -> list[str]:
    """uvicorn as the mock runs it: httptools and uvloop (auto), lifespan on, no access log."""
    return [sys.executable, "-m", "uvicorn", "--factory", "bench.peers.ceiling:build",
            "--host", host, "--port", str(port), "--lifespan", "on", "--no-access-log",
            "--log-level", "warning"]
