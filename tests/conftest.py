"""Shared fixtures: a fresh mock per test, reached in-process (ASGI) or over a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer

OWNER = "AdminToken-adminSecretValue000000"
MEMBER = "MemberTokn-memberSecretValue00000"
BOB = "BobSession-bobSecretValue00000000"
SUSPENDED = "SamSession-samSecretValue00000000"
EXPIRED = "AdminExpir-expiredSecretValue0000"
ADMIN_ID = "5f8b8d7e-7d1a-4b0e-9d35-0c9b2a1f3e11"
MEMBER_ID = "0b6f2e0c-3f4e-4c55-9a8f-5f6c7f1e2a01"
BOB_ID = "2c3d4e5f-6a7b-4c8d-9e0f-a1b2c3d4e5f6"


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio, as uvicorn does."""
    return "asyncio"


@pytest.fixture
def mock_config() -> MockConfig:
    """Override in a test module (or parametrize) to build the mock differently."""
    return MockConfig()


@pytest.fixture
def mock(mock_config: MockConfig) -> MockServer:
    """A fresh mock deployment, not listening on any socket."""
    return MockServer(mock_config)


@pytest.fixture
async def client(mock: MockServer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that calls the mock's ASGI app in-process."""
    transport = httpx.ASGITransport(app=mock.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


@pytest.fixture
def live_mock(mock: MockServer) -> Iterator[MockServer]:
    """The same mock on a real loopback socket (port 0), for the tests that need one."""
    with mock:
        yield mock


def auth(token: str) -> dict[str, str]:
    """The header a Coder client sends."""
    return {"Coder-Session-Token": token}
