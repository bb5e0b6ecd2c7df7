"""Errors in Coder's shape: bad bodies, unknown routes, wrong methods, odd paths; never a 500."""

from __future__ import annotations

import httpx
import pytest

from mock_server.server import MockServer
from tests.conftest import MEMBER, OWNER, auth
from tests.helpers import (
    INVALID_JSON,
    JSON_TYPE,
    USER_NOT_FOUND,
    expect_empty,
    expect_error,
    expect_json,
)

pytestmark = pytest.mark.anyio

SETTINGS = "/api/v2/notifications/settings"
PREFERENCES = "/api/v2/users/me/notifications/preferences"
SETTINGS_FIELD = "Go struct field NotificationsSettings.notifier_paused of type bool"
SETTINGS_VALUE = "Go value of type codersdk.NotificationsSettings"
MAP_FIELD = "Go struct field UpdateUserNotificationPreferences.template_disabled_map"
TEMPLATE = "f517da0b-cdc9-410f-ab89-a86107c420ed"

BAD_SETTINGS_BODIES = [
    pytest.param(b"", "EOF", id="empty"),
    pytest.param(b"  \n", "EOF", id="whitespace"),
    pytest.param(b'{"notifier_paused":', "unexpected EOF", id="truncated"),
    pytest.param(b"x", "invalid character 'x' looking for beginning of value", id="not-json"),
    pytest.param(b"\xff\xfe{}", "invalid character 'ÿ' looking for beginning of value",
                 id="not-utf8"),
    pytest.param(b"NaN", "invalid character 'N' looking for beginning of value", id="nan"),
    pytest.param(b'{"notifier_paused":NaN}', "invalid character 'N' looking for beginning of "
                 "value", id="nan-field"),
    pytest.param(b'{"notifier_paused":-Infinity}', "invalid character 'I' in numeric literal",
                 id="minus-infinity"),
    pytest.param(b"{'notifier_paused':true}", "invalid character '\\'' looking for beginning "
                 "of object key string", id="single-quotes"),
    pytest.param(b'{"notifier_paused":true,}', "invalid character '}' looking for beginning of "
                 "object key string", id="trailing-comma"),
    pytest.param(b'{"notifier_paused":tru}', "invalid character '}' in literal true "
                 "(expecting 'e')", id="bad-literal"),
    pytest.param(b'{"notifier_paused":"yes"}', f"json: cannot unmarshal string into "
                 f"{SETTINGS_FIELD}", id="string-for-bool"),
    pytest.param(b'{"notifier_paused":1}', f"json: cannot unmarshal number into {SETTINGS_FIELD}",
                 id="number-for-bool"),
    pytest.param(b'{"notifier_paused":1e999}', f"json: cannot unmarshal number into "
                 f"{SETTINGS_FIELD}", id="overflowing-number"),
    pytest.param(b'{"notifier_paused":{}}', f"json: cannot unmarshal object into "
                 f"{SETTINGS_FIELD}", id="object-for-bool"),
    pytest.param(b'{"notifier_paused":[true]}', f"json: cannot unmarshal array into "
                 f"{SETTINGS_FIELD}", id="array-for-bool"),
    pytest.param(b"[true]", f"json: cannot unmarshal array into {SETTINGS_VALUE}", id="array"),
    pytest.param(b'"paused"', f"json: cannot unmarshal string into {SETTINGS_VALUE}",
                 id="string"),
    pytest.param(b"true", f"json: cannot unmarshal bool into {SETTINGS_VALUE}", id="bool"),
    pytest.param(b"1" + b"0" * 5000, f"json: cannot unmarshal number into {SETTINGS_VALUE}",
                 id="5001-digit-number"),
    pytest.param(b"[" * 5000 + b"]" * 5000, f"json: cannot unmarshal array into "
                 f"{SETTINGS_VALUE}", id="deep-array"),
    pytest.param(b"[" * 10001, "invalid character '[' exceeded max depth", id="too-deep"),
]


@pytest.mark.parametrize("token", [OWNER, MEMBER], ids=["owner", "member"])
@pytest.mark.parametrize(("body", "detail"), BAD_SETTINGS_BODIES)
async def test_a_bad_settings_body_is_400_before_permissions(
        client: httpx.AsyncClient, mock: MockServer, token: str, body: bytes,
        detail: str) -> None:
    response = await client.put(SETTINGS, content=body, headers=auth(token))
    expect_error(response, 400, INVALID_JSON, detail)
    assert await mock.store.settings_json() == ""


