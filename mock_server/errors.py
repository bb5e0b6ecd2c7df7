"""Every error the mock sends, in Coder's `codersdk.Response` shape, built in this one place."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from mock_server import wire

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"  # net/http's http.Error
UPGRADE_FAILED = "Failed to upgrade connection to websocket."
SIGNED_OUT = ("You are signed out or your session has expired. "
              "Please sign in again to continue.")
FORBIDDEN_DETAIL = ("You don't have permission to view this content. If you believe this is a "
                    "mistake, please contact your administrator or try signing in with different "
                    "credentials.")
INVALID_JSON = "Request body must be valid JSON."
USER_NOT_FOUND = '"user" must be an existing uuid or username.'
RESOURCE_NOT_FOUND = "Resource not found or you do not have access to this resource"

ErrorHandler = Callable[[ConnexionRequest, Exception], Awaitable[ConnexionResponse]]


class CoderError(Exception):
    """An answer Coder gives instead of the resource: a status and a `codersdk.Response`."""

    def __init__(self, status: int, message: str, *, detail: str = "",
                 validations: Iterable[Mapping[str, str]] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {message} {detail}".strip())
        self.status = status
        self.message = message
        self.detail = detail
        self.validations = [dict(v) for v in validations]
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The JSON body; empty fields are omitted, as Go's `omitempty` does."""
        body: dict[str, Any] = {"message": self.message}
        if self.detail:
            body["detail"] = self.detail
        if self.validations:
            body["validations"] = self.validations
        return body

    def response(self) -> ConnexionResponse:
        """The response Coder's httpapi.Write would send for this error."""
        return ConnexionResponse(status_code=self.status, mimetype=JSON_CONTENT_TYPE,
                                 content_type=JSON_CONTENT_TYPE, body=wire.encode_json(self.body()),
                                 headers=self.headers)

    def asgi(self) -> tuple[dict[str, Any], bytes]:
        """The same answer as an ASGI start message and its body, for the layers that answer
        outside connexion's error handlers (the Host check, the body limit, the connection)."""
        body = wire.encode_json(self.body())
        headers = [(b"content-type", JSON_CONTENT_TYPE.encode()),
                   (b"content-length", str(len(body)).encode()),
                   *((name.lower().encode("latin-1"), value.encode("latin-1"))
                     for name, value in self.headers.items())]
        return {"type": "http.response.start", "status": self.status, "headers": headers}, body


