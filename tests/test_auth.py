"""Coder's API-key middleware: where the token is read, what each failure answers, and when."""

from __future__ import annotations

from collections.abc import Callable
from itertools import combinations
from typing import Any

import httpx
import pytest

from tests.conftest import EXPIRED, MEMBER, OWNER, SUSPENDED, auth
from tests.helpers import (
    EXPIRED_CHALLENGE,
    INVALID_CHALLENGE,
    SIGNED_OUT,
    expect_empty,
    expect_error,
)

pytestmark = pytest.mark.anyio

ME = "/api/v2/users/me"
UNKNOWN_KEY = "NoSuchKey0-adminSecretValue000000"
NO_TOKEN = 'Cookie "coder_session_token" or query parameter must be provided.'

# Where Coder looks for the token, in the order it looks (httpmw.APITokenFromRequest).
SOURCES: dict[str, Callable[[str], dict[str, dict[str, str]]]] = {
    "cookie": lambda token: {"headers": {"Cookie": f"coder_session_token={token}"}},
    "query": lambda token: {"params": {"coder_session_token": token}},
    "header": lambda token: {"headers": {"Coder-Session-Token": token}},
    "bearer": lambda token: {"headers": {"Authorization": f"Bearer {token}"}},
    "access_token": lambda token: {"params": {"access_token": token}},
}
PAIRS = list(combinations(SOURCES, 2))
PAIR_IDS = [f"{first}-before-{second}" for first, second in PAIRS]


def merged(*parts: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Request options carrying several token sources at once."""
    options: dict[str, dict[str, str]] = {"headers": {}, "params": {}}
    for part in parts:
        for kind, values in part.items():
            options[kind].update(values)
    return options


async def whoami(client: httpx.AsyncClient, **options: Any) -> str:
    response = await client.get(ME, **options)
    assert response.status_code == 200, response.text
    return response.json()["username"]


@pytest.mark.parametrize("source", list(SOURCES))
async def test_each_source_alone_signs_in(client: httpx.AsyncClient, source: str) -> None:
    assert await whoami(client, **SOURCES[source](MEMBER)) == "member"


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=PAIR_IDS)
async def test_an_earlier_source_wins(client: httpx.AsyncClient, first: str,
                                      second: str) -> None:
    options = merged(SOURCES[first](MEMBER), SOURCES[second](OWNER))
    assert await whoami(client, **options) == "member"


@pytest.mark.parametrize(("first", "second"), PAIRS, ids=PAIR_IDS)
async def test_a_bad_earlier_token_is_not_rescued_by_a_good_later_one(
        client: httpx.AsyncClient, first: str, second: str) -> None:
    options = merged(SOURCES[first](UNKNOWN_KEY), SOURCES[second](OWNER))
    response = await client.get(ME, **options)
    expect_error(response, 401, SIGNED_OUT, "API key is invalid.")


@pytest.mark.parametrize("options", [
    pytest.param({"headers": {"Cookie": "coder_session_token=", **auth(MEMBER)}},
                 id="empty-cookie"),
    pytest.param({"params": {"coder_session_token": ""}, "headers": auth(MEMBER)},
                 id="empty-query"),
    pytest.param({"headers": {"Coder-Session-Token": "", "Authorization": f"Bearer {MEMBER}"}},
                 id="empty-header"),
    pytest.param({"headers": {"Authorization": "Bearer   "}, "params": {"access_token": MEMBER}},
                 id="blank-bearer"),
    pytest.param({"headers": {"Authorization": f"Basic {OWNER}", **auth(MEMBER)}},
                 id="not-bearer-ignored"),
])
async def test_an_empty_source_falls_through(client: httpx.AsyncClient,
                                             options: dict[str, Any]) -> None:
    assert await whoami(client, **options) == "member"


@pytest.mark.parametrize("headers", [
    pytest.param({"Authorization": f"bearer {MEMBER}"}, id="lowercase-scheme"),
    pytest.param({"Authorization": f"BEARER   {MEMBER}  "}, id="uppercase-padded"),
    pytest.param({"Cookie": f'coder_session_token="{MEMBER}"'}, id="quoted-cookie"),
    pytest.param({"Cookie": f"theme=dark; coder_session_token={MEMBER}; lang=en"},
                 id="among-other-cookies"),
    pytest.param({"Cookie": f"note=a b c; coder_session_token={MEMBER}"},
                 id="after-a-cookie-with-spaces"),
    pytest.param({"Cookie": f'junk="half; coder_session_token={MEMBER}'},
                 id="after-a-malformed-cookie"),
    pytest.param({"Cookie": f"coder_session_token=bad\\value; coder_session_token={MEMBER}"},
                 id="invalid-first-pair-skipped"),
    pytest.param({"Cookie": f"coder_session_token={MEMBER}; coder_session_token={OWNER}"},
                 id="first-of-two-cookies"),
])
async def test_token_spellings_coder_accepts(client: httpx.AsyncClient,
                                            headers: dict[str, str]) -> None:
    assert await whoami(client, headers=headers) == "member"


async def test_cookies_split_over_several_headers(client: httpx.AsyncClient) -> None:
    headers = [("Cookie", "theme=dark"), ("Cookie", f"coder_session_token={MEMBER}")]
    assert await whoami(client, headers=headers) == "member"


@pytest.mark.parametrize(("token", "detail"), [
    pytest.param(None, NO_TOKEN, id="no-token"),
    pytest.param("nodashatall", "Invalid API key format: incorrect amount of API key parts, "
                 "expected 2 got 1", id="one-part"),
    pytest.param("a-b-c", "Invalid API key format: incorrect amount of API key parts, "
                 "expected 2 got 3", id="three-parts"),
    pytest.param("AdminTokenX-adminSecretValue000000", "Invalid API key format: invalid API key "
                 "ID length, expected 10 got 11", id="long-id"),
    pytest.param("-adminSecretValue000000", "Invalid API key format: invalid API key ID length, "
                 "expected 10 got 0", id="empty-id"),
    pytest.param("AdminToken-short", "Invalid API key format: invalid API key secret length, "
                 "expected 22 got 5", id="short-secret"),
    pytest.param("AdminToken-", "Invalid API key format: invalid API key secret length, "
                 "expected 22 got 0", id="empty-secret"),
    pytest.param(UNKNOWN_KEY, "API key is invalid.", id="unknown-id"),
    pytest.param("AdminToken-wrongSecretValue000000", "API key secret is invalid.",
                 id="wrong-secret"),
    pytest.param("admintoken-adminSecretValue000000", "API key is invalid.",
                 id="id-is-case-sensitive"),
])
async def test_each_failure_has_its_detail(client: httpx.AsyncClient, token: str | None,
                                           detail: str) -> None:
    response = await client.get(ME, headers=auth(token) if token else {})
    expect_error(response, 401, SIGNED_OUT, detail)
    assert response.headers["www-authenticate"] == INVALID_CHALLENGE


@pytest.mark.parametrize("token", [
    pytest.param(b"\xc3\xa9" * 5 + b"-" + b"x" * 22, id="header-bytes"),
])
async def test_lengths_are_counted_in_bytes(client: httpx.AsyncClient, token: bytes) -> None:
    """Ten bytes that are five characters still make a well-formed id (Go's len is bytes)."""
    response = await client.get(ME, headers={"Coder-Session-Token": token})
    expect_error(response, 401, SIGNED_OUT, "API key is invalid.")


async def test_query_lengths_are_counted_in_bytes(client: httpx.AsyncClient) -> None:
    response = await client.get(ME, params={"coder_session_token": "é" * 5 + "-" + "y" * 22})
    expect_error(response, 401, SIGNED_OUT, "API key is invalid.")


async def test_an_expired_key_names_its_expiry(client: httpx.AsyncClient) -> None:
    response = await client.get(ME, headers=auth(EXPIRED))
    expect_error(response, 401, SIGNED_OUT, 'API key expired at "2025-01-01 00:00:00 +0000 UTC".')
    assert response.headers["www-authenticate"] == EXPIRED_CHALLENGE


async def test_a_suspended_user_is_signed_out_without_detail(client: httpx.AsyncClient) -> None:
    response = await client.get(ME, headers=auth(SUSPENDED))
    expect_error(response, 401, 'User is not active (status = "suspended"). Contact an admin '
                 "to reactivate your account.")
    assert response.headers["www-authenticate"] == INVALID_CHALLENGE


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/v2/notifications/settings"),
    ("PUT", "/api/v2/notifications/settings"),
    ("GET", "/api/v2/notifications/dispatch-methods"),
    ("GET", "/api/v2/notifications/templates/system"),
    ("POST", "/api/v2/notifications/test"),
    ("GET", "/api/v2/users/me/notifications/preferences"),
    ("PUT", "/api/v2/users/me/notifications/preferences"),
    ("GET", "/api/v2/users/me"),
    ("GET", "/api/v2/users/nobody"),
])
async def test_every_operation_needs_a_token(client: httpx.AsyncClient, method: str,
                                             path: str) -> None:
    response = await client.request(method, path, content=b"garbage")
    expect_error(response, 401, SIGNED_OUT, NO_TOKEN)


