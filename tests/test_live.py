"""What only a real socket shows: chunked request bodies and the framing of bodiless answers."""

from __future__ import annotations

from collections.abc import Iterator

import httpx

from mock_server.server import MockServer
from tests.conftest import MEMBER, OWNER, auth
from tests.helpers import JSON_TYPE, SIGNED_OUT


def chunked(body: bytes, size: int) -> Iterator[bytes]:
    """The body in pieces, so httpx sends it with Transfer-Encoding: chunked."""
    for start in range(0, len(body), size):
        yield body[start:start + size]


def test_a_chunked_body_is_read_whole_and_bodiless_answers_stay_bodiless(
        live_mock: MockServer) -> None:
    settings = live_mock.api_url + "/notifications/settings"
    body = b'{"padding":"' + b"x" * 400_000 + b'","notifier_paused":true}'
    with httpx.Client(timeout=10) as client:
        stored = client.put(settings, content=chunked(body, 7_919), headers=auth(OWNER))
        assert stored.status_code == 200
        assert stored.content == b'{"notifier_paused":true}\n'
        assert stored.headers["content-type"] == JSON_TYPE

        unchanged = client.put(settings, content=chunked(b'{"notifier_paused":true}', 3),
                               headers=auth(MEMBER))
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        assert "content-type" not in unchanged.headers

        sent = client.post(live_mock.api_url + "/notifications/test", headers=auth(OWNER))
        assert (sent.status_code, sent.content) == (204, b"")
        assert "content-type" not in sent.headers

        wrong = client.delete(settings, headers=auth(OWNER))
        assert (wrong.status_code, wrong.content, wrong.headers["allow"]) == (405, b"", "GET, PUT")

        anonymous = client.get(settings)
        assert anonymous.status_code == 401
        assert anonymous.json()["message"] == SIGNED_OUT
        assert anonymous.headers["www-authenticate"].startswith('Bearer realm="coder"')

    assert live_mock.run(live_mock.store.settings_json()) == '{"notifier_paused":true}'
    held = live_mock.run(live_mock.store.snapshot())["pending"]  # paused: held until resume
    assert (live_mock.run(live_mock.store.outbox()), [m["method"] for m in held]) == (
        [], ["smtp", "inbox"])
