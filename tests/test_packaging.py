"""The packages carry every file they read at run time (a wheel holds only what is declared)."""

from __future__ import annotations

import fnmatch
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DATA = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
    "package-data"]


def data_files(package: str) -> list[str]:
    """Files git tracks in `package` that are not Python, as paths relative to it (links
    to directories are followed, as the build follows them)."""
    tracked = subprocess.run(["git", "ls-files", package], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    files = []
    for name in tracked:
        path = ROOT / name
        if path.is_dir():
            files += [f"{name}/{child.name}" for child in path.iterdir() if child.is_file()]
        elif not name.endswith(".py"):
            files.append(name)
    return [name.removeprefix(f"{package}/") for name in files]


@pytest.mark.parametrize("package", ["mock_server", "contract_tests"])
def test_every_data_file_is_declared_package_data(package: str) -> None:
    files = data_files(package)
    assert files, f"{package} has no data files to check"
    missing = [name for name in files
               if not any(fnmatch.fnmatch(name, pattern) for pattern in PACKAGE_DATA[package])]
    assert missing == [], f"not in [tool.setuptools.package-data] {package}: {missing}"