# Coder mounts the API-key middleware on the route group, so it runs before chi matches a route.
GROUP_MISSES = [
    pytest.param("GET", "/api/v2/notifications", 404, id="the-group-itself"),
    pytest.param("GET", "/api/v2/notifications/nope", 404, id="unknown-under-notifications"),
    pytest.param("GET", "/api/v2/notifications/settings/extra", 404, id="too-deep"),
    pytest.param("GET", "/api/v2/notifications/settings/", 404, id="trailing-slash"),
    pytest.param("GET", "/api/v2/users/me/nope", 404, id="unknown-under-users"),
    pytest.param("DELETE", "/api/v2/notifications/settings", 405, id="delete-settings"),
    pytest.param("GET", "/api/v2/notifications/test", 405, id="get-test"),
    pytest.param("PATCH", "/api/v2/users/me/notifications/preferences", 405,
                 id="patch-preferences"),
    pytest.param("DELETE", "/api/v2/users/me", 405, id="delete-user"),
]


@pytest.mark.parametrize(("method", "path", "status"), GROUP_MISSES)
async def test_auth_runs_before_routing_in_the_groups(client: httpx.AsyncClient, method: str,
                                                      path: str, status: int) -> None:
    anonymous = await client.request(method, path)
    expect_error(anonymous, 401, SIGNED_OUT, NO_TOKEN)
    signed_in = await client.request(method, path, headers=auth(OWNER))
    if status == 404:
        expect_error(signed_in, 404, "Route not found.")
    else:
        expect_empty(signed_in, 405)


@pytest.mark.parametrize("path", ["/api/v2/nope", "/api/v2/", "/api/v2/notificationsx"])
async def test_outside_the_groups_no_token_is_needed(client: httpx.AsyncClient,
                                                     path: str) -> None:
    expect_error(await client.get(path), 404, "Route not found.")
