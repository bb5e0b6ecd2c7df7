"""--reload: edits to the fixtures take effect; a broken edit keeps the last good build serving."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp

from mock_server.config import DEFAULT_FIXTURES
from mock_server.reload import ReloadingApp
from tests.conftest import OWNER, auth
from tests.processes import mock_process

NEW_TOKEN = "NewTokenAb-newSecretValue00000000"


def answer(text: str) -> ASGIApp:
    """A stand-in app that says which build it is."""
    return PlainTextResponse(text)


@pytest.mark.anyio
async def test_a_failed_rebuild_keeps_the_last_good_app() -> None:
    builds = iter([answer("second"), ValueError("users.yaml: users/0/id: 'x' is not a 'uuid'")])

    def build(_changed: object) -> ASGIApp:
        result = next(builds)
        if isinstance(result, Exception):
            raise result
        return result

    reloading = ReloadingApp(answer("first"), build, [DEFAULT_FIXTURES])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=reloading),
                                 base_url="http://localhost") as client:
        assert (await client.get("/")).text == "first"
        assert reloading.rebuild([Path("users.yaml")])
        assert (await client.get("/")).text == "second"
        assert not reloading.rebuild([Path("users.yaml")])
        assert (await client.get("/")).text == "second"
        assert reloading.last_error == "ValueError: users.yaml: users/0/id: 'x' is not a 'uuid'"
        assert reloading.reloads == 1


def wait_for_status(client: httpx.Client, token: str, status: int, timeout: float = 15) -> None:
    """Poll until `token` gets `status` from GET /users/me."""
    deadline = time.monotonic() + timeout
    while client.get("/api/v2/users/me", headers=auth(token)).status_code != status:
        assert time.monotonic() < deadline, f"{token[:10]} never got {status}"
        time.sleep(0.1)


def test_fixture_edits_reload_and_broken_edits_are_reported(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(DEFAULT_FIXTURES, fixtures)
    users = fixtures / "users.yaml"
    good = users.read_text()
    with mock_process("--reload", "--fixtures", str(fixtures), "--no-access-log") as mock, \
            httpx.Client(base_url=mock.url, timeout=5) as client:
        wait_for_status(client, NEW_TOKEN, 401)
        users.write_text(good.replace("      - BobSession-bobSecretValue00000000",
                                      f"      - BobSession-bobSecretValue00000000\n"
                                      f"      - {NEW_TOKEN}"))
        wait_for_status(client, NEW_TOKEN, 200)
        mock.wait_for(r"reloaded after changes to users\.yaml")
        users.write_text(good + "  - id: not-a-uuid\n    username: x\n    email: x@x\n")
        mock.wait_for(r"reload after changes to users\.yaml failed, still serving the last "
                      r"good configuration: FixtureError: .*users\.yaml: users/4/id: "
                      r"'not-a-uuid' is not a 'uuid'")
        assert client.get("/api/v2/users/me", headers=auth(NEW_TOKEN)).status_code == 200
        assert client.get("/api/v2/users/me", headers=auth(OWNER)).status_code == 200
        users.write_text(good)
        wait_for_status(client, NEW_TOKEN, 401)
