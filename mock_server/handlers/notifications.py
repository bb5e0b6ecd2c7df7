"""Deployment-wide notification endpoints: dispatch methods, settings, templates, test send."""

from __future__ import annotations

import json
from uuid import UUID

from starlette.responses import Response

from mock_server import errors
from mock_server.config import DISPATCH_METHODS, MockConfig
from mock_server.dispatch import Call
from mock_server.responses import encoded_response, json_response, no_content
from mock_server.store import Store, settings_text

TROUBLESHOOTING_TEMPLATE = UUID("c425f63e-716a-4bf4-ae24-78348f706c3f")


class NotificationHandlers:
    """`/notifications/*`: anyone may read; changing settings and test sends need an owner."""

    def __init__(self, store: Store, config: MockConfig) -> None:
        self.store = store
        self.methods = {"available": list(DISPATCH_METHODS), "default": config.default_method}

    async def dispatch_methods(self, _call: Call) -> Response:
        """One object (the docs say an array), `inbox` never listed."""
        return json_response(self.methods)

    async def settings(self, _call: Call) -> Response:
        """The stored flag; a deployment that never stored one is not paused."""
        stored = self.store.settings_json()
        return json_response(json.loads(stored) if stored else {"notifier_paused": False})

    async def put_settings(self, call: Call) -> Response:
        """Compare first (304 even for members), then require an owner, then store and echo."""
        paused = bool(call.body.get("notifier_paused"))
        canonical = settings_text(paused)
        if canonical == self.store.settings_json():
            return no_content(304)
        if not call.caller.user.is_owner:
            raise errors.forbidden()
        self.store.put_settings_json(canonical)
        return json_response({"notifier_paused": paused})

    async def system_templates(self, _call: Call) -> Response:
        """Every system template, sorted by name."""
        return encoded_response(self.store.system_templates_json())

    async def send_test(self, call: Call) -> Response:
        """Owner only; the notification lands in the outbox instead of an inbox."""
        if not call.caller.user.is_owner:
            raise errors.forbidden()
        self.store.enqueue(TROUBLESHOOTING_TEMPLATE, call.caller.user, labels={})
        return no_content(204)
