"""Fixture sets: a broken file is refused naming file, place and value; state.yaml seeds state."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mock_server.config import DEFAULT_FIXTURES, MockConfig
from mock_server.fixtures import FixtureError, load_seed
from mock_server.server import MockServer
from tests.conftest import MEMBER, OWNER, auth
from tests.helpers import expect_empty, expect_json

DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"
ADMIN_ID = "5f8b8d7e-7d1a-4b0e-9d35-0c9b2a1f3e11"
OTP = "62f86a30-2330-4b61-a26d-311ff3b608cf"
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
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
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
