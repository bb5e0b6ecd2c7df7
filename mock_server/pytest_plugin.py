"""pytest fixtures for testing a client against the mock: `coder_mock`, a served `MockServer`.

Installed with the package (entry point `pytest11`), so any pytest session in the environment
has them; no server starts until a test asks for one.

- `coder_mock`: the mock on a loopback port (port 0, so parallel sessions and pytest-xdist
  workers never collide), back to its configuration's state (`MockServer.clear()`) before and
  after the test: fixture data, an empty journal, only the configured faults.
- `coder_mock_server`: the same server without the clearing, for session-scoped fixtures of
  your own (a browser's base URL, say); one per session (per xdist worker).
- `coder_mock_config`: the `MockConfig` the server is built from. Override it in a conftest.py;
  it is session-scoped, since the one server of the session is built from it, so the override
  must be session-scoped too (`@pytest.fixture(scope="session")`) and applies to the whole
  session.

The plugin reads no environment variable and no command-line option: what the mock is, is the
configuration a test suite gives it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer


@pytest.fixture(scope="session")
def coder_mock_config() -> MockConfig:
    """The mock's configuration, for the whole session; override it (session-scoped) in a
    conftest.py, e.g. `return MockConfig(default_method="webhook")`."""
    return MockConfig()


@pytest.fixture(scope="session")
def coder_mock_server(coder_mock_config: MockConfig) -> Iterator[MockServer]:
    """The session's mock, serving on 127.0.0.1 at a free port; closed at the end."""
    server = MockServer(coder_mock_config).start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def coder_mock(coder_mock_server: MockServer) -> Iterator[MockServer]:
    """The session's mock, cleared for this test and again after it (`MockServer.clear()`)."""
    coder_mock_server.clear()
    yield coder_mock_server
    coder_mock_server.clear()
