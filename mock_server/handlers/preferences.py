"""Per-user notification preferences (`/users/{user}/notifications/preferences`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from starlette.responses import Response

from mock_server import errors, wire
from mock_server.dispatch import Call
from mock_server.responses import json_response
from mock_server.state import Store, UnknownTemplate

BAD_TEMPLATE_ID = "Unable to parse notification template UUID."


class PreferenceHandlers:
    """Read and upsert a user's preferences; auth resolved and checked `{user}` (the subject)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def read(self, call: Call) -> Response:
        """Stored preferences only; `null` (not `[]`) when there are none, as Go encodes nil."""
        stored = await self.store.preferences(call.subject.id)
        return json_response([p.to_json() for p in stored] or None)

    async def write(self, call: Call) -> Response:
        """Check every key before writing any, upsert all, answer every stored preference."""
        changes = parse_changes(call.body.get("template_disabled_map") or {})
        try:
            stored = await self.store.upsert_preferences(call.subject.id, changes)
        except UnknownTemplate as exc:
            raise errors.CoderError(
                400, "Invalid notification template ID.",
                detail=f"No notification template has id {exc.template_id}; nothing was written. "
                       "(A real Coder answers 500 here, from a foreign-key violation.)",
            ) from None
        return json_response([p.to_json() for p in stored] or None)


def parse_changes(mapping: dict[str, Any]) -> dict[UUID, bool]:
    """Parse each key as google/uuid does; the first bad key is Coder's 400."""
    changes: dict[UUID, bool] = {}
    spelled: dict[UUID, str] = {}
    for key, disabled in mapping.items():
        try:
            template_id = wire.parse_uuid(key)
        except ValueError as exc:
            raise errors.CoderError(400, BAD_TEMPLATE_ID, detail=str(exc)) from None
        if template_id in changes:
            raise errors.CoderError(
                400, "Duplicate notification template ID.",
                detail=f"{key!r} and {spelled[template_id]!r} name the same template. "
                       "(A real Coder answers 500 here: one upsert cannot touch a row twice.)")
        changes[template_id] = bool(disabled)
        spelled[template_id] = key
    return changes
