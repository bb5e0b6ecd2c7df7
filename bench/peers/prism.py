"""Stoplight Prism in static mode: the spec's examples, not the mock's bytes (it has no stubs)."""

from __future__ import annotations

PACKAGE = "@stoplight/prism-cli@5.16.0"
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal", "silent")


def argv(host: str, port: int, log_level: str) -> list[str]:
    """`prism mock` on the spec; `-v warn` logs no request (as the mock's --no-access-log)."""
    return ["npx", "--yes", PACKAGE, "mock", "-h", host, "-p", str(port), "-v", log_level,
            "openapi.yaml"]
