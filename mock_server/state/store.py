"""The Store: the policy over a state backend (which templates exist, which ids are valid, who
is told of changes); the backend only keeps what the Store lets through."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from mock_server import wire
from mock_server.models import ApiKey, Preference, Seed, Template, User
from mock_server.state.backend import StateBackend
from mock_server.state.memory import MemoryState
from mock_server.state.model import InboxRow, Message, State, created_at

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
    """Users, keys and templates of a fixture set, and the run-time state kept in a backend."""

    def __init__(self, seed: Seed, backend: StateBackend | None = None, *,
                 clock: Clock = utc_now, task_templates: bool = False) -> None:
        self._backend: StateBackend = backend if backend is not None else MemoryState()
        self._clock = clock
        self._task_templates = task_templates
        self._listeners: list[Listener] = []
        self._load_catalog(seed)
        self._backend.initialise(State.from_seed(seed, self._clock()))

    def _load_catalog(self, seed: Seed) -> None:
        """What never changes at run time; each process keeps its own."""
        templates = [t for t in seed.templates if self._task_templates or t.feature != "tasks"]
        self._seed = seed
        self._users = {user.id: user for user in seed.users}
        self._usernames = {user.username.lower(): user for user in seed.users}
        self._keys = {key.id: key for key in seed.keys}
        self._templates = {template.id: template for template in templates}
        by_name = sorted(templates, key=lambda t: t.name.encode())
        self._system = tuple(t for t in by_name if t.kind == "system")
        self._custom = tuple(t for t in by_name if t.kind == "custom")
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

    def users(self) -> Iterable[User]:
        """Every user of the seed."""
        return tuple(self._users.values())

    # Settings and templates ------------------------------------------------------------------

    def settings_json(self) -> str:
        """The stored settings as Coder keeps them: canonical JSON, or "" when never written."""
        return self._backend.settings()

    def put_settings_json(self, value: str) -> None:
        """Store new settings text."""
        self._backend.put_settings(value)
        self._changed()

    def template(self, template_id: UUID) -> Template | None:
        """A template of the deployment, with the method set through the API, if any."""
        template = self._templates.get(template_id)
        method = self._backend.template_methods().get(template_id) if template else None
        return replace(template, method=method) if template and method else template

    def system_templates(self) -> tuple[Template, ...]:
        """System templates sorted by name, as `ORDER BY name ASC` sorts them (bytewise)."""
        return self._with_methods(self._system)

    def custom_templates(self) -> tuple[Template, ...]:
        """Custom templates (the Custom Notification), sorted the same way."""
        return self._with_methods(self._custom)

    def system_templates_json(self) -> bytes:
        """The encoded list: computed once per seed while no method was changed."""
        methods = self._backend.template_methods()
        if not methods:
            return self._system_json
        return wire.encode_json([t.to_json() for t in self._with_methods(self._system, methods)])

    def _with_methods(self, templates: tuple[Template, ...],
                      methods: Mapping[UUID, str] | None = None) -> tuple[Template, ...]:
        methods = self._backend.template_methods() if methods is None else methods
        return tuple(replace(t, method=methods[t.id]) if t.id in methods else t
                     for t in templates)

    def set_template_method(self, template_id: UUID, method: str) -> None:
        """Change a template's method for every process (the enterprise API)."""
        self._backend.set_template_method(template_id, method)
        self._changed()

    # Preferences -----------------------------------------------------------------------------

    def preferences(self, user_id: UUID) -> list[Preference]:
        """The user's stored preferences, in the order they were first stored."""
        return list(self._backend.preferences(user_id))

    def upsert_preferences(self, user_id: UUID, changes: Mapping[UUID, bool]) -> list[Preference]:
        """Write all changes or none (like one SQL statement) and return every stored preference."""
        for template_id in changes:  # every id exists before anything is written
            if template_id not in self._templates:
                raise UnknownTemplate(template_id)
        result = list(self._backend.upsert_preferences(user_id, changes, self._clock()))
        if changes:
            self._changed()
        return result

    # Messages and inboxes (delivery.py decides what goes where) ---------------------------

    def now(self) -> datetime:
        """The deployment's clock, for what delivery stamps."""
        return self._clock()

    def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
               pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """Keep messages sent, inbox rows and messages held, unless `dedupe` was seen."""
        recorded = self._backend.record(outbox=outbox, inbox=inbox, pending=pending,
                                        dedupe=dedupe)
        if recorded:
            self._changed()
        return recorded

    def take_pending(self) -> list[Message]:
        """The messages held while the notifier was paused, each handed out once."""
        taken = self._backend.take_pending()
        if taken:
            self._changed()
        return taken

    def inbox(self, user_id: UUID) -> list[InboxRow]:
        """The user's inbox notifications, oldest first (by `created_at`, ties as stored)."""
        return sorted(self._backend.inbox(user_id), key=created_at)

    def set_read(self, user_id: UUID, row_id: str, *, read: bool) -> InboxRow | None:
        """Mark one of the user's notifications read now, or unread; None when not theirs."""
        row = self._backend.set_read_at(user_id, row_id,
                                        wire.format_time(self._clock()) if read else None)
        if row is not None:
            self._changed()
        return row

    def mark_all_read(self, user_id: UUID) -> None:
        """Mark every unread notification of the user read now."""
        self._backend.mark_all_read(user_id, wire.format_time(self._clock()))
        self._changed()

    def outbox(self) -> list[Message]:
        """Notifications enqueued so far, oldest first."""
        return self._backend.outbox()

    def clear_outbox(self) -> None:
        """Forget every enqueued notification."""
        self._backend.clear_outbox()
        self._changed()

    # Whole state -----------------------------------------------------------------------------

    def reset(self, seed: Seed | None = None) -> None:
        """Go back to a seed: the one loaded at start, or another fixture set."""
        seed = seed or self._seed
        self._backend.replace(State.from_seed(seed, self._clock()))
        self._load_catalog(seed)
        self._changed()

    def snapshot(self) -> dict[str, Any]:
        """Everything that changes at run time, in the State's JSON form."""
        return self._backend.read().to_json()

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put back a snapshot, checked whole first; users and templates stay the seed's."""
        self._backend.replace(State.from_json(snapshot))
        self._changed()
