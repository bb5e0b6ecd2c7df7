"""Where a sample of the live mock's time belongs: each py-spy stack charged to one part of the
request's path (uvicorn, the event loop, each layer of the mock), for docs/performance.md."""

from __future__ import annotations

import re
from collections import Counter

# Leaf functions of libc: the kernel's share (loopback TCP included) of a request.
IDLE = "idle (epoll wait)"  # no CPU: left out of the shares
_WRITE, _READ, _WAIT = "syscall: write (send the answer)", "syscall: read (the request)", IDLE
SYSCALLS = {"write": _WRITE, "writev": _WRITE, "send": _WRITE, "sendmsg": _WRITE,
            "read": _READ, "recv": _READ, "epoll_wait": _WAIT, "epoll_pwait": _WAIT}
# (pattern on "file:function", category); the innermost frame that matches one decides, first
# rule first. A frame that matches none (CPython's internals, small stdlib helpers) is charged
# to its caller.
RULES: tuple[tuple[str, str], ...] = (
    (r"^(parser\.c|llhttp\.c|api\.c|http\.c)(:|$)", "HTTP parsing (httptools, C)"),
    (r"^(loop\.c|core\.c|loop-watcher\.c|queue\.h|stream\.c|linux\.c|timer\.c|heap-inl\.h|"
     r"handle\.c|uvloop/.*)(:|$)", "event loop (uvloop, C)"),
    (r"^(_asynciomodule\.c[^:]*|asyncio/(tasks|futures|locks|events)\.py):",
     "asyncio tasks, futures, events"),
    (r"^(_json\.c|json/.*)(:|$)", "JSON encoding and decoding"),
    (r"^logging/", "logging (access log)"),
    (r"^uvicorn/protocols/", "uvicorn HTTP protocol (Python)"),
    (r"^mock_server/(middleware/)?auth\.py:", "auth and {user} resolution"),
    (r"^mock_server/((middleware/)?journal|context)\.py:", "journal and RequestContext"),
    (r"^mock_server/(middleware/)?faults\.py:", "faults"),
    (r"^(mock_server/middleware/cors|starlette/middleware/cors)\.py:", "CORS"),
    (r"^mock_server/connexion_seam\.py:.*Routing", "connexion routing"),
    (r"^mock_server/connexion_seam\.py:.*Validat", "request validation"),
    (r"^(connexion/middleware/routing|starlette/routing|connexion/uri_parsing|"
     r"connexion/operations/.*)\.py:", "connexion routing"),
    (r"^(connexion/validators/.*|connexion/middleware/request_validation\.py|jsonschema.*)$",
     "request validation"),
    (r"^mock_server/state/", "state (store)"),
    (r"^(mock_server/(handlers/.*|dispatch|responses|wire|models|inbox|delivery|go_body)\.py|"
     r"starlette/responses\.py)(:|$)", "handler and response building"),
    (r"^bench/peers/ceiling\.py:", "the ceiling's app"),
    (r"^(starlette/|connexion/|uvicorn/middleware/|mock_server/)", "ASGI layers (pass-through)"),
)
_COMPILED = [(re.compile(p), c) for p, c in RULES]
_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::-?\d+)?\)$")


def _parts(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame)
    if not match:
        return frame, ""
    path = match.group("file")
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        path = path.split(marker, 1)[-1]
    return match.group("func"), path


def category(stack: list[str]) -> str:
    """The part of the request's path that this stack (outermost frame first) is spent in."""
    func, _ = _parts(stack[-1])
    if func in SYSCALLS:
        return SYSCALLS[func]
    for frame in reversed(stack):
        func, path = _parts(frame)
        key = f"{path}:{func}"
        for pattern, name in _COMPILED:
            if pattern.search(key):
                return name
    return "other (start-up frames, unresolved)"


def tally(collapsed: str) -> Counter[str]:
    """Samples per category from py-spy's raw (collapsed) output."""
    counts: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            counts[category(stack.split(";"))] += int(count)
    return counts
