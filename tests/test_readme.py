"""README's promises: its first two commands, and every command of the Frontend workflow, which
is run here against a live mock so that it stays copy-paste correct."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import mock_process

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
DEFAULT_URL = "http://127.0.0.1:8080"


def section(title: str) -> str:
    """The text of one `## ` section."""
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def commands(text: str) -> list[str]:
    """The command lines of the ```sh blocks of `text` (comments and blank lines dropped)."""
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    return [line for block in blocks for line in block.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_the_quick_start_is_make_serve_then_make_test() -> None:
    assert [line.split("#")[0].strip() for line in commands(section("Quick start"))] == [
        "make serve", "make test"]


def test_every_frontend_workflow_command_works(tmp_path: Path) -> None:
    lines = [line for line in commands(section("Frontend workflow")) if line != "make serve"]
    assert len(lines) >= 10
    with mock_process("--no-access-log") as mock:
        outputs = []
        for line in lines:
            result = subprocess.run(["bash", "-c", line.replace(DEFAULT_URL, mock.url)],
                                    capture_output=True, text=True, timeout=30, cwd=tmp_path)
            assert result.returncode == 0, f"{line}\n{result.stdout}{result.stderr}"
            outputs.append(result.stdout)
    by_command = dict(zip(lines, outputs, strict=True))
    prefer = next(line for line in lines if "Prefer: status=500" in line)
    assert by_command[prefer].strip() == "500"
    journal = next(line for line in lines if "/__mock/journal" in line)
    assert '"status":500' in by_command[journal]


@pytest.fixture(scope="module")
def help_text() -> str:
    """What `python -m mock_server --help` lists."""
    return subprocess.run([sys.executable, "-m", "mock_server", "--help"], capture_output=True,
                          text=True, timeout=30, check=True).stdout


@pytest.mark.parametrize("option", sorted(set(re.findall(
    r"`(--[a-z-]+)", section("Running the mock")))))
def test_every_documented_option_exists(help_text: str, option: str) -> None:
    assert option in help_text
