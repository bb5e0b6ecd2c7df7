"""The State value: everything that changes at run time, and its one JSON form.

The same JSON is the control API's snapshot, the state file's content and, part by part, what
Redis holds, so a state taken from one backend restores into any other.

Messages (outbox and pending) and inbox rows are kept as JSON-ready dicts: they are written once,
read often, and never interpreted by a backend.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from mock_server.models import Preference, Seed

Message = dict[str, Any]  # one notification message (one method), already JSON-ready
InboxRow = dict[str, Any]  # one inbox notification as stored: codersdk.InboxNotification's JSON
METHODS = ("smtp", "webhook", "inbox")  # the database's notification_method enum
_ROW_STRINGS = ("title", "content", "icon")


@dataclass(frozen=True, slots=True)
class State:
    """Settings, preferences, messages sent and held, inboxes and changed template methods."""

    settings: str = ""  # the canonical JSON Coder stores, "" when never written
    preferences: Mapping[UUID, tuple[Preference, ...]] = field(default_factory=dict)
    outbox: tuple[Message, ...] = ()  # smtp and webhook messages sent, oldest first
    pending: tuple[Message, ...] = ()  # messages held while the notifier is paused
    inbox: Mapping[UUID, tuple[InboxRow, ...]] = field(default_factory=dict)  # oldest first
    template_methods: Mapping[UUID, str] = field(default_factory=dict)  # set through the API
    dedupe: frozenset[str] = frozenset()  # keys of the notifications enqueued, for de-duplication

    @classmethod
    def from_seed(cls, seed: Seed, now: datetime) -> State:
        """The state a fixture set starts from, every seeded preference stored at `now`."""
        return cls(settings=seed.settings_json, preferences={
            user_id: tuple(Preference(tid, disabled, now) for tid, disabled in choices.items())
            for user_id, choices in seed.preferences.items()},
            inbox=group_inbox(parse_inbox_row(row) for row in seed.inbox))

    def to_json(self) -> dict[str, Any]:
        """The JSON form (snapshot, state file, Redis); users in id order, whatever the engine."""
        return {"settings": self.settings,
                "preferences": {str(uid): preferences_json(self.preferences[uid])
                                for uid in sorted(self.preferences, key=str)},
                "outbox": list(self.outbox), "pending": list(self.pending),
                "inbox": [row for uid in sorted(self.inbox, key=str)
                          for row in sorted(self.inbox[uid], key=created_at)],
                "template_methods": {str(tid): method for tid, method in sorted(
                    self.template_methods.items(), key=lambda item: str(item[0]))},
                "dedupe": sorted(self.dedupe)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """Check a whole JSON form before any backend writes it; ValueError names the key or
        entry that is wrong (`inbox[3]: missing 'created_at'`) and what was expected."""
        if not isinstance(data, Mapping):
            raise ValueError(f"a state is a JSON object, not {_kind(data)}")
        unknown = sorted(set(data) - set(PARTS))
        if unknown:
            raise ValueError(f"unknown key {unknown[0]!r}: a state has {', '.join(PARTS)}")
        parts = {name: _part(name, data[name]) for name in PARTS if name in data}
        return cls(**parts)


PARTS = ("settings", "preferences", "outbox", "pending", "inbox", "template_methods", "dedupe")


def _part(name: str, value: Any) -> Any:
    """One part of a state's JSON form, parsed; errors say where in the part."""
    if name == "settings":
        return parse_settings(value)
    if name in ("outbox", "pending"):
        return tuple(_each(name, value, _message))
    if name == "inbox":
        return group_inbox(_each(name, value, parse_inbox_row))
    if name == "dedupe":
        return frozenset(_each(name, value, _string))
    parse = parse_preferences if name == "preferences" else parse_method
    if not isinstance(value, Mapping):
        raise ValueError(f"{name}: expected a JSON object, not {_kind(value)}")
    parsed = {}
    for key, item in value.items():
        try:
            uid = UUID(key)
        except ValueError:
            raise ValueError(f"{name}: key {key!r} is not a UUID") from None
        try:
            parsed[uid] = parse(item)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{name}[{key!r}]: {_reason(exc)}") from None
    return parsed


