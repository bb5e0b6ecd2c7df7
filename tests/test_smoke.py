"""The mock answers over a real socket and in-process alike."""

from __future__ import annotations

import httpx
import pytest

from mock_server.server import MockServer
from tests.conftest import OWNER, auth

pytestmark = pytest.mark.anyio


async def test_in_process_client_reaches_the_mock(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/users/me", headers=auth(OWNER))
    assert response.status_code == 200
    assert response.json()["username"] == "admin"


def test_live_mock_serves_on_a_loopback_port(live_mock: MockServer) -> None:
    assert live_mock.url.startswith("http://127.0.0.1:")
    response = httpx.get(live_mock.api_url + "/notifications/settings", headers=auth(OWNER))
    assert response.status_code == 200
    assert response.json() == {"notifier_paused": False}
