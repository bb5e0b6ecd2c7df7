"""The trimmed layers behave as connexion's do: remembered routes, prepared validation."""

from __future__ import annotations

import httpx
import pytest

from mock_server.connexion_seam import RememberingRoutingMiddleware
from mock_server.server import MockServer
from tests.conftest import OWNER, auth

pytestmark = pytest.mark.anyio


async def test_remembered_routes_keep_each_paths_own_parameters(
        client: httpx.AsyncClient) -> None:
    for _ in range(3):
        for ref, username in (("admin", "admin"), ("member", "member"), ("me", "admin")):
            response = await client.get(f"/api/v2/users/{ref}", headers=auth(OWNER))
            assert response.json()["username"] == username


async def test_a_remembered_path_still_refuses_other_methods(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await client.get("/api/v2/notifications/settings",
                                 headers=auth(OWNER))).status_code == 200
    refused = await client.delete("/api/v2/notifications/settings", headers=auth(OWNER))
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, PUT")


async def test_validation_still_runs_on_remembered_routes(client: httpx.AsyncClient) -> None:
    path = "/api/v2/notifications/settings"
    assert (await client.put(path, json={"notifier_paused": True},
                             headers=auth(OWNER))).status_code == 200
    bad = await client.put(path, json={"notifier_paused": "yes"}, headers=auth(OWNER))
    assert bad.status_code == 400


async def test_the_memory_is_bounded(client: httpx.AsyncClient, mock: MockServer,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RememberingRoutingMiddleware, "MAX_REMEMBERED", 2)
    names = ["admin", "member", "bob", "admin", "member", "bob"]
    for name in names:
        response = await client.get(f"/api/v2/users/{name}", headers=auth(OWNER))
        assert response.json()["username"] == name
    routing = next(layer for layer in mock.app.middleware_stack
                   if isinstance(layer, RememberingRoutingMiddleware))
    assert 0 < len(routing._remembered) <= 2
