"""The mock's answers, fetched from the running mock, so that every stub serves its bytes."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from bench.servers import exchange

# What the HTTP server itself adds (or frames the body with): every peer sends its own.
SERVER_HEADERS = frozenset({"date", "server", "content-length", "transfer-encoding",
                            "connection", "keep-alive"})


@dataclass(frozen=True)
class Answer:
    """One answer of the mock: what a peer must send back for the same request."""

    method: str
    path: str  # the URL path, base path and parameters included
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, the body in base64 (the exact bytes, whatever they hold)."""
        return {"method": self.method, "path": self.path, "status": self.status,
                "headers": [list(h) for h in self.headers],
                "body_b64": base64.b64encode(self.body).decode()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Answer:
        """The inverse of as_dict."""
        headers = tuple((str(k), str(v)) for k, v in data["headers"])  # type: ignore[union-attr]
        return cls(str(data["method"]), str(data["path"]), int(data["status"]),  # type: ignore[call-overload]
                   headers, base64.b64decode(str(data["body_b64"])))


def fetch(port: int, method: str, path: str, headers: dict[str, str],
          body: str | None = None, timeout: float = 5.0) -> Answer:
    """One request on loopback; the answer with the headers a stub should repeat."""
    status, received, data = exchange(port, method, path, headers, body, timeout)
    kept = tuple((k.lower(), v) for k, v in received if k.lower() not in SERVER_HEADERS)
    return Answer(method, path, status, kept, data)


def steady(port: int, method: str, path: str, headers: dict[str, str],
           body: str | None) -> tuple[Answer, list[int]]:
    """The answer to the request's second sending (what wrk's repeats get: a repeated PUT may
    turn 200 into 304), and the statuses of both."""
    first = fetch(port, method, path, headers, body)
    second = fetch(port, method, path, headers, body)
    return second, [first.status, second.status]
