"""--state-file: the state survives restarts, a corrupt file is a clear error, and a kill -9 in
the middle of a burst of writes leaves a file that loads."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from mock_server.config import DEFAULT_FIXTURES, MockConfig
from mock_server.fixtures import load_seed
from mock_server.server import MockServer
from mock_server.state import Store
from mock_server.state.file import FORMAT, StateFile, StateFileError, read_state, write_state
from tests.conftest import ADMIN_ID, OWNER, auth
from tests.processes import mock_process

PREFS = "/api/v2/users/me/notifications/preferences"
TEMPLATES = ["f517da0b-cdc9-410f-ab89-a86107c420ed", "281fdf73-c6d6-4cbb-8ff5-888baf8a2fff"]


def test_a_write_is_on_disk_when_it_is_answered_and_loaded_by_the_next_start(
        tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = Store(load_seed(DEFAULT_FIXTURES))
    state_file = StateFile(path)
    state_file.attach(store)

    async def writes() -> dict[str, Any]:
        await store.put_settings_json('{"notifier_paused":true}')
        assert read_state(path) == await store.snapshot(), "saved before it returned"
        await store.upsert_preferences(store.seed.users[0].id, {UUID(TEMPLATES[0]): True})
        assert read_state(path) == await store.snapshot()
        return await store.snapshot()

    saved = asyncio.run(writes())
    restarted = MockServer(MockConfig(state_file=path))
    assert restarted.run(restarted.store.snapshot()) == saved


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for index in range(20):
        write_state(path, {"settings": str(index)})
    assert read_state(path) == {"settings": "19"}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def saved(state: Any) -> str:
    return json.dumps({"format": FORMAT, "state": state})


ROW = {"id": "00000000-0000-4000-8000-000000000001", "user_id": ADMIN_ID,
       "template_id": TEMPLATES[0], "created_at": "2025-01-01T00:00:00Z"}


@pytest.mark.parametrize(("content", "message"), [
    ("{broken", "not valid JSON"),
    (json.dumps({"format": "something-else", "state": {}}), "not a state file of this mock"),
    (json.dumps([1, 2]), "not a state file of this mock"),
    (json.dumps({"format": FORMAT}), '"state" must be the state object'),
    (saved({"preferences": {"x": []}}),
     "the saved state does not fit this mock: preferences: key 'x' is not a UUID"),
    (saved({"prefs": {}}), "unknown key 'prefs': a state has settings, preferences,"),
    (saved({"inbox": [{k: v for k, v in ROW.items() if k != "created_at"}]}),
     "inbox[0]: missing 'created_at'"),
    (saved({"outbox": "none"}), "outbox: expected a JSON array, not a string"),
    (saved({"settings": "paused"}), "settings 'paused' is not JSON"),
    (saved({"template_methods": {TEMPLATES[0]: "fax"}}),
     f"template_methods['{TEMPLATES[0]}']: template method 'fax' is not one of"),
    (saved({"outbox": [{"id": str(n)} for n in range(3)]}),
     "outbox has 3 entries; this mock keeps at most 2 (--max-outbox)"),
], ids=["not-json", "other-format", "not-an-object", "no-state", "bad-user-id", "unknown-key",
        "row-without-time", "outbox-not-a-list", "bad-settings", "bad-method", "over-limit"])
def test_a_state_file_of_the_wrong_shape_is_one_clear_line_and_left_alone(
        tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateFileError, match=re.escape(message)):
        MockServer(MockConfig(state_file=path, max_outbox=2))
    result = subprocess.run([sys.executable, "-m", "mock_server", "--port", "0", "--max-outbox",
                             "2", "--state-file", str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {path}: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert path.read_text() == content, "a refused file is never overwritten"


def test_a_kill_during_a_burst_of_writes_loses_no_answered_write(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    answered = threading.Semaphore(0)
    stop = threading.Event()
    acknowledged: dict[str, bool] = {}  # each template's last answered value
    sent: dict[str, bool] = {}  # and the one in flight when the kill came

    def writer(url: str, template: str) -> None:
        with httpx.Client(base_url=url, timeout=5, headers=auth(OWNER)) as client:
            flag = False
            while not stop.is_set():
                flag = not flag
                sent[template] = flag
                try:
                    response = client.put(PREFS, json={"template_disabled_map": {template: flag}})
                except httpx.HTTPError:
                    return
                assert response.status_code == 200, response.text
                acknowledged[template] = flag
                answered.release()

    with mock_process("--state-file", str(path), "--no-access-log") as mock:
        threads = [threading.Thread(target=writer, args=(mock.url, t)) for t in TEMPLATES]
        for thread in threads:
            thread.start()
        for _ in range(150):
            assert answered.acquire(timeout=10), "the writers stalled"
        mock.process.send_signal(signal.SIGKILL)
        mock.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    state = read_state(path)
    assert state is not None
    assert state["preferences"], "nothing was saved before the kill"
    restarted = MockServer(MockConfig(state_file=path))
    stored = {str(p.template_id): p.disabled for p in restarted.run(restarted.store.preferences(
        restarted.store.seed.users[0].id))}
    assert set(stored) == set(TEMPLATES)
    for template in TEMPLATES:  # the last answered value, or the unanswered one after it
        assert stored[template] in (acknowledged[template], sent[template])
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"], "a restart cleans up the " \
        "temporary file a kill may leave"
