"""Before any test: is there a Coder at the URL, and do the tokens sign in who they claim?

A wrong URL, a server that is not Coder (a static file server, a proxy's HTML page, a 404 on
`/users/me`) or a refused token would otherwise fail every check of the suite, one set-up error
each; this asks `GET /api/v2/users/me` once per token and says in one line what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

import requests

from contract_tests.client import BYPASS_RATE_LIMIT, TOKEN_HEADER
from contract_tests.target import Target
from contract_tests.wire import Wire

TIMEOUT = 15.0  # seconds for one answer; a deployment that needs more is not testable anyway
JSON_TYPE = "application/json"


class NotTestable(Exception):
    """The target cannot be tested; the message is the one line that says why."""


def preflight(target: Target, wire: Wire) -> None:
    """Raise NotTestable unless `target` answers `/users/me` as Coder does, for each token."""
    if target.api_url is None:
        return  # an in-process app: nothing to reach
    owner = _me(target, target.owner_token, "--token", wire)
    expect_role(owner, owner=True)
    if target.member_token is not None:
        member = _me(target, target.member_token, "--member-token", wire)
        expect_role(member, owner=False)
        expect_other_user(owner.get("id"), member.get("id"))


def _me(target: Target, token: str, option: str, wire: Wire) -> dict[str, Any]:
    """The user `token` signs in, or NotTestable saying what answered instead."""
    url = f"{target.api_url}/users/me"
    try:
        response = requests.get(url, headers={TOKEN_HEADER: token, BYPASS_RATE_LIMIT: "true"},
                                timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        raise NotTestable(f"cannot test {target.api_url}: nothing answers there "
                          f"({_reason(exc)})") from None
    wire.count_own("get-user-by-name", "preflight")
    status, kind = response.status_code, response.headers.get("Content-Type", "")
    where = f"cannot test {target.api_url}: GET /api/v2/users/me answered {status}"
    if 300 <= status < 400:
        raise NotTestable(f"{where}, a redirect to {response.headers.get('Location', '?')}; "
                          "give the deployment's own URL")
    body = _json(response) if kind.split(";")[0].strip() == JSON_TYPE else None
    if not isinstance(body, dict):
        shown = kind.split(";")[0] or "no content type"
        raise NotTestable(f"{where} with {shown}, not Coder's JSON: is this a Coder deployment?")
    if status == 401:
        detail = body.get("detail") or body.get("message") or "no reason given"
        raise NotTestable(f"cannot test {target.api_url}: the server refused {option}: {detail}")
    if status != 200 or not isinstance(body.get("id"), str) or "username" not in body:
        raise NotTestable(f"{where} {json.dumps(body)[:120]}, not a Coder user: is this a "
                          "Coder deployment?")
    return body


def expect_role(user: dict[str, Any], *, owner: bool) -> None:
    """Raise NotTestable unless `user` (a `/users/me` body) is an owner (or, for the member's
    token, is not one): the role checks mean nothing with the wrong kind of token."""
    option = "--token" if owner else "--member-token"
    roles = {role.get("name") for role in user.get("roles") or [] if isinstance(role, dict)}
    if owner and "owner" not in roles:
        raise NotTestable(f"{option} signs in {user['username']!r}, who is not an owner; the "
                          "suite needs an owner's token to check owner-only operations")
    if not owner and "owner" in roles:
        raise NotTestable(f"{option} signs in {user['username']!r}, who is an owner; role "
                          "checks need a plain member's token")


def expect_other_user(owner_id: object, member_id: object) -> None:
    """Raise NotTestable when both tokens sign in one user: scoping checks need two."""
    if member_id == owner_id:
        raise NotTestable("--member-token signs in the same user as --token; give a token "
                          "of another, non-owner user")


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _reason(exc: requests.RequestException) -> str:
    """The innermost cause, e.g. `[Errno 111] Connection refused`."""
    cause: BaseException = exc
    while cause.__context__ is not None or (cause.args and isinstance(cause.args[0],
                                                                      BaseException)):
        cause = cause.__context__ or cause.args[0]
    text = str(cause)
    return text.split(": ", 1)[-1] if "Failed to establish" in text else text