class UpgradeRefused(CoderError):
    """coder/websocket's Accept refusing a handshake: its `http.Error` text (text/plain), then
    the JSON 500 body Coder's watch handler writes after it; that second status is lost, since
    the first write already sent the headers, but its body is appended."""

    def __init__(self, status: int, text: str, *, cause: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(status, UPGRADE_FAILED,
                         detail=f"failed to accept WebSocket connection: {cause or text}",
                         headers={"X-Content-Type-Options": "nosniff", **(headers or {})})
        self.text = text

    def response(self) -> ConnexionResponse:
        """Both writes, as the client receives them."""
        return ConnexionResponse(status_code=self.status, mimetype="text/plain",
                                 content_type=TEXT_CONTENT_TYPE,
                                 body=f"{self.text}\n".encode() + wire.encode_json(self.body()),
                                 headers=self.headers)


def unauthorized(detail: str, *, message: str = SIGNED_OUT, expired: bool = False) -> CoderError:
    """401 from Coder's API-key middleware, with the OAuth2 resource hint newer versions add."""
    description = "The access token has expired" if expired else "The access token is invalid"
    challenge = f'Bearer realm="coder", error="invalid_token", error_description="{description}"'
    return CoderError(401, message, detail=detail, headers={"WWW-Authenticate": challenge})


def forbidden() -> CoderError:
    """403 as httpapi.Forbidden sends it (with the detail newer versions add)."""
    return CoderError(403, "Forbidden.", detail=FORBIDDEN_DETAIL)


def invalid_json(detail: str) -> CoderError:
    """400 from httpapi.Read when Go cannot decode the body into the request struct."""
    return CoderError(400, INVALID_JSON, detail=detail)


def user_not_found(raw: str, *, status: int = 400) -> CoderError:
    """The answer for a `{user}` that names no user the caller may see (400, or 404 if newer)."""
    if status == 404:
        return CoderError(404, RESOURCE_NOT_FOUND)
    return CoderError(400, USER_NOT_FOUND, detail=f"queried user={wire.quote(raw)}")


def route_not_found() -> CoderError:
    """404 for a path no route serves (Coder's r.NotFound on /api/v2)."""
    return CoderError(404, "Route not found.")


def payload_too_large(limit: int) -> CoderError:
    """413 for a body over the limit; the connection closes so the rest is never read."""
    return CoderError(413, "Request body too large.",
                      detail=f"The body exceeds the limit of {limit} bytes (--max-body-bytes).",
                      headers={"Connection": "close"})


def request_timeout(detail: str) -> CoderError:
    """408 for a request head or body that did not arrive in time; the connection closes."""
    return CoderError(408, "Request timed out.", detail=detail, headers={"Connection": "close"})


def header_fields_too_large(detail: str) -> CoderError:
    """431, as Go's net/http answers a head over its MaxHeaderBytes; the connection closes."""
    return CoderError(431, "Request header fields too large.", detail=detail,
                      headers={"Connection": "close"})


def invalid_host(detail: str) -> CoderError:
    """400 for a missing, repeated or malformed Host header, as Go's net/http refuses one."""
    return CoderError(400, "Invalid Host header.", detail=detail)


def host_not_allowed(host: str, name: str) -> CoderError:
    """421 Misdirected Request for a well-formed Host the mock does not serve (DNS rebinding)."""
    return CoderError(421, "Misdirected request: this mock does not serve that host.", detail=(
        f"Host {wire.quote(host)} is not a loopback name, an IP address or an allowed host; a "
        "page under that name could be a DNS-rebinding attack. To reach the mock by this name "
        f"on purpose, start it with --allowed-host {name}."))


def state_unavailable(detail: str) -> CoderError:
    """503 while the state cannot be reached or saved (Redis down or slow, a failing disk):
    retry the call; the connection stays open."""
    return CoderError(503, "The mock's state is unavailable.", detail=detail,
                      headers={"Retry-After": "1"})


def internal(detail: str) -> CoderError:
    """500 as httpapi.InternalServerError sends it; the mock sends it only for its own bugs."""
    return CoderError(500, "An internal server error occurred.", detail=detail)


def method_not_allowed(allowed: Iterable[str]) -> ConnexionResponse:
    """405 as chi sends it: an Allow header and no body."""
    return ConnexionResponse(status_code=405, headers={"Allow": ", ".join(allowed)}, body=b"")


async def handle_coder_error(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion error handler for CoderError."""
    assert isinstance(exc, CoderError)
    return exc.response()


async def handle_problem(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Connexion's own problems (parameters, media type) in Coder's shape, not problem+json.

    Bodies are checked by the mock's own validator, so a 400 from connexion is a parameter's.
    """
    assert isinstance(exc, ProblemException)
    message = "Invalid request parameter." if exc.status == 400 else (
        f"{exc.title or 'Request failed'}.")
    detail = str(exc.detail or "").strip().splitlines()
    return CoderError(exc.status, message, detail=detail[0] if detail else "").response()


async def handle_state_unavailable(_request: ConnexionRequest,
                                   exc: Exception) -> ConnexionResponse:
    """Connexion error handler for a state that cannot be reached (state/backend.py)."""
    return state_unavailable(str(exc)).response()


async def handle_unexpected(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """The last resort: a mock bug is still answered in Coder's shape, and logged."""
    logger.error("unhandled error", exc_info=exc)
    return internal(f"{type(exc).__name__}: {exc}").response()


def http_exception_handler(allowed_methods: Callable[[str], list[str]]) -> ErrorHandler:
    """The handler for Starlette's routing errors: 404 and 405 as Coder's router gives them."""

    async def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            return method_not_allowed(allowed_methods(request.url.path))
        if exc.status_code == 404:
            return route_not_found().response()
        return CoderError(exc.status_code, str(exc.detail)).response()

    return handle
