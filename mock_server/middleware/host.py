"""The Host allow-list: a request must name a host the mock serves, or a DNS-rebinding page
could read every token from the control API.

A page at `http://rebind.test:8080/` whose name its owner re-points at 127.0.0.1 is, to the
browser, same-origin with a mock on port 8080: CORS never applies, only the Host header still
says which name the page used. Served are names no DNS answer can re-point (the policy of
Vite's `server.allowedHosts`): `localhost` and `*.localhost` (RFC 6761: resolved to loopback by
the client itself), any IP address (no DNS at all), and the names given with `--allowed-host`
(exact, `.example.test` for that domain and its subdomains, `*` for any), to which the CLI adds
the bound host and the access URL's. Any port.

A well-formed Host not served gets 421 Misdirected Request (RFC 9110 §15.5.20: this server does
not answer for that authority); a missing (HTTP/1.1), repeated or malformed one gets 400, as Go's
net/http refuses those. An absolute-form target (`GET http://evil.example/...`) names its host
in the target: the connection (mock_server/connection.py) puts it in the Host header first,
as RFC 9112 §3.2.2 asks. The refusal is sent from here, outside connexion's error handlers, so
it covers the API, the control API, the docs and WebSocket handshakes alike.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors

_SERVED_CACHE = 64  # Host values remembered as served; a client rarely sends more than a few
_HOST = re.compile(r"^(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._~-]+))(?::\d*)?$")


def host_name(value: str) -> str | None:
    """The name a Host header value names (lower-case, no port, no trailing dot, an IPv6
    address without brackets), or None when the value is not a valid Host."""
    match = _HOST.match(value)
    if match is None:
        return None
    if match["ip6"] is not None:
        return match["ip6"].lower() if _is_ip(match["ip6"]) else None
    name = match["name"].lower()
    return name[:-1] if name.endswith(".") and len(name) > 1 else name


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class HostPolicy:
    """Which names the mock answers for: the rebinding-proof ones, and the allowed ones."""

    def __init__(self, allowed: Iterable[str]) -> None:
        names = [name.lower().rstrip(".") if name != "." else name for name in allowed]
        self.any = "*" in names
        self.exact = frozenset(name for name in names if not name.startswith("."))
        self.domains = tuple(name for name in names if name.startswith(".") and name != ".")

    def allows(self, name: str) -> bool:
        """Whether a request naming this host (as `host_name` gives it) is served."""
        if self.any or name in self.exact or name == "localhost" or _is_ip(name):
            return True
        return name.endswith(".localhost") or any(
            name == domain[1:] or name.endswith(domain) for domain in self.domains)


class HostMiddleware:
    """Refuse a request whose Host is not served, before the CORS layer or any route."""

    def __init__(self, app: ASGIApp, *, allowed: Iterable[str]) -> None:
        self.app = app
        self.policy = HostPolicy(allowed)
        self._served: set[bytes] = set()  # raw Host values found served (the policy is fixed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self.refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        start, body = refusal.asgi()
        await send(start)
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: Scope) -> errors.CoderError | None:
        """Why this request's Host is refused, or None when it is served."""
        hosts = [value for name, value in scope["headers"] if name == b"host"]
        if len(hosts) > 1:
            return errors.invalid_host("too many Host headers")
        if not hosts:
            return None if scope.get("http_version") == "1.0" else errors.invalid_host(
                "missing required Host header")
        if hosts[0] in self._served:
            return None
        value = hosts[0].decode("latin-1").strip(" \t")
        name = host_name(value)
        if name is None:
            return errors.invalid_host(f"malformed Host header {value!r}")
        if self.policy.allows(name):
            if len(self._served) < _SERVED_CACHE:
                self._served.add(hosts[0])
            return None
        return errors.host_not_allowed(value, name)