@pytest.mark.parametrize(("body", "detail"), [
    pytest.param(b"", "EOF", id="empty"),
    pytest.param(b'{"template_disabled_map":{', "unexpected EOF", id="truncated"),
    pytest.param(b'{"template_disabled_map":[]}', f"json: cannot unmarshal array into {MAP_FIELD}"
                 " of type map[string]bool", id="array-for-map"),
    pytest.param(b'{"template_disabled_map":"x"}', f"json: cannot unmarshal string into "
                 f"{MAP_FIELD} of type map[string]bool", id="string-for-map"),
    pytest.param(f'{{"template_disabled_map":{{"{TEMPLATE}":"yes"}}}}'.encode(),
                 f"json: cannot unmarshal string into {MAP_FIELD} of type bool",
                 id="string-for-bool"),
    pytest.param(f'{{"template_disabled_map":{{"{TEMPLATE}":{"[" * 3000}{"]" * 3000}}}}}'
                 .encode(), f"json: cannot unmarshal array into {MAP_FIELD} of type bool",
                 id="deep-array-for-bool"),
    pytest.param(b"[]", "json: cannot unmarshal array into Go value of type "
                 "codersdk.UpdateUserNotificationPreferences", id="array"),
])
async def test_a_bad_preferences_body_is_400_and_writes_nothing(
        client: httpx.AsyncClient, mock: MockServer, body: bytes, detail: str) -> None:
    response = await client.put(PREFERENCES, content=body, headers=auth(OWNER))
    expect_error(response, 400, INVALID_JSON, detail)
    assert (await mock.store.snapshot())["preferences"] == {}


@pytest.mark.parametrize("content_type", [
    None, "application/json", "text/plain", "application/x-www-form-urlencoded",
    "application/xml", "multipart/form-data; boundary=x", "application/problem+json",
    "application/json; charset=latin-1", "nonsense",
])
async def test_any_content_type_is_read_as_json(client: httpx.AsyncClient,
                                                content_type: str | None) -> None:
    headers = auth(OWNER) | ({"Content-Type": content_type} if content_type else {})
    good = await client.put(SETTINGS, content=b'{"notifier_paused":true}', headers=headers)
    expect_json(good, 200, {"notifier_paused": True})
    bad = await client.put(SETTINGS, content=b'{"notifier_paused":"on"}', headers=headers)
    expect_error(bad, 400, INVALID_JSON, f"json: cannot unmarshal string into {SETTINGS_FIELD}")


@pytest.mark.parametrize(("body", "stored"), [
    pytest.param(b'{"notifier_paused":true} and then garbage', '{"notifier_paused":true}',
                 id="garbage"),
    pytest.param(b'{"notifier_paused":true}{"notifier_paused":false}', '{"notifier_paused":true}',
                 id="second-object"),
    pytest.param(b'{"notifier_paused":true}\xff\xfe', '{"notifier_paused":true}',
                 id="invalid-utf8"),
    pytest.param(b'{"unknown":{"deep":' + b"[" * 9990 + b"]" * 9990 + b'},"notifier_paused":true}',
                 '{"notifier_paused":true}', id="deep-unknown-field"),
    pytest.param(b'{"junk":"' + b"x" * 1_000_000 + b'","notifier_paused":true}',
                 '{"notifier_paused":true}', id="1MB-unknown-field"),
    pytest.param(b'{"junk":1' + b"0" * 5000 + b',"notifier_paused":true}',
                 '{"notifier_paused":true}', id="5001-digit-unknown-field"),
    pytest.param(b'{"junk":"\\ud800\xff","notifier_paused":true}', '{"notifier_paused":true}',
                 id="bad-unicode-in-unknown-field"),
])
async def test_the_first_json_value_counts_like_go_decoder(
        client: httpx.AsyncClient, mock: MockServer, body: bytes, stored: str) -> None:
    response = await client.put(SETTINGS, content=body, headers=auth(OWNER))
    expect_json(response, 200, {"notifier_paused": True})
    assert await mock.store.settings_json() == stored


async def test_a_large_broken_body_is_400(client: httpx.AsyncClient) -> None:
    body = b'{"notifier_paused":"' + b"x" * 1_000_000
    response = await client.put(SETTINGS, content=body, headers=auth(OWNER))
    expect_error(response, 400, INVALID_JSON, "unexpected EOF")


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    body = b'{"notifier_paused":"' + b"x" * 3_000_000
    response = await client.put(SETTINGS, content=body, headers=auth(OWNER))
    expect_error(response, 413, "Request body too large.",
                 "The body exceeds the limit of 1048576 bytes (--max-body-bytes).")


@pytest.mark.parametrize("path", [
    "/api/v2/nope",
    "/api/v2/notifications/nope",
    "/api/v2/notifications/templates",
    "/api/v2/notifications/templates/system/extra",
    "/api/v2/users/me/notifications",
    "/api/v2/users/me/notifications/preferences/extra",
    "/api/v2/notifications/%E2%98%83",
    "/api/v2/notifications/%00",
    "/api/v2/notifications/☃",
    "/api/v2/notifications/a%2Fb",
    "/api/v2/notifications/%ff",
    "/api/v2/notifications/",
    "/api/v2/notifications/settings/",
    "/api/v2/notifications/templates/system/",
    "/api/v2/users/me/notifications/preferences/",
    "/api/v2/users/me//",
])
async def test_unknown_routes_are_route_not_found(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=auth(OWNER))
    expect_error(response, 404, "Route not found.")
    assert response.content == b'{"message":"Route not found."}\n'


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_a_trailing_slash_is_not_redirected(client: httpx.AsyncClient, mock: MockServer,
                                                  method: str) -> None:
    """chi has no slash redirect: Starlette's 307 would make clients re-send the PUT."""
    response = await client.request(method, SETTINGS + "/", headers=auth(OWNER),
                                    content=b'{"notifier_paused":true}')
    expect_error(response, 404, "Route not found.")
    assert await mock.store.settings_json() == ""


