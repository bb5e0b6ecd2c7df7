"""GET /users/{user}: who a token belongs to, under the same `{user}` rules as preferences."""

from __future__ import annotations

import httpx
import pytest

from mock_server.config import MockConfig
from tests.conftest import ADMIN_ID, BOB, BOB_ID, MEMBER, MEMBER_ID, OWNER, auth
from tests.helpers import RESOURCE_NOT_FOUND, USER_NOT_FOUND, expect_error, expect_json

pytestmark = pytest.mark.anyio

ADMIN = {
    "id": ADMIN_ID, "username": "admin", "avatar_url": "", "name": "Ada Admin",
    "email": "admin@coder.example", "created_at": "2025-01-15T08:00:00Z",
    "updated_at": "2025-01-15T08:00:00Z", "last_seen_at": "2025-01-15T08:00:00Z",
    "status": "active", "login_type": "password", "theme_preference": "",
    "organization_ids": [], "roles": [{"name": "owner", "display_name": "Owner"}],
}
MEMBER_USER = {
    "id": MEMBER_ID, "username": "member", "avatar_url": "", "name": "Max Member",
    "email": "member@coder.example", "created_at": "2025-02-03T09:30:00Z",
    "updated_at": "2025-02-03T09:30:00Z", "last_seen_at": "2025-02-03T09:30:00Z",
    "status": "active", "login_type": "password", "theme_preference": "",
    "organization_ids": [], "roles": [],
}


@pytest.mark.parametrize("path", ["/api/v2/users/me", "/api/v2/users/me/"],
                         ids=["plain", "trailing-slash-is-the-user-root"])
async def test_me_is_the_token_owner_as_codersdk_user(client: httpx.AsyncClient,
                                                      path: str) -> None:
    response = await client.get(path, headers=auth(OWNER))
    expect_json(response, 200, ADMIN)
    assert list(response.json()) == list(ADMIN)  # Go's struct field order


@pytest.mark.parametrize("user", ["me", "member", "MEMBER", MEMBER_ID, MEMBER_ID.upper(),
                                  MEMBER_ID.replace("-", ""), "{" + MEMBER_ID + "}"])
async def test_a_member_reads_themselves_by_any_spelling(client: httpx.AsyncClient,
                                                         user: str) -> None:
    response = await client.get(f"/api/v2/users/{user}", headers=auth(MEMBER))
    expect_json(response, 200, MEMBER_USER)


@pytest.mark.parametrize(("user", "username", "status", "login_type"), [
    ("bob", "bob", "active", "github"),
    (BOB_ID, "bob", "active", "github"),
    ("Bob", "bob", "active", "github"),
    ("sam", "sam", "suspended", "password"),
    ("member", "member", "active", "password"),
])
async def test_an_owner_reads_anyone(client: httpx.AsyncClient, user: str, username: str,
                                     status: str, login_type: str) -> None:
    response = await client.get(f"/api/v2/users/{user}", headers=auth(OWNER))
    assert response.status_code == 200
    assert (response.json()["username"], response.json()["status"],
            response.json()["login_type"]) == (username, status, login_type)


@pytest.mark.parametrize(("token", "user"), [
    pytest.param(MEMBER, "bob", id="member-reads-bob"),
    pytest.param(MEMBER, ADMIN_ID, id="member-reads-admin-by-id"),
    pytest.param(BOB, "member", id="bob-reads-member"),
    pytest.param(OWNER, "nobody", id="unknown"),
    pytest.param(OWNER, "00000000-0000-0000-0000-000000000000", id="unknown-uuid"),
])
async def test_unknown_or_invisible_users_are_400(client: httpx.AsyncClient, token: str,
                                                  user: str) -> None:
    response = await client.get(f"/api/v2/users/{user}", headers=auth(token))
    expect_error(response, 400, USER_NOT_FOUND, f'queried user="{user}"')


@pytest.mark.parametrize("mock_config", [MockConfig(user_not_found_status=404)], ids=["newer"])
@pytest.mark.parametrize(("token", "user"), [(MEMBER, "bob"), (OWNER, "nobody")],
                         ids=["invisible", "unknown"])
async def test_newer_versions_answer_404(client: httpx.AsyncClient, token: str,
                                         user: str) -> None:
    response = await client.get(f"/api/v2/users/{user}", headers=auth(token))
    expect_error(response, 404, RESOURCE_NOT_FOUND)
