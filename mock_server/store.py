"""The deployment's state: one object, one lock, explicit methods; no shared bare dicts."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from mock_server import wire
from mock_server.models import ApiKey, Preference, Seed, Template, User

Clock = Callable[[], datetime]
Listener = Callable[[], None]


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


class UnknownTemplate(LookupError):
    """A preference named a template the deployment does not have."""

    def __init__(self, template_id: UUID) -> None:
        super().__init__(str(template_id))
        self.template_id = template_id


class Store:
    """Users, keys, templates, settings, preferences and the outbox of one mock deployment."""

    def __init__(self, seed: Seed, *, clock: Clock = utc_now,
                 template_filter: Callable[[Template], bool] = lambda _t: True) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._template_filter = template_filter
        self._listeners: list[Listener] = []
        self._load(seed)

    def _load(self, seed: Seed) -> None:
        self._load_catalog(seed)
        self._settings = seed.settings_json
        now = self._clock()
        self._preferences = {
            user_id: {tid: Preference(tid, disabled, now) for tid, disabled in choices.items()}
            for user_id, choices in seed.preferences.items()}
        self._outbox: list[dict[str, Any]] = []

    def _load_catalog(self, seed: Seed) -> None:
        """What never changes at run time: a shared backend keeps only the rest elsewhere."""
        templates = [t for t in seed.templates if self._template_filter(t)]
        self._seed = seed
        self._users = {user.id: user for user in seed.users}
        self._usernames = {user.username.lower(): user for user in seed.users}
        self._keys = {key.id: key for key in seed.keys}
        self._templates = {template.id: template for template in templates}
        self._system = tuple(sorted((t for t in templates if t.kind == "system"),
                                    key=lambda t: t.name.encode()))
        self._system_json = wire.encode_json([t.to_json() for t in self._system])

    @property
    def seed(self) -> Seed:
        """The fixture set this state started from (and `reset` returns to)."""
        return self._seed

    def subscribe(self, listener: Listener) -> None:
        """Call `listener` after every change (the state file uses it)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    # Identity -------------------------------------------------------------------------------

    def key(self, key_id: str) -> ApiKey | None:
        """The API key with this id, if any."""
        return self._keys.get(key_id)

    def user(self, user_id: UUID) -> User | None:
        """The user with this id, if any."""
        return self._users.get(user_id)

    def user_by_username(self, username: str) -> User | None:
        """Coder matches usernames case-insensitively (`LOWER(username) = LOWER(@username)`)."""
        return self._usernames.get(username.lower())

    # Settings and templates ------------------------------------------------------------------

    def settings_json(self) -> str:
        """The stored settings as Coder keeps them: canonical JSON, or "" when never written."""
        return self._settings

    def put_settings_json(self, value: str) -> None:
        """Store new settings text."""
        with self._lock:
            self._settings = value
        self._changed()

    def system_templates(self) -> tuple[Template, ...]:
        """System templates sorted by name, as `ORDER BY name ASC` sorts them (bytewise)."""
        return self._system

    def system_templates_json(self) -> bytes:
        """The encoded list, computed once per seed since templates never change at run time."""
        return self._system_json

    # Preferences -----------------------------------------------------------------------------

    def preferences(self, user_id: UUID) -> list[Preference]:
        """The user's stored preferences, in the order they were first stored."""
        with self._lock:
            return list(self._preferences.get(user_id, {}).values())

    def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool]) -> list[Preference]:
        """Write all changes or none (like one SQL statement) and return every stored preference."""
        with self._lock:
            self._check_templates(changes)
            now = self._clock()
            stored = self._preferences.setdefault(user_id, {})
            for template_id, disabled in changes.items():
                stored[template_id] = Preference(template_id, disabled, now)
            result = list(stored.values())
        if changes:
            self._changed()
        return result

    def _check_templates(self, changes: Mapping[UUID, bool]) -> None:
        """Every id must exist before anything is written (all-or-nothing, like one statement)."""
        for template_id in changes:
            if template_id not in self._templates:
                raise UnknownTemplate(template_id)

    # Outbox ----------------------------------------------------------------------------------

    def enqueue(self, template_id: UUID, user: User, labels: Mapping[str, str]) -> dict[str, Any]:
        """Record a notification the deployment would have dispatched."""
        message = self._message(template_id, user, labels)
        with self._lock:
            self._outbox.append(message)
        self._changed()
        return message

    def _message(self, template_id: UUID, user: User,
                 labels: Mapping[str, str]) -> dict[str, Any]:
        """One outbox entry, as every backend stores it."""
        return {"id": str(uuid4()), "template_id": str(template_id), "user_id": str(user.id),
                "username": user.username, "labels": dict(labels),
                "created_at": wire.format_time(self._clock())}

    def outbox(self) -> list[dict[str, Any]]:
        """Notifications enqueued so far, oldest first."""
        with self._lock:
            return list(self._outbox)

    def clear_outbox(self) -> None:
        """Forget every enqueued notification."""
        with self._lock:
            self._outbox = []
        self._changed()

    # Whole state -----------------------------------------------------------------------------

    def reset(self, seed: Seed | None = None) -> None:
        """Go back to a seed: the one loaded at start, or another fixture set."""
        with self._lock:
            self._load(seed or self._seed)
        self._changed()

    def snapshot(self) -> dict[str, Any]:
        """Everything that changes at run time, as JSON-ready data."""
        with self._lock:
            return {
                "settings": self._settings,
                "preferences": {str(uid): [p.to_json() for p in prefs.values()]
                                for uid, prefs in self._preferences.items()},
                "outbox": list(self._outbox),
            }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put back a snapshot; users and templates stay those of the current seed."""
        preferences = {uid: {p.template_id: p for p in prefs}
                       for uid, prefs in parse_preferences(snapshot).items()}
        settings = parse_settings(snapshot)
        with self._lock:
            self._settings = settings
            self._preferences = preferences
            self._outbox = list(snapshot.get("outbox", []))
        self._changed()

    def users(self) -> Iterable[User]:
        """Every user of the seed."""
        return tuple(self._users.values())


def settings_text(paused: bool) -> str:
    """The settings as Coder stores them: json.Marshal of the struct, compared byte for byte."""
    return json.dumps({"notifier_paused": paused}, separators=(",", ":"))


def parse_settings(snapshot: Mapping[str, Any]) -> str:
    """A snapshot's settings text: "" (never stored) or the canonical JSON Coder stores."""
    text = snapshot.get("settings", "")
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


def parse_preferences(snapshot: Mapping[str, Any]) -> dict[UUID, list[Preference]]:
    """A snapshot's preferences, checked whole before any backend writes one (KeyError etc.)."""
    return {UUID(uid): [Preference(UUID(p["id"]), bool(p["disabled"]),
                                   datetime.fromisoformat(p["updated_at"])) for p in prefs]
            for uid, prefs in snapshot.get("preferences", {}).items()}