def _each(name: str, items: Any, parse: Any) -> list[Any]:
    if not isinstance(items, list):
        raise ValueError(f"{name}: expected a JSON array, not {_kind(items)}")
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(parse(item))
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{name}[{index}]: {_reason(exc)}") from None
    return parsed


def _message(value: Any) -> Message:
    if not isinstance(value, Mapping):
        raise TypeError(f"a message is a JSON object, not {_kind(value)}")
    return dict(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, not {_kind(value)}")
    return value


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return str(exc) if str(exc) else type(exc).__name__


def _kind(value: Any) -> str:
    """A value's JSON type, as an error names it."""
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
             int: "a number", float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def group_inbox(rows: Iterable[InboxRow]) -> dict[UUID, tuple[InboxRow, ...]]:
    """Rows by user, each user's oldest first (the order every backend keeps them in)."""
    grouped: dict[UUID, list[InboxRow]] = {}
    for row in rows:
        grouped.setdefault(UUID(row["user_id"]), []).append(row)
    return {uid: tuple(sorted(rows, key=created_at)) for uid, rows in grouped.items()}


def created_at(row: InboxRow) -> datetime:
    """When an inbox row was created (rows sort by it; ties keep their order)."""
    return datetime.fromisoformat(row["created_at"])


def parse_inbox_row(row: Mapping[str, Any]) -> InboxRow:
    """An inbox row checked field by field and written in codersdk's field order."""
    for name in _ROW_STRINGS:
        if not isinstance(row.get(name, ""), str):
            raise TypeError(f"inbox row {row.get('id')!r}: {name} must be a string")
    actions = [{"label": str(action["label"]), "url": str(action["url"])}
               for action in row.get("actions", [])]
    read_at = row.get("read_at")
    for moment in (row["created_at"], *([read_at] if read_at is not None else [])):
        datetime.fromisoformat(moment)
    return {"id": str(UUID(row["id"])), "user_id": str(UUID(row["user_id"])),
            "template_id": str(UUID(row["template_id"])),
            "targets": [str(UUID(target)) for target in row.get("targets") or []],
            "title": row.get("title", ""), "content": row.get("content", ""),
            "icon": row.get("icon", ""), "actions": actions, "read_at": read_at,
            "created_at": row["created_at"]}


def parse_method(method: Any) -> str:
    """A template method set through the API: one of the database enum's values."""
    if method not in METHODS:
        raise ValueError(f"template method {method!r} is not one of {', '.join(METHODS)}")
    return method


def preferences_json(preferences: tuple[Preference, ...]) -> list[dict[str, Any]]:
    """One user's preferences as the API and every backend render them."""
    return [preference.to_json() for preference in preferences]


def parse_preferences(rows: Any) -> tuple[Preference, ...]:
    """One user's preferences from their JSON form; a repeated template keeps its first place."""
    unique: dict[UUID, Preference] = {}
    for row in rows:
        preference = Preference(UUID(row["id"]), bool(row["disabled"]),
                                datetime.fromisoformat(row["updated_at"]))
        unique[preference.template_id] = preference
    return tuple(unique.values())


def settings_text(paused: bool) -> str:
    """The settings as Coder stores them: json.Marshal of the struct, compared byte for byte."""
    return json.dumps({"notifier_paused": paused}, separators=(",", ":"))


def parse_settings(text: Any) -> str:
    """A snapshot's settings text: "" (never stored) or the canonical JSON Coder stores."""
    if text == "":
        return ""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        raise ValueError(f"settings {text!r} is not JSON; expected \"\" or "
                         '\'{"notifier_paused":true}\'') from None
    if not isinstance(value, dict) or set(value) != {"notifier_paused"} or not isinstance(
            value["notifier_paused"], bool):
        raise ValueError(f"settings {text!r} must be {{\"notifier_paused\": true or false}}")
    return settings_text(value["notifier_paused"])
