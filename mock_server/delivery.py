"""Delivery: the one path every notification takes, under Coder's rules.

The test notification, custom notifications and the control API's enqueue all call
`Enqueuer.enqueue`, which does what Coder's enqueuer and its dispatchers do together: pick the
methods (the template's, else the deployment default, plus the inbox except for the one-time
passcode), refuse a disabled notification, drop a duplicate of the same day, render the texts,
and either deliver at once or hold everything while the notifier is paused. Coder delivers
asynchronously within about a second; the mock delivers before it answers, so a page that asks
right after sees the result. Every inbox row recorded is also published to the watch sockets
(state/events.py), as Coder's inbox dispatcher publishes an InboxNotificationEvent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from uuid import UUID, uuid4

from mock_server import gotemplate, wire
from mock_server.models import Template, User
from mock_server.state import EventStorage, Store, UnknownTemplate
from mock_server.state.events import MemoryEvents
from mock_server.state.model import InboxRow, Message

ONE_TIME_PASSCODE = UUID("62f86a30-2330-4b61-a26d-311ff3b608cf")
TEST_NOTIFICATION = UUID("c425f63e-716a-4bf4-ae24-78348f706c3f")
CUSTOM_NOTIFICATION = UUID("39b1e189-c857-4b0c-877a-511144c18516")
INBOX = "inbox"


class NotificationDisabled(Exception):
    """The user's preference (or the template's default) blocks this notification."""

    def __init__(self, template: Template) -> None:
        super().__init__(f"notification is not enabled: {template.name} ({template.id})")
        self.template = template


@dataclass(frozen=True, slots=True)
class Receipt:
    """What an enqueue did: the messages made (one per method), and whether they went out."""

    messages: tuple[Message, ...]
    duplicate: bool = False  # the same notification already went to this user today
    held: bool = False  # the notifier is paused: they go out after resume

    def to_json(self) -> dict[str, Any]:
        """As the control API answers it."""
        return {"messages": list(self.messages), "duplicate": self.duplicate, "held": self.held}


class Enqueuer:
    """Coder's enqueuer and dispatchers for one deployment."""

    def __init__(self, store: Store, *, default_method: str, access_url: str,
                 events: EventStorage | None = None) -> None:
        self.store = store
        self.default_method = default_method
        self.access_url = access_url
        self.events = events if events is not None else MemoryEvents()  # the watch sockets'

    async def enqueue(self, template_id: UUID, user: User, *,
                      labels: Mapping[str, str] | None = None,
                      data: Mapping[str, Any] | None = None,
                      targets: Sequence[UUID] = ()) -> Receipt:
        """Deliver (or hold) one notification to `user`; raise when it is disabled."""
        template = await self.store.template(template_id)
        if template is None:
            raise UnknownTemplate(template_id)
        if not await self.enabled(template, user):
            raise NotificationDisabled(template)
        labels, data = dict(labels or {}), dict(data or {})
        texts = self._render(template, user, labels, data)
        now = self.store.now()  # one moment: every method's message, and the dedupe day
        dedupe = _dedupe_key(template.id, user.id, labels, data, targets,
                             now.astimezone(UTC).date().isoformat())
        messages = tuple({"id": str(uuid4()), "template_id": str(template.id),
                          "user_id": str(user.id), "username": user.username, "method": method,
                          "labels": labels, "data": data, "targets": [str(t) for t in targets],
                          **texts, "created_at": wire.format_time(now),
                          "dedupe": dedupe} for method in self.methods(template))
        if await self.paused():
            recorded = await self.store.record(pending=messages, dedupe=dedupe)
            return Receipt(messages if recorded else (), duplicate=not recorded, held=recorded)
        outbox, inbox = self._split(messages)
        recorded = await self.store.record(outbox=outbox, inbox=inbox, dedupe=dedupe)
        if recorded:
            await self.events.publish(inbox)  # to the watch sockets of every process
        return Receipt(messages if recorded else (), duplicate=not recorded)

    async def release(self) -> int:
        """After resume: deliver every held message (each once, whichever process takes it)."""
        outbox, inbox = self._split(await self.store.take_pending())
        if outbox or inbox:
            await self.store.record(outbox=outbox, inbox=inbox)
            await self.events.publish(inbox)
        return len(outbox) + len(inbox)

    async def enabled(self, template: Template, user: User) -> bool:
        """An explicit preference decides; without one, the template's default does."""
        stored = {p.template_id: p.disabled for p in await self.store.preferences(user.id)}
        if template.id in stored:
            return not stored[template.id]
        return template.enabled_by_default

    def methods(self, template: Template) -> list[str]:
        """The template's method or the deployment default, plus the inbox (not for the OTP)."""
        methods = [template.method or self.default_method]
        if template.id != ONE_TIME_PASSCODE and INBOX not in methods:
            methods.append(INBOX)
        return methods

    async def paused(self) -> bool:
        """Whether the deployment's notifier is paused (nothing is delivered then)."""
        stored = await self.store.settings_json()
        return bool(stored) and json.loads(stored).get("notifier_paused") is True

    def _render(self, template: Template, user: User, labels: dict[str, str],
                data: dict[str, Any]) -> dict[str, Any]:
        payload = gotemplate.Payload(labels=labels, data=data, user_name=user.name,
                                     user_username=user.username, user_email=user.email,
                                     base_url=self.access_url)
        return {"title": gotemplate.render(template.title_template, payload),
                "content": gotemplate.render(template.body_template, payload),
                "actions": gotemplate.render_actions(template.actions, payload)}

    def _split(self, messages: Sequence[Message]) -> tuple[list[Message], list[InboxRow]]:
        """Messages for the outbox (smtp, webhook), and inbox rows made from the inbox ones."""
        now = wire.format_time(self.store.now())
        outbox = [m for m in messages if m["method"] != INBOX]
        inbox = [inbox_row(m, created_at=now) for m in messages if m["method"] == INBOX]
        return outbox, inbox


def inbox_row(message: Message, *, created_at: str) -> InboxRow:
    """The inbox row the inbox dispatcher writes: the message's id, no icon, unread."""
    return {"id": message["id"], "user_id": message["user_id"],
            "template_id": message["template_id"], "targets": list(message["targets"]),
            "title": message["title"], "content": message["content"], "icon": "",
            "actions": list(message["actions"]), "read_at": None, "created_at": created_at}


def _dedupe_key(template_id: UUID, user_id: UUID, labels: Mapping[str, str],
                data: Mapping[str, Any], targets: Sequence[UUID], day: str) -> str:
    """Same template, user, payload and targets on the same (UTC) day: one notification."""
    payload = json.dumps([str(template_id), str(user_id), labels, data,
                          sorted(str(t) for t in targets), day], sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()
