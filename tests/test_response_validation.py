"""With validate_responses, connexion checks every answer against openapi.yaml: a session of
ordinary calls (successes and every error the mock sends) must all conform, and so never 500."""

from __future__ import annotations

import httpx
import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer
from tests.conftest import BOB, EXPIRED, MEMBER, OWNER, SUSPENDED, auth

pytestmark = pytest.mark.anyio

DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"
SETTINGS = "/api/v2/notifications/settings"
USER_MISS = 0  # 400, or 404 where the mock plays a newer Coder

SESSION: list[tuple[str, str, str | None, bytes | None, int]] = [
    ("GET", "/api/v2/notifications/dispatch-methods", MEMBER, None, 200),
    ("GET", SETTINGS, MEMBER, None, 200),
    ("PUT", SETTINGS, MEMBER, b'{"notifier_paused":true}', 403),
    ("PUT", SETTINGS, OWNER, b'{"notifier_paused":true}', 200),
    ("PUT", SETTINGS, MEMBER, b'{"notifier_paused":true}', 304),
    ("PUT", SETTINGS, OWNER, b"{", 400),
    ("PUT", SETTINGS, OWNER, b"null", 200),
    ("GET", SETTINGS, OWNER, None, 200),
    ("GET", "/api/v2/notifications/templates/system", MEMBER, None, 200),
    ("POST", "/api/v2/notifications/test", OWNER, None, 204),
    ("POST", "/api/v2/notifications/test", MEMBER, None, 403),
    ("GET", "/api/v2/users/me/notifications/preferences", MEMBER, None, 200),
    ("PUT", "/api/v2/users/me/notifications/preferences", MEMBER, b"{}", 200),
    ("PUT", "/api/v2/users/member/notifications/preferences", MEMBER,
     f'{{"template_disabled_map":{{"{DELETED}":true}}}}'.encode(), 200),
    ("GET", "/api/v2/users/member/notifications/preferences", OWNER, None, 200),
    ("PUT", "/api/v2/users/me/notifications/preferences", OWNER,
     b'{"template_disabled_map":{"abc":true}}', 400),
    ("PUT", "/api/v2/users/me/notifications/preferences", OWNER,
     b'{"template_disabled_map":{"00000000-0000-4000-8000-000000000001":true}}', 400),
    ("PUT", "/api/v2/users/me/notifications/preferences", OWNER,
     b'{"template_disabled_map":[]}', 400),
    ("GET", "/api/v2/users/bob/notifications/preferences", MEMBER, None, USER_MISS),
    ("PUT", "/api/v2/users/nobody/notifications/preferences", OWNER, b"{}", USER_MISS),
    ("GET", "/api/v2/users/me", BOB, None, 200),
    ("GET", "/api/v2/users/sam", OWNER, None, 200),
    ("GET", "/api/v2/users/admin", MEMBER, None, USER_MISS),
    ("GET", SETTINGS, None, None, 401),
    ("GET", SETTINGS, EXPIRED, None, 401),
    ("GET", "/api/v2/users/me", SUSPENDED, None, 401),
    ("GET", "/api/v2/notifications/nope", OWNER, None, 404),
    ("DELETE", SETTINGS, OWNER, None, 405),
]


@pytest.mark.parametrize("mock_config", [
    pytest.param(MockConfig(validate_responses=True), id="400-variant"),
    pytest.param(MockConfig(validate_responses=True, user_not_found_status=404,
                            default_method="webhook", task_templates=True), id="404-variant"),
])
async def test_a_session_of_calls_conforms_to_the_spec(client: httpx.AsyncClient,
                                                       mock: MockServer) -> None:
    assert mock.config.validate_responses
    for method, path, token, body, status in SESSION:
        response = await client.request(method, path, content=body,
                                        headers=auth(token) if token else {})
        expected = status or mock.config.user_not_found_status
        assert response.status_code == expected, (method, path, response.text)
