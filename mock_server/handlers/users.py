"""`GET /users/{user}`: how a client learns who its token belongs to."""

from __future__ import annotations

from starlette.responses import Response

from mock_server.dispatch import Call
from mock_server.responses import json_response


async def get_user(call: Call) -> Response:
    """A minimal codersdk.User for `me`, an id or a username (the subject, resolved by auth)."""
    return json_response(call.subject.to_json())
