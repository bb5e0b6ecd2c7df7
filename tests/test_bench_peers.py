"""The benchmark's own logic: stubs built from the mock's answers, the ceiling app, the profile's
categories and the ratios (no servers: the bench itself runs them)."""

from __future__ import annotations

import asyncio
import json

import pytest

from bench import report
from bench.peers import ceiling, mockoon, wiremock
from bench.peers.capture import Answer
from bench.profile_categories import IDLE, category, tally

TOKEN = "AdminToken-adminSecretValue000000"
SETTINGS = Answer("GET", "/api/v2/notifications/settings", 200,
                  (("content-type", "application/json; charset=utf-8"), ("vary", "Origin")),
                  b'{"notifier_paused":true}\n')
NOT_MODIFIED = Answer("PUT", "/api/v2/notifications/settings", 304, (("vary", "Origin"),), b"")
PREFS = Answer("GET", "/api/v2/users/me/notifications/preferences", 200,
               (("content-type", "application/json"),), b"[]")
DENIED = Answer("GET", "/api/v2/notifications/settings", 401,
                (("content-type", "application/json"),), b'{"message":"signed out"}')


@pytest.mark.parametrize(("stack", "expected"), [
    (["run (uvicorn/server.py:1)", "send (uvicorn/protocols/http/httptools_impl.py:524)",
      "UVStream_write (loop.c:1)", "write (libc.so.6)"], "syscall: write (send the answer)"),
    (["run (loop.c:1)", "epoll_pwait (libc.so.6)"], IDLE),
    (["AuthMiddleware.__call__ (mock_server/middleware/auth.py:56)",
      "token_from (mock_server/auth.py:39)", "Py_DECREF (object.h:537)"],
     "auth and {user} resolution"),
    (["RememberingRoutingMiddleware.__call__ (mock_server/connexion_seam.py:110)"],
     "connexion routing"),
    (["JournalMiddleware.__call__ (/work/main/mock_server/middleware/journal.py:41)",
      "encode_json (mock_server/wire.py:42)", "dumps (json/__init__.py:234)"],
     "JSON encoding and decoding"),
    (["ExceptionMiddleware.__call__ (starlette/middleware/exceptions.py:59)"],
     "ASGI layers (pass-through)"),
    (["_run_module_as_main (<frozen runpy>:198)"], "other (start-up frames, unresolved)"),
])
def test_a_sample_goes_to_its_innermost_named_part(stack, expected):
    assert category(stack) == expected


def test_tally_adds_the_counts_of_collapsed_lines():
    text = "a (mock_server/faults.py:1) 3\nb (mock_server/faults.py:2) 4\nrun (loop.c:1);read 2\n"
    assert tally(text) == {"faults": 7, "syscall: read (the request)": 2}


def _call(app, method: str, path: str, headers: list[tuple[bytes, bytes]]):
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "method": method, "path": path, "headers": headers},
                    receive, send))
    return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]


@pytest.mark.parametrize(("method", "path", "headers", "status", "body"), [
    ("GET", SETTINGS.path, [(b"coder-session-token", TOKEN.encode())], 200, SETTINGS.body),
    ("GET", SETTINGS.path, [], 401, DENIED.body),
    ("GET", SETTINGS.path, [(b"coder-session-token", b"other")], 401, DENIED.body),
    ("PUT", SETTINGS.path, [(b"coder-session-token", TOKEN.encode())], 304, b""),
    ("GET", "/api/v2/elsewhere", [(b"coder-session-token", TOKEN.encode())], 404, b"not stubbed"),
])
def test_the_ceiling_serves_the_mock_bytes_to_the_token_only(tmp_path, monkeypatch, method,
                                                             path, headers, status, body):
    answers = tmp_path / "answers.json"
    ceiling.write(answers, [SETTINGS, NOT_MODIFIED], DENIED, "Coder-Session-Token", TOKEN)
    monkeypatch.setenv(ceiling.ANSWERS_ENV, str(answers))
    got_status, got_headers, got_body = _call(ceiling.build(), method, path, headers)
    assert (got_status, got_body) == (status, body)
    if status == 200:
        assert got_headers[b"content-length"] == str(len(body)).encode()
        assert got_headers[b"vary"] == b"Origin"


@pytest.mark.parametrize(("answer", "length"), [(SETTINGS, str(len(SETTINGS.body))),
                                                (NOT_MODIFIED, None)])
def test_a_wiremock_stub_is_the_answer_behind_the_token(answer, length):
    stub = wiremock.stub(answer, "Coder-Session-Token", TOKEN)
    assert stub["request"] == {"method": answer.method, "urlPath": answer.path,
                               "headers": {"Coder-Session-Token": {"equalTo": TOKEN}}}
    response = stub["response"]
    assert response["status"] == answer.status
    assert response["headers"].get("content-length") == length
    assert ("base64Body" in response) == bool(answer.body)


def _route(method: str, endpoint: str) -> dict:
    return {"method": method, "endpoint": endpoint,
            "responses": [{"uuid": f"{method}-{endpoint}", "statusCode": 200, "body": "{}",
                           "headers": [], "rules": [], "default": True}]}


def test_mockoon_routes_answer_the_mock_bytes_with_the_token_and_401_without():
    env = {"endpointPrefix": "api/v2", "headers": [{"key": "Content-Type", "value": "x"}],
           "cors": True, "routes": [_route("get", "notifications/settings"),
                                    _route("get", "users/:user/notifications/preferences")]}
    patched = mockoon.patch(env, [SETTINGS, PREFS], DENIED, "Coder-Session-Token", TOKEN)
    assert patched == ["GET notifications/settings", "GET users/:user/notifications/preferences"]
    first, fallback = env["routes"][0]["responses"]
    assert (first["statusCode"], first["body"].encode()) == (200, SETTINGS.body)
    assert first["rules"][0]["value"] == TOKEN
    assert not first["default"]
    assert (fallback["statusCode"], fallback["default"], fallback["rules"]) == (401, True, [])
    assert env["headers"] == []
    assert env["cors"] is False
    json.dumps(env)  # written as JSON


def test_mockoon_without_a_route_for_an_answer_says_so():
    env = {"endpointPrefix": "api/v2", "headers": [], "cors": False,
           "routes": [_route("put", "notifications/settings")]}
    with pytest.raises(RuntimeError, match="no route for GET"):
        mockoon.patch(env, [SETTINGS], DENIED, "Coder-Session-Token", TOKEN)


def _rps(value: float) -> dict:
    return {"median": {"requests_per_s": value}}


@pytest.mark.parametrize(("rates", "best", "over_best", "over_ceiling"), [
    ({"mock": 100, "prism": 50, "wiremock": 200, "ceiling": 400}, "wiremock", 0.5, 0.25),
    ({"mock": 300, "prism": 100, "ceiling": 200}, "prism", 3.0, 1.5),
    ({"mock": 100, "ceiling": 200}, None, None, 0.5),
])
def test_the_best_peer_is_the_fastest_mock_never_the_ceiling(rates, best, over_best,
                                                             over_ceiling):
    got = report.ratios({n: _rps(v) for n, v in rates.items()}, list(rates))
    assert got == {"best_peer": best, "mock_over_best_peer": over_best,
                   "mock_over_ceiling": over_ceiling}
