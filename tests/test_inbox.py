"""The inbox, custom notifications, template methods and the delivery rules behind them.

Each detail Coder's UI depends on (coder-inbox.md section 5) has a test here that fails if it
breaks; the rest checks the endpoints against Coder's behaviour, delivery (methods, preferences,
de-duplication, the paused notifier, fallback icons) and the mock's controls (reset, state,
state file, Redis, journal, faults) on the new operations. The default fixture set's inbox
(fixtures/inbox.yaml) is the starting point: five notifications per active user, two unread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from mock_server.config import DEFAULT_FIXTURES, MockConfig
from mock_server.delivery import Enqueuer
from mock_server.fixtures import load_seed
from mock_server.server import MockServer
from mock_server.state import Store
from mock_server.state.file import read_state
from tests.conftest import ADMIN_ID, BOB, BOB_ID, MEMBER, MEMBER_ID, OWNER, auth
from tests.helpers import RESOURCE_NOT_FOUND, expect_empty, expect_error, expect_json, settled
from tests.redis_server import redis_server

pytestmark = pytest.mark.anyio

INBOX = "/api/v2/notifications/inbox"
MARK_ALL = f"{INBOX}/mark-all-as-read"
CUSTOM = "/api/v2/notifications/custom"
CUSTOM_TEMPLATES = "/api/v2/notifications/templates/custom"
SYSTEM = "/api/v2/notifications/templates/system"
DISPATCH = "/api/v2/notifications/dispatch-methods"
SETTINGS = "/api/v2/notifications/settings"
TEST = "/api/v2/notifications/test"
PREFS = "/api/v2/users/{user}/notifications/preferences"
ENQUEUE = "/__mock/notifications"
OTHER_FIXTURES = Path(__file__).parent / "fixtures" / "other"

# templates of the default fixture set
OTP = "62f86a30-2330-4b61-a26d-311ff3b608cf"
TROUBLESHOOTING = "c425f63e-716a-4bf4-ae24-78348f706c3f"
CUSTOM_TEMPLATE = "39b1e189-c857-4b0c-877a-511144c18516"
DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"
AUTOBUILD = "381df2a9-c0c0-4749-420f-80a9280c66f9"
DORMANT = "0ea69165-ec14-4314-91f1-69566ac3c5a0"
CREATED = "281fdf73-c6d6-4cbb-8ff5-888baf8a2fff"  # enabled_by_default: false
MANUALLY_UPDATED = "d089fe7b-d5c5-4c0c-aaf5-689859f7d392"  # enabled_by_default: false
OUT_OF_MEMORY = "a9d027b4-ac49-4fb1-9f6d-45af15f64e7a"
USER_CREATED = "4e19c0ac-94e1-4532-9515-d1801aa283b2"
YOU_SUSPENDED = "6a2f0609-9b69-4d36-a989-9f5925b6cbff"
TEMPLATE_DELETED = "29a09665-2a4c-403f-9648-54301670e7be"
DEPRECATED = "f40fae84-55a2-42cd-99fa-b41c1ca64894"
BUILDS_REPORT = "34a20db2-e9cc-4a93-b0e4-8569699d7a00"

# the member's fixture inbox, newest first (fixtures/inbox.yaml)
M_CUSTOM = "8830c780-483e-4844-8960-f3a6167421ff"  # 45m, unread
M_DORMANT = "cf3e056f-865b-4c56-842b-5c7e9a622dc8"  # 6h, unread
M_AUTOBUILD = "a752c2c1-1c02-4a2e-adcd-124d837ac15d"  # 1d, read
M_UPDATED = "fa4eca6d-9960-4e4d-9d1c-e00a13293524"  # 2d, read
M_DELETED = "15e209cf-31ae-4b11-b5e2-f0894de68c19"  # 4d, read
MEMBER_ROWS = [M_CUSTOM, M_DORMANT, M_AUTOBUILD, M_UPDATED, M_DELETED]
A_CUSTOM = "da941a54-e0e9-43c8-a929-c75418f6c548"  # the admin's newest, unread
# targets of the member's rows
MEMBER_DEV = "af115002-60c6-40b5-8255-771e01f2200b"
OLD_PROJECT = "4f279a53-e063-4138-a6aa-611f77023cf4"
DOCKER = "fc18a13d-7c9f-470d-a77e-671f3f52f516"
LEGACY = "de0c35d4-da56-4735-b20d-b1ca408e3225"

FIELDS = ["id", "user_id", "template_id", "targets", "title", "content", "icon", "actions",
          "read_at", "created_at"]
INVALID_QUERY = "Query parameters have invalid values."
READ_STATUS_FAILED = "Failed to update inbox notification read status."
BAD_METHOD = "Invalid request to update notification template method"
USERS = pytest.mark.parametrize("token", [OWNER, MEMBER, BOB], ids=["admin", "member", "bob"])
WEBHOOK = pytest.mark.parametrize("mock_config", [MockConfig(default_method="webhook")],
                                  ids=["webhook-default"])


async def listed(client: httpx.AsyncClient, token: str = MEMBER, **params: str) -> dict[str, Any]:
    """The caller's inbox page, which must be a 200."""
    response = await client.get(INBOX, params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [notification["id"] for notification in page["notifications"]]


async def enqueue(client: httpx.AsyncClient, template: str, user: str = "member",
                  **fields: Any) -> dict[str, Any]:
    """Deliver through the control API, as Coder's events do; the receipt."""
    response = await client.post(ENQUEUE, json={"template_id": template, "user": user, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def outbox(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await client.get("/__mock/outbox")).json()


async def everyone(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Every active user's whole first page."""
    return {token: await listed(client, token) for token in (OWNER, MEMBER, BOB)}


def row(template: str, created_at: str, *, user: str = MEMBER_ID, icon: str = "",
        read_at: str | None = None, targets: tuple[str, ...] = ()) -> dict[str, Any]:
    """An inbox row as the state holds it."""
    return {"id": str(uuid4()), "user_id": user, "template_id": template,
            "targets": list(targets), "title": "A title", "content": "Some **Markdown**",
            "icon": icon, "actions": [{"label": "Open", "url": "http://127.0.0.1:8080/"}],
            "read_at": read_at, "created_at": created_at}


async def add_rows(client: httpx.AsyncClient, rows: list[dict[str, Any]]) -> None:
    """Put rows into the inbox through the state snapshot, as a frontend developer would."""
    state = (await client.get("/__mock/state")).json()
    state["inbox"] += rows
    assert (await client.put("/__mock/state", json=state)).status_code == 204


# What Coder's UI depends on (coder-inbox.md section 5) --------------------------------------

@USERS
async def test_every_field_is_present_and_read_at_is_null_when_unread(
        client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(INBOX, headers=auth(token))
    page = response.json()
    assert [list(n) for n in page["notifications"]] == [FIELDS] * 5
    unread = [n for n in page["notifications"] if n["read_at"] is None]
    assert len(unread) == page["unread_count"] == 2
    assert response.content.count(b'"read_at":null') == 2, "present, and null, not left out"
    assert all(isinstance(n["read_at"], str) for n in page["notifications"] if n not in unread)


@pytest.mark.parametrize("query", [{"templates": str(uuid4())}, {"targets": str(uuid4())},
                                   {"starting_before": M_DELETED}],
                         ids=["no-template-matches", "no-target-matches", "nothing-older"])
async def test_nothing_to_list_is_an_empty_list_not_null(client: httpx.AsyncClient,
                                                         query: dict[str, str]) -> None:
    response = await client.get(INBOX, params=query, headers=auth(MEMBER))
    expect_json(response, 200, {"notifications": [], "unread_count": 2})
    assert b'"notifications":[]' in response.content


async def test_an_empty_inbox_is_an_empty_list(client: httpx.AsyncClient) -> None:
    loaded = await client.put("/__mock/fixtures", json={"path": str(OTHER_FIXTURES)})
    assert loaded.status_code == 200, "a fixture set without inbox.yaml loads"
    root = "RootKey000-rootSecret012345678901"
    expect_json(await client.get(INBOX, headers=auth(root)), 200,
                {"notifications": [], "unread_count": 0})


async def test_the_read_status_answer_carries_the_notification_and_the_unread_count(
        client: httpx.AsyncClient) -> None:
    before = {n["id"]: n for n in (await listed(client))["notifications"]}
    response = await client.put(f"{INBOX}/{M_DORMANT}/read-status", json={"is_read": True},
                                headers=auth(MEMBER))
    answer = response.json()
    read_at = answer["notification"]["read_at"]
    expect_json(response, 200, {"notification": {**before[M_DORMANT], "read_at": read_at},
                                "unread_count": 1})
    assert list(answer["notification"]) == FIELDS
    assert datetime.fromisoformat(read_at) > datetime.fromisoformat(
        before[M_DORMANT]["created_at"])


@pytest.mark.parametrize(("token", "user"), [(MEMBER, "me"), (MEMBER, MEMBER_ID), (OWNER, "bob")],
                         ids=["me", "uuid", "owner-for-another"])
async def test_storing_preferences_answers_an_array(client: httpx.AsyncClient, token: str,
                                                    user: str) -> None:
    response = await client.put(PREFS.format(user=user), headers=auth(token),
                                json={"template_disabled_map": {DELETED: True}})
    assert response.status_code == 200, response.text
    assert [(p["id"], p["disabled"]) for p in response.json()] == [(DELETED, True)]
    again = await client.put(PREFS.format(user=user), headers=auth(token),
                             json={"template_disabled_map": {DELETED: False}})
    assert [(p["id"], p["disabled"]) for p in again.json()] == [(DELETED, False)]


@pytest.mark.parametrize("path", [SYSTEM, CUSTOM_TEMPLATES], ids=["system", "custom"])
@pytest.mark.parametrize("token", [OWNER, MEMBER], ids=["owner", "member"])
async def test_every_template_says_whether_it_is_enabled_by_default(
        client: httpx.AsyncClient, path: str, token: str) -> None:
    templates = (await client.get(path, headers=auth(token))).json()
    assert templates
    assert all(isinstance(t.get("enabled_by_default"), bool) for t in templates)


@pytest.mark.parametrize("mock_config", [MockConfig(), MockConfig(default_method="webhook"),
                                         MockConfig(task_templates=True)],
                         ids=["default", "webhook-default", "task-templates"])
async def test_only_methods_the_ui_can_show_are_served(client: httpx.AsyncClient) -> None:
    methods = (await client.get(DISPATCH, headers=auth(MEMBER))).json()
    assert methods["default"] in ("smtp", "webhook")
    assert methods["available"]
    assert set(methods["available"]) <= {"smtp", "webhook"}
    for path in (SYSTEM, CUSTOM_TEMPLATES):
        templates = (await client.get(path, headers=auth(OWNER))).json()
        assert {t["method"] for t in templates} <= {"smtp", "webhook", ""}


async def test_members_see_a_workspace_events_group(client: httpx.AsyncClient) -> None:
    templates = (await client.get(SYSTEM, headers=auth(MEMBER))).json()
    assert "Workspace Events" in {t["group"] for t in templates}


# Listing: filters, order, pages ------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ({}, MEMBER_ROWS),
    ({"read_status": "all"}, MEMBER_ROWS),
    ({"read_status": ""}, MEMBER_ROWS),
    ({"read_status": "unread"}, [M_CUSTOM, M_DORMANT]),
    ({"read_status": "read"}, [M_AUTOBUILD, M_UPDATED, M_DELETED]),
    ({"templates": AUTOBUILD}, [M_AUTOBUILD]),
    ({"templates": AUTOBUILD.upper()}, [M_AUTOBUILD]),
    ({"templates": f"{AUTOBUILD},{CUSTOM_TEMPLATE}"}, [M_CUSTOM, M_AUTOBUILD]),
    ({"templates": f"{DELETED}, {DORMANT}, {uuid4()}"}, [M_DORMANT, M_DELETED]),
    ({"templates": AUTOBUILD, "read_status": "unread"}, []),
    ({"targets": DOCKER}, [M_AUTOBUILD, M_UPDATED, M_DELETED]),
    ({"targets": f"{MEMBER_DEV},{DOCKER}"}, [M_AUTOBUILD, M_UPDATED]),
    ({"targets": f"{OLD_PROJECT},{DOCKER}"}, []),
    ({"targets": f"{OLD_PROJECT},{LEGACY},{MEMBER_ID}"}, [M_DORMANT]),
    ({"targets": MEMBER_ID, "templates": f"{DORMANT},{DELETED}", "read_status": "read"},
     [M_DELETED]),
    ({"starting_before": M_DORMANT, "read_status": "read"}, [M_AUTOBUILD, M_UPDATED, M_DELETED]),
    ({"starting_before": M_AUTOBUILD, "templates": f"{DELETED},{CUSTOM_TEMPLATE}"}, [M_DELETED]),
], ids=["all-by-default", "all", "empty-is-all", "unread", "read", "one-template",
        "template-any-case", "templates-any-of", "templates-with-spaces-and-unknown",
        "template-and-unread", "one-target", "targets-all-of", "targets-not-all-there",
        "three-targets", "all-filters", "cursor-and-read", "cursor-and-templates"])
async def test_filters_choose_rows_and_the_unread_count_ignores_them(
        client: httpx.AsyncClient, query: dict[str, str], expected: list[str]) -> None:
    page = await listed(client, MEMBER, **query)
    assert ids(page) == expected
    assert page["unread_count"] == 2


@USERS
async def test_newest_first_and_a_new_notification_on_top(client: httpx.AsyncClient,
                                                          token: str) -> None:
    times = [datetime.fromisoformat(n["created_at"])
             for n in (await listed(client, token))["notifications"]]
    assert times == sorted(times, reverse=True)
    assert len(set(times)) == len(times)
    username = {OWNER: "admin", MEMBER: "member", BOB: "bob"}[token]
    receipt = await enqueue(client, DELETED, username, labels={"name": "new", "reason": "test"})
    page = await listed(client, token)
    assert ids(page)[0] == next(m["id"] for m in receipt["messages"] if m["method"] == "inbox")
    assert (page["unread_count"], len(page["notifications"])) == (3, 6)


async def test_an_older_row_recorded_later_still_lists_by_created_at(
        client: httpx.AsyncClient) -> None:
    future = row(DELETED, "2099-01-01T00:00:00Z")
    await add_rows(client, [future])
    receipt = await enqueue(client, DELETED, labels={"name": "now", "reason": "test"})
    delivered = next(m["id"] for m in receipt["messages"] if m["method"] == "inbox")
    assert ids(await listed(client))[:2] == [future["id"], delivered]


async def test_pages_hold_25_and_the_cursor_repeats_nothing(client: httpx.AsyncClient) -> None:
    start = datetime(2025, 6, 1, tzinfo=UTC)
    extra = [row(DELETED, (start + timedelta(minutes=7 * i)).isoformat().replace("+00:00", "Z"),
                 read_at=None if i % 3 else "2025-07-01T00:00:00Z") for i in range(60)]
    await add_rows(client, extra)
    pages: list[list[dict[str, Any]]] = []
    cursor: dict[str, str] = {}
    while True:
        page = await listed(client, MEMBER, **cursor)
        assert page["unread_count"] == 2 + 40
        pages.append(page["notifications"])
        if len(page["notifications"]) < 25:  # how Coder's UI knows it has them all
            break
        cursor = {"starting_before": page["notifications"][-1]["id"]}
    assert [len(p) for p in pages] == [25, 25, 15]
    every = [n for p in pages for n in p]
    assert len({n["id"] for n in every}) == 65
    assert {n["id"] for n in every} == set(MEMBER_ROWS) | {r["id"] for r in extra}
    times = [datetime.fromisoformat(n["created_at"]) for n in every]
    assert times == sorted(times, reverse=True)


async def test_a_full_page_of_a_filter_is_25_too(client: httpx.AsyncClient) -> None:
    await add_rows(client, [row(DELETED, f"2025-06-01T00:{i:02d}:00Z",
                                read_at="2025-07-01T00:00:00Z") for i in range(30)])
    assert len((await listed(client, templates=DELETED))["notifications"]) == 25
    assert len((await listed(client, read_status="read"))["notifications"]) == 25


@pytest.mark.parametrize("cursor", [str(uuid4()), A_CUSTOM],
                         ids=["unknown-id", "another-users-id"])
async def test_a_cursor_that_is_not_the_callers_is_ignored(client: httpx.AsyncClient,
                                                           cursor: str) -> None:
    assert await listed(client, starting_before=cursor) == await listed(client)
    assert ids(await listed(client, starting_before=cursor)) == MEMBER_ROWS


@pytest.mark.parametrize(("query", "body"), [
    ("foo=1", {"message": INVALID_QUERY, "validations": [
        {"field": "foo", "detail": '"foo" is not a valid query param'}]}),
    ("format=plaintext", {"message": INVALID_QUERY, "validations": [
        {"field": "format", "detail": '"format" is not a valid query param'}]}),
    ("targets=nope", {"message": INVALID_QUERY, "validations": [
        {"field": "targets", "detail": 'Query param "targets" has invalid values: '
                                       "invalid UUID length: 4"}]}),
    (f"templates={DELETED},x", {"message": INVALID_QUERY, "validations": [
        {"field": "templates", "detail": 'Query param "templates" has invalid values: '
                                         "invalid UUID length: 1"}]}),
    ("read_status=read&read_status=unread", {"message": INVALID_QUERY, "validations": [
        {"field": "read_status", "detail": 'Query param "read_status" provided more than once, '
                                           "found 2 times. Only provide 1 instance of this "
                                           "query param."}]}),
    ("read_status=bogus", {"message": "starting_before query parameter should be any of 'all', "
                                      "'read', 'unread'."}),
    ("read_status=READ", {"message": "starting_before query parameter should be any of 'all', "
                                     "'read', 'unread'."}),
    ("starting_before=nope", {"message": INVALID_QUERY, "validations": [
        {"field": "starting_before", "detail": 'Query param "starting_before" must be a valid '
                                               "uuid"}]}),
], ids=["unknown-parameter", "watch-only-parameter", "bad-target", "bad-template",
        "repeated-read-status", "bad-read-status", "read-status-is-case-sensitive",
        "bad-cursor"])
async def test_bad_queries_get_coders_400(client: httpx.AsyncClient, query: str,
                                          body: dict[str, Any]) -> None:
    expect_json(await client.get(f"{INBOX}?{query}", headers=auth(MEMBER)), 400, body)


async def test_the_inbox_needs_a_session(client: httpx.AsyncClient) -> None:
    for response in (await client.get(INBOX), await client.put(MARK_ALL),
                     await client.put(f"{INBOX}/{M_DORMANT}/read-status", json={"is_read": True}),
                     await client.post(CUSTOM, json={"content": {"title": "t", "message": "m"}})):
        assert response.status_code == 401
    assert (await listed(client))["unread_count"] == 2


# Read status -------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b'{"is_read": false}', b"{}", b"null", b'{"is_read": null}'],
                         ids=["false", "empty-object", "null", "null-field"])
async def test_read_then_unread_moves_the_count_by_one(client: httpx.AsyncClient,
                                                       body: bytes) -> None:
    url = f"{INBOX}/{M_DORMANT}/read-status"
    read = (await client.put(url, json={"is_read": True}, headers=auth(MEMBER))).json()
    assert read["unread_count"] == 1
    listed_row = next(n for n in (await listed(client))["notifications"] if n["id"] == M_DORMANT)
    assert listed_row == read["notification"]
    assert (await listed(client))["unread_count"] == 1
    unread = await client.put(url, content=body, headers=auth(MEMBER))
    assert unread.status_code == 200, unread.text
    assert (unread.json()["notification"]["read_at"], unread.json()["unread_count"]) == (None, 2)
    page = await listed(client, read_status="unread")
    assert (ids(page), page["unread_count"]) == ([M_CUSTOM, M_DORMANT], 2)


async def test_reading_a_read_notification_keeps_the_count(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{INBOX}/{M_AUTOBUILD}/read-status", json={"is_read": True},
                                headers=auth(MEMBER))
    assert response.json()["unread_count"] == 2
    assert response.json()["notification"]["read_at"] is not None


@pytest.mark.parametrize(("raw", "detail"), [("x", "invalid UUID length: 1"),
                                              ("1234", "invalid UUID length: 4")])
async def test_a_bad_id_is_coders_400(client: httpx.AsyncClient, raw: str, detail: str) -> None:
    response = await client.put(f"{INBOX}/{raw}/read-status", json={"is_read": True},
                                headers=auth(MEMBER))
    expect_error(response, 400, f'Invalid UUID "{raw}".', detail)


@pytest.mark.parametrize("target", [A_CUSTOM, str(uuid4())], ids=["another-users", "unknown"])
async def test_a_notification_that_is_not_the_callers_is_refused_and_unchanged(
        client: httpx.AsyncClient, target: str) -> None:
    before = await everyone(client)
    response = await client.put(f"{INBOX}/{target}/read-status", json={"is_read": True},
                                headers=auth(MEMBER))
    assert response.status_code == 400, "a deliberate difference: Coder answers 500"
    assert response.json()["message"] == READ_STATUS_FAILED
    assert "A real Coder answers 500" in response.json()["detail"]
    assert await everyone(client) == before


async def test_mark_all_as_read_touches_only_the_callers_unread(client: httpx.AsyncClient) -> None:
    before = await everyone(client)
    expect_empty(await client.put(MARK_ALL, headers=auth(MEMBER)), 204)
    after = await everyone(client)
    assert after[OWNER] == before[OWNER]
    assert after[BOB] == before[BOB]
    assert after[MEMBER]["unread_count"] == 0
    assert ids(await listed(client, read_status="unread")) == []
    earlier = {n["id"]: n["read_at"] for n in before[MEMBER]["notifications"]}
    for notification in after[MEMBER]["notifications"]:
        assert notification["read_at"] is not None
        if earlier[notification["id"]] is not None:
            assert notification["read_at"] == earlier[notification["id"]], "already read: kept"
    expect_empty(await client.put(MARK_ALL, headers=auth(MEMBER)), 204)


# Custom notifications ----------------------------------------------------------------------

TITLE_TOO_LONG = "'content.title' must be less than 120 characters"
MESSAGE_TOO_LONG = "'content.message' must be less than 2000 characters"
BLANK = "provide a non-empty 'content.title' and 'content.message'"


@pytest.mark.parametrize(("body", "detail"), [
    ({}, "content is required"),
    ({"content": None}, "content is required"),
    ({"content": {}}, BLANK),
    ({"content": {"title": "Hello"}}, BLANK),
    ({"content": {"title": "", "message": "Hi"}}, BLANK),
    ({"content": {"title": "Hello", "message": ""}}, BLANK),
    ({"content": {"title": " \t\n", "message": "Hi"}}, BLANK),
    ({"content": {"title": "Hello", "message": "  "}}, BLANK),
    ({"content": {"title": "", "message": "m" * 2001}}, BLANK),
    ({"content": {"title": "t" * 121, "message": "Hi"}}, TITLE_TOO_LONG),
    ({"content": {"title": "é" * 61, "message": "Hi"}}, TITLE_TOO_LONG),
    ({"content": {"title": " " * 120 + "t", "message": "Hi"}}, TITLE_TOO_LONG),
    ({"content": {"title": "t" * 121, "message": "m" * 2001}}, TITLE_TOO_LONG),
    ({"content": {"title": "Hello", "message": "m" * 2001}}, MESSAGE_TOO_LONG),
    ({"content": {"title": "Hello", "message": "€" * 667}}, MESSAGE_TOO_LONG),
], ids=["no-content", "null-content", "empty-content", "no-message", "empty-title",
        "empty-message", "blank-title", "blank-message", "blank-before-length",
        "title-121-bytes", "title-122-bytes-in-61-characters", "title-long-with-spaces",
        "title-checked-before-message", "message-2001-bytes", "message-2001-bytes-in-667-chars"])
async def test_a_bad_custom_notification_is_refused_with_coders_rule(
        client: httpx.AsyncClient, body: dict[str, Any], detail: str) -> None:
    before = await everyone(client)
    expect_error(await client.post(CUSTOM, json=body, headers=auth(MEMBER)), 400,
                 "Invalid request body", detail)
    assert await everyone(client) == before
    assert await outbox(client) == []


@pytest.mark.parametrize(("title", "message"), [
    ("t" * 120, "m" * 2000), ("é" * 60, "€" * 666 + "mm"), ("Hi", "m")],
    ids=["exactly-120-and-2000", "multibyte-at-the-limits", "short"])
async def test_custom_notifications_at_the_limits_are_accepted(
        client: httpx.AsyncClient, title: str, message: str) -> None:
    expect_empty(await client.post(CUSTOM, json={"content": {"title": title, "message": message}},
                                   headers=auth(MEMBER)), 204)
    newest = (await listed(client))["notifications"][0]
    assert (newest["title"], newest["content"]) == (title, message)


@pytest.mark.parametrize(("token", "user_id", "username"),
                         [(MEMBER, MEMBER_ID, "member"), (OWNER, ADMIN_ID, "admin")],
                         ids=["member", "owner"])
async def test_a_custom_notification_goes_to_the_caller_only(
        client: httpx.AsyncClient, token: str, user_id: str, username: str) -> None:
    before = await everyone(client)
    content = {"title": "Build **done**", "message": "The build of `api` *passed*."}
    expect_empty(await client.post(CUSTOM, json={"content": content}, headers=auth(token)), 204)
    after = await everyone(client)
    assert {t: p for t, p in after.items() if t != token} == {
        t: p for t, p in before.items() if t != token}
    newest, *rest = after[token]["notifications"]
    assert rest == before[token]["notifications"]
    assert after[token]["unread_count"] == before[token]["unread_count"] + 1
    assert newest == {**newest, "user_id": user_id, "template_id": CUSTOM_TEMPLATE, "targets": [],
                      "title": content["title"], "content": content["message"],
                      "icon": "DEFAULT_ICON_OTHER", "actions": [], "read_at": None}
    sent = await outbox(client)
    assert [(m["username"], m["template_id"], m["method"], m["labels"]) for m in sent] == [
        (username, CUSTOM_TEMPLATE, "smtp",
         {"custom_title": content["title"], "custom_message": content["message"]})]
    assert sent[0]["id"] != newest["id"], "one message per method, each with its own id"


@WEBHOOK
async def test_a_custom_notification_goes_out_by_the_default_method(
        client: httpx.AsyncClient) -> None:
    await client.post(CUSTOM, json={"content": {"title": "T", "message": "M"}},
                      headers=auth(MEMBER))
    assert [m["method"] for m in await outbox(client)] == ["webhook"]


@pytest.mark.parametrize("token", [OWNER, MEMBER], ids=["owner", "member"])
async def test_the_custom_templates_are_the_custom_notification(client: httpx.AsyncClient,
                                                                token: str) -> None:
    expect_json(await client.get(CUSTOM_TEMPLATES, headers=auth(token)), 200, [{
        "id": CUSTOM_TEMPLATE, "name": "Custom Notification",
        "title_template": "{{.Labels.custom_title}}", "body_template": "{{.Labels.custom_message}}",
        "actions": "[]", "group": "Custom Events", "method": "", "kind": "custom",
        "enabled_by_default": True}])


# Template methods --------------------------------------------------------------------------

def method_url(template: str) -> str:
    return f"/api/v2/notifications/templates/{template}/method"


async def methods_by_id(client: httpx.AsyncClient) -> dict[str, str]:
    templates = (await client.get(SYSTEM, headers=auth(OWNER))).json()
    return {t["id"]: t["method"] for t in templates}


@pytest.mark.parametrize(("token", "template"), [(MEMBER, DELETED), (BOB, OTP),
                                                 (OWNER, str(uuid4()))],
                         ids=["member", "another-member", "unknown-template"])
async def test_only_an_owner_finds_the_template(client: httpx.AsyncClient, token: str,
                                                template: str) -> None:
    before = await methods_by_id(client)
    response = await client.put(method_url(template), json={"method": "webhook"},
                                headers=auth(token))
    expect_error(response, 404, RESOURCE_NOT_FOUND)
    assert await methods_by_id(client) == before


async def test_a_bad_template_id_is_coders_400(client: httpx.AsyncClient) -> None:
    response = await client.put(method_url("x"), json={"method": "smtp"}, headers=auth(OWNER))
    expect_error(response, 400, 'Invalid UUID "x".', "invalid UUID length: 1")


@pytest.mark.parametrize(("body", "value"), [({"method": ""}, ""), ({}, ""),
                                             ({"method": "bogus"}, "bogus"),
                                             ({"method": "SMTP"}, "SMTP")],
                         ids=["empty", "missing", "bogus", "upper-case"])
async def test_a_method_outside_the_enum_is_refused(client: httpx.AsyncClient,
                                                    body: dict[str, str], value: str) -> None:
    before = await methods_by_id(client)
    expect_json(await client.put(method_url(DELETED), json=body, headers=auth(OWNER)), 400, {
        "message": BAD_METHOD, "validations": [{"field": "method", "detail": (
            f'"{value}" is not a valid method; smtp, webhook, inbox are the available '
            "options")}]})
    assert await methods_by_id(client) == before


async def test_the_same_method_is_not_modified(client: httpx.AsyncClient) -> None:
    expect_empty(await client.put(method_url(OTP), json={"method": "smtp"}, headers=auth(OWNER)),
                 304)


async def test_a_new_method_is_listed_and_used_by_later_deliveries(
        client: httpx.AsyncClient) -> None:
    before = await methods_by_id(client)
    response = await client.put(method_url(DELETED), json={"method": "webhook"},
                                headers=auth(OWNER))
    expect_json(response, 200, {"message": "Successfully updated notification template method."})
    assert await methods_by_id(client) == {**before, DELETED: "webhook"}
    expect_empty(await client.put(method_url(DELETED), json={"method": "webhook"},
                                  headers=auth(OWNER)), 304)
    changed = await enqueue(client, DELETED, labels={"name": "a", "reason": "b"})
    unchanged = await enqueue(client, AUTOBUILD, labels={"name": "a", "reason": "b"})
    assert [m["method"] for m in changed["messages"]] == ["webhook", "inbox"]
    assert [m["method"] for m in unchanged["messages"]] == ["smtp", "inbox"]
    assert [(m["template_id"], m["method"]) for m in await outbox(client)] == [
        (DELETED, "webhook"), (AUTOBUILD, "smtp")]


async def test_a_template_sent_by_inbox_only_is_delivered_once(client: httpx.AsyncClient) -> None:
    response = await client.put(method_url(DELETED), json={"method": "inbox"},
                                headers=auth(OWNER))
    assert response.status_code == 200, "Coder's enum has inbox, so the API accepts it"
    receipt = await enqueue(client, DELETED, labels={"name": "a", "reason": "b"})
    assert [m["method"] for m in receipt["messages"]] == ["inbox"]
    assert ids(await listed(client))[1:] == MEMBER_ROWS
    assert await outbox(client) == []


# Delivery rules ----------------------------------------------------------------------------

@pytest.mark.parametrize(("mock_config", "method"), [(MockConfig(), "smtp"),
                                                     (MockConfig(default_method="webhook"),
                                                      "webhook")],
                         ids=["smtp-default", "webhook-default"])
async def test_the_default_method_plus_the_inbox(client: httpx.AsyncClient, method: str) -> None:
    receipt = await enqueue(client, AUTOBUILD, "bob", labels={"name": "dev", "reason": "x"})
    assert [m["method"] for m in receipt["messages"]] == [method, "inbox"]
    expect_empty(await client.post(TEST, headers=auth(OWNER)), 204)
    assert [(m["username"], m["method"]) for m in await outbox(client)] == [
        ("bob", method), ("admin", method)]
    newest = (await listed(client, OWNER))["notifications"][0]
    assert (newest["template_id"], newest["title"], newest["icon"]) == (
        TROUBLESHOOTING, "A test notification", "DEFAULT_ICON_OTHER")
    assert newest["actions"][0]["label"] == "View notification settings"
    bobs = (await listed(client, BOB))["notifications"][0]
    assert bobs["id"] == receipt["messages"][1]["id"], "the inbox row is the inbox message's id"
    assert bobs["title"] == 'Workspace "dev" autobuild failed'


@WEBHOOK
async def test_the_one_time_passcode_never_reaches_the_inbox(client: httpx.AsyncClient) -> None:
    before = await everyone(client)
    receipt = await enqueue(client, OTP, labels={"one_time_passcode": "123456"})
    assert [m["method"] for m in receipt["messages"]] == ["smtp"], "its own method, no inbox"
    assert await everyone(client) == before
    assert "otp=123456&email=member%40coder.example" in (await outbox(client))[0]["actions"][0][
        "url"]


async def test_a_disabled_preference_blocks_every_method(client: httpx.AsyncClient) -> None:
    await client.put(PREFS.format(user="me"), headers=auth(MEMBER),
                     json={"template_disabled_map": {DELETED: True}})
    before = await everyone(client)
    response = await client.post(ENQUEUE, json={"template_id": DELETED, "user": "member",
                                                "labels": {"name": "a", "reason": "b"}})
    assert (response.status_code, response.json()["message"]) == (
        400, "Notification is not enabled.")
    assert (await outbox(client), await everyone(client)) == ([], before)
    bobs = await enqueue(client, DELETED, "bob", labels={"name": "a", "reason": "b"})
    assert len(bobs["messages"]) == 2, "another user's preference is their own"


async def test_a_disabled_test_notification_is_coders_500(client: httpx.AsyncClient) -> None:
    await client.put(PREFS.format(user="me"), headers=auth(OWNER),
                     json={"template_disabled_map": {TROUBLESHOOTING: True}})
    before = await everyone(client)
    expect_error(await client.post(TEST, headers=auth(OWNER)), 500,
                 "Failed to send test notification", "notification is not enabled")
    assert (await outbox(client), await everyone(client)) == ([], before)


async def test_a_disabled_custom_notification_is_refused(client: httpx.AsyncClient) -> None:
    await client.put(PREFS.format(user="me"), headers=auth(MEMBER),
                     json={"template_disabled_map": {CUSTOM_TEMPLATE: True}})
    before = await everyone(client)
    expect_error(await client.post(CUSTOM, json={"content": {"title": "T", "message": "M"}},
                                   headers=auth(MEMBER)), 500,
                 "Failed to send custom notification", "notification is not enabled")
    assert (await outbox(client), await everyone(client)) == ([], before)


@pytest.mark.parametrize("template", [CREATED, MANUALLY_UPDATED],
                         ids=["workspace-created", "workspace-manually-updated"])
async def test_a_template_off_by_default_needs_an_explicit_enable(client: httpx.AsyncClient,
                                                                  template: str) -> None:
    labels = {"workspace": "dev", "template": "docker", "version": "v2", "initiator": "admin",
              "workspace_owner_username": "member", "organization": "coder"}
    refused = await client.post(ENQUEUE, json={"template_id": template, "user": "member",
                                               "labels": labels})
    assert refused.status_code == 400
    assert ids(await listed(client)) == MEMBER_ROWS
    await client.put(PREFS.format(user="me"), headers=auth(MEMBER),
                     json={"template_disabled_map": {template: False}})
    receipt = await enqueue(client, template, labels=labels)
    newest = (await listed(client))["notifications"][0]
    assert newest["id"] == receipt["messages"][1]["id"]
    assert (newest["template_id"], newest["icon"]) == (template, "DEFAULT_ICON_WORKSPACE")
    assert "<no value>" not in newest["content"] + json.dumps(newest["actions"])


async def test_the_same_notification_the_same_day_is_delivered_once(
        client: httpx.AsyncClient) -> None:
    labels = {"name": "dev", "reason": "autostart"}
    first = await enqueue(client, AUTOBUILD, labels=labels, targets=[MEMBER_DEV])
    again = await enqueue(client, AUTOBUILD, labels=labels, targets=[MEMBER_DEV])
    assert again == {"messages": [], "duplicate": True, "held": False}
    other_labels = await enqueue(client, AUTOBUILD, labels={**labels, "reason": "autostop"},
                                 targets=[MEMBER_DEV])
    other_targets = await enqueue(client, AUTOBUILD, labels=labels, targets=[DOCKER])
    other_user = await enqueue(client, AUTOBUILD, "bob", labels=labels, targets=[MEMBER_DEV])
    assert not any(r["duplicate"] for r in (first, other_labels, other_targets, other_user))
    assert len(await outbox(client)) == 4
    assert len((await listed(client))["notifications"]) == 5 + 3
    for _ in range(2):  # the test notification carries a timestamp: never a duplicate
        expect_empty(await client.post(TEST, headers=auth(OWNER)), 204)
    assert len(await outbox(client)) == 6


def test_the_same_notification_is_delivered_again_the_next_day() -> None:
    clock = [datetime(2026, 3, 1, 23, 59, tzinfo=UTC)]
    store = Store(load_seed(DEFAULT_FIXTURES), clock=lambda: clock[0])
    enqueuer = Enqueuer(store, default_method="smtp", access_url="http://127.0.0.1:8080")
    member = store.user_by_username("member")
    assert member is not None

    def duplicate_at(moment: datetime) -> bool:
        clock[0] = moment
        return settled(enqueuer.enqueue(UUID(AUTOBUILD), member,
                                        labels={"name": "dev", "reason": "x"})).duplicate

    assert not duplicate_at(datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    assert duplicate_at(datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC)), "the same UTC day"
    assert not duplicate_at(datetime(2026, 3, 2, 0, 0, 1, tzinfo=UTC)), "the next UTC day"
    assert len(settled(store.outbox())) == 2


async def test_a_paused_notifier_holds_everything_until_resumed(
        client: httpx.AsyncClient) -> None:
    before = await everyone(client)
    await client.put(SETTINGS, json={"notifier_paused": True}, headers=auth(OWNER))
    held = await enqueue(client, DELETED, labels={"name": "a", "reason": "b"})
    assert held["held"] is True
    assert [m["method"] for m in held["messages"]] == ["smtp", "inbox"]
    duplicate = await enqueue(client, DELETED, labels={"name": "a", "reason": "b"})
    assert duplicate["duplicate"] is True, "a held notification counts for de-duplication"
    expect_empty(await client.post(TEST, headers=auth(OWNER)), 204)
    expect_empty(await client.post(CUSTOM, json={"content": {"title": "T", "message": "M"}},
                                   headers=auth(BOB)), 204)
    assert (await outbox(client), await everyone(client)) == ([], before)
    assert len((await client.get("/__mock/state")).json()["pending"]) == 6
    response = await client.put(SETTINGS, json={"notifier_paused": False}, headers=auth(OWNER))
    expect_json(response, 200, {"notifier_paused": False})
    after = await everyone(client)
    assert [n["template_id"] for n in after[MEMBER]["notifications"][:1]] == [DELETED]
    assert [n["template_id"] for n in after[OWNER]["notifications"][:1]] == [TROUBLESHOOTING]
    assert [n["template_id"] for n in after[BOB]["notifications"][:1]] == [CUSTOM_TEMPLATE]
    assert [a["unread_count"] for a in after.values()] == [3, 3, 3]
    assert sorted((m["username"], m["method"]) for m in await outbox(client)) == [
        ("admin", "smtp"), ("bob", "smtp"), ("member", "smtp")]
    assert (await client.get("/__mock/state")).json()["pending"] == []


@pytest.mark.parametrize(("template", "icon"), [
    (DELETED, "DEFAULT_ICON_WORKSPACE"), (CREATED, "DEFAULT_ICON_WORKSPACE"),
    (OUT_OF_MEMORY, "DEFAULT_ICON_WORKSPACE"), (DORMANT, "DEFAULT_ICON_WORKSPACE"),
    (USER_CREATED, "DEFAULT_ICON_ACCOUNT"), (YOU_SUSPENDED, "DEFAULT_ICON_ACCOUNT"),
    (OTP, "DEFAULT_ICON_ACCOUNT"), (TEMPLATE_DELETED, "DEFAULT_ICON_TEMPLATE"),
    (DEPRECATED, "DEFAULT_ICON_TEMPLATE"), (BUILDS_REPORT, "DEFAULT_ICON_TEMPLATE"),
    (TROUBLESHOOTING, "DEFAULT_ICON_OTHER"), (CUSTOM_TEMPLATE, "DEFAULT_ICON_OTHER"),
    ("00000000-0000-4000-8000-000000000001", "DEFAULT_ICON_OTHER"),
], ids=["deleted", "created", "out-of-memory", "dormant", "user-created", "you-suspended",
        "one-time-passcode", "template-deleted", "template-deprecated", "builds-report",
        "test-notification", "custom", "unknown-template"])
async def test_an_empty_icon_gets_the_templates_fallback(client: httpx.AsyncClient,
                                                         template: str, icon: str) -> None:
    stored = row(template, "2099-01-01T00:00:00Z")
    await add_rows(client, [stored])
    assert (await listed(client))["notifications"][0]["icon"] == icon
    answer = await client.put(f"{INBOX}/{stored['id']}/read-status", json={"is_read": True},
                              headers=auth(MEMBER))
    assert answer.json()["notification"]["icon"] == icon
    state = (await client.get("/__mock/state")).json()
    assert next(r for r in state["inbox"] if r["id"] == stored["id"])["icon"] == "", \
        "the fallback is applied when served, not stored"


async def test_a_stored_icon_is_served_as_it_is(client: httpx.AsyncClient) -> None:
    await add_rows(client, [row(DELETED, "2099-01-01T00:00:00Z",
                                icon="https://example.com/icon.png")])
    assert (await listed(client))["notifications"][0]["icon"] == "https://example.com/icon.png"


async def test_the_fixture_inbox_is_served_with_fallback_icons(client: httpx.AsyncClient) -> None:
    served = [(n["template_id"], n["icon"]) for page in (await everyone(client)).values()
              for n in page["notifications"]]
    workspace, account = "DEFAULT_ICON_WORKSPACE", "DEFAULT_ICON_ACCOUNT"
    assert dict(served) == {
        USER_CREATED: account, TROUBLESHOOTING: "DEFAULT_ICON_OTHER",
        DEPRECATED: "DEFAULT_ICON_TEMPLATE", AUTOBUILD: workspace,
        CUSTOM_TEMPLATE: "DEFAULT_ICON_OTHER", DELETED: workspace,
        "c34a0c09-0704-4cac-bd1c-0c0146811c2b": workspace,  # Workspace Updated Automatically
        DORMANT: workspace, OUT_OF_MEMORY: workspace,
        "1a6a6bea-ee0a-43e2-9e7c-eabdb53730e4": account,  # Your account has been activated
        "2faeee0f-26cb-4e96-821c-85ccb9f71513": workspace}  # Workspace Manual Build Failed


# The mock's controls on the inbox ----------------------------------------------------------

async def change_everything(client: httpx.AsyncClient) -> None:
    """Read, unread, mark all, send, change a method: something in every part of the state."""
    await client.put(f"{INBOX}/{A_CUSTOM}/read-status", json={"is_read": True},
                     headers=auth(OWNER))
    await client.put(f"{INBOX}/{M_AUTOBUILD}/read-status", json={"is_read": False},
                     headers=auth(MEMBER))
    await client.put(MARK_ALL, headers=auth(BOB))
    await client.post(CUSTOM, json={"content": {"title": "T", "message": "M"}},
                      headers=auth(MEMBER))
    await enqueue(client, DELETED, "bob", labels={"name": "a", "reason": "b"})
    await client.put(method_url(AUTOBUILD), json={"method": "webhook"}, headers=auth(OWNER))


async def test_reset_returns_to_the_fixture_inbox(client: httpx.AsyncClient) -> None:
    before = await everyone(client)
    await change_everything(client)
    assert await everyone(client) != before
    expect_empty(await client.post("/__mock/reset"), 204)
    assert await everyone(client) == before, "the same rows, with the same timestamps"
    assert (await methods_by_id(client))[AUTOBUILD] == ""


async def test_the_state_snapshot_round_trips_the_inbox(client: httpx.AsyncClient) -> None:
    before, snapshot = await everyone(client), (await client.get("/__mock/state")).json()
    assert len(snapshot["inbox"]) == 15
    await change_everything(client)
    changed = (await client.get("/__mock/state")).json()
    assert len(changed["inbox"]) == 17
    assert changed["template_methods"] == {AUTOBUILD: "webhook"}
    expect_empty(await client.put("/__mock/state", json=snapshot), 204)
    assert (await client.get("/__mock/state")).json() == snapshot
    assert await everyone(client) == before
    expect_empty(await client.put("/__mock/state", json=changed), 204)
    assert (await client.get("/__mock/state")).json() == changed


async def test_a_bad_inbox_row_in_a_snapshot_is_refused(client: httpx.AsyncClient) -> None:
    before = await everyone(client)
    state = (await client.get("/__mock/state")).json()
    state["inbox"].append({**row(DELETED, "2025-01-01T00:00:00Z"), "user_id": "nope"})
    response = await client.put("/__mock/state", json=state)
    assert response.status_code == 400
    assert await everyone(client) == before


async def test_the_state_file_keeps_the_inbox_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    config = MockConfig(state_file=path)
    first = MockServer(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first.app),
                                 base_url="http://localhost") as client:
        await change_everything(client)
        wanted = await everyone(client)
    deadline = time.monotonic() + 30  # the file is written in the background; a hang guard
    while (read_state(path) or {}).get("inbox") != (await first.store.snapshot())["inbox"]:
        assert time.monotonic() < deadline, "the state file never caught up"
        time.sleep(0.02)
    restarted = MockServer(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=restarted.app),
                                 base_url="http://localhost") as client:
        assert await everyone(client) == wanted
        assert (await methods_by_id(client))[AUTOBUILD] == "webhook"


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[MockServer, MockServer]]:
    """Two mocks sharing one real Redis, as replicas do (skipped without redis-server)."""
    with redis_server(tmp_path) as url:
        config = MockConfig(state_url=url)
        with MockServer(config) as first, MockServer(config) as second:
            yield first, second


