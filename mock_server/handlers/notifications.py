"""Deployment-wide notification endpoints: dispatch methods, settings, templates, test send."""

from __future__ import annotations

import json
import time

from starlette.responses import Response

from mock_server import errors, wire
from mock_server.config import DISPATCH_METHODS, MockConfig
from mock_server.delivery import TEST_NOTIFICATION, Enqueuer, NotificationDisabled
from mock_server.dispatch import Call
from mock_server.handlers.inbox import parse_uuid_param
from mock_server.responses import encoded_response, json_response, no_content
from mock_server.state import Store
from mock_server.state.model import METHODS, settings_text

BAD_METHOD = "Invalid request to update notification template method"


class NotificationHandlers:
    """`/notifications/*`: anyone may read; changing settings and test sends need an owner."""

    def __init__(self, store: Store, enqueuer: Enqueuer, config: MockConfig) -> None:
        self.store = store
        self.enqueuer = enqueuer
        self.methods = {"available": list(DISPATCH_METHODS), "default": config.default_method}

    async def dispatch_methods(self, _call: Call) -> Response:
        """One object (the docs say an array), `inbox` never listed."""
        return json_response(self.methods)

    async def settings(self, _call: Call) -> Response:
        """The stored flag; a deployment that never stored one is not paused."""
        stored = await self.store.settings_json()
        return json_response(json.loads(stored) if stored else {"notifier_paused": False})

    async def put_settings(self, call: Call) -> Response:
        """Compare first (304 even for members), then require an owner, then store and echo.

        The store compares and sets at once: of two identical PUTs racing (on any process), one
        changes the settings (200) and the other finds them unchanged (304), as it would after.
        """
        paused = bool(call.body.get("notifier_paused"))
        canonical = settings_text(paused)
        if canonical == await self.store.settings_json():
            return no_content(304)
        if not call.caller.user.is_owner:
            raise errors.forbidden()
        if not await self.store.put_settings_json(canonical):
            return no_content(304)
        if not paused:
            await self.enqueuer.release()  # what was held while paused goes out now
        return json_response({"notifier_paused": paused})

    async def system_templates(self, _call: Call) -> Response:
        """Every system template, sorted by name."""
        return encoded_response(await self.store.system_templates_json())

    async def custom_templates(self, _call: Call) -> Response:
        """The custom templates (the Custom Notification), as the system list shows templates."""
        return json_response([t.to_json() for t in await self.store.custom_templates()])

    async def put_template_method(self, call: Call) -> Response:
        """Owner only (anyone else, like an unknown id, gets Coder's 404); 304 when unchanged."""
        template_id = parse_uuid_param(call.path("notification_template"))
        template = await self.store.template(template_id)
        if template is None or not call.caller.user.is_owner:
            raise errors.CoderError(404, errors.RESOURCE_NOT_FOUND)
        method = call.body.get("method") or ""
        if method not in METHODS:
            raise errors.CoderError(400, BAD_METHOD, validations=[{"field": "method", "detail": (
                f"{wire.quote(method)} is not a valid method; {', '.join(METHODS)} are the "
                "available options")}])
        if method == template.method:
            return no_content(304)
        await self.store.set_template_method(template.id, method)
        return json_response({"message": "Successfully updated notification template method."})

    async def send_test(self, call: Call) -> Response:
        """Owner only; the notification lands in the outbox instead of an inbox."""
        if not call.caller.user.is_owner:
            raise errors.forbidden()
        user = call.caller.user
        try:
            # Coder adds the time (to the nanosecond) so that each test is a new notification
            await self.enqueuer.enqueue(TEST_NOTIFICATION, user,
                                        data={"timestamp": wire.format_time_ns(time.time_ns())})
        except NotificationDisabled:  # Coder's answer: the database trigger refused the enqueue
            raise errors.CoderError(500, "Failed to send test notification",
                                    detail="notification is not enabled") from None
        return no_content(204)
