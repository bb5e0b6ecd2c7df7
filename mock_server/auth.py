"""Coder's API-key and `{user}` policy: who is calling, and which user the path names.

Where the token is read, how a key is checked and how `{user}` resolves, each with Coder's exact
refusals; middleware/auth.py applies them to Coder's route groups.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qs

from starlette.types import Scope

from mock_server import errors, wire
from mock_server.context import Caller
from mock_server.models import User
from mock_server.state.store import Store

SESSION_COOKIE = "coder_session_token"
SESSION_HEADER = b"coder-session-token"
_HTTP_SPACE = " \t\r\n"
_HEADER_BLANKS = " \t"
_TOKEN_HEADERS = frozenset({b"cookie", b"authorization", SESSION_HEADER})


def token_from(scope: Scope) -> str:
    """Find the token where Coder looks, in order: cookie, query, header, Bearer, access_token."""
    headers: dict[bytes, list[str]] = {}
    for name, value in scope["headers"]:
        if name in _TOKEN_HEADERS:  # ASGI servers send header names lower-cased
            # Go's textproto trims a value's surrounding blanks; httptools keeps trailing ones
            headers.setdefault(name, []).append(
                value.decode("utf-8", "surrogateescape").strip(_HEADER_BLANKS))
    raw_query = scope.get("query_string", b"")
    query = parse_qs(raw_query.decode("utf-8", "surrogateescape"), keep_blank_values=True,
                     errors="surrogateescape") if raw_query else {}
    authorization = headers.get(b"authorization", [""])[0]
    bearer = authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""
    candidates = (_cookie(headers.get(b"cookie", [])), _first(query, SESSION_COOKIE),
                  headers.get(SESSION_HEADER, [""])[0], bearer, _first(query, "access_token"))
    return next((value for value in candidates if value), "")


def _cookie(lines: list[str]) -> str:
    """r.Cookie as net/http reads it: the first well-formed pair named so; bad pairs are skipped."""
    for line in lines:
        for part in line.split(";"):
            name, _, value = part.strip(_HTTP_SPACE).partition("=")
            if name.strip(_HTTP_SPACE) != SESSION_COOKIE:
                continue
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if all(" " <= char < "\x7f" and char not in '";\\' for char in value):
                return value
    return ""


def _first(query: dict[str, list[str]], name: str) -> str:
    return query.get(name, [""])[0]


def _bytes(text: str) -> bytes:
    """The bytes a header or query value arrived as (Go measures and compares bytes)."""
    return text.encode("utf-8", "surrogateescape")


def authenticate(store: Store, token: str, *, now: datetime) -> Caller:
    """Check a token as httpmw.ExtractAPIKey does, raising Coder's exact 401 for each failure."""
    if not token:
        raise errors.unauthorized('Cookie "coder_session_token" or query parameter must be '
                                  "provided.")
    parts = token.split("-")
    if len(parts) != 2:
        raise _bad_format(f"incorrect amount of API key parts, expected 2 got {len(parts)}")
    key_id, secret = parts
    if len(_bytes(key_id)) != 10:
        raise _bad_format(f"invalid API key ID length, expected 10 got {len(_bytes(key_id))}")
    if len(_bytes(secret)) != 22:
        raise _bad_format(f"invalid API key secret length, expected 22 got {len(_bytes(secret))}")
    key = store.key(key_id)
    if key is None:
        raise errors.unauthorized("API key is invalid.")
    if not hmac.compare_digest(_bytes(key.secret), _bytes(secret)):
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


class CallerCache:
    """`authenticate` with the callers it accepted remembered by their exact token, so a
    client's every call does not re-check the same key: a hit is the same Caller the check
    would give, since users and keys are the store's catalog (frozen, and rebuilt only from a
    new seed, which empties the cache); only the expiry is checked again, against `now`.
    Refusals are never remembered. At most one entry per key of the seed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._seed = store.seed
        self._callers: dict[str, Caller] = {}

    def authenticate(self, token: str, now: Callable[[], datetime]) -> Caller:
        """The caller of this token, or Coder's exact 401 (`now` is called only when needed)."""
        if self.store.seed is not self._seed:
            self._seed, self._callers = self.store.seed, {}
        caller = self._callers.get(token)
        if caller is not None:
            expires_at = caller.key.expires_at
            if expires_at is None or expires_at > now():
                return caller
        caller = authenticate(self.store, token, now=now())
        self._callers[token] = caller
        return caller


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

