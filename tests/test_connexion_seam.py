"""The trimmed connexion layers answer as connexion's own: one request set, two stacks.

The same requests go, in order and twice (the second round meets remembered routes), through
the mock's stack and through one where each trim of `connexion_seam.STOCK` (and the CORS trim)
is replaced by the layer it trims. Both must give every request the same status, the same
accept/refuse decision, the same error message and headers, and journal the same calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import pytest
from connexion import ConnexionMiddleware
from connexion.datastructures import MediaTypeDict
from connexion.validators import JSONRequestBodyValidator
from starlette.middleware.cors import CORSMiddleware

from mock_server import errors
from mock_server.app import create_app
from mock_server.config import MockConfig
from mock_server.connexion_seam import STOCK, CachedParameterValidator, GoJSONBodyValidator
from mock_server.middleware.cors import LocalCORSMiddleware
from tests.conftest import MEMBER, OWNER, auth

pytestmark = pytest.mark.anyio

TRIMS: dict[type, type] = {**STOCK, LocalCORSMiddleware: CORSMiddleware}
TEMPLATE = "62f86a30-2330-4b61-a26d-311ff3b608cf"
UNKNOWN_TEMPLATE = "00000000-0000-4000-8000-000000000000"
SETTINGS = "/api/v2/notifications/settings"
PREFERENCES = "/api/v2/users/me/notifications/preferences"
INBOX = "/api/v2/notifications/inbox"
PAGE = {"Origin": "http://localhost:3000"}
TEXT = {"Content-Type": "text/plain"}
COMPARED_HEADERS = ("allow", "vary", "content-type", "location", "www-authenticate",
                    "access-control-allow-origin", "access-control-allow-methods")
BODY_REFUSALS = {errors.INVALID_JSON, "Invalid request body.", "Invalid request parameter."}


@dataclass(frozen=True)
class Call:
    """One request of the set; `go_only` bodies are read differently by Go than by JSON Schema."""

    method: str
    path: str
    body: Any = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: auth(OWNER))
    exact: bool = False  # the whole response body must match, not only status and message
    go_only: bool = False

    async def send(self, client: httpx.AsyncClient) -> httpx.Response:
        """The request, as a client would send it (bodies as given, byte for byte if raw)."""
        content = self.raw if self.raw is not None else (
            None if self.body is None else json.dumps(self.body).encode())
        return await client.request(self.method, self.path, content=content,
                                    headers=self.headers)


def prefs(mapping: Any) -> dict[str, Any]:
    """A preferences body around `mapping`."""
    return {"template_disabled_map": mapping}


CALLS = [
    # Coder's settings: good, unchanged (304), wrong types, not JSON, empty, null, labels
    Call("GET", SETTINGS, exact=True),
    Call("PUT", SETTINGS, {"notifier_paused": True}, exact=True),
    Call("PUT", SETTINGS, {"notifier_paused": True}),
    Call("PUT", SETTINGS, {"notifier_paused": "yes"}),
    Call("PUT", SETTINGS, [True]),
    Call("PUT", SETTINGS, raw=b"{"),
    Call("PUT", SETTINGS, raw=b""),
    Call("PUT", SETTINGS, raw=b"null"),
    Call("PUT", SETTINGS, {"notifier_paused": False}, headers={**auth(OWNER), **TEXT}),
    Call("PUT", SETTINGS, {"NOTIFIER_PAUSED": "yes"}, go_only=True),
    Call("PUT", SETTINGS, raw=b'{"notifier_paused": true} trailing', go_only=True),
    Call("PUT", SETTINGS, {"notifier_paused": False}, headers=auth(MEMBER)),
    Call("GET", SETTINGS, headers={}),
    # preferences: good and bad UUID keys, wrong types, another user, unknown users
    Call("GET", PREFERENCES),
    Call("PUT", PREFERENCES, prefs({TEMPLATE: True})),
    Call("PUT", PREFERENCES, prefs({"not-a-uuid": True})),
    Call("PUT", PREFERENCES, prefs({UNKNOWN_TEMPLATE: True})),
    Call("PUT", PREFERENCES, prefs({TEMPLATE: "yes"})),
    Call("PUT", PREFERENCES, prefs([TEMPLATE])),
    Call("PUT", PREFERENCES, prefs(None)),
    Call("PUT", "/api/v2/users/member/notifications/preferences", prefs({TEMPLATE: False})),
    Call("GET", "/api/v2/users/nobody/notifications/preferences"),
    Call("GET", "/api/v2/users/admin", exact=True),
    Call("GET", "/api/v2/users/me/", exact=True),
    Call("GET", "/api/v2/notifications/templates/system", exact=True),
    Call("GET", "/api/v2/notifications/dispatch-methods", exact=True),
    Call("POST", "/api/v2/notifications/test"),
    # the inbox: Coder's query parameters (unknown, repeated, bad values), path ids, bodies
    Call("GET", INBOX),
    Call("GET", INBOX + "?read_status=unread&templates=" + TEMPLATE),
    Call("GET", INBOX + "?read_status=bogus"),
    Call("GET", INBOX + "?starting_before=not-a-uuid"),
    Call("GET", INBOX + "?colour=red"),
    Call("GET", INBOX + "?templates=a&templates=b"),
    Call("PUT", INBOX + "/not-a-uuid/read-status", {"is_read": True}),
    Call("PUT", INBOX + f"/{UNKNOWN_TEMPLATE}/read-status", {"is_read": "yes"}),
    Call("PUT", INBOX + "/mark-all-as-read"),
    Call("POST", "/api/v2/notifications/custom",
         {"content": {"title": "Build finished", "message": "passed"}}),
    Call("POST", "/api/v2/notifications/custom", {"content": {"title": 1}}),
    Call("POST", "/api/v2/notifications/custom", {}),
    Call("GET", "/api/v2/notifications/templates/custom"),
    Call("PUT", f"/api/v2/notifications/templates/{TEMPLATE}/method", {"method": "webhook"}),
    Call("PUT", f"/api/v2/notifications/templates/{TEMPLATE}/method", {"method": 7}),
    Call("PUT", "/api/v2/notifications/templates/nope/method", {"method": "smtp"}),
    # unknown routes, wrong methods, trailing slashes
    Call("GET", "/api/v2/notifications/nope"),
    Call("GET", "/api/v2/nope"),
    Call("GET", "/nope"),
    Call("GET", SETTINGS + "/"),
    Call("DELETE", SETTINGS),
    Call("POST", "/api/v2/users/me"),
    Call("PATCH", "/__mock/journal"),
    # the docs and the specs
    Call("GET", "/api/v2/docs/", headers={}, exact=True),
    Call("GET", "/api/v2/docs", headers={}, exact=True),
    Call("GET", "/api/v2/openapi.json", headers={}, exact=True),
    Call("GET", "/api/v2/openapi.yaml", headers={}, exact=True),
    Call("GET", "/__mock/docs/", headers={}, exact=True),
    Call("GET", "/__mock/openapi.json", headers={}, exact=True),
    # the control API: query and path parameters, bodies, a fault that needs the routing
    Call("GET", "/__mock/health", headers={}),
    Call("GET", "/__mock/journal?limit=abc", headers={}),
    Call("GET", "/__mock/journal?limit=0", headers={}),
    Call("GET", "/__mock/journal?limit=1", headers={}),
    Call("DELETE", "/__mock/faults/abc", headers={}),
    Call("DELETE", "/__mock/faults/999", headers={}),
    Call("POST", "/__mock/faults", {"status": "x"}, headers={}),
    Call("POST", "/__mock/faults", {"status": 503, "colour": "red"}, headers={}),
    Call("POST", "/__mock/faults", {"status": 503}, headers=TEXT),
    Call("POST", "/__mock/faults", {"operation_id": "get-user-by-name", "status": 503,
                                    "times": 1}, headers={}, exact=True),
    Call("GET", "/api/v2/users/admin"),
    Call("GET", "/api/v2/users/admin"),
    # browser pages: CORS preflight, an allowed and a refused origin
    Call("OPTIONS", SETTINGS, headers={**PAGE, "Access-Control-Request-Method": "PUT"}),
    Call("GET", SETTINGS, headers={**auth(OWNER), **PAGE}),
    Call("GET", SETTINGS, headers={**auth(OWNER), "Origin": "https://evil.example"}),
    Call("POST", "/__mock/reset", headers={"Origin": "https://evil.example"}),
]


def stock_app(config: MockConfig, *,
              body_validator: type = GoJSONBodyValidator) -> ConnexionMiddleware:
    """The mock with each trim replaced by the layer it trims, before the stack is built."""
    app = create_app(config)
    app.middlewares = [_untrimmed(layer) for layer in app.middlewares]
    for api in app.apis:
        validators = api.kwargs["validator_map"]
        api.kwargs["validator_map"] = {"body": MediaTypeDict({"*/*json": body_validator}),
                                       "parameter": TRIMS[validators["parameter"]]}
    return app


def _untrimmed(layer: Any) -> Any:
    """The stack entry with its trim (possibly inside a partial) replaced by the stock layer."""
    if isinstance(layer, partial):
        return partial(TRIMS.get(layer.func, layer.func), *layer.args, **layer.keywords)
    return TRIMS.get(layer, layer)


async def outcomes(app: ConnexionMiddleware) -> list[dict[str, Any]]:
    """What each call of the set, sent twice, was answered; then what the journal learned."""
    seen = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        for round_ in (1, 2):
            for call in CALLS:
                response = await call.send(client)
                seen.append(_outcome(call, response) | {"round": round_})
        journal = (await client.get("/__mock/journal")).json()
    seen.append({"journal": [(e["method"], e["path"], e["operation_id"], e["user"], e["status"],
                              e["fault"]) for e in journal]})
    return seen


def _outcome(call: Call, response: httpx.Response) -> dict[str, Any]:
    """What must agree: status, decision, error message, headers, and the body if exact."""
    message = None
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        message = body.get("message") if isinstance(body, dict) else None
    sent = call.body if call.body is not None else call.raw
    return {"call": f"{call.method} {call.path} {sent!r}",
            "status": response.status_code, "refused": response.status_code >= 400,
            "message": message if response.status_code >= 400 else None,
            "headers": {name: response.headers.get(name) for name in COMPARED_HEADERS},
            "body": response.content if call.exact else None}


def _layers(app: ConnexionMiddleware) -> set[type]:
    return {type(layer) for layer in app.middleware_stack}


async def test_the_trimmed_stack_answers_every_call_as_connexions_stock_one() -> None:
    trimmed, stock = create_app(MockConfig()), stock_app(MockConfig())
    for got, expected in zip(await outcomes(trimmed), await outcomes(stock), strict=True):
        assert got == expected
    assert not _layers(stock) & TRIMS.keys(), "the stock stack still holds a trim"
    assert TRIMS.keys() - {CachedParameterValidator} <= _layers(trimmed), "a trim is missing"


@pytest.mark.parametrize("call", [c for c in CALLS if c.body is not None or c.raw is not None
                                  if not c.go_only], ids=lambda c: f"{c.method} {c.path}")
async def test_go_bodies_are_refused_where_connexions_json_validator_refuses(call: Call) -> None:
    """Go's reading of bodies is semantics, not a trim: compared on accept/refuse alone."""
    decisions = []
    for app in (create_app(MockConfig()), stock_app(
            MockConfig(), body_validator=JSONRequestBodyValidator)):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await call.send(client)
        refused = response.status_code == 400 and response.json().get("message") in BODY_REFUSALS
        decisions.append(refused)
    assert decisions[0] == decisions[1], decisions
