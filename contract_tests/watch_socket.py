"""The inbox watch socket as the suite opens it: websockets' sans-I/O client protocol over a plain
(or TLS) socket, so a check sees what a high-level client hides: the refusal's status and body
before any upgrade, every frame as it arrives, pings included, each read bounded in time.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

WATCH_PATH = "/api/v2/notifications/inbox/watch"
READ_BYTES = 65536


@dataclass
class WatchSocket:
    """One connection to `<base_url>/api/v2/notifications/inbox/watch?<query>`."""

    base_url: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    sock: socket.socket | None = None
    protocol: ClientProtocol | None = None
    response: Response | None = None
    pings: int = 0

    @property
    def url(self) -> str:
        """The socket's ws:// (or wss://) URL."""
        parts = urlsplit(self.base_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        suffix = f"?{urlencode(dict(self.query))}" if self.query else ""
        return f"{scheme}://{parts.netloc}{WATCH_PATH}{suffix}"

    def open(self, timeout: float) -> Response:
        """Send the handshake and read the answer: 101, or the refusal with its body."""
        uri = parse_uri(self.url)
        self.sock = socket.create_connection((uri.host, uri.port), timeout=timeout)
        if uri.secure:
            self.sock = ssl.create_default_context().wrap_socket(self.sock,
                                                                 server_hostname=uri.host)
        self.protocol = ClientProtocol(uri, max_size=2**22)
        request = self.protocol.connect()
        for name, value in self.headers.items():
            request.headers[name] = value
        self.protocol.send_request(request)
        self._flush()
        deadline = time.monotonic() + timeout
        while self.response is None:
            self._read(deadline)
            for event in self.protocol.events_received():
                if isinstance(event, Response):
                    self.response = event
                else:
                    self._pending.append(event)
            if self.response is None and time.monotonic() > deadline:
                raise TimeoutError(f"{self.url}: no handshake answer within {timeout:g} s")
        return self.response

    def __post_init__(self) -> None:
        self._pending: list[Frame] = []
        self._closed = False

    def next_message(self, timeout: float) -> Any | None:
        """The next text frame, decoded as JSON (raw text when not JSON); None when nothing
        arrives within `timeout` seconds or the server closed. Pings are counted, not returned."""
        deadline = time.monotonic() + timeout
        while True:
            while self._pending:
                frame = self._pending.pop(0)
                if frame.opcode == Opcode.PING:
                    self.pings += 1
                elif frame.opcode == Opcode.TEXT:
                    text = frame.data.decode("utf-8", errors="replace")
                    try:
                        return json.loads(text)
                    except ValueError:
                        return text
            if self._closed or time.monotonic() >= deadline:
                return None
            self._read(deadline)

    def wait_for_ping(self, timeout: float) -> bool:
        """Whether a ping frame arrives within `timeout` seconds (messages meanwhile are kept)."""
        deadline = time.monotonic() + timeout
        kept: list[Frame] = []
        while self.pings == 0 and not self._closed and time.monotonic() < deadline:
            self._read(deadline)
            for frame in self._pending:
                if frame.opcode == Opcode.PING:
                    self.pings += 1
                else:
                    kept.append(frame)
            self._pending = []
        self._pending = kept
        return self.pings > 0

    def close(self) -> None:
        """Close cleanly if open, then drop the connection."""
        if self.sock is None:
            return
        try:
            if self.protocol is not None and self.response is not None \
                    and self.response.status_code == 101:
                self.protocol.send_close()
                self._flush()
        except OSError:
            pass
        finally:
            self.sock.close()
            self.sock = None

    def _read(self, deadline: float) -> None:
        """Feed what the server sent until `deadline` into the protocol (answering its pings)."""
        assert self.sock is not None
        assert self.protocol is not None
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(READ_BYTES)
        except TimeoutError:
            return
        except OSError:
            data = b""
        if data:
            self.protocol.receive_data(data)
        else:
            self.protocol.receive_eof()
            self._closed = True
        if self.response is not None:
            self._pending.extend(e for e in self.protocol.events_received()
                                 if isinstance(e, Frame))
        self._flush()

    def _flush(self) -> None:
        assert self.sock is not None
        assert self.protocol is not None
        for data in self.protocol.data_to_send():
            if data:
                try:
                    self.sock.sendall(data)
                except OSError:
                    self._closed = True
