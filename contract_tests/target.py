"""The server under test: where it is (a URL or an in-process ASGI app) and who may sign in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

API_PREFIX = "/api/v2"
_TOKEN = re.compile(r"^[^-]{10}-[^-]{22}$")


@dataclass(frozen=True, kw_only=True)
class Target:
    """Everything the suite knows about a server before it asks it anything."""

    owner_token: str
    member_token: str | None = None
    base_url: str | None = None
    app: Any = None
    send_test_notification: bool = False
    allow_new_preferences: bool = False
    send_notifications: bool = False  # custom and test notifications, to the callers themselves
    allow_read_state_changes: bool = False  # mark all read; re-mark read notifications
    allow_method_changes: bool = False  # change a template's method (one it can put back)
    delivery_timeout: float = 10.0  # seconds a sent notification may take to reach the inbox
    ping_timeout: float = 20.0  # seconds to wait for the watch socket's first ping

    def __post_init__(self) -> None:
        if (self.base_url is None) == (self.app is None):
            raise ValueError("Target needs exactly one of base_url (a deployment URL) or app "
                             "(an ASGI application)")
        if self.base_url is not None and not re.match(r"^https?://[^/]+", self.base_url):
            raise ValueError(f"base_url {self.base_url!r} is not an http(s) URL; give the "
                             "deployment URL, e.g. https://coder.example.com")
        for name in ("delivery_timeout", "ping_timeout"):
            if not 0 < getattr(self, name) <= 600:
                raise ValueError(f"{name} {getattr(self, name)!r} must be between 0 and 600 "
                                 "seconds")
        for name in ("owner_token", "member_token"):
            token = getattr(self, name)
            if token is not None and not _TOKEN.match(token):
                raise ValueError(f"{name} {_redact(token)!r} is not a Coder session token "
                                 "(<10-character id>-<22-character secret>)")

    @property
    def api_url(self) -> str | None:
        """The API base URL (`<deployment>/api/v2`), or None for an in-process app."""
        if self.base_url is None:
            return None
        base = self.base_url.rstrip("/")
        return base if base.endswith(API_PREFIX) else base + API_PREFIX

    @property
    def sends_test_notification(self) -> bool:
        """Whether the test notification may really be sent (`--send-notifications` includes it)."""
        return self.send_test_notification or self.send_notifications

    @property
    def label(self) -> str:
        """How reports name the target."""
        return self.api_url or "the in-process ASGI app"


def bundled_mock() -> Target:
    """The bundled mock, in-process: a throwaway deployment, so every check may run on it."""
    from mock_server.server import MockServer

    server = MockServer()
    return Target(app=server.app, owner_token=server.token(owner=True),
                  member_token=server.token(owner=False), send_test_notification=True,
                  allow_new_preferences=True, send_notifications=True,
                  allow_read_state_changes=True, allow_method_changes=True,
                  delivery_timeout=2.0, ping_timeout=5.0)


def _redact(token: str) -> str:
    return token[:4] + "…" if len(token) > 4 else token
