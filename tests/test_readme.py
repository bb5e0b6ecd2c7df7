"""README's promises: its first two commands, and every command of the Frontend workflow, which
is run here against a live mock so that it stays copy-paste correct."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

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
    check_the_inbox_commands(lines, by_command)


def check_the_inbox_commands(lines: list[str], by_command: dict[str, str]) -> None:
    """The inbox commands do what their comments say: the delivered notification is listed,
    unread, and the id the read-status command takes from the list is that notification's."""
    def one(*parts: str, without: str = "\0") -> str:
        found = [line for line in lines if all(p in line for p in parts) and without not in line]
        assert len(found) == 1, (parts, found)
        return found[0]

    receipt = json.loads(by_command[one("/__mock/notifications")])
    assert (receipt["duplicate"], receipt["held"]) == (False, False)
    delivered = next(m["id"] for m in receipt["messages"] if m["method"] == "inbox")
    listed = json.loads(by_command[next(line for line in lines
                                        if line.endswith("/api/v2/notifications/inbox"))])
    unread = json.loads(by_command[one("inbox?read_status=unread'", without="read-status")])
    for answer in (listed, unread):
        assert answer["notifications"][0]["id"] == delivered
        assert answer["notifications"][0]["read_at"] is None
    assert all(row["read_at"] is None for row in unread["notifications"])
    marked = json.loads(by_command[one("read-status")])
    assert marked["notification"]["id"] == delivered
    assert marked["notification"]["read_at"] is not None
    assert marked["unread_count"] == unread["unread_count"] - 1
    assert by_command[one("mark-all-as-read")] == ""
    assert by_command[one("/notifications/custom")] == ""
    outbox = json.loads(by_command[one("/__mock/outbox")])
    assert {m["template_id"] for m in outbox} >= {receipt["messages"][0]["template_id"],
                                                  "39b1e189-c857-4b0c-877a-511144c18516"}


def help_options() -> set[str]:
    """The long options `python -m mock_server --help` lists (argparse's own --help aside)."""
    text = subprocess.run([sys.executable, "-m", "mock_server", "--help"], capture_output=True,
                          text=True, timeout=30, check=True).stdout
    options = text[text.index("\noptions:\n"):]
    # an option's line is indented by two spaces; its help text, wrapped, by more
    invocations = re.findall(r"^  (-\S.*?)(?:  |$)", options, flags=re.M)
    found = {name for line in invocations for name in re.findall(r"--[a-z][a-z0-9-]*", line)}
    return found - {"--help"}


def readme_options(*, table_only: bool) -> set[str]:
    """The options README's "Running the mock" names: in its option table's first column, or
    anywhere in the section."""
    text = section("Running the mock")
    if table_only:
        text = "\n".join(re.findall(r"^\| (`--.*?) \|", text, flags=re.M))
    return set(re.findall(r"`(--[a-z][a-z0-9-]*)", text))


def test_readme_documents_exactly_the_options_of_the_command_line() -> None:
    offered, documented = help_options(), readme_options(table_only=True)
    assert len(offered) > 10, "the --help output was not parsed"
    assert sorted(offered - documented) == [], "in --help, not in README's option table"
    assert sorted(documented - offered) == [], "in README's option table, not in --help"
    assert sorted(readme_options(table_only=False) - offered) == [], \
        "named in README's Running the mock, not in --help"
