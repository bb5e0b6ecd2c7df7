"""The replay table's own rules (mock_server/replay.py): its bounds, what a found answer must
still hold, the back-off from requests that move the state, and the options that turn it off.
The answers themselves are compared with the stack's in tests/test_replay.py."""

from __future__ import annotations

import math
import time

import pytest

from mock_server.cli import serving_config
from mock_server.config import MockConfig
from mock_server.journal import Journal
from mock_server.options import build_parser
from mock_server.replay import MAX_BODY, MAX_REQUEST, Answer, Replays
from mock_server.server import MockServer


def test_no_replay_turns_the_table_off() -> None:
    server = MockServer(MockConfig(replay=False))
    assert server.replays is None


@pytest.mark.parametrize(("argv", "replay"), [
    ([], True), (["--no-replay"], False), (["--reload"], False),
])
def test_the_command_line_keeps_answers_unless_told_or_reloading(argv: list[str],
                                                                 replay: bool) -> None:
    assert serving_config(build_parser().parse_args(argv)).replay is replay


def _answer(body: bytes = b"{}", *, version: int = 1, expires: float = math.inf) -> Answer:
    return Answer(status=200, head=b"content-length: %d\r\n\r\n" % len(body), body=body,
                  version=version, current=lambda: 1, expires=expires, journal=Journal(),
                  entry={}, request_line=("GET", "/", "1.1"))


@pytest.mark.parametrize(("table", "kept", "found"), [
    (dict(size=2), [b"a", b"b"], [b"a", b"b"]),
    (dict(size=2), [b"a", b"b", b"c"], [b"c"]),  # full: the table starts again
    (dict(max_bytes=100), [b"a" * 40, b"b" * 40], [b"b" * 40]),  # 40 + 22 + 2 bytes each
    (dict(), [b"x"], [b"x"]),
    (dict(), [b"x" * (MAX_REQUEST + 1)], []),  # too long a request to be found by
])
def test_the_table_is_bounded_by_answers_and_bytes(table: dict[str, int], kept: list[bytes],
                                                   found: list[bytes]) -> None:
    replays = Replays(**table)
    for raw in kept:
        replays.learn(raw, _answer())
    assert [raw for raw in kept if replays.find(raw) is not None] == found


@pytest.mark.parametrize(("answer", "found"), [
    (_answer(), True),
    (_answer(version=2), False),  # the state moved since
    (_answer(expires=time.time() - 1), False),  # the caller's key expired since
    (_answer(b"x" * (MAX_BODY + 1)), False),  # too large to keep
])
def test_only_an_answer_that_still_holds_is_found(answer: Answer, found: bool) -> None:
    replays = Replays()
    replays.learn(b"GET", answer)
    assert (replays.find(b"GET") is answer) is found
    assert (replays.find(b"GET") is answer) is found  # a stale one is gone, a good one stays


def test_a_request_that_moves_the_state_is_offered_less_and_less() -> None:
    """Backing off: offered, then 1, 3, 7 ... offers skipped while it keeps moving the state;
    kept (and offered every time) again once it does not."""
    replays, raw, offered = Replays(), b"PUT read-status", []
    for index in range(16):
        if replays.offers(raw):
            offered.append(index)
            replays.moved(raw)
    assert offered == [0, 2, 6, 14]
    replays.learn(raw, _answer())
    assert all(replays.offers(raw) for _ in range(3))