@pytest.mark.parametrize(("method", "path", "allow"), [
    pytest.param("DELETE", SETTINGS, "GET, PUT", id="delete-settings"),
    pytest.param("POST", SETTINGS, "GET, PUT", id="post-settings"),
    pytest.param("PUT", "/api/v2/notifications/dispatch-methods", "GET", id="put-methods"),
    pytest.param("POST", "/api/v2/notifications/templates/system", "GET", id="post-templates"),
    pytest.param("GET", "/api/v2/notifications/test", "POST", id="get-test"),
    pytest.param("PUT", "/api/v2/notifications/test", "POST", id="put-test"),
    pytest.param("DELETE", PREFERENCES, "GET, PUT", id="delete-preferences"),
    pytest.param("POST", "/api/v2/users/bob/notifications/preferences", "GET, PUT",
                 id="post-preferences"),
    pytest.param("PATCH", "/api/v2/users/me", "GET", id="patch-user"),
])
async def test_a_wrong_method_is_405_with_allow_and_no_body(
        client: httpx.AsyncClient, method: str, path: str, allow: str) -> None:
    response = await client.request(method, path, headers=auth(OWNER), content=b"{}")
    expect_empty(response, 405)
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(("segment", "queried"), [
    pytest.param("nobody", '"nobody"', id="plain"),
    pytest.param("%E2%98%83", '"☃"', id="percent-encoded-unicode"),
    pytest.param("☃", '"☃"', id="raw-unicode"),
    pytest.param("%F0%9F%98%80", '"😀"', id="astral"),
    pytest.param("%00", '"\\x00"', id="nul"),
    pytest.param("%0A", '"\\n"', id="newline"),
    pytest.param("%E2%80%8B", '"\\u200b"', id="zero-width-space"),
    pytest.param("a%20b", '"a b"', id="space"),
    pytest.param("%22quoted%22", '"\\"quoted\\""', id="quotes"),
    pytest.param("%3Cscript%3E", '"<script>"', id="html"),
    pytest.param("%25", '"%"', id="percent"),
    pytest.param("x" * 2000, '"' + "x" * 2000 + '"', id="long"),
    pytest.param("urn:uuid:00000000-0000-0000-0000-000000000000",
                 '"urn:uuid:00000000-0000-0000-0000-000000000000"', id="unknown-urn"),
])
async def test_odd_user_segments_are_quoted_back_like_go(
        client: httpx.AsyncClient, segment: str, queried: str) -> None:
    response = await client.get(f"/api/v2/users/{segment}/notifications/preferences",
                                headers=auth(OWNER))
    expect_error(response, 400, USER_NOT_FOUND, f"queried user={queried}")


async def test_echoed_input_is_html_escaped_on_the_wire(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v2/users/%3Cb%3E&/notifications/preferences",
                                headers=auth(OWNER))
    assert response.status_code == 400
    assert response.content == (b'{"message":"\\"user\\" must be an existing uuid or username.",'
                                b'"detail":"queried user=\\"\\u003cb\\u003e\\u0026\\""}\n')


@pytest.mark.parametrize("segment", ["%ff", "a%2Fb", "%C3", "..%2F..%2Fetc"])
async def test_undecodable_user_segments_are_still_a_400(client: httpx.AsyncClient,
                                                        segment: str) -> None:
    response = await client.get(f"/api/v2/users/{segment}/notifications/preferences",
                                headers=auth(OWNER))
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON_TYPE
    assert response.json()["message"] == USER_NOT_FOUND
    assert response.json()["detail"].startswith('queried user="')


@pytest.mark.parametrize(("path", "status"), [
    ("/api/v2/users//notifications/preferences", 400),
    ("/api/v2/users/", 400),
])
async def test_an_empty_user_must_be_provided(client: httpx.AsyncClient, path: str,
                                              status: int) -> None:
    response = await client.get(path, headers=auth(OWNER))
    expect_error(response, status, '"user" must be provided.')


async def test_errors_are_never_problem_json(client: httpx.AsyncClient) -> None:
    responses = [
        await client.put(SETTINGS, content=b"{", headers=auth(OWNER)),
        await client.put(SETTINGS, content=b"[]", headers={"Content-Type":
                                                           "application/problem+json",
                                                           **auth(OWNER)}),
        await client.put(SETTINGS, content=b"{}", headers=auth(MEMBER)),
        await client.get("/api/v2/nope"),
        await client.get(SETTINGS),
        await client.get("/api/v2/users/nobody", headers=auth(OWNER)),
    ]
    assert [r.status_code for r in responses] == [400, 400, 403, 404, 401, 400]
    for response in responses:
        assert response.headers["content-type"] == JSON_TYPE
        assert set(response.json()) <= {"message", "detail"}
        assert "title" not in response.json()