def test_through_redis_one_mock_lists_what_the_other_delivered(
        pair: tuple[MockServer, MockServer]) -> None:
    first, second = pair

    def page(mock: MockServer, token: str = MEMBER) -> dict[str, Any]:
        response = httpx.get(mock.url + INBOX, headers=auth(token))
        assert response.status_code == 200, response.text
        return response.json()

    assert page(first) == page(second)
    assert ids(page(first)) == MEMBER_ROWS
    receipt = httpx.post(first.url + ENQUEUE, json={"template_id": DELETED, "user": "member",
                                                    "labels": {"name": "a", "reason": "b"}})
    assert receipt.status_code == 201, receipt.text
    delivered = next(m["id"] for m in receipt.json()["messages"] if m["method"] == "inbox")
    assert ids(page(second))[0] == delivered
    marked = httpx.put(f"{second.url}{INBOX}/{delivered}/read-status", json={"is_read": True},
                       headers=auth(MEMBER))
    assert marked.json()["unread_count"] == 2
    assert page(first)["notifications"][0] == marked.json()["notification"]
    custom = httpx.post(second.url + CUSTOM, json={"content": {"title": "T", "message": "M"}},
                        headers=auth(BOB))
    assert custom.status_code == 204
    assert page(first, BOB)["notifications"][0]["title"] == "T"
    assert httpx.put(first.url + MARK_ALL, headers=auth(BOB)).status_code == 204
    assert page(second, BOB)["unread_count"] == 0


