"""`GET /users/{user}`: how a client learns who its token belongs to."""

from __future__ import annotations

from starlette.responses import Response

from mock_server.models import User
from mock_server.responses import json_response


async def get_user(user: str, subject: User) -> Response:
    """A minimal codersdk.User for `me`, an id or a username (`subject`, resolved by auth)."""
    return json_response(subject.to_json())
