"""How the template subset refuses: one error type, and one shape for every message."""

from __future__ import annotations

HINT = ("supported are .Field chains, $var, base_url, urlquery, |, if/else/end, "
        "range [$v :=]/else/end, comments and trim markers (mock_server/gotemplate/)")


class TemplateError(ValueError):
    """A template outside the supported subset, malformed, or failing where Go's would fail."""


def fail(what: str, source: str, hint: str = HINT) -> TemplateError:
    """Build every refusal the same way: what is wrong, in which text, and what would work."""
    return TemplateError(f"{what} in {source!r}; hint: {hint}")
