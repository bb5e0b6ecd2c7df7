"""The caller's inbox (`/notifications/inbox*`) and custom notifications: every call is scoped
to the signed-in user; there is no way to read or change another user's inbox."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.responses import Response

from mock_server import errors, inbox, wire
from mock_server.delivery import CUSTOM_NOTIFICATION, Enqueuer, NotificationDisabled
from mock_server.dispatch import Call
from mock_server.responses import json_response, no_content
from mock_server.state import Store

READ_STATUS_FAILED = "Failed to update inbox notification read status."
CUSTOM_INVALID = "Invalid request body"
TITLE_LIMIT, MESSAGE_LIMIT = 120, 2000  # bytes, as Go's len counts them


class InboxHandlers:
    """List, mark read or unread, mark all read; send a custom notification to oneself."""

    def __init__(self, store: Store, enqueuer: Enqueuer) -> None:
        self.store = store
        self.enqueuer = enqueuer

    async def list(self, call: Call) -> Response:
        """A page of 25, newest first; `unread_count` ignores the filters."""
        query = inbox.parse_query(call.scope.get("query_string", b""), inbox.LIST_PARAMETERS)
        rows = await self.store.inbox(call.caller.user.id)
        return json_response({"notifications": inbox.page(rows, query),
                              "unread_count": inbox.unread_count(rows)})

    async def read_status(self, call: Call) -> Response:
        """`is_read: true` sets `read_at` to now, anything else back to `null`."""
        row_id = parse_uuid_param(call.path("id"))
        user = call.caller.user
        row = await self.store.set_read(user.id, str(row_id),
                                        read=call.body.get("is_read") is True)
        if row is None:
            raise errors.CoderError(400, READ_STATUS_FAILED, detail=(
                f"You have no inbox notification with id {row_id}. (A real Coder answers 500 "
                "here, for an unknown id and for another user's alike.)"))
        return json_response({"notification": inbox.with_icon(row),
                              "unread_count": inbox.unread_count(await self.store.inbox(user.id))})

    async def mark_all_read(self, call: Call) -> Response:
        """Every unread notification of the caller, read now."""
        await self.store.mark_all_read(call.caller.user.id)
        return no_content(204)

    async def custom(self, call: Call) -> Response:
        """Send a Custom Notification to oneself (members too), checked as codersdk checks it."""
        title, message = custom_content(call.body.get("content"))
        try:
            await self.enqueuer.enqueue(CUSTOM_NOTIFICATION, call.caller.user,
                                        labels={"custom_title": title, "custom_message": message})
        except NotificationDisabled:  # as the test notification answers it
            raise errors.CoderError(500, "Failed to send custom notification",
                                    detail="notification is not enabled") from None
        return no_content(204)


def parse_uuid_param(raw: str) -> UUID:
    """httpmw.ParseUUIDParam: google/uuid's parse, its error as the detail."""
    try:
        return wire.parse_uuid(raw)
    except ValueError as exc:
        raise errors.CoderError(400, f"Invalid UUID {wire.quote(raw)}.", detail=str(exc)) from None


def custom_content(content: Any) -> tuple[str, str]:
    """CustomNotificationRequest.Validate: present, not blank, titles and messages not too long."""
    if not isinstance(content, dict):
        raise errors.CoderError(400, CUSTOM_INVALID, detail="content is required")
    title, message = str(content.get("title") or ""), str(content.get("message") or "")
    if not title.strip() or not message.strip():
        raise errors.CoderError(400, CUSTOM_INVALID,
                                detail="provide a non-empty 'content.title' and 'content.message'")
    if len(title.encode()) > TITLE_LIMIT:
        raise errors.CoderError(400, CUSTOM_INVALID, detail=(
            f"'content.title' must be less than {TITLE_LIMIT} characters"))
    if len(message.encode()) > MESSAGE_LIMIT:
        raise errors.CoderError(400, CUSTOM_INVALID, detail=(
            f"'content.message' must be less than {MESSAGE_LIMIT} characters"))
    return title, message
