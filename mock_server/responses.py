"""Success responses as Coder writes them: Go's JSON bytes, its content type, or no body."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from mock_server import wire
from mock_server.errors import JSON_CONTENT_TYPE


def json_response(value: Any, *, status: int = 200) -> Response:
    """Encode `value` as httpapi.Write does."""
    return encoded_response(wire.encode_json(value), status=status)


def encoded_response(body: bytes, *, status: int = 200) -> Response:
    """Send JSON that was encoded ahead of time (the template list never changes at run time)."""
    return Response(body, status_code=status, media_type=JSON_CONTENT_TYPE)


def no_content(status: int = 204) -> Response:
    """204 or 304: Go's net/http sends neither a body nor a Content-Type for them."""
    return Response(status_code=status)
