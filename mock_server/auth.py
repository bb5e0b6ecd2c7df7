"""Coder's API-key and `{user}` middleware: who is calling, and which user the path names.

Coder applies both to whole route groups (`/notifications`, `/users/{user}`), so they run before
the route is matched: an unknown path or a wrong method under a group still needs a valid token.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors, wire
from mock_server.models import ApiKey, User
from mock_server.store import Clock, Store, utc_now

SESSION_COOKIE = "coder_session_token"
SESSION_HEADER = b"coder-session-token"
_GROUPS = ("/api/v2/notifications", "/api/v2/users/")
_USER_SEGMENT = re.compile(r"^/api/v2/users/([^/]*)(?:/|$)")


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated user and the key they used."""

    user: User
    key: ApiKey


def token_from(scope: Scope) -> str:
    """Find the token where Coder looks, in order: cookie, query, header, Bearer, access_token."""
    headers = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.lower(), value.decode("latin-1"))
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    authorization = headers.get(b"authorization", "")
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
    candidates = (_cookie(headers.get(b"cookie", "")), _first(query, SESSION_COOKIE),
                  headers.get(SESSION_HEADER, ""), bearer, _first(query, "access_token"))
    return next((value for value in candidates if value), "")


def _cookie(header: str) -> str:
    cookies = SimpleCookie()
    try:
        cookies.load(header)
    except CookieError:
        return ""
    morsel = cookies.get(SESSION_COOKIE)
    return morsel.value if morsel else ""


def _first(query: dict[str, list[str]], name: str) -> str:
    return query.get(name, [""])[0]


def authenticate(store: Store, token: str, *, now: datetime) -> Caller:
    """Check a token as httpmw.ExtractAPIKey does, raising Coder's exact 401 for each failure."""
    if not token:
        raise errors.unauthorized('Cookie "coder_session_token" or query parameter must be '
                                  "provided.")
    parts = token.split("-")
    if len(parts) != 2:
        raise _bad_format(f"incorrect amount of API key parts, expected 2 got {len(parts)}")
    key_id, secret = parts
    if len(key_id.encode()) != 10:
        raise _bad_format(f"invalid API key ID length, expected 10 got {len(key_id.encode())}")
    if len(secret.encode()) != 22:
        raise _bad_format(f"invalid API key secret length, expected 22 got "
                          f"{len(secret.encode())}")
    key = store.key(key_id)
    if key is None:
        raise errors.unauthorized("API key is invalid.")
    if not hmac.compare_digest(key.secret.encode(), secret.encode()):
        raise errors.unauthorized("API key secret is invalid.")
    if key.expires_at is not None and key.expires_at <= now:
        raise errors.unauthorized(f"API key expired at {wire.quote(_go_time(key.expires_at))}.",
                                  expired=True)
    user = store.user(key.user_id)
    if user is None:
        raise errors.unauthorized("API key is invalid.")
    if not user.is_active:
        raise errors.unauthorized("", message=f'User is not active (status = "{user.status}"). '
                                  "Contact an admin to reactivate your account.")
    return Caller(user=user, key=key)


def _bad_format(reason: str) -> errors.CoderError:
    return errors.unauthorized(f"Invalid API key format: {reason}")


def _go_time(moment: datetime) -> str:
    """time.Time.String() for a UTC time, as Coder prints an expiry."""
    return moment.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def resolve_user(store: Store, caller: Caller, raw: str, *, not_found_status: int) -> User:
    """Resolve `{user}` as httpmw.ExtractUserParam does: "me", a UUID, or a username."""
    if raw == "":
        raise errors.CoderError(400, '"user" must be provided.')
    if raw == "me":
        return caller.user
    user: User | None
    try:
        user = store.user(wire.parse_uuid(raw))
    except ValueError:
        user = store.user_by_username(raw)
    if user is None or not caller.user.may_see(user):
        raise errors.user_not_found(raw, status=not_found_status)
    return user


class AuthMiddleware:
    """Authenticate Coder's route groups and resolve `{user}` before routing, like chi does."""

    def __init__(self, app: ASGIApp, *, store: Store, user_not_found_status: int,
                 clock: Clock = utc_now) -> None:
        self.app = app
        self.store = store
        self.user_not_found_status = user_not_found_status
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] == "OPTIONS" or not path.startswith(
                _GROUPS):
            await self.app(scope, receive, send)
            return
        caller = authenticate(self.store, token_from(scope), now=self.clock())
        context = {"caller": caller}
        match = _USER_SEGMENT.match(path)
        if match:
            context["subject"] = resolve_user(self.store, caller, match.group(1),
                                              not_found_status=self.user_not_found_status)
        extensions = scope.setdefault("extensions", {})
        extensions.setdefault("connexion_context", {}).update(context)
        await self.app(scope, receive, send)
