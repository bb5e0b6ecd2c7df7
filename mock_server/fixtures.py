"""Fixture sets: a directory of YAML files (users, templates, optional state and inbox) read
into a Seed."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import jsonschema
import yaml

from mock_server.inbox_fixtures import DURATION, InboxEntryError, inbox_rows
from mock_server.models import ApiKey, Seed, Template, User
from mock_server.state.model import settings_text

_UUID = {"type": "string", "format": "uuid"}
_TIME = {"type": "string", "format": "date-time"}
_TOKEN = {"type": "string", "pattern": r"^[^-]{10}-[^-]{22}$"}
_SCHEMAS: dict[str, dict[str, Any]] = {
    "users.yaml": {
        "type": "object", "required": ["users"], "additionalProperties": False,
        "properties": {"users": {"type": "array", "minItems": 1, "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "username", "email"],
            "properties": {
                "id": _UUID, "username": {"type": "string", "pattern": r"^[A-Za-z0-9-_.]+$"},
                "email": {"type": "string"}, "name": {"type": "string"},
                "roles": {"type": "array", "items": {"type": "string"}},
                "status": {"enum": ["active", "dormant", "suspended"]},
                "login_type": {"type": "string"}, "created_at": _TIME,
                "tokens": {"type": "array", "items": {"oneOf": [_TOKEN, {
                    "type": "object", "required": ["value"], "additionalProperties": False,
                    "properties": {"value": _TOKEN, "expires_at": _TIME}}]}},
            }}}},
    },
    "templates.yaml": {
        "type": "object", "required": ["templates"], "additionalProperties": False,
        "properties": {"templates": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "name", "title_template", "body_template", "actions", "group",
                         "method", "kind", "enabled_by_default"],
            "properties": {
                "id": _UUID, "name": {"type": "string"}, "title_template": {"type": "string"},
                "body_template": {"type": "string"}, "actions": {"type": "string"},
                "group": {"type": "string"}, "method": {"enum": ["", "smtp", "webhook"]},
                "kind": {"enum": ["system", "custom"]}, "enabled_by_default": {"type": "boolean"},
                "feature": {"type": "string"},
            }}}},
    },
    "state.yaml": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "settings": {"type": "object", "additionalProperties": False,
                         "properties": {"notifier_paused": {"type": "boolean"}}},
            "preferences": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": {"type": "boolean"}}},
        },
    },
    "inbox.yaml": {
        "type": "object", "required": ["inbox"], "additionalProperties": False,
        "properties": {"inbox": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["id", "user", "template", "labels", "ago", "read"],
            "properties": {
                "id": _UUID, "user": {"type": "string"}, "template": _UUID,
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "data": {"type": "object"}, "targets": {"type": "array", "items": _UUID},
                "ago": {"type": "string", "pattern": DURATION}, "read": {"type": "boolean"},
            }}}},
    },
}


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml parses ~10x faster


def read_yaml(path: Path) -> Any:
    """Parse a YAML file safely, with libyaml when it is there."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


class FixtureError(ValueError):
    """A fixture set that cannot be loaded; the message names the file, the place and the value."""


def load_seed(directory: Path, *, now: datetime | None = None) -> Seed:
    """Read and check a fixture set, so that a broken file is reported before the server starts.

    `now` is the moment of loading, which inbox.yaml's relative times count back from.
    """
    users_doc = _read(directory, "users.yaml")
    templates_doc = _read(directory, "templates.yaml")
    state_doc = _read(directory, "state.yaml", optional=True)
    inbox_doc = _read(directory, "inbox.yaml", optional=True)
    users = tuple(_user(entry) for entry in users_doc["users"])
    keys = tuple(_key(token, user.id) for user, entry in zip(users, users_doc["users"],
                                                            strict=True)
                 for token in entry.get("tokens", []))
    templates = tuple(_template(entry) for entry in templates_doc["templates"])
    token_places = [f"users/{i}/tokens/{j}" for i, entry in enumerate(users_doc["users"])
                    for j in range(len(entry.get("tokens", [])))]
    _require_unique(directory / "users.yaml", "id",
                    [(f"users/{i}/id", str(u.id)) for i, u in enumerate(users)])
    _require_unique(directory / "users.yaml", "username",
                    [(f"users/{i}/username", u.username) for i, u in enumerate(users)],
                    key=str.lower)
    _require_unique(directory / "users.yaml", "token id",
                    list(zip(token_places, [k.id for k in keys], strict=True)))
    _require_unique(directory / "templates.yaml", "id",
                    [(f"templates/{i}/id", str(t.id)) for i, t in enumerate(templates)])
    try:
        inbox = inbox_rows(inbox_doc.get("inbox", []), users, templates, now or datetime.now(UTC))
    except InboxEntryError as exc:
        raise FixtureError(f"{directory / 'inbox.yaml'}: {exc}") from None
    return Seed(users=users, keys=keys, templates=templates, source=directory.resolve(),
                settings_json=_settings_json(state_doc),
                preferences=_preferences(directory, state_doc, users, templates), inbox=inbox)


