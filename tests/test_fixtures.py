"""Fixture sets: a broken file is refused naming file, place and value; state.yaml seeds state."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import yaml

from mock_server.config import DEFAULT_FIXTURES, MockConfig
from mock_server.deployment import DEFAULT_ACCESS_URL
from mock_server.fixtures import FixtureError, load_seed
from mock_server.server import MockServer
from tests.conftest import MEMBER, OWNER, auth
from tests.helpers import expect_empty, expect_json, settled

DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"
ADMIN_ID = "5f8b8d7e-7d1a-4b0e-9d35-0c9b2a1f3e11"
OTP = "62f86a30-2330-4b61-a26d-311ff3b608cf"
OTHER_FIXTURES = Path(__file__).parent / "fixtures" / "other"
Edit = Callable[[dict[str, Any]], object]


@pytest.fixture
def fixture_dir(tmp_path: Path) -> Path:
    """A private copy of the default fixture set, to break."""
    target = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, target)
    return target


def edit(directory: Path, name: str, change: Edit) -> None:
    path = directory / name
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(document)
    path.write_text(yaml.safe_dump(document), encoding="utf-8")


def token(user: int, index: int, value: object) -> Edit:
    return lambda doc: doc["users"][user]["tokens"].__setitem__(index, value)


def user_field(user: int, field: str, value: object) -> Edit:
    return lambda doc: doc["users"][user].__setitem__(field, value)


def template_field(template: int, field: str, value: object) -> Edit:
    return lambda doc: doc["templates"][template].__setitem__(field, value)


@pytest.mark.parametrize(("name", "change", "message"), [
    pytest.param("users.yaml", token(0, 0, "short-token"),
                 "users.yaml: users/0/tokens/0: 'short-token' does not match "
                 "'^[^-]{10}-[^-]{22}$'", id="token-too-short"),
    pytest.param("users.yaml", token(1, 0, "Abcdefghij-a-b"),
                 "users.yaml: users/1/tokens/0: 'Abcdefghij-a-b' does not match", id="three-parts"),
    pytest.param("users.yaml", token(0, 1, {"value": "x-y", "expires_at": "2025-01-01T00:00:00Z"}),
                 "users.yaml: users/0/tokens/1/value: 'x-y' does not match", id="token-object"),
    pytest.param("users.yaml", token(0, 1, {"value": "AdminExpir-expiredSecretValue0000",
                                            "expires_at": "soon"}),
                 "users.yaml: users/0/tokens/1/expires_at: 'soon' is not a 'date-time'",
                 id="bad-expiry"),
    pytest.param("users.yaml", user_field(1, "id", "not-a-uuid"),
                 "users.yaml: users/1/id: 'not-a-uuid' is not a 'uuid'", id="bad-user-id"),
    pytest.param("users.yaml", user_field(1, "username", "max member"),
                 "users.yaml: users/1/username: 'max member' does not match", id="bad-username"),
    pytest.param("users.yaml", user_field(1, "status", "deleted"),
                 "users.yaml: users/1/status: 'deleted' is not one of", id="bad-status"),
    pytest.param("users.yaml", user_field(2, "age", 3),
                 "users.yaml: users/2: Additional properties are not allowed ('age' was "
                 "unexpected)", id="unknown-field"),
    pytest.param("users.yaml", lambda doc: doc.__setitem__("users", []),
                 "users.yaml: users: [] should be non-empty", id="no-users"),
    pytest.param("users.yaml", user_field(1, "id", ADMIN_ID),
                 f"users.yaml: users/1/id: id '{ADMIN_ID}' is already at users/0/id",
                 id="duplicate-user-id"),
    pytest.param("users.yaml", user_field(1, "id", ADMIN_ID.upper()),
                 f"users.yaml: users/1/id: id '{ADMIN_ID}' is already at users/0/id",
                 id="duplicate-user-id-other-case"),
    pytest.param("users.yaml", user_field(2, "username", "ADMIN"),
                 "users.yaml: users/2/username: username 'ADMIN' is already at users/0/username",
                 id="duplicate-username-any-case"),
    pytest.param("users.yaml", token(1, 0, "AdminToken-otherSecretValue000000"),
                 "users.yaml: users/1/tokens/0: token id 'AdminToken' is already at "
                 "users/0/tokens/0", id="duplicate-token-id"),
    pytest.param("templates.yaml", template_field(1, "id", OTP),
                 f"templates.yaml: templates/1/id: id '{OTP}' is already at templates/0/id",
                 id="duplicate-template-id"),
    pytest.param("templates.yaml", template_field(0, "method", "email"),
                 "templates.yaml: templates/0/method: 'email' is not one of ['', 'smtp', "
                 "'webhook']", id="bad-method"),
    pytest.param("templates.yaml", template_field(3, "enabled_by_default", "yes"),
                 "templates.yaml: templates/3/enabled_by_default: 'yes' is not of type "
                 "'boolean'", id="bad-flag"),
    pytest.param("templates.yaml", lambda doc: doc["templates"][2].pop("kind"),
                 "templates.yaml: templates/2: 'kind' is a required property", id="missing-kind"),
])
def test_a_broken_fixture_names_file_place_and_value(fixture_dir: Path, name: str,
                                                     change: Edit, message: str) -> None:
    edit(fixture_dir, name, change)
    with pytest.raises(FixtureError) as caught:
        load_seed(fixture_dir)
    assert str(caught.value).startswith(f"{fixture_dir / name}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(("state", "message"), [
    pytest.param(f"preferences:\n  nobody:\n    {DELETED}: true\n",
                 "state.yaml: preferences/nobody: no such user; users are admin, bob, member, sam",
                 id="unknown-user"),
    pytest.param("preferences:\n  member:\n    00000000-0000-0000-0000-000000000000: true\n",
                 "state.yaml: preferences/member/00000000-0000-0000-0000-000000000000: names no "
                 "template in templates.yaml", id="unknown-template"),
    pytest.param("preferences:\n  member:\n    nope: true\n",
                 "state.yaml: preferences/member/nope: names no template", id="not-a-uuid"),
    pytest.param(f"preferences:\n  member:\n    {DELETED}: maybe\n",
                 f"state.yaml: preferences/member/{DELETED}: 'maybe' is not of type 'boolean'",
                 id="not-a-bool"),
    pytest.param("settings:\n  notifier_paused: yes please\n",
                 "state.yaml: settings/notifier_paused: 'yes please' is not of type 'boolean'",
                 id="bad-setting"),
    pytest.param("outbox: []\n", "state.yaml: (top level): Additional properties are not "
                 "allowed ('outbox' was unexpected)", id="unknown-section"),
    pytest.param("- 1\n", "state.yaml: (top level): [1] is not of type 'object'", id="a-list"),
])
def test_a_broken_state_file_is_refused(fixture_dir: Path, state: str, message: str) -> None:
    (fixture_dir / "state.yaml").write_text(state, encoding="utf-8")
    with pytest.raises(FixtureError) as caught:
        load_seed(fixture_dir)
    assert message in str(caught.value)


@pytest.mark.parametrize(("name", "content", "message"), [
    pytest.param("users.yaml", b"users: [ {", "users.yaml: not valid YAML: while parsing",
                 id="bad-yaml"),
    pytest.param("templates.yaml", b"\xff\xfe", "templates.yaml: not valid YAML: 'utf-8' codec",
                 id="not-utf8"),
    pytest.param("users.yaml", b"", "users.yaml: (top level): 'users' is a required property",
                 id="empty-file"),
])
def test_unreadable_files_are_refused(fixture_dir: Path, name: str, content: bytes,
                                      message: str) -> None:
    (fixture_dir / name).write_bytes(content)
    with pytest.raises(FixtureError) as caught:
        load_seed(fixture_dir)
    assert message in str(caught.value)


@pytest.mark.parametrize("name", ["users.yaml", "templates.yaml"])
def test_a_missing_file_is_named(fixture_dir: Path, name: str) -> None:
    (fixture_dir / name).unlink()
    with pytest.raises(FixtureError) as caught:
        load_seed(fixture_dir)
    assert str(caught.value) == (f"{fixture_dir / name}: missing; a fixture set needs users.yaml "
                                 "and templates.yaml")


def test_a_broken_fixture_stops_the_mock_before_it_serves(fixture_dir: Path) -> None:
    edit(fixture_dir, "users.yaml", token(0, 0, "bad"))
    with pytest.raises(FixtureError, match="users/0/tokens/0"):
        MockServer(MockConfig(fixtures=fixture_dir))


def test_unquoted_yaml_timestamps_are_read_as_utc(fixture_dir: Path) -> None:
    path = fixture_dir / "users.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'created_at: "2025-01-15T08:00:00Z"', "created_at: 2025-01-15T08:00:00Z"),
        encoding="utf-8")
    assert load_seed(fixture_dir).users[0].created_at.isoformat() == "2025-01-15T08:00:00+00:00"


def test_the_default_set_loads(fixture_dir: Path) -> None:
    seed = load_seed(fixture_dir)
    assert [u.username for u in seed.users] == ["admin", "member", "bob", "sam"]
    assert len(seed.keys) == 5
    assert len(seed.templates) == 30
    assert seed.settings_json == ""
    assert seed.preferences == {}


@pytest.mark.anyio
async def test_state_yaml_seeds_settings_and_preferences(fixture_dir: Path) -> None:
    (fixture_dir / "state.yaml").write_text(
        f"settings:\n  notifier_paused: true\npreferences:\n  member:\n    {DELETED}: true\n",
        encoding="utf-8")
    mock = MockServer(MockConfig(fixtures=fixture_dir))
    transport = httpx.ASGITransport(app=mock.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        expect_json(await client.get("/api/v2/notifications/settings", headers=auth(MEMBER)),
                    200, {"notifier_paused": True})
        settings = await client.put("/api/v2/notifications/settings", headers=auth(MEMBER),
                                    content=b'{"notifier_paused":true}')
        expect_empty(settings, 304)  # stored text is canonical, so equal means 304
        preferences = await client.get("/api/v2/users/member/notifications/preferences",
                                       headers=auth(OWNER))
        assert [(p["id"], p["disabled"]) for p in preferences.json()] == [(DELETED, True)]
        expect_json(await client.get("/api/v2/users/bob/notifications/preferences",
                                     headers=auth(OWNER)), 200, None)


@pytest.mark.parametrize(("state", "stored"), [
    pytest.param("settings: {}\n", '{"notifier_paused":false}', id="empty-settings-is-false"),
    pytest.param("", "", id="empty-file-is-nothing"),
    pytest.param("preferences: {}\n", "", id="no-settings-section"),
])
def test_state_settings_text(fixture_dir: Path, state: str, stored: str) -> None:
    (fixture_dir / "state.yaml").write_text(state, encoding="utf-8")
    assert load_seed(fixture_dir).settings_json == stored


def test_mock_server_hands_out_working_tokens() -> None:
    mock = MockServer()
    assert mock.token(owner=True) == OWNER
    assert mock.token(owner=False) == MEMBER
    with pytest.raises(RuntimeError, match="not started"):
        _ = mock.url


def test_an_unquoted_yaml_date_is_a_date_at_midnight(fixture_dir: Path) -> None:
    users = fixture_dir / "users.yaml"
    users.write_text(users.read_text().replace('created_at: "2025-01-15T08:00:00Z"',
                                               "created_at: 2025-01-15"))
    admin = load_seed(fixture_dir).users[0]
    assert admin.created_at.isoformat() == "2025-01-15T00:00:00+00:00"


@pytest.mark.parametrize("value", ["!!set {a: null}", "!!binary aGVsbG8="])
def test_a_yaml_value_json_cannot_hold_is_a_fixture_error(fixture_dir: Path, value: str) -> None:
    users = fixture_dir / "users.yaml"
    users.write_text(users.read_text().replace("name: Ada Admin", f"name: {value}"))
    with pytest.raises(FixtureError, match=r"users\.yaml: .* use plain strings"):
        load_seed(fixture_dir)


# inbox.yaml: the inbox each user starts with ----------------------------------------------

LOADED = datetime(2026, 12, 1, 11, 4, 43, 250000, tzinfo=UTC)  # an hour starting at 11:00:00
AUTOBUILD = "381df2a9-c0c0-4749-420f-80a9280c66f9"  # Workspace Autobuild Failed
CUSTOM = "39b1e189-c857-4b0c-877a-511144c18516"
TROUBLESHOOTING = "c425f63e-716a-4bf4-ae24-78348f706c3f"
REPORT = "34a20db2-e9cc-4a93-b0e4-8569699d7a00"  # Report: Workspace Builds Failed (uses .Data)
ENTRY_ID = "0f0e0d0c-0b0a-4908-8706-050403020100"
STORY_TEMPLATES = {  # the kinds of notification the brief's bell shows
    "f517da0b-cdc9-410f-ab89-a86107c420ed", AUTOBUILD, "0ea69165-ec14-4314-91f1-69566ac3c5a0",
    "f40fae84-55a2-42cd-99fa-b41c1ca64894", TROUBLESHOOTING,
    "4e19c0ac-94e1-4532-9515-d1801aa283b2", CUSTOM}


def entry(**fields: object) -> dict[str, object]:
    """One valid inbox.yaml entry (bob's autobuild failed, two hours ago), with changes."""
    return {"id": ENTRY_ID, "user": "bob", "template": AUTOBUILD,
            "labels": {"name": "dev", "reason": "autostart"}, "ago": "2h", "read": False,
            **fields}


def write_inbox(directory: Path, *entries: dict[str, object]) -> None:
    (directory / "inbox.yaml").write_text(yaml.safe_dump({"inbox": list(entries)}),
                                          encoding="utf-8")


def test_the_default_inbox_is_five_per_active_user_two_unread() -> None:
    seed = load_seed(DEFAULT_FIXTURES, now=LOADED)
    by_user = {user.username: [r for r in seed.inbox if r["user_id"] == str(user.id)]
               for user in seed.users}
    assert {name: len(rows) for name, rows in by_user.items()} == {
        "admin": 5, "member": 5, "bob": 5, "sam": 0}
    assert {name: sum(r["read_at"] is None for r in rows) for name, rows in by_user.items()} == {
        "admin": 2, "member": 2, "bob": 2, "sam": 0}
    assert {r["template_id"] for r in seed.inbox} >= STORY_TEMPLATES
    assert len({r["id"] for r in seed.inbox}) == 15
    for row in seed.inbox:
        assert row["icon"] == "", "the fallback icon is the API's business"
        assert row["title"]
        if row["template_id"] != TROUBLESHOOTING:  # "This is a test notification."
            assert "**" in row["content"], "Markdown, as Coder's templates and stories have"
        assert "<no value>" not in json.dumps(row)
        if row["template_id"] != CUSTOM:  # the Custom Notification has no actions
            assert row["actions"]
        for action in row["actions"]:
            assert action["url"].startswith(DEFAULT_ACCESS_URL)
    assert next(r["targets"] for r in seed.inbox if r["template_id"] == AUTOBUILD)[1] == ADMIN_ID


def test_inbox_times_count_back_from_the_hour_of_loading() -> None:
    rows = {r["id"]: r for r in load_seed(DEFAULT_FIXTURES, now=LOADED).inbox}
    created = rows["da941a54-e0e9-43c8-a929-c75418f6c548"]  # the admin's custom one, ago: 20m
    assert (created["created_at"], created["read_at"]) == ("2026-12-01T10:40:00Z", None)
    read = rows["7d48e944-5728-4718-a76b-5ddef07b4b3a"]  # the admin's "user created", ago: 6d
    assert (read["created_at"], read["read_at"]) == ("2026-11-25T11:00:00Z",
                                                     "2026-11-28T11:00:00Z"), "read halfway"
    assert rows["37a1abdb-d207-4b5f-807c-e1372baaa617"]["created_at"] == "2026-12-01T09:30:00Z"
    assert all(datetime.fromisoformat(r["created_at"]) < LOADED for r in rows.values())


def test_loads_in_the_same_hour_give_the_same_inbox() -> None:
    first = load_seed(DEFAULT_FIXTURES, now=LOADED).inbox
    assert load_seed(DEFAULT_FIXTURES, now=LOADED.replace(minute=59, second=59)).inbox == first
    later = load_seed(DEFAULT_FIXTURES, now=LOADED + timedelta(hours=1)).inbox
    assert [datetime.fromisoformat(b["created_at"]) - datetime.fromisoformat(a["created_at"])
            for a, b in zip(first, later, strict=True)] == [timedelta(hours=1)] * 15


def test_without_a_clock_the_inbox_is_recent() -> None:
    newest = max(datetime.fromisoformat(r["created_at"]) for r in load_seed(DEFAULT_FIXTURES).inbox)
    assert timedelta(0) < datetime.now(UTC) - newest < timedelta(hours=2)


def test_reset_returns_to_the_same_inbox_rows() -> None:
    mock = MockServer()
    seeded = settled(mock.store.snapshot())["inbox"]
    assert len(seeded) == 15
    member = mock.store.seed.users[1]
    settled(mock.store.mark_all_read(member.id))
    assert settled(mock.store.snapshot())["inbox"] != seeded
    settled(mock.store.reset())
    assert settled(mock.store.snapshot())["inbox"] == seeded


def test_inbox_yaml_is_optional() -> None:
    assert load_seed(OTHER_FIXTURES).inbox == ()


def test_an_entry_is_rendered_with_labels_data_targets_and_the_user(fixture_dir: Path) -> None:
    target = "5f8b8d7e-7d1a-4b0e-9d35-0c9b2a1f3e11"
    write_inbox(fixture_dir, entry(targets=[target.upper()], read=True, ago="1d2h30m"),
                entry(id=str(UUID(int=7)), template=REPORT, labels={}, ago="45s",
                      data={"report_frequency": "week", "templates": [{"name": "a"}, {}]}))
    autobuild, report = load_seed(fixture_dir, now=LOADED).inbox
    assert autobuild == {
        "id": ENTRY_ID, "user_id": "2c3d4e5f-6a7b-4c8d-9e0f-a1b2c3d4e5f6",
        "template_id": AUTOBUILD, "targets": [target],
        "title": 'Workspace "dev" autobuild failed',
        "content": 'Automatic build of your workspace **dev** failed.\n\nThe specified reason was '
                   '"**autostart**".',
        "actions": [{"label": "View workspace", "url": f"{DEFAULT_ACCESS_URL}/@bob/dev"}],
        "icon": "", "read_at": "2026-11-30T21:45:00Z", "created_at": "2026-11-30T08:30:00Z"}
    assert "over the last week" in report["content"]
    assert report["actions"][0]["url"].count("...id%3A<workspace_id>...") == 2
    assert report["created_at"] == "2026-12-01T10:59:15Z"


@pytest.mark.parametrize(("entries", "message"), [
    pytest.param([entry(user="nobody")], "inbox/0/user: no such user 'nobody'; users are admin, "
                 "bob, member, sam", id="unknown-user"),
    pytest.param([entry(template=str(UUID(int=1)))], f"inbox/0/template: {UUID(int=1)} names no "
                 "template in templates.yaml", id="unknown-template"),
    pytest.param([entry(), entry(id=ENTRY_ID)], f"inbox/1/id: id '{ENTRY_ID}' is already at "
                 "inbox/0/id; each must be unique", id="duplicate-id"),
    pytest.param([entry(), entry(id=str(UUID(int=9))), entry(id=ENTRY_ID.upper())],
                 f"inbox/2/id: id '{ENTRY_ID}' is already at inbox/0/id",
                 id="duplicate-id-other-case"),
    pytest.param([entry(labels={"name": 'dev"', "reason": "x"})], "inbox/0: template 'Workspace "
                 f"Autobuild Failed' ({AUTOBUILD}) does not render: rendered actions are not JSON",
                 id="does-not-render"),
    pytest.param([entry(labels={"name": "dev"})], "inbox/0/labels: template 'Workspace Autobuild "
                 f"Failed' ({AUTOBUILD}) renders '<no value>' in its content: give every label "
                 "(and data field) it uses; labels are name", id="missing-label"),
    pytest.param([entry(template=REPORT, labels={})], "inbox/0/labels: template 'Report: "
                 "Workspace Builds Failed'", id="missing-data"),
    pytest.param([entry(template=OTP, labels={"one_time_passcode": "1"})], "inbox/0/template: "
                 "the One-Time Passcode is never sent to the inbox", id="one-time-passcode"),
    pytest.param([entry(ago="0s")], "inbox/0/ago: must be more than 0s", id="no-time-ago"),
    pytest.param([entry(ago="2 hours")], "inbox/0/ago: '2 hours' does not match",
                 id="ago-in-words"),
    pytest.param([entry(ago="h")], "inbox/0/ago: 'h' does not match", id="ago-without-number"),
    pytest.param([entry(ago="2h1d")], "inbox/0/ago: '2h1d' does not match", id="ago-out-of-order"),
    pytest.param([entry(labels={"name": "dev", "reason": 90})],
                 "inbox/0/labels/reason: 90 is not of type 'string'", id="label-not-a-string"),
    pytest.param([entry(targets=["nope"])], "inbox/0/targets/0: 'nope' is not a 'uuid'",
                 id="bad-target"),
    pytest.param([entry(id="nope")], "inbox/0/id: 'nope' is not a 'uuid'", id="bad-id"),
    pytest.param([{k: v for k, v in entry().items() if k != "read"}],
                 "inbox/0: 'read' is a required property", id="missing-read"),
    pytest.param([entry(read="yes")], "inbox/0/read: 'yes' is not of type 'boolean'",
                 id="read-not-a-bool"),
    pytest.param([entry(icon="x")], "inbox/0: Additional properties are not allowed ('icon' "
                 "was unexpected)", id="unknown-field"),
    pytest.param([entry(created_at="2025-01-01T00:00:00Z")], "inbox/0: Additional properties "
                 "are not allowed ('created_at' was unexpected)", id="absolute-time"),
])
def test_a_broken_inbox_entry_is_named(fixture_dir: Path, entries: list[dict[str, object]],
                                       message: str) -> None:
    write_inbox(fixture_dir, *entries)
    with pytest.raises(FixtureError) as caught:
        load_seed(fixture_dir)
    assert str(caught.value).startswith(f"{fixture_dir / 'inbox.yaml'}: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(("content", "message"), [
    ("", "inbox.yaml: (top level): 'inbox' is a required property"),
    ("inbox: {}\n", "inbox.yaml: inbox: {} is not of type 'array'"),
    ("inbox: [\n", "inbox.yaml: not valid YAML"),
], ids=["empty", "not-a-list", "bad-yaml"])
def test_a_broken_inbox_file_is_named(fixture_dir: Path, content: str, message: str) -> None:
    (fixture_dir / "inbox.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(FixtureError, match=re.escape(message)):
        load_seed(fixture_dir)


def test_an_empty_inbox_list_is_an_empty_inbox(fixture_dir: Path) -> None:
    write_inbox(fixture_dir)
    assert load_seed(fixture_dir).inbox == ()


@pytest.mark.anyio
async def test_a_broken_inbox_is_refused_by_the_control_api(fixture_dir: Path) -> None:
    write_inbox(fixture_dir, entry(user="nobody"))
    mock = MockServer()
    transport = httpx.ASGITransport(app=mock.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        before = (await client.get("/__mock/state")).json()
        response = await client.put("/__mock/fixtures", json={"path": str(fixture_dir)})
        assert response.status_code == 400
        assert "inbox.yaml: inbox/0/user: no such user 'nobody'" in response.json()["detail"]
        assert (await client.get("/__mock/state")).json() == before
