"""The spec as `make docs` renders it: each operation's description ends with its errata and
additions, and the WebSocket of `x-websockets` (which no renderer reads) is described in `info`.

Run `python -m codegen.docs_spec OUT.yaml`; Redocly's build-docs then renders OUT.yaml.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from codegen import extensions


def docs_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of the spec whose descriptions carry what its extensions record."""
    shown = copy.deepcopy(spec)
    for operation in extensions.operations(shown):
        appendix = extensions.description_appendix(operation)
        if appendix:
            text = operation.body.get("description", "").rstrip()
            operation.body["description"] = f"{text}\n\n{appendix}\n"
    sockets = [op for op in extensions.operations(shown)
               if op.path in shown.get("x-websockets", {})]
    if sockets:
        shown["info"]["description"] = shown["info"]["description"].rstrip() + "\n\n" + "\n\n".join(
            _socket_section(op) for op in sockets) + "\n"
    return shown


def _socket_section(operation: extensions.Operation) -> str:
    """A WebSocket operation as Markdown: summary, description, parameters, message schema."""
    body = operation.body
    parameters = "\n".join(f"- `{p['name']}` ({p['in']}): {' '.join(p['description'].split())}"
                           for p in body.get("parameters", []))
    statuses = "\n".join(f"- {status}: {' '.join(r.get('description', r.get('$ref', '')).split())}"
                         for status, r in body["responses"].items())
    message = body["x-message"]["schema"]["$ref"].rsplit("/", 1)[1]
    return (f"## WebSocket: {operation.label}\n\n**{body['summary']}** "
            f"(`{body['operationId']}`, from `x-websockets`)\n\n{body['description'].rstrip()}\n\n"
            f"Query parameters:\n\n{parameters}\n\nAnswers:\n\n{statuses}\n\n"
            f"Each text frame is a `{message}` (see Schemas).")


def main(argv: list[str]) -> int:
    """Write the rendered spec to the one path given."""
    return extensions.write_view(argv, "docs_spec", docs_spec)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