def _read(directory: Path, name: str, *, optional: bool = False) -> dict[str, Any]:
    path = directory / name
    if not path.is_file():
        if optional:
            return {}
        raise FixtureError(f"{path}: missing; a fixture set needs users.yaml and templates.yaml")
    try:
        document = read_yaml(path) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise FixtureError(f"{path}: not valid YAML: {exc}") from None
    try:
        document = json.loads(json.dumps(document, default=_yaml_scalar))
    except TypeError as exc:
        raise FixtureError(f"{path}: {exc}; use plain strings, numbers, booleans, lists and "
                           "mappings") from None
    validator = jsonschema.Draft7Validator(_SCHEMAS[name],
                                           format_checker=jsonschema.FormatChecker())
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise FixtureError(f"{path}: {where}: {error.message}")
    return document


def _yaml_scalar(value: object) -> str:
    """YAML turns unquoted dates and times into objects; keep them as RFC 3339 text."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).isoformat()
    raise TypeError(f"unsupported YAML value {value!r}")


def _user(entry: Mapping[str, Any]) -> User:
    return User(id=UUID(entry["id"]), username=entry["username"], email=entry["email"],
                name=entry.get("name", ""), roles=tuple(entry.get("roles", ())),
                status=entry.get("status", "active"),
                login_type=entry.get("login_type", "password"),
                created_at=_time(entry.get("created_at", "2025-01-01T00:00:00Z")))


def _key(token: str | Mapping[str, str], user_id: UUID) -> ApiKey:
    value = token if isinstance(token, str) else token["value"]
    expires = None if isinstance(token, str) or "expires_at" not in token else token["expires_at"]
    key_id, secret = value.split("-")
    return ApiKey(id=key_id, secret=secret, user_id=user_id,
                  expires_at=_time(expires) if expires else None)


def _template(entry: Mapping[str, Any]) -> Template:
    return Template(id=UUID(entry["id"]), name=entry["name"],
                    title_template=entry["title_template"], body_template=entry["body_template"],
                    actions=entry["actions"], group=entry["group"], method=entry["method"],
                    kind=entry["kind"], enabled_by_default=entry["enabled_by_default"],
                    feature=entry.get("feature", ""))


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _settings_json(state: Mapping[str, Any]) -> str:
    """The stored settings text exactly as Coder stores it (canonical JSON), or "" for none."""
    if "settings" not in state:
        return ""
    return settings_text(state["settings"].get("notifier_paused", False))


def _preferences(directory: Path, state: Mapping[str, Any], users: tuple[User, ...],
                 templates: tuple[Template, ...]) -> dict[UUID, dict[UUID, bool]]:
    by_name = {user.username: user.id for user in users}
    known = {template.id for template in templates}
    result: dict[UUID, dict[UUID, bool]] = {}
    for username, choices in state.get("preferences", {}).items():
        if username not in by_name:
            raise FixtureError(f"{directory / 'state.yaml'}: preferences/{username}: no such "
                               f"user; users are {', '.join(sorted(by_name))}")
        for template_id in choices:
            if not _is_uuid(template_id) or UUID(template_id) not in known:
                raise FixtureError(f"{directory / 'state.yaml'}: preferences/{username}/"
                                   f"{template_id}: names no template in templates.yaml")
        result[by_name[username]] = {UUID(key): value for key, value in choices.items()}
    return result


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _require_unique(path: Path, what: str, entries: list[tuple[str, str]], *,
                    key: Callable[[str], str] = str) -> None:
    """Each (place, value) must differ from all before it (as compared by `key`)."""
    seen: dict[str, str] = {}
    for place, value in entries:
        if key(value) in seen:
            raise FixtureError(f"{path}: {place}: {what} {value!r} is already at "
                               f"{seen[key(value)]}; each must be unique")
        seen[key(value)] = place
