"""Dispatch methods, system templates and the test notification."""

from __future__ import annotations

import json

import httpx
import pytest
import yaml

from mock_server.config import DEFAULT_FIXTURES, MockConfig
from mock_server.server import MockServer
from tests.conftest import ADMIN_ID, BOB, MEMBER, OWNER, auth
from tests.helpers import FORBIDDEN_DETAIL, expect_empty, expect_error, expect_json

pytestmark = pytest.mark.anyio

METHODS = "/api/v2/notifications/dispatch-methods"
SYSTEM = "/api/v2/notifications/templates/system"
TEST = "/api/v2/notifications/test"
TROUBLESHOOTING = "c425f63e-716a-4bf4-ae24-78348f706c3f"
FIELDS = ["id", "name", "title_template", "body_template", "actions", "group", "method", "kind",
          "enabled_by_default"]
TASK_NAMES = ["Task Completed", "Task Failed", "Task Idle", "Task Paused", "Task Resumed",
              "Task Working"]
# The default fixture set's system templates without the task ones, as ORDER BY name sorts them.
SYSTEM_NAMES = [
    "One-Time Passcode", "Prebuild Failure Limit Reached", "Prebuilt Workspace Resource Replaced",
    "Report: Workspace Builds Failed", "Template Deleted", "Template Deprecated",
    "Troubleshooting Notification", "User account activated", "User account created",
    "User account deleted", "User account suspended", "Workspace Autobuild Failed",
    "Workspace Created", "Workspace Deleted", "Workspace Manual Build Failed",
    "Workspace Manually Updated", "Workspace Marked as Dormant", "Workspace Marked for Deletion",
    "Workspace Out Of Disk", "Workspace Out Of Memory", "Workspace Updated Automatically",
    "Your account has been activated", "Your account has been suspended",
]
TOKENS = pytest.mark.parametrize("token", [OWNER, MEMBER], ids=["owner", "member"])


def fixture_templates() -> dict[str, dict[str, object]]:
    """fixtures/templates.yaml read directly, by name."""
    document = yaml.safe_load((DEFAULT_FIXTURES / "templates.yaml").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in document["templates"]}


# Dispatch methods --------------------------------------------------------------------------

