"""GET/PUT /users/{user}/notifications/preferences: who may touch whose, and what a PUT stores."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.deployment import build_deployment
from mock_server.server import MockServer
from mock_server.state import Store
from tests.conftest import ADMIN_ID, BOB, BOB_ID, MEMBER, MEMBER_ID, OWNER, auth
from tests.helpers import RESOURCE_NOT_FOUND, USER_NOT_FOUND, expect_error, expect_json

pytestmark = pytest.mark.anyio

DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"  # Workspace Deleted
CREATED = "281fdf73-c6d6-4cbb-8ff5-888baf8a2fff"  # Workspace Created
OTP = "62f86a30-2330-4b61-a26d-311ff3b608cf"  # One-Time Passcode
CUSTOM = "39b1e189-c857-4b0c-877a-511144c18516"  # Custom Notification (kind custom)
TASK_IDLE = "d4a6271c-cced-4ed0-84ad-afd02a9c7799"  # only with task templates
NO_TEMPLATE = "00000000-0000-4000-8000-000000000001"
BAD_KEY = "Unable to parse notification template UUID."


def path(user: str) -> str:
    return f"/api/v2/users/{user}/notifications/preferences"


def changes(mapping: dict[str, Any]) -> dict[str, Any]:
    return {"template_disabled_map": mapping}


async def read(client: httpx.AsyncClient, user: str = "me", token: str = OWNER) -> Any:
    response = await client.get(path(user), headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


async def write(client: httpx.AsyncClient, mapping: dict[str, Any], user: str = "me",
                token: str = OWNER) -> httpx.Response:
    return await client.put(path(user), json=changes(mapping), headers=auth(token))


def states(preferences: list[dict[str, Any]] | None) -> dict[str, bool] | None:
    """Preferences without their timestamps, in the order served."""
    if preferences is None:
        return None
    return {p["id"]: p["disabled"] for p in preferences}


# Reading -----------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["me", "admin", ADMIN_ID])
async def test_none_stored_is_null(client: httpx.AsyncClient, user: str) -> None:
    response = await client.get(path(user), headers=auth(OWNER))
    expect_json(response, 200, None)
    assert response.content == b"null\n"


@pytest.mark.parametrize("user", [
    pytest.param("me", id="me"),
    pytest.param(ADMIN_ID, id="uuid"),
    pytest.param(ADMIN_ID.upper(), id="upper-uuid"),
    pytest.param("{" + ADMIN_ID + "}", id="braced-uuid"),
    pytest.param(ADMIN_ID.replace("-", ""), id="32-hex"),
    pytest.param("urn:uuid:" + ADMIN_ID, id="urn"),
    pytest.param("admin", id="username"),
    pytest.param("ADMIN", id="username-upper"),
    pytest.param("aDmIn", id="username-mixed"),
])
async def test_every_spelling_of_a_user_names_the_same_preferences(
        client: httpx.AsyncClient, user: str) -> None:
    assert states((await write(client, {DELETED: True})).json()) == {DELETED: True}
    assert states(await read(client, user)) == {DELETED: True}
    response = await write(client, {CREATED: False}, user=user)
    assert states(response.json()) == {DELETED: True, CREATED: False}


@pytest.mark.parametrize("user", [
    pytest.param("nobody", id="unknown-name"),
    pytest.param("00000000-0000-0000-0000-000000000000", id="unknown-uuid"),
    pytest.param("00000000000000000000000000000000", id="unknown-32-hex"),
    pytest.param("sam1", id="near-name"),
    pytest.param("admin@coder.example", id="email-is-not-a-name"),
])
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_an_unknown_user_is_400(client: httpx.AsyncClient, user: str, method: str) -> None:
    response = await client.request(method, path(user), json=changes({DELETED: True}),
                                    headers=auth(OWNER))
    expect_error(response, 400, USER_NOT_FOUND, f'queried user="{user}"')


@pytest.mark.parametrize("user", ["admin", ADMIN_ID, "bob", BOB_ID, "sam"])
async def test_a_member_cannot_read_another_user(client: httpx.AsyncClient, user: str) -> None:
    response = await client.get(path(user), headers=auth(MEMBER))
    expect_error(response, 400, USER_NOT_FOUND, f'queried user="{user}"')


@pytest.mark.parametrize("user", ["bob", BOB_ID, "admin"])
async def test_a_member_cannot_write_another_user(client: httpx.AsyncClient, mock: MockServer,
                                                  user: str) -> None:
    response = await write(client, {DELETED: True}, user=user, token=MEMBER)
    expect_error(response, 400, USER_NOT_FOUND, f'queried user="{user}"')
    assert (await mock.store.snapshot())["preferences"] == {}


@pytest.mark.parametrize("user", ["member", MEMBER_ID, "me"])
async def test_a_member_reads_and_writes_their_own(client: httpx.AsyncClient, user: str) -> None:
    response = await write(client, {DELETED: True, CREATED: False}, user=user, token=MEMBER)
    assert response.status_code == 200
    assert states(response.json()) == {DELETED: True, CREATED: False}
    assert states(await read(client, "me", MEMBER)) == {DELETED: True, CREATED: False}


async def test_an_owner_reads_and_writes_anyone(client: httpx.AsyncClient) -> None:
    response = await write(client, {OTP: True}, user="bob")
    assert states(response.json()) == {OTP: True}
    assert states(await read(client, "me", BOB)) == {OTP: True}
    assert states(await read(client, BOB_ID, OWNER)) == {OTP: True}
    assert states(await read(client, "sam", OWNER)) is None  # suspended, still readable


async def test_one_users_preferences_are_never_anothers(client: httpx.AsyncClient) -> None:
    await write(client, {DELETED: True})
    await write(client, {CREATED: False}, token=MEMBER)
    assert states(await read(client, "me", OWNER)) == {DELETED: True}
    assert states(await read(client, "me", MEMBER)) == {CREATED: False}
    assert await read(client, "me", BOB) is None


@pytest.mark.parametrize("mock_config", [MockConfig(user_not_found_status=404)], ids=["newer"])
@pytest.mark.parametrize(("token", "user"), [
    pytest.param(OWNER, "nobody", id="unknown"),
    pytest.param(MEMBER, "bob", id="another-user"),
    pytest.param(MEMBER, ADMIN_ID, id="another-user-by-id"),
])
@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_newer_versions_answer_404(client: httpx.AsyncClient, mock: MockServer,
                                         token: str, user: str, method: str) -> None:
    response = await client.request(method, path(user), json=changes({DELETED: True}),
                                    headers=auth(token))
    expect_error(response, 404, RESOURCE_NOT_FOUND)
    assert (await mock.store.snapshot())["preferences"] == {}


# Writing -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "detail"), [
    pytest.param("abc", "invalid UUID length: 3", id="short"),
    pytest.param("", "invalid UUID length: 0", id="empty"),
    pytest.param("workspace-deleted", "invalid UUID length: 17", id="a-name"),
    pytest.param(DELETED + "0", "invalid UUID length: 37", id="too-long"),
    pytest.param(DELETED.replace("-", "_"), "invalid UUID format", id="underscores"),
    pytest.param("z" + DELETED[1:], "invalid UUID format", id="not-hex"),
    pytest.param("urx:uuid:" + DELETED, 'invalid urn prefix: "urx:uuid:"', id="bad-urn"),
    pytest.param("\ud800", "invalid UUID length: 3", id="lone-surrogate-escape-is-u+fffd"),
])
async def test_a_bad_key_is_400_and_nothing_is_written(
        client: httpx.AsyncClient, mock: MockServer, key: str, detail: str) -> None:
    raw = json.dumps(changes({DELETED: True, key: True})).encode()  # \ud800 stays escaped
    response = await client.put(path("me"), content=raw, headers=auth(OWNER))
    expect_error(response, 400, BAD_KEY, detail)
    assert (await mock.store.snapshot())["preferences"] == {}


async def test_invalid_utf8_in_a_key_is_one_u_fffd_per_byte(client: httpx.AsyncClient) -> None:
    raw = b'{"template_disabled_map":{"\xed\xa0\x80":true}}'
    response = await client.put(path("me"), content=raw, headers=auth(OWNER))
    expect_error(response, 400, BAD_KEY, "invalid UUID length: 9")


async def test_a_bad_key_leaves_earlier_preferences_alone(client: httpx.AsyncClient) -> None:
    first = (await write(client, {DELETED: True})).json()
    response = await write(client, {DELETED: False, "nope": True})
    expect_error(response, 400, BAD_KEY, "invalid UUID length: 4")
    assert await read(client) == first


@pytest.mark.parametrize("template", [
    pytest.param(NO_TEMPLATE, id="unknown"),
    pytest.param(TASK_IDLE, id="task-template-switched-off"),
])
async def test_an_unknown_template_is_400_naming_it(client: httpx.AsyncClient, mock: MockServer,
                                                    template: str) -> None:
    response = await write(client, {DELETED: True, template: False})
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid notification template ID."
    assert template in response.json()["detail"]
    assert (await mock.store.snapshot())["preferences"] == {}


@pytest.mark.parametrize("mock_config", [MockConfig(task_templates=True)], ids=["tasks"])
async def test_task_templates_take_preferences_when_served(client: httpx.AsyncClient) -> None:
    response = await write(client, {TASK_IDLE: False})
    assert states(response.json()) == {TASK_IDLE: False}


async def test_any_template_may_be_disabled(client: httpx.AsyncClient) -> None:
    """Coder has no "cannot be disabled" rule: even the One-Time Passcode and the custom one."""
    response = await write(client, {OTP: True, CUSTOM: True})
    assert states(response.json()) == {OTP: True, CUSTOM: True}


async def test_a_put_answers_every_stored_preference(client: httpx.AsyncClient) -> None:
    assert states((await write(client, {DELETED: True})).json()) == {DELETED: True}
    assert states((await write(client, {CREATED: False})).json()) == {DELETED: True,
                                                                      CREATED: False}
    assert states((await write(client, {DELETED: False})).json()) == {DELETED: False,
                                                                      CREATED: False}
    assert states(await read(client)) == {DELETED: False, CREATED: False}


@pytest.mark.parametrize("spelling", [
    pytest.param(DELETED.upper(), id="upper"),
    pytest.param("{" + DELETED + "}", id="braced"),
    pytest.param(DELETED.replace("-", ""), id="32-hex"),
    pytest.param("urn:uuid:" + DELETED, id="urn"),
])
async def test_keys_are_stored_under_the_canonical_id(client: httpx.AsyncClient,
                                                      spelling: str) -> None:
    response = await write(client, {spelling: True})
    assert states(response.json()) == {DELETED: True}


async def test_two_spellings_of_one_template_in_one_body_are_400(
        client: httpx.AsyncClient, mock: MockServer) -> None:
    response = await write(client, {DELETED: True, DELETED.upper(): False})
    assert response.status_code == 400
    assert response.json()["message"] == "Duplicate notification template ID."
    assert (await mock.store.snapshot())["preferences"] == {}


@pytest.mark.parametrize("raw", [
    pytest.param(b'{"template_disabled_map":{}}', id="empty-map"),
    pytest.param(b'{"template_disabled_map":null}', id="null-map"),
    pytest.param(b"{}", id="no-map"),
    pytest.param(b"null", id="null-body"),
    pytest.param(b'{"push_subscription":"x"}', id="old-field-ignored"),
])
async def test_an_empty_change_writes_nothing_and_answers_the_list(
        client: httpx.AsyncClient, raw: bytes) -> None:
    empty = await client.put(path("me"), content=raw, headers=auth(OWNER))
    expect_json(empty, 200, None)
    stored = (await write(client, {DELETED: True})).json()
    again = await client.put(path("me"), content=raw, headers=auth(OWNER))
    expect_json(again, 200, stored)


async def test_a_null_value_means_enabled(client: httpx.AsyncClient) -> None:
    response = await write(client, {DELETED: None})
    assert states(response.json()) == {DELETED: False}


async def test_the_map_key_is_matched_case_insensitively(client: httpx.AsyncClient) -> None:
    response = await client.put(path("me"), json={"Template_Disabled_Map": {DELETED: True}},
                                headers=auth(OWNER))
    assert states(response.json()) == {DELETED: True}


# Timestamps, with a clock the test controls ------------------------------------------------

class Ticker:
    """A clock that moves 1.5 s per reading, so every write has its own exact timestamp."""

    def __init__(self) -> None:
        self.now = datetime(2025, 7, 6, 9, 12, 44, 518271, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1.5)
        return self.now

    def text(self) -> str:
        """The last reading as Go marshals it."""
        return self.now.strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0") + "Z"


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
async def timed(ticker: Ticker) -> AsyncIterator[httpx.AsyncClient]:
    """A deployment whose store reads the ticker."""
    config = MockConfig()
    seed = build_deployment(config).store.seed
    store = Store(seed, clock=ticker)
    transport = httpx.ASGITransport(app=create_app(config, build_deployment(config, store=store)))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        yield client


async def test_updated_at_is_the_write_time_on_the_wire(timed: httpx.AsyncClient,
                                                        ticker: Ticker) -> None:
    response = await write(timed, {DELETED: True})
    assert response.status_code == 200
    assert ticker.text() == "2025-07-06T09:12:47.518271Z"
    assert response.content == (f'[{{"id":"{DELETED}","disabled":true,'
                                f'"updated_at":"{ticker.text()}"}}]\n').encode()


async def test_resending_the_same_value_bumps_updated_at(timed: httpx.AsyncClient,
                                                         ticker: Ticker) -> None:
    first = (await write(timed, {DELETED: True, CREATED: False})).json()
    second = (await write(timed, {DELETED: True})).json()
    assert [p["id"] for p in second] == [DELETED, CREATED]
    assert second[0] == {"id": DELETED, "disabled": True, "updated_at": ticker.text()}
    assert second[0]["updated_at"] > first[0]["updated_at"]
    assert second[1] == first[1]  # untouched rows keep their time
    assert await read(timed) == second


async def test_an_empty_change_does_not_bump_anything(timed: httpx.AsyncClient) -> None:
    first = (await write(timed, {DELETED: True})).json()
    assert (await write(timed, {})).json() == first
