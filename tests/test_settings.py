"""GET/PUT /notifications/settings: anyone reads; a PUT compares first, then needs an owner."""

from __future__ import annotations

import httpx
import pytest

from mock_server.server import MockServer
from tests.conftest import BOB, MEMBER, OWNER, auth
from tests.helpers import FORBIDDEN_DETAIL, expect_empty, expect_error, expect_json

pytestmark = pytest.mark.anyio

SETTINGS = "/api/v2/notifications/settings"
PAUSED = b'{"notifier_paused":true}'
RUNNING = b'{"notifier_paused":false}'
READERS = pytest.mark.parametrize("token", [OWNER, MEMBER, BOB], ids=["owner", "member", "bob"])


async def put(client: httpx.AsyncClient, body: bytes, token: str = OWNER) -> httpx.Response:
    return await client.put(SETTINGS, content=body, headers=auth(token))


@READERS
async def test_never_stored_reads_as_not_paused(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(SETTINGS, headers=auth(token))
    expect_json(response, 200, {"notifier_paused": False})
    assert response.content == RUNNING + b"\n"


@READERS
async def test_everyone_reads_what_the_owner_stored(client: httpx.AsyncClient,
                                                   token: str) -> None:
    expect_json(await put(client, PAUSED), 200, {"notifier_paused": True})
    response = await client.get(SETTINGS, headers=auth(token))
    expect_json(response, 200, {"notifier_paused": True})


@pytest.mark.parametrize("body", [PAUSED, RUNNING], ids=["paused", "running"])
async def test_the_first_put_on_a_fresh_deployment_is_200_even_for_false(
        client: httpx.AsyncClient, mock: MockServer, body: bytes) -> None:
    response = await put(client, body)
    expect_json(response, 200, {"notifier_paused": body == PAUSED})
    assert response.content == body + b"\n"
    assert await mock.store.settings_json() == body.decode()


@READERS
@pytest.mark.parametrize("body", [PAUSED, RUNNING], ids=["paused", "running"])
async def test_an_unchanged_value_is_304_before_any_permission_check(
        client: httpx.AsyncClient, mock: MockServer, token: str, body: bytes) -> None:
    expect_json(await put(client, body), 200, {"notifier_paused": body == PAUSED})
    changes = await mock.store.snapshot()
    expect_empty(await put(client, body, token), 304)
    assert await mock.store.snapshot() == changes


@pytest.mark.parametrize("body", [
    pytest.param(b'{"notifier_paused": true }', id="spaced"),
    pytest.param(b'{"unknown":1,"notifier_paused":true}', id="extra-field"),
    pytest.param(b'{"notifier_paused":true}  trailing', id="trailing-data"),
])
async def test_the_comparison_is_on_canonical_json(client: httpx.AsyncClient,
                                                  body: bytes) -> None:
    expect_json(await put(client, PAUSED), 200, {"notifier_paused": True})
    expect_empty(await put(client, body, MEMBER), 304)


@pytest.mark.parametrize("token", [MEMBER, BOB], ids=["member", "bob"])
@pytest.mark.parametrize("body", [PAUSED, RUNNING], ids=["paused", "running"])
async def test_a_member_changing_the_value_is_forbidden(
        client: httpx.AsyncClient, mock: MockServer, token: str, body: bytes) -> None:
    response = await put(client, body, token)
    expect_error(response, 403, "Forbidden.", FORBIDDEN_DETAIL)
    assert await mock.store.settings_json() == ""
    expect_json(await client.get(SETTINGS, headers=auth(OWNER)), 200, {"notifier_paused": False})


async def test_a_member_cannot_resume_a_paused_notifier(client: httpx.AsyncClient,
                                                       mock: MockServer) -> None:
    expect_json(await put(client, PAUSED), 200, {"notifier_paused": True})
    expect_error(await put(client, RUNNING, MEMBER), 403, "Forbidden.", FORBIDDEN_DETAIL)
    assert await mock.store.settings_json() == PAUSED.decode()


@pytest.mark.parametrize("body", [
    pytest.param(b"{}", id="empty-object"),
    pytest.param(b"null", id="null"),
    pytest.param(b'{"notifier_paused":null}', id="null-field"),
    pytest.param(b'{"paused":true}', id="unknown-field"),
])
async def test_bodies_that_mean_false(client: httpx.AsyncClient, mock: MockServer,
                                      body: bytes) -> None:
    expect_json(await put(client, PAUSED), 200, {"notifier_paused": True})
    response = await put(client, body)
    expect_json(response, 200, {"notifier_paused": False})
    assert await mock.store.settings_json() == RUNNING.decode()
    expect_empty(await put(client, body), 304)


@pytest.mark.parametrize(("body", "paused"), [
    pytest.param(b'{"NOTIFIER_PAUSED":true}', True, id="upper-case"),
    pytest.param(b'{"Notifier_Paused":true}', True, id="mixed-case"),
    pytest.param('{"notifier_pau\u017fed":true}'.encode(), True, id="long-s-folds-to-s"),
    pytest.param(b'{"notifier_paused":false,"NOTIFIER_PAUSED":true}', True, id="later-key-wins"),
    pytest.param(b'{"NOTIFIER_PAUSED":true,"notifier_paused":false}', False,
                 id="exact-key-later-wins"),
    pytest.param(b'{"notifier-paused":true}', False, id="dash-is-another-name"),
])
async def test_go_matches_field_names_case_insensitively(client: httpx.AsyncClient,
                                                         body: bytes, paused: bool) -> None:
    expect_json(await put(client, body), 200, {"notifier_paused": paused})


async def test_a_case_variant_field_gets_the_field_type_error(client: httpx.AsyncClient) -> None:
    response = await put(client, b'{"Notifier_Paused":"yes"}')
    expect_error(response, 400, "Request body must be valid JSON.", "json: cannot unmarshal "
                 "string into Go struct field NotificationsSettings.notifier_paused of type bool")


async def test_a_round_trip_of_changes(client: httpx.AsyncClient) -> None:
    statuses = [(await put(client, body, token)).status_code for body, token in [
        (RUNNING, OWNER), (RUNNING, MEMBER), (PAUSED, MEMBER), (PAUSED, OWNER),
        (PAUSED, MEMBER), (RUNNING, OWNER), (RUNNING, BOB)]]
    assert statuses == [200, 304, 403, 200, 304, 200, 304]
