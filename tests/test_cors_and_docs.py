"""CORS for local dev servers, and the API docs: Swagger UI and the spec as JSON and YAML."""

from __future__ import annotations

import httpx
import pytest
import yaml

from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.conftest import OWNER, auth

pytestmark = pytest.mark.anyio

SETTINGS = "/api/v2/notifications/settings"
PREFLIGHT = {"Access-Control-Request-Method": "PUT",
             "Access-Control-Request-Headers": "coder-session-token, content-type"}


@pytest.mark.parametrize("origin", ["http://localhost:5173", "http://127.0.0.1:3000",
                                    "https://localhost", "http://[::1]:8081"])
async def test_local_origins_on_any_port_may_call_with_the_token(client: httpx.AsyncClient,
                                                                  origin: str) -> None:
    preflight = await client.options(SETTINGS, headers={"Origin": origin, **PREFLIGHT})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == origin
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "Coder-Session-Token" in preflight.headers["access-control-allow-headers"]
    assert "PUT" in preflight.headers["access-control-allow-methods"]
    actual = await client.get(SETTINGS, headers={"Origin": origin, **auth(OWNER)})
    assert actual.headers["access-control-allow-origin"] == origin


async def test_errors_carry_cors_headers_so_pages_can_read_them(client: httpx.AsyncClient) -> None:
    response = await client.get(SETTINGS, headers={"Origin": "http://localhost:5173"})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "WWW-Authenticate" in response.headers["access-control-expose-headers"]


@pytest.mark.parametrize("origin", ["http://example.com", "http://localhost.evil.com",
                                    "http://127.0.0.1.nip.io:8080", "null"])
async def test_other_origins_are_not_allowed(client: httpx.AsyncClient, origin: str) -> None:
    preflight = await client.options(SETTINGS, headers={"Origin": origin, **PREFLIGHT})
    assert preflight.status_code == 400
    assert "access-control-allow-origin" not in preflight.headers
    actual = await client.get(SETTINGS, headers={"Origin": origin, **auth(OWNER)})
    assert "access-control-allow-origin" not in actual.headers


async def test_cors_origin_replaces_the_default() -> None:
    mock = MockServer(MockConfig(cors_origins=("https://ui.example.test",)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock.app),
                                 base_url="http://localhost") as client:
        allowed = await client.options(SETTINGS, headers={"Origin": "https://ui.example.test",
                                                          **PREFLIGHT})
        assert allowed.headers["access-control-allow-origin"] == "https://ui.example.test"
        local = await client.options(SETTINGS, headers={"Origin": "http://localhost:5173",
                                                        **PREFLIGHT})
        assert "access-control-allow-origin" not in local.headers


async def test_swagger_ui_is_served_for_the_spec(client: httpx.AsyncClient) -> None:
    page = await client.get("/api/v2/docs/")
    assert page.status_code == 200
    assert "swagger-ui" in page.text
    assert "/api/v2/openapi.json" in page.text


@pytest.mark.parametrize(("path", "load"), [("/api/v2/openapi.json", "json"),
                                            ("/api/v2/openapi.yaml", "yaml")])
async def test_the_spec_is_served_as_json_and_yaml(client: httpx.AsyncClient, path: str,
                                                   load: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    spec = response.json() if load == "json" else yaml.safe_load(response.text)
    assert spec["servers"] == [{"url": "/api/v2"}]
    assert "get-notifications-settings" in response.text
    assert spec["components"]["securitySchemes"]["CoderSessionToken"]["name"] == \
        "Coder-Session-Token"


async def test_the_control_api_has_its_own_docs(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/__mock/openapi.json")).json()
    assert spec["info"]["title"] == "Coder notifications mock - control API"
    assert (await client.get("/__mock/docs/")).status_code == 200
