"""The Store: the policy over a state backend (which templates exist, which ids are valid, what
fits the limits, who is told of changes); the backend only keeps what the Store lets through.

The backend is seeded lazily, on the first call (and checked again whenever its epoch moves,
i.e. after a new Redis connection): a seed marker that has gone missing since this process saw
it means Redis lost its data, which is logged loudly, reported by health, and repaired by a
seed that writes only the keys nobody has written since.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from mock_server import wire
from mock_server.models import ApiKey, Preference, Seed, Template, User
from mock_server.state.backend import Limits, StateBackend
from mock_server.state.memory import MemoryState
from mock_server.state.model import InboxRow, Message, State, created_at

Clock = Callable[[], datetime]
Listener = Callable[[], Awaitable[None]]
logger = logging.getLogger("mock_server.state")


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
                 clock: Clock = utc_now, task_templates: bool = False,
                 initial: State | None = None) -> None:
        self._backend: StateBackend = backend if backend is not None else MemoryState()
        self._clock = clock
        self._task_templates = task_templates
        self._listeners: list[Listener] = []
        self.notified = 0  # calls that told the listeners (a write the state file must keep)
        self._initial = initial  # the state to start from instead of the seed's (a state file)
        self._checked: int | None = None  # the backend epoch last checked for its seed
        self.data_lost: list[str] = []  # when the shared state was found wiped (health shows it)
        self._load_catalog(seed)

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
        self._changed_json: tuple[tuple[tuple[UUID, str], ...], bytes] | None = None

    @property
    def seed(self) -> Seed:
        """The fixture set this state started from (and `reset` returns to)."""
        return self._seed

    @property
    def limits(self) -> Limits:
        """What the backend keeps at most."""
        return self._backend.limits

    def subscribe(self, listener: Listener) -> None:
        """Await `listener` after every change, before the change is answered (the state file)."""
        self._listeners.append(listener)

    async def _changed(self) -> None:
        if self._listeners:
            self.notified += 1
        for listener in self._listeners:
            await listener()

    async def _backend_ready(self) -> StateBackend:
        """The backend, seeded: once per process, and again after each new connection."""
        if self._backend.epoch() != self._checked:
            await self.join()
        return self._backend

    async def join(self) -> None:
        """Seed the backend unless it holds a state; loudly, if it lost the one it held."""
        initial = self._initial or State.from_seed(self._seed, self._clock())
        wrote = await self._backend.initialise(initial)
        if wrote and self._checked is not None:
            moment = wire.format_time(self._clock())
            self.data_lost.append(moment)
            logger.error("the shared state LOST ITS DATA (its seed marker was gone at %s): "
                         "re-seeded from the fixtures without overwriting any key written "
                         "since; what was written before the loss is gone", moment)
        self._checked = self._backend.epoch()

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

    async def settings_json(self) -> str:
        """The stored settings as Coder keeps them: canonical JSON, or "" when never written."""
        return await (await self._backend_ready()).settings()

    async def put_settings_json(self, value: str) -> bool:
        """Store new settings text; False when it was stored already (another writer won)."""
        changed = await (await self._backend_ready()).change_settings(value)
        if changed:
            await self._changed()
        return changed

    async def template(self, template_id: UUID) -> Template | None:
        """A template of the deployment, with the method set through the API, if any."""
        template = self._templates.get(template_id)
        if template is None:
            return None
        method = (await self._methods()).get(template_id)
        return replace(template, method=method) if method else template

    async def _methods(self) -> dict[UUID, str]:
        return await (await self._backend_ready()).template_methods()

    async def system_templates(self) -> tuple[Template, ...]:
        """System templates sorted by name, as `ORDER BY name ASC` sorts them (bytewise)."""
        return _with_methods(self._system, await self._methods())

    async def custom_templates(self) -> tuple[Template, ...]:
        """Custom templates (the Custom Notification), sorted the same way."""
        return _with_methods(self._custom, await self._methods())

    async def system_templates_json(self) -> bytes:
        """The encoded list: computed once per seed, and once per set of changed methods."""
        methods = await self._methods()
        if not methods:
            return self._system_json
        key = tuple(sorted(methods.items()))
        if self._changed_json is None or self._changed_json[0] != key:
            encoded = wire.encode_json([t.to_json() for t in _with_methods(self._system, methods)])
            self._changed_json = (key, encoded)
        return self._changed_json[1]

    async def set_template_method(self, template_id: UUID, method: str) -> None:
        """Change a template's method for every process (the enterprise API)."""
        await (await self._backend_ready()).set_template_method(template_id, method)
        await self._changed()

    # Preferences -----------------------------------------------------------------------------

    async def preferences(self, user_id: UUID) -> list[Preference]:
        """The user's stored preferences, in the order they were first stored."""
        return list(await (await self._backend_ready()).preferences(user_id))

    async def upsert_preferences(self, user_id: UUID,
                                 changes: Mapping[UUID, bool]) -> list[Preference]:
        """Write all changes or none (like one SQL statement) and return every stored preference."""
        for template_id in changes:  # every id exists before anything is written
            if template_id not in self._templates:
                raise UnknownTemplate(template_id)
        backend = await self._backend_ready()
        result = list(await backend.upsert_preferences(user_id, changes, self._clock()))
        if changes:
            await self._changed()
        return result

    # Messages and inboxes (delivery.py decides what goes where) ---------------------------

    def now(self) -> datetime:
        """The deployment's clock, for what delivery stamps."""
        return self._clock()

    async def record(self, *, outbox: Sequence[Message] = (), inbox: Sequence[InboxRow] = (),
                     pending: Sequence[Message] = (), dedupe: str | None = None) -> bool:
        """Keep messages sent, inbox rows and messages held, unless `dedupe` was seen."""
        backend = await self._backend_ready()
        recorded = await backend.record(outbox=outbox, inbox=inbox, pending=pending,
                                        dedupe=dedupe)
        if recorded:
            await self._changed()
        return recorded

    async def take_pending(self) -> list[Message]:
        """The messages held while the notifier was paused, each handed out once."""
        taken = await (await self._backend_ready()).take_pending()
        if taken:
            await self._changed()
        return taken

    async def inbox(self, user_id: UUID) -> list[InboxRow]:
        """The user's inbox notifications, oldest first (by `created_at`, ties as stored)."""
        return sorted(await (await self._backend_ready()).inbox(user_id), key=created_at)

    async def set_read(self, user_id: UUID, row_id: str, *, read: bool) -> InboxRow | None:
        """Mark one of the user's notifications read now, or unread; None when not theirs."""
        row = await (await self._backend_ready()).set_read_at(
            user_id, row_id, wire.format_time(self._clock()) if read else None)
        if row is not None:
            await self._changed()
        return row

    async def mark_all_read(self, user_id: UUID) -> None:
        """Mark every unread notification of the user read now."""
        await (await self._backend_ready()).mark_all_read(user_id, wire.format_time(self._clock()))
        await self._changed()

    async def outbox(self) -> list[Message]:
        """Notifications enqueued so far, oldest first."""
        return await (await self._backend_ready()).outbox()

    async def clear_outbox(self) -> None:
        """Forget every enqueued notification."""
        await (await self._backend_ready()).clear_outbox()
        await self._changed()

    async def dropped(self) -> dict[str, int]:
        """What the limits dropped so far, by part."""
        return await (await self._backend_ready()).dropped()

    # Whole state -----------------------------------------------------------------------------

    async def reset(self, seed: Seed | None = None) -> None:
        """Go back to a seed: the one loaded at start, or another fixture set."""
        seed = seed or self._seed
        await (await self._backend_ready()).replace(State.from_seed(seed, self._clock()))
        self._initial = None  # a later re-seed is of the fixtures, not of the state file
        self._load_catalog(seed)
        await self._changed()

    async def snapshot(self) -> dict[str, Any]:
        """Everything that changes at run time, in the State's JSON form."""
        return (await (await self._backend_ready()).read()).to_json()

    async def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Put back a snapshot, checked whole first (shape and limits); users and templates
        stay the seed's."""
        state = State.from_json(snapshot)
        self._backend.limits.check(state)
        await (await self._backend_ready()).replace(state)
        await self._changed()


def _with_methods(templates: tuple[Template, ...],
                  methods: Mapping[UUID, str]) -> tuple[Template, ...]:
    return tuple(replace(t, method=methods[t.id]) if t.id in methods else t for t in templates)
