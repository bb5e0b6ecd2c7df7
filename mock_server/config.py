"""The mock's configuration: one immutable value, built at the edge (CLI or environment)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

# The mock's paths, owned here: everything else derives from these three.
BASE_PATH = "/api/v2"  # Coder's API, where its router mounts it
DOCS_PATH = "/docs"  # Swagger UI, under each API's base path (connexion's openapi.json beside it)
CONTROL_PATH = "/__mock"  # the mock's own control API (control.yaml)

PACKAGE_DIR = Path(__file__).resolve().parent
SPEC_PATH = PACKAGE_DIR / "openapi.yaml"
CONTROL_SPEC_PATH = PACKAGE_DIR / "control.yaml"
DEFAULT_FIXTURES = PACKAGE_DIR / "default_fixtures"
DISPATCH_METHODS = ("smtp", "webhook")
ENV_VAR = "CODER_MOCK_CONFIG"
LOCAL_ORIGINS = r"^https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$"
STATE_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True, kw_only=True)
class MockConfig:
    """What a mock deployment is: its seed data, the Coder quirks it reproduces, its controls."""

    fixtures: Path = DEFAULT_FIXTURES
    default_method: str = "smtp"
    user_not_found_status: Literal[400, 404] = 400
    task_templates: bool = False
    validate_responses: bool = False
    max_body_bytes: int = 1024 * 1024
    cors_origins: tuple[str, ...] = ()  # empty: any localhost / 127.0.0.1 origin, any port
    faults: tuple[str, ...] = ()  # in the --fault form, active from the start
    latency: str | None = None  # "250" or "100-400" ms on every call
    journal_size: int = 1000
    journal_entry_bytes: int = 4096  # a journal entry's JSON at most; longer fields are cut
    max_outbox: int = 10_000  # outbox messages, and messages held while paused (each)
    max_inbox: int = 1_000  # inbox notifications per user
    max_faults: int = 1000  # active faults; adding more is refused
    max_state_bytes: int = 256 << 20  # PUT /__mock/state body: room for any state GET gives
    state_timeout: float = 0.5  # seconds Redis gets to connect or answer before a 503
    state_file: Path | None = None
    state_url: str | None = None  # redis://HOST:PORT/DB shares the state; None keeps it in memory
    control: bool = True
    control_token: str | None = None
    access_url: str | None = None  # CODER_ACCESS_URL, for links in notifications; None: served URL
    ws_ping_interval: float = 15.0  # seconds between pings on a watch socket (httpapi.Heartbeat)
    # Host names served besides localhost, *.localhost and IP addresses (middleware/host.py):
    # exact, ".example.test" for a domain and its subdomains, "*" for any
    allowed_hosts: tuple[str, ...] = ()
    max_header_bytes: int = 1 << 20  # a request head's bytes (Go's DefaultMaxHeaderBytes): 431
    header_timeout: float = 10.0  # seconds for a request head to arrive in full: 408
    body_timeout: float = 30.0  # seconds for a request body, from its first read: 408
    replay: bool = True  # repeat a kept answer to the same request bytes (mock_server/replay.py)

    def __post_init__(self) -> None:
        if self.default_method not in DISPATCH_METHODS:
            raise ValueError(f"default_method {self.default_method!r} is not one of "
                             f"{', '.join(DISPATCH_METHODS)}")
        if self.user_not_found_status not in (400, 404):
            raise ValueError(f"user_not_found_status {self.user_not_found_status!r} must be "
                             "400 (Coder up to 2025) or 404 (newer)")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes {self.max_body_bytes!r} must be positive")
        if self.journal_size < 1:
            raise ValueError(f"journal_size {self.journal_size!r} must be at least 1")
        for name in ("max_outbox", "max_inbox", "max_faults", "max_state_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} {getattr(self, name)!r} must be at least 1")
        if self.journal_entry_bytes < 512:
            raise ValueError(f"journal_entry_bytes {self.journal_entry_bytes!r} must be at "
                             "least 512")
        if not self.state_timeout > 0:
            raise ValueError(f"state_timeout {self.state_timeout!r} must be above 0 seconds")
        if not self.ws_ping_interval >= 0:
            raise ValueError(f"ws_ping_interval {self.ws_ping_interval!r} must be 0 (no pings) "
                             "or more seconds")
        self._check_connection_limits()
        object.__setattr__(self, "fixtures", Path(self.fixtures))
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))
        object.__setattr__(self, "faults", tuple(self.faults))
        object.__setattr__(self, "allowed_hosts", tuple(self.allowed_hosts))
        for name in self.allowed_hosts:
            if not re.fullmatch(r"\*|\.?[A-Za-z0-9._~-]+", name):
                raise ValueError(f"allowed host {name!r}: expected a host name without scheme, "
                                 "port or path (e.g. mock.internal, .example.test, or *)")
        if self.state_file is not None:
            object.__setattr__(self, "state_file", Path(self.state_file))
        self._check_state_url()

    def _check_connection_limits(self) -> None:
        """Limits that would refuse every request, or none, are mistakes."""
        if self.max_header_bytes < 1024:
            raise ValueError(f"max_header_bytes {self.max_header_bytes!r} must be at least 1024")
        for name in ("header_timeout", "body_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} {getattr(self, name)!r} must be above 0 seconds")

    def served_hosts(self) -> tuple[str, ...]:
        """The allowed host names, with the access URL's (links in notifications point there)."""
        access = urlsplit(self.access_url).hostname if self.access_url else None
        return (*self.allowed_hosts, *((access,) if access else ()))

    def _check_state_url(self) -> None:
        """A shared state needs a Redis URL, and cannot also live in this process's state file."""
        if self.state_url is None:
            return
        if urlsplit(self.state_url).scheme not in STATE_SCHEMES:
            raise ValueError(f"state {self.state_url!r}: expected redis://HOST:PORT/DB "
                             "(or rediss://, unix://PATH)")
        if self.state_file is not None:
            raise ValueError("--state-file and --state redis:// exclude each other: a state file "
                             "keeps one process's state, Redis shares it; choose one")

    def origin_allowed(self, origin: str) -> bool:
        """The CORS policy as a test: the listed origins, or any local one by default."""
        if self.cors_origins:
            return origin in self.cors_origins or "*" in self.cors_origins
        return re.fullmatch(LOCAL_ORIGINS, origin) is not None

    def to_env(self) -> str:
        """Serialise for a child process (uvicorn's factory mode); the inverse of `from_env`."""
        return json.dumps(dataclasses.asdict(self), default=str)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> MockConfig:
        """Read the configuration the CLI left for uvicorn's factory; defaults if there is none."""
        raw = (os.environ if environ is None else environ).get(ENV_VAR)
        return cls(**json.loads(raw)) if raw else cls()
