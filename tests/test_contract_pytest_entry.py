"""`pytest contract_tests` inside a plain pytest session: it runs the suite against the server
the `--coder-*` options name, or stops with a usage hint, never with an internal error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mock_server.config import MockConfig
from mock_server.server import MockServer

SUITE = Path(__file__).resolve().parent.parent / "contract_tests"
NO_TARGET_ENV = ("CODER_URL", "CODER_SESSION_TOKEN", "CODER_MEMBER_SESSION_TOKEN")


def pytest_run(*args: str, cwd: Path, env: dict[str, str] | None = None,
               ) -> subprocess.CompletedProcess[str]:
    """`python -m pytest ARGS` from `cwd`, with no target in the environment unless given."""
    environ = {k: v for k, v in os.environ.items()
               if k not in NO_TARGET_ENV and not k.startswith("PYTEST_")}
    return subprocess.run([sys.executable, "-m", "pytest", *args, "-p", "no:cacheprovider"],
                          cwd=cwd, env={**environ, **(env or {})}, capture_output=True,
                          text=True, timeout=300)


def outcomes(output: str) -> dict[str, int]:
    """The counts of pytest's last summary line: {"passed": 71, "skipped": 2, ...}."""
    last = [line for line in output.splitlines() if re.search(r" in [\d.]+s\b", line)][-1]
    return {name: int(count) for count, name in re.findall(
        r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed)\b", last.replace(
            "subtests passed", "subtests"))}


def assert_no_internal_error(output: str) -> None:
    for sign in ("Traceback", "KeyError", "INTERNALERROR"):
        assert sign not in output, output


def test_without_options_it_stops_with_the_usage(tmp_path: Path) -> None:
    result = pytest_run(str(SUITE), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert "the contract suite has no server to check: --coder-url (or CODER_URL) is missing" \
        in output
    assert "pytest contract_tests --coder-url URL --coder-token OWNER_TOKEN" in output
    assert "pytest contract_tests --coder-mock    (the bundled mock, in-process)" in output
    assert_no_internal_error(output)


@pytest.mark.parametrize(("args", "message"), [
    (["--coder-url", "http://127.0.0.1:9"],
     "--coder-url http://127.0.0.1:9 needs an owner's token: --coder-token (or "
     "CODER_SESSION_TOKEN) is missing"),
    (["--coder-url", "ftp://x", "--coder-token", "AdminToken-adminSecretValue000000"],
     "is not an http(s) URL"),
    (["--coder-mock", "--coder-url", "http://127.0.0.1:9"],
     "--coder-mock checks the bundled mock with its own tokens"),
    (["--coder-mock", "--coder-max-examples", "0"], "must be at least 1"),
    (["--coder-mock", "-n", "2"], "the contract suite runs in one process"),
], ids=["no-token", "not-http", "mock-and-url", "no-examples", "xdist"])
def test_wrong_options_stop_with_what_is_wrong(tmp_path: Path, args: list[str],
                                               message: str) -> None:
    result = pytest_run(str(SUITE), *args, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output
    assert message in output
    assert_no_internal_error(output)


def test_a_server_that_does_not_answer_stops_the_run_with_its_address(tmp_path: Path) -> None:
    result = pytest_run(str(SUITE), "--coder-url", "http://127.0.0.1:1",
                        "--coder-token", "AdminToken-adminSecretValue000000", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "cannot test http://127.0.0.1:1/api/v2: nothing answers there" in output
    assert len(output.strip().splitlines()) <= 5, output
    assert_no_internal_error(output)


def test_it_checks_a_server_named_by_url_and_tokens(tmp_path: Path) -> None:
    with MockServer(MockConfig(ws_ping_interval=0.5)) as mock:  # Coder pings every 15 s
        result = pytest_run(str(SUITE), "--coder-url", mock.url,
                            "--coder-token", mock.token(owner=True),
                            "--coder-member-token", mock.token(owner=False),
                            "--coder-allow-new-preferences", "--coder-send-test-notification",
                            "--coder-send-notifications", "--coder-allow-read-state-changes",
                            "--coder-allow-method-changes",
                            "--coder-max-examples", "3", "-q", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.OK, output
    assert "requests sent:" in output
    counts = outcomes(output)
    assert set(counts) == {"passed"}, output
    assert counts["passed"] > 50


def test_the_environment_names_the_server_too(tmp_path: Path) -> None:
    with MockServer() as mock:
        result = pytest_run(str(SUITE), "--coder-max-examples", "3", "-k", "settings",
                            cwd=tmp_path, env={"CODER_URL": mock.url,
                                               "CODER_SESSION_TOKEN": mock.token(owner=True)})
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.OK, output
    assert f"target {mock.api_url}" in output


def test_the_bundled_mock_runs_in_process(tmp_path: Path) -> None:
    result = pytest_run(str(SUITE), "--coder-mock", "--coder-max-examples", "3",
                        "-k", "settings", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.OK, output
    assert "target the in-process ASGI app" in output


def test_collected_from_a_parent_directory_it_skips_with_the_usage(tmp_path: Path) -> None:
    (tmp_path / "contract_tests").symlink_to(SUITE, target_is_directory=True)
    result = pytest_run(".", "-rs", cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == pytest.ExitCode.OK, output
    counts = outcomes(output)
    assert set(counts) == {"skipped"}, output
    assert counts["skipped"] > 50
    assert "too late for its --coder-* options; name it on the command line" in output
    assert_no_internal_error(output)
