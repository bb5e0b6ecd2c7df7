"""The spec as a client generator should read it: each request body's schema is the Coder type
its lenient schema names in `x-client-schema`, so a generated client sends what Coder's own
clients send. The lenient schemas, dropped here, describe what the server accepts, which a
client need not use (and openapi-python-client 0.29 cannot read their map of nullable values).

Run `python -m codegen.client_spec OUT.yaml`; responses and everything else are unchanged.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

from codegen import extensions

_PREFIX = "#/components/schemas/"


def client_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A copy of the spec whose request bodies reference Coder's client types (and without the
    lenient schemas, which nothing references then)."""
    view = copy.deepcopy(spec)
    schemas = view["components"]["schemas"]
    bodies = list(view["components"].get("requestBodies", {}).values())
    bodies += [op.body["requestBody"] for op in extensions.operations(view)
               if "$ref" not in op.body.get("requestBody", {"$ref": ""})]
    for body in bodies:
        for media in body["content"].values():
            name = media["schema"].get("$ref", "").removeprefix(_PREFIX)
            client = schemas.get(name, {}).get("x-client-schema")
            if client:
                media["schema"] = {"$ref": client}
    for name in [name for name, schema in schemas.items() if "x-client-schema" in schema]:
        del schemas[name]
    return view


def main(argv: list[str]) -> int:
    """Write the client view of openapi.yaml to the one path given."""
    return extensions.write_view(argv, "client_spec", client_spec)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
