"""The Host values HostMiddleware remembers as served: a later refusal is still a refusal."""

from __future__ import annotations

import pytest

from mock_server.middleware.host import HostMiddleware


async def _app(scope: object, receive: object, send: object) -> None:
    return None


def _scope(*hosts: bytes) -> dict[str, object]:
    return {"type": "http", "http_version": "1.1", "headers": [(b"host", h) for h in hosts]}


# A served Host first (remembered), then another request → the status it must still get
# (None: served).
CASES = [
    (_scope(b"localhost:3000"), None),
    (_scope(b"localhost:3000", b"localhost:3000"), 400),  # repeated: counted before the cache
    (_scope(), 400),
    (_scope(b"rebind.test:3000"), 421),
    (_scope(b"localhost:3000 x"), 400),
]


@pytest.mark.parametrize(("later", "status"), CASES)
def test_a_remembered_host_changes_no_other_answer(later: dict[str, object],
                                                    status: int | None) -> None:
    middleware = HostMiddleware(_app, allowed=())
    assert middleware.refusal(_scope(b"localhost:3000")) is None
    refusal = middleware.refusal(later)
    assert (refusal and refusal.status) == status
