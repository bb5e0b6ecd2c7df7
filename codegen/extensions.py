"""The spec's record of the docs page (`x-docs-errata`, `x-docs-additions`), read once for
README's tables (checked by tests/test_spec.py) and for the rendered reference (`make docs`).

Run `python -m codegen.extensions` to print README's generated tables.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
TREES = ("paths", "x-websockets")  # x-websockets is shaped like paths (see the spec's info)
METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, HTTP or WebSocket."""

    method: str
    path: str
    body: dict[str, Any]

    @property
    def label(self) -> str:
        """`GET /path`, as README and the reference name it."""
        return f"{self.method.upper()} {self.path}"


def write_view(argv: list[str], name: str,
               view: Callable[[dict[str, Any]], dict[str, Any]]) -> int:
    """`python -m codegen.NAME OUT.yaml`: write this view of openapi.yaml to OUT.yaml."""
    if len(argv) != 1:
        sys.stderr.write(f"usage: python -m codegen.{name} OUT.yaml\n")
        return 2
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(view(load()), sort_keys=False, allow_unicode=True,
                                  width=100), encoding="utf-8")
    return 0


def load(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The spec as data."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def operations(spec: dict[str, Any]) -> Iterator[Operation]:
    """Every operation under `paths` and `x-websockets`, in the spec's order."""
    for tree in TREES:
        for path, item in spec.get(tree, {}).items():
            for method in METHODS:
                if method in item:
                    yield Operation(method, path, item[method])


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def errata_table(spec: dict[str, Any]) -> str:
    """Every `x-docs-errata` entry: where the docs page is wrong."""
    rows = ["| operation | claim | the page says | the server does |", "|---|---|---|---|"]
    rows += [f"| `{op.label}` | `{entry['about']}` | {_cell(entry['documented'])} | "
             f"{_cell(entry['actual'])} |"
             for op in operations(spec) for entry in op.body.get("x-docs-errata", [])]
    return "\n".join(rows)


def additions_table(spec: dict[str, Any]) -> str:
    """Per operation, what the spec adds to the docs page (`x-docs-additions` abouts)."""
    rows = ["| operation | the spec adds |", "|---|---|"]
    rows += [f"| `{op.label}` | "
             + ", ".join(f"`{entry['about']}`" for entry in op.body["x-docs-additions"]) + " |"
             for op in operations(spec) if op.body.get("x-docs-additions")]
    return "\n".join(rows)


def readme_tables(spec: dict[str, Any]) -> str:
    """The generated part of README's errata section."""
    return errata_table(spec) + "\n\n" + additions_table(spec) + "\n"


def description_appendix(operation: Operation) -> str:
    """The errata and additions of one operation as Markdown, for the rendered reference."""
    parts = []
    errata = operation.body.get("x-docs-errata", [])
    if errata:
        parts.append("**Where the docs page is wrong** (`x-docs-errata`):\n\n" + "\n".join(
            f"- `{e['about']}`: the page says {_cell(e['documented'])}; the server: "
            f"{_cell(e['actual'])} (source: {_cell(e['source'])})" for e in errata))
    additions = operation.body.get("x-docs-additions", [])
    if additions:
        parts.append("**Beyond the docs page** (`x-docs-additions`):\n\n" + "\n".join(
            f"- `{a['about']}`: {_cell(a['added'])} (source: {_cell(a['source'])})"
            for a in additions))
    return "\n\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(readme_tables(load()))
