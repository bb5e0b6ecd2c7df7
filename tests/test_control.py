"""The control API (/__mock): reset, fixture sets, state, outbox, journal and fault management."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mock_server.cli import _check_exposure
from mock_server.config import MockConfig
from mock_server.options import build_parser, config_from
from mock_server.server import MockServer
from tests.conftest import MEMBER, OWNER, auth

pytestmark = pytest.mark.anyio

OTHER_FIXTURES = Path(__file__).parent / "fixtures" / "other"
PREFS = "/api/v2/users/me/notifications/preferences"
SETTINGS = "/api/v2/notifications/settings"
TEMPLATE = "f517da0b-cdc9-410f-ab89-a86107c420ed"


async def test_health_answers_ok_with_the_engine_limits_and_drops(
        client: httpx.AsyncClient) -> None:
    response = await client.get("/__mock/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok", "state": {"engine": "memory", "reachable": True, "data_lost_at": []},
        "limits": {"outbox": 10_000, "inbox": 1_000, "dedupe": 100_000, "journal": 1000,
                   "journal_entry_bytes": 4096, "faults": 1000},
        "dropped": {"outbox": 0, "pending": 0, "inbox": 0, "dedupe": 0, "journal": 0,
                    "journal_unrecorded": 0}}


async def test_reset_puts_the_fixture_state_back(client: httpx.AsyncClient) -> None:
    changes = [await client.put(SETTINGS, json={"notifier_paused": True}, headers=auth(OWNER)),
               await client.put(PREFS, json={"template_disabled_map": {TEMPLATE: True}},
                                headers=auth(OWNER)),
               await client.post("/api/v2/notifications/test", headers=auth(OWNER))]
    assert [response.status_code for response in changes] == [200, 200, 204]
    assert (await client.post("/__mock/reset")).status_code == 204
    assert (await client.get(SETTINGS, headers=auth(OWNER))).json() == {"notifier_paused": False}
    assert (await client.get(PREFS, headers=auth(OWNER))).json() is None
    assert (await client.get("/__mock/outbox")).json() == []


async def test_fixtures_lists_every_user_with_role_and_tokens(client: httpx.AsyncClient) -> None:
    body = (await client.get("/__mock/fixtures")).json()
    users = {user["username"]: user for user in body["users"]}
    assert users["admin"]["role"] == "owner"
    assert OWNER in users["admin"]["tokens"]
    assert (users["member"]["role"], users["member"]["tokens"]) == ("member", [MEMBER])
    assert users["sam"]["status"] == "suspended"


async def test_another_fixture_set_replaces_users_and_state(client: httpx.AsyncClient) -> None:
    response = await client.put("/__mock/fixtures", json={"path": str(OTHER_FIXTURES)})
    assert response.status_code == 200
    assert response.json()["path"] == str(OTHER_FIXTURES.resolve())
    assert (await client.get("/__mock/fixtures")).json() == response.json()
    root = next(u for u in response.json()["users"] if u["username"] == "root")
    assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 401
    settings = await client.get(SETTINGS, headers=auth(root["tokens"][0]))
    assert settings.json() == {"notifier_paused": True}
    await client.post("/__mock/reset")
    me = await client.get("/api/v2/users/me", headers=auth(root["tokens"][0]))
    assert me.status_code == 200, "a reset returns to the set loaded last"


@pytest.mark.parametrize(("path", "detail"), [
    ("/nonexistent/fixtures", "missing; a fixture set needs users.yaml and templates.yaml"),
    (str(Path(__file__).parent), "missing; a fixture set needs"),
])
async def test_a_broken_fixture_set_is_refused_and_changes_nothing(
        client: httpx.AsyncClient, path: str, detail: str) -> None:
    response = await client.put("/__mock/fixtures", json={"path": path})
    assert response.status_code == 400
    assert response.json()["message"] == "Cannot load the fixture set."
    assert detail in response.json()["detail"]
    assert (await client.get("/api/v2/users/me", headers=auth(OWNER))).status_code == 200


async def test_state_round_trips(client: httpx.AsyncClient) -> None:
    await client.put(PREFS, json={"template_disabled_map": {TEMPLATE: True}}, headers=auth(OWNER))
    saved = (await client.get("/__mock/state")).json()
    await client.post("/__mock/reset")
    assert (await client.get(PREFS, headers=auth(OWNER))).json() is None
    assert (await client.put("/__mock/state", json=saved)).status_code == 204
    restored = (await client.get(PREFS, headers=auth(OWNER))).json()
    assert [(p["id"], p["disabled"]) for p in restored] == [(TEMPLATE, True)]
    assert (await client.get("/__mock/state")).json() == saved


@pytest.mark.parametrize("state", [
    {"preferences": {"not-a-uuid": []}},
    {"preferences": {"5f8b8d7e-7d1a-4b0e-9d35-0c9b2a1f3e11": [{"id": TEMPLATE}]}},
    {"settings": 3},
    {"settings": "garbage"},
    {"settings": '{"notifier_paused":"yes"}'},
    {"settings": '{"notifier_paused":true,"other":1}'},
    {"unknown": True},
], ids=["bad-user-id", "incomplete-preference", "settings-not-text", "settings-not-json",
        "settings-wrong-type", "settings-extra-field", "unknown-field"])
async def test_a_bad_state_is_refused(client: httpx.AsyncClient, state: dict) -> None:
    before = (await client.get("/__mock/state")).json()
    response = await client.put("/__mock/state", json=state)
    assert response.status_code == 400
    assert response.json()["message"]
    assert (await client.get("/__mock/state")).json() == before
    settings = await client.get("/api/v2/notifications/settings", headers=auth(OWNER))
    assert settings.status_code == 200


@pytest.mark.parametrize(("query", "status", "count"), [
    ("limit=2", 200, 2), ("limit=%32", 200, 2), ("limit=0", 400, 0), ("limit=x", 400, 0)])
async def test_the_journal_limit_is_read_as_a_query_parameter(
        client: httpx.AsyncClient, query: str, status: int, count: int) -> None:
    for _ in range(3):
        await client.get("/__mock/health")
    response = await client.get(f"/__mock/journal?{query}")
    assert response.status_code == status, response.text
    if status == 200:
        assert len(response.json()) == count
    else:
        assert response.json()["message"] == "Invalid request parameter."
        assert "limit" in response.json()["detail"]


async def test_the_outbox_shows_and_forgets_test_notifications(client: httpx.AsyncClient) -> None:
    await client.post("/api/v2/notifications/test", headers=auth(OWNER))
    outbox = (await client.get("/__mock/outbox")).json()
    assert [(n["username"], n["template_id"]) for n in outbox] == [
        ("admin", "c425f63e-716a-4bf4-ae24-78348f706c3f")]
    assert (await client.delete("/__mock/outbox")).status_code == 204
    assert (await client.get("/__mock/outbox")).json() == []


async def test_the_journal_records_calls_with_user_status_and_operation(
        client: httpx.AsyncClient) -> None:
    await client.get(SETTINGS, headers=auth(MEMBER))
    await client.get(SETTINGS)
    await client.get("/api/v2/nope", headers=auth(OWNER))
    entries = (await client.get("/__mock/journal", params={"limit": 3})).json()
    assert [(e["method"], e["path"], e["user"], e["status"], e["operation_id"])
            for e in entries] == [
        ("GET", SETTINGS, "member", 200, "get-notifications-settings"),
        ("GET", SETTINGS, None, 401, None),
        ("GET", "/api/v2/nope", None, 404, None)]
    assert all(e["latency_ms"] >= 0 for e in entries)
    assert (await client.delete("/__mock/journal")).status_code == 204
    assert [e["path"] for e in (await client.get("/__mock/journal")).json()] == [
        "/__mock/journal"]


async def test_the_journal_is_bounded() -> None:
    mock = MockServer(MockConfig(journal_size=3))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock.app),
                                 base_url="http://localhost") as client:
        for _ in range(5):
            await client.get(SETTINGS, headers=auth(OWNER))
        assert len((await client.get("/__mock/journal")).json()) == 3


async def test_faults_are_added_listed_and_removed(client: httpx.AsyncClient) -> None:
    added = await client.post("/__mock/faults", json={
        "operation_id": "get-notifications-settings", "status": 503, "times": 2})
    assert added.status_code == 201
    fault = added.json()
    assert (fault["status"], fault["times"], fault["percent"]) == (503, 2, 100)
    assert (await client.get("/__mock/faults")).json() == [fault]
    assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 503
    assert (await client.get("/__mock/faults")).json()[0]["times"] == 1
    assert (await client.delete(f"/__mock/faults/{fault['id']}")).status_code == 204
    assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 200
    assert (await client.delete(f"/__mock/faults/{fault['id']}")).status_code == 404


async def test_clearing_faults_removes_all(client: httpx.AsyncClient) -> None:
    for status in (500, 502):
        await client.post("/__mock/faults", json={"status": status})
    assert (await client.delete("/__mock/faults")).status_code == 204
    assert (await client.get("/__mock/faults")).json() == []


@pytest.mark.parametrize(("fault", "detail"), [
    ({"operation_id": "no-such-operation", "status": 500}, "is not an operationId"),
    ({"operation_id": "*"}, "needs a status, a latency or drop"),
    ({"status": 200}, "200 is less than the minimum of 400"),
    ({"latency_ms": [500, 100]}, "0 <= min <= max"),
    ({"status": 500, "percent": 0}, "less than or equal to the minimum of 0"),
    ({"status": 500, "colour": "red"}, "Additional properties are not allowed"),
], ids=["unknown-operation", "no-effect", "not-an-error", "inverted-latency", "zero-percent",
        "unknown-field"])
async def test_a_bad_fault_is_refused_with_a_reason(client: httpx.AsyncClient, fault: dict,
                                                    detail: str) -> None:
    response = await client.post("/__mock/faults", json=fault)
    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert (await client.get("/__mock/faults")).json() == []


async def test_without_control_the_api_is_absent() -> None:
    mock = MockServer(MockConfig(control=False))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock.app),
                                 base_url="http://localhost") as client:
        response = await client.post("/__mock/reset")
        assert (response.status_code, response.json()) == (404, {"message": "Route not found."})


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"Mock-Control-Token": "wrong"}, 401), ({"Mock-Control-Token": "s3cret"}, 200)])
async def test_a_control_token_guards_the_control_api(headers: dict, status: int) -> None:
    mock = MockServer(MockConfig(control_token="s3cret"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mock.app),
                                 base_url="http://localhost") as client:
        response = await client.get("/__mock/faults", headers=headers)
        assert response.status_code == status
        assert (await client.get(SETTINGS, headers=auth(OWNER))).status_code == 200


@pytest.mark.parametrize(("origin", "status"), [
    ("http://evil.example", 403), ("http://localhost.evil.example", 403),
    ("http://localhost:5173", 204), (None, 204)])
async def test_pages_from_other_origins_cannot_drive_the_control_api(
        client: httpx.AsyncClient, origin: str | None, status: int) -> None:
    await client.put(SETTINGS, json={"notifier_paused": True}, headers=auth(OWNER))
    headers = {"Origin": origin} if origin else {}
    response = await client.post("/__mock/reset", headers=headers)
    assert response.status_code == status, response.text
    paused = (await client.get(SETTINGS, headers=auth(OWNER))).json()["notifier_paused"]
    assert paused is (status == 403), "a refused reset must change nothing"


@pytest.mark.parametrize(("args", "starts"), [
    (["--host", "0.0.0.0"], False),
    (["--host", "::"], False),
    (["--host", "0.0.0.0", "--no-control"], True),
    (["--host", "0.0.0.0", "--control-token", "s3cret"], True),
    (["--host", "127.0.0.1"], True),
    (["--host", "localhost"], True),
])
def test_off_loopback_the_control_api_needs_a_token_or_nothing(args: list[str],
                                                               starts: bool) -> None:
    parsed = build_parser().parse_args(args)
    if starts:
        _check_exposure(parsed.host, config_from(parsed))
    else:
        with pytest.raises(ValueError, match="add --control-token SECRET, or --no-control"):
            _check_exposure(parsed.host, config_from(parsed))
