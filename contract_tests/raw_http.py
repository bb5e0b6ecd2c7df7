"""One HTTP/1.1 exchange read from the socket byte for byte, for the wire facts HTTP clients
hide: whether a 304 carries any byte after its headers, what an error's headers say exactly.

A hand-written request and a read to the end of the connection (`Connection: close`) is the point
here: any HTTP library would parse, and so normalise, exactly what is being checked.
"""

from __future__ import annotations

import json
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

TIMEOUT = 15.0


@dataclass(frozen=True)
class RawResponse:
    """The status, the header lines and every byte after the blank line."""

    status: int
    headers: list[tuple[str, str]]
    after_headers: bytes

    def header(self, name: str) -> str | None:
        """One header's value (the first), case-insensitively."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def describe(self) -> str:
        """For a failure message."""
        lines = [f"{k}: {v}" for k, v in self.headers]
        return f"{self.status}; " + "; ".join(lines) + f"; then {self.after_headers[:200]!r}"


def exchange(base_url: str, method: str, path: str, headers: dict[str, str],
             body: object = None) -> RawResponse:
    """Send one request to `base_url` + `path` and read the answer to the end."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             f"Content-Length: {len(payload)}", *(f"{k}: {v}" for k, v in headers.items())]
    with socket.create_connection((parts.hostname, port), timeout=TIMEOUT) as plain:
        sock = ssl.create_default_context().wrap_socket(
            plain, server_hostname=parts.hostname) if parts.scheme == "https" else plain
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    head, _, rest = bytes(received).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    return RawResponse(status=int(status_line.split()[1]),
                       headers=[tuple(h.split(": ", 1)) for h in header_lines if ": " in h],
                       after_headers=rest)
