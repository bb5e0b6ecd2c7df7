"""--state-file: the state survives restarts, a corrupt file is a clear error, and a kill -9 in
the middle of a burst of writes leaves a file that loads."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from mock_server.config import DEFAULT_FIXTURES, MockConfig
from mock_server.fixtures import load_seed
from mock_server.server import MockServer
from mock_server.state import Store
from mock_server.state.file import FORMAT, StateFile, StateFileError, read_state, write_state
from tests.conftest import OWNER, auth
from tests.processes import mock_process

PREFS = "/api/v2/users/me/notifications/preferences"
TEMPLATES = ["f517da0b-cdc9-410f-ab89-a86107c420ed", "281fdf73-c6d6-4cbb-8ff5-888baf8a2fff"]


def test_a_write_is_saved_and_loaded_by_the_next_start(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    store = Store(load_seed(DEFAULT_FIXTURES))
    state_file = StateFile(path)
    state_file.attach(store)
    store.put_settings_json('{"notifier_paused":true}')
    store.upsert_preferences(store.seed.users[0].id, {UUID(TEMPLATES[0]): True})
    assert state_file.flush()
    assert read_state(path) == store.snapshot()
    restarted = MockServer(MockConfig(state_file=path))
    assert restarted.store.snapshot() == store.snapshot()


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    for index in range(20):
        write_state(path, {"settings": str(index)})
    assert read_state(path) == {"settings": "19"}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize(("content", "message"), [
    ("{broken", "not valid JSON"),
    (json.dumps({"format": "something-else", "state": {}}), "not a state file of this mock"),
    (json.dumps([1, 2]), "not a state file of this mock"),
    (json.dumps({"format": FORMAT, "state": {"preferences": {"x": []}}}),
     "the saved state does not fit this mock"),
], ids=["not-json", "other-format", "not-an-object", "bad-user-id"])
def test_a_corrupt_state_file_is_a_clear_error_at_start(tmp_path: Path, content: str,
                                                        message: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateFileError, match=message):
        MockServer(MockConfig(state_file=path))
    result = subprocess.run([sys.executable, "-m", "mock_server", "--port", "0",
                             "--state-file", str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_kill_during_a_burst_of_writes_leaves_a_file_that_loads(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    answered = threading.Semaphore(0)
    stop = threading.Event()

    def writer(url: str, template: str) -> None:
        with httpx.Client(base_url=url, timeout=5, headers=auth(OWNER)) as client:
            flag = False
            while not stop.is_set():
                flag = not flag
                try:
                    client.put(PREFS, json={"template_disabled_map": {template: flag}})
                    client.put("/api/v2/notifications/settings", json={"notifier_paused": flag})
                except httpx.HTTPError:
                    return
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
    stored = {str(p.template_id) for p in restarted.store.preferences(
        restarted.store.seed.users[0].id)}
    assert stored <= set(TEMPLATES)
    assert stored
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"], "a restart cleans up the " \
        "temporary file a kill may leave"