async def test_the_journal_records_the_new_operations(client: httpx.AsyncClient) -> None:
    await client.delete("/__mock/journal")
    calls = [
        ("GET", INBOX, MEMBER, None, "list-inbox-notifications", 200),
        ("PUT", f"{INBOX}/{M_DORMANT}/read-status", MEMBER, {"is_read": True},
         "update-read-status-of-a-notification", 200),
        ("PUT", MARK_ALL, BOB, None, "mark-all-unread-notifications-as-read", 204),
        ("POST", CUSTOM, MEMBER, {"content": {"title": "T", "message": "M"}},
         "send-a-custom-notification", 204),
        ("GET", CUSTOM_TEMPLATES, MEMBER, None, "get-custom-notification-templates", 200),
        ("PUT", method_url(DELETED), MEMBER, {"method": "smtp"},
         "update-notification-template-dispatch-method", 404),
        ("PUT", method_url(DELETED), OWNER, {"method": "smtp"},
         "update-notification-template-dispatch-method", 200),
    ]
    names = {OWNER: "admin", MEMBER: "member", BOB: "bob"}
    for method, path, token, body, _, status in calls:
        response = await client.request(method, path, json=body, headers=auth(token))
        assert response.status_code == status, response.text
    entries = [e for e in (await client.get("/__mock/journal")).json()
               if e["path"].startswith("/api/v2/")]
    assert [(e["method"], e["path"], e["user"], e["operation_id"], e["status"])
            for e in entries] == [(method, path, names[token], operation, status)
                                  for method, path, token, _, operation, status in calls]