@TOKENS
async def test_dispatch_methods_is_one_object(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(METHODS, headers=auth(token))
    expect_json(response, 200, {"available": ["smtp", "webhook"], "default": "smtp"})
    assert response.content == b'{"available":["smtp","webhook"],"default":"smtp"}\n'


@pytest.mark.parametrize("mock_config", [MockConfig(default_method="webhook")], ids=["webhook"])
async def test_the_default_method_comes_from_config(client: httpx.AsyncClient) -> None:
    response = await client.get(METHODS, headers=auth(MEMBER))
    expect_json(response, 200, {"available": ["smtp", "webhook"], "default": "webhook"})


def test_an_unknown_default_method_is_refused() -> None:
    with pytest.raises(ValueError, match="default_method 'inbox' is not one of smtp, webhook"):
        MockConfig(default_method="inbox")


# System templates --------------------------------------------------------------------------

@TOKENS
async def test_system_templates_sorted_by_name(client: httpx.AsyncClient, token: str) -> None:
    response = await client.get(SYSTEM, headers=auth(token))
    assert response.status_code == 200
    names = [template["name"] for template in response.json()]
    assert names == SYSTEM_NAMES


async def test_templates_are_rendered_as_codersdk_does(client: httpx.AsyncClient) -> None:
    response = await client.get(SYSTEM, headers=auth(MEMBER))
    expected = fixture_templates()
    for template in response.json():
        assert list(template) == FIELDS
        source = expected[template["name"]]
        assert template == {field: source[field] for field in FIELDS}
        assert template["kind"] == "system"
        assert isinstance(json.loads(template["actions"]), list)
        assert isinstance(template["enabled_by_default"], bool)


@pytest.mark.parametrize(("name", "method", "enabled"), [
    ("One-Time Passcode", "smtp", True),
    ("Workspace Deleted", "", True),
    ("Workspace Created", "", False),
    ("Workspace Manually Updated", "", False),
    ("Troubleshooting Notification", "", True),
])
async def test_method_null_is_empty_and_defaults_are_kept(
        client: httpx.AsyncClient, name: str, method: str, enabled: bool) -> None:
    templates = {t["name"]: t for t in (await client.get(SYSTEM, headers=auth(OWNER))).json()}
    assert templates[name]["method"] == method
    assert templates[name]["enabled_by_default"] is enabled


async def test_actions_is_json_text_with_jsonb_spacing(client: httpx.AsyncClient) -> None:
    templates = {t["name"]: t for t in (await client.get(SYSTEM, headers=auth(OWNER))).json()}
    actions = templates["Workspace Deleted"]["actions"]
    assert actions.startswith('[{"url": "{{base_url}}/')
    assert json.loads(actions)[0]["label"]


async def test_the_custom_template_is_not_a_system_template(client: httpx.AsyncClient) -> None:
    response = await client.get(SYSTEM, headers=auth(OWNER))
    assert "Custom Notification" not in [t["name"] for t in response.json()]
    assert {t["kind"] for t in response.json()} == {"system"}


async def test_html_in_templates_is_escaped_on_the_wire(client: httpx.AsyncClient) -> None:
    response = await client.get(SYSTEM, headers=auth(OWNER))
    assert b"&" not in response.content
    assert b"\\u0026" in response.content  # One-Time Passcode's URL has `&email=`


async def test_task_templates_are_off_by_default(client: httpx.AsyncClient) -> None:
    names = [t["name"] for t in (await client.get(SYSTEM, headers=auth(OWNER))).json()]
    assert not [name for name in names if name.startswith("Task ")]


@pytest.mark.parametrize("mock_config", [MockConfig(task_templates=True)], ids=["tasks"])
async def test_task_templates_when_configured(client: httpx.AsyncClient) -> None:
    response = await client.get(SYSTEM, headers=auth(MEMBER))
    names = [t["name"] for t in response.json()]
    assert names == sorted(SYSTEM_NAMES + TASK_NAMES)
    assert [t["group"] for t in response.json() if t["name"] in TASK_NAMES] == ["Task Events"] * 6


# Test notification -------------------------------------------------------------------------

async def test_an_owner_sends_a_test_notification(client: httpx.AsyncClient,
                                                  mock: MockServer) -> None:
    expect_empty(await client.post(TEST, headers=auth(OWNER)), 204)
    outbox = await mock.store.outbox()
    assert len(outbox) == 1
    assert outbox[0]["template_id"] == TROUBLESHOOTING
    assert outbox[0]["user_id"] == ADMIN_ID
    assert outbox[0]["username"] == "admin"


async def test_the_request_body_is_not_read(client: httpx.AsyncClient, mock: MockServer) -> None:
    response = await client.post(TEST, headers=auth(OWNER), content=b"{not json")
    expect_empty(response, 204)
    assert len(await mock.store.outbox()) == 1


async def test_each_send_is_enqueued(client: httpx.AsyncClient, mock: MockServer) -> None:
    for _ in range(3):
        expect_empty(await client.post(TEST, headers=auth(OWNER)), 204)
    assert [m["template_id"] for m in await mock.store.outbox()] == [TROUBLESHOOTING] * 3
    assert len({m["id"] for m in await mock.store.outbox()}) == 3


@pytest.mark.parametrize("token", [MEMBER, BOB], ids=["member", "bob"])
async def test_a_member_may_not_send_one(client: httpx.AsyncClient, mock: MockServer,
                                         token: str) -> None:
    response = await client.post(TEST, headers=auth(token))
    expect_error(response, 403, "Forbidden.", FORBIDDEN_DETAIL)
    assert await mock.store.outbox() == []