INBOX_CALLS = {
    "list-inbox-notifications": ("GET", INBOX, None),
    "update-read-status-of-a-notification": ("PUT", f"{INBOX}/{M_DORMANT}/read-status",
                                             {"is_read": True}),
    "mark-all-unread-notifications-as-read": ("PUT", MARK_ALL, None),
    "send-a-custom-notification": ("POST", CUSTOM, {"content": {"title": "T", "message": "M"}}),
}


@pytest.mark.parametrize("how", ["control-api", "prefer-header"])
@pytest.mark.parametrize("operation", INBOX_CALLS)
async def test_a_fault_fires_on_the_inbox_operations_and_changes_nothing(
        client: httpx.AsyncClient, operation: str, how: str) -> None:
    method, path, body = INBOX_CALLS[operation]
    before = await everyone(client)
    headers = auth(MEMBER)
    if how == "control-api":
        added = await client.post("/__mock/faults", json={"operation_id": operation,
                                                          "status": 503, "times": 1})
        assert added.status_code == 201, added.text
    else:
        headers["Prefer"] = "status=503"
    response = await client.request(method, path, json=body, headers=headers)
    assert response.status_code == 503
    assert response.json()["message"] == "Service Unavailable."
    assert await everyone(client) == before, "a failed call does nothing"
    assert (await client.request(method, path, json=body, headers=auth(MEMBER))).status_code < 300
    journal = (await client.get("/__mock/journal")).json()
    hit = next(e for e in journal if e["status"] == 503)
    assert (hit["operation_id"], hit["fault"] is not None) == (operation, True)


async def test_a_fault_on_another_operation_leaves_the_inbox_alone(
        client: httpx.AsyncClient) -> None:
    await client.post("/__mock/faults", json={"operation_id": "get-notifications-settings",
                                              "status": 500})
    assert ids(await listed(client)) == MEMBER_ROWS
    assert (await client.get(SETTINGS, headers=auth(MEMBER))).status_code == 500


async def test_each_user_has_an_inbox_of_their_own(client: httpx.AsyncClient) -> None:
    pages = await everyone(client)
    for token, user_id in ((OWNER, ADMIN_ID), (MEMBER, MEMBER_ID), (BOB, BOB_ID)):
        assert {n["user_id"] for n in pages[token]["notifications"]} == {user_id}
    assert len({n["id"] for page in pages.values() for n in page["notifications"]}) == 15
