"""Render Coder's notification templates: the small subset of Go's text/template they use.

Why hand-written: Coder renders `title_template`, `body_template` and `actions` with Go's
text/template (coderd/notifications/render/gotmpl.go, option `missingkey=invalid`) and no
well-kept Python library renders Go templates; Jinja-like engines differ in syntax and in
semantics (missing keys, truth, number printing). The shipped templates need little, so this
implements exactly that and refuses anything else with a `TemplateError` naming the construct.

Supported, with Go's semantics:
- text, copied as is (no HTML escaping: text/template, not html/template);
- fields `.Labels.x`, `.Data.x.y`, `.UserName`, `.UserUsername`, `.UserEmail`, `.`; variables
  `$`, `$v`, `$v.x`. A missing key prints `<no value>` in `.Labels` (map[string]string) and in
  `.Data` (map[string]any) alike, as `missingkey=invalid` does; a field of a missing value is
  missing too; JSON null prints `<no value>`;
- pipelines `{{.UserEmail | urlquery}}`; functions `base_url` (no arguments) and the builtin
  `urlquery` (url.QueryEscape of fmt.Sprint of its arguments, so a space becomes `+`);
- `{{if p}}..{{else}}..{{end}}` with Go's truth (empty string/map/list, 0, false, null, missing
  are false); `{{range p}}` / `{{range $v := p}}` over lists, maps (values in key order) and
  null/missing (no iterations), with `{{else}}`; `.` is the element inside;
- trim markers `{{- ` / ` -}}` and comments `{{/* ... */}}`.
Numbers print as Go prints the float64 JSON decoding gives Coder: 4.0 -> `4`, 1e6 -> `1e+06`.
Refused: other builtins (eq, ne, gt, and, or, not, len, index, printf, ...), literals,
parentheses, `else if`, `with`, `define`/`template`/`block`, `:=` outside range, two range vars.

The package: `parser` (text to a tree, refusing what is outside the subset), `executor` (the
tree run against a `Payload`), `printing` (Go's %v), `refusal` (the one error and its shape).
"""

from __future__ import annotations

import json

from mock_server.gotemplate.executor import execute
from mock_server.gotemplate.parser import parse
from mock_server.gotemplate.payload import NO_VALUE, Payload
from mock_server.gotemplate.refusal import TemplateError, fail

__all__ = ["NO_VALUE", "Payload", "TemplateError", "parse", "render", "render_actions",
           "validate"]


def render(text: str, payload: Payload) -> str:
    """Render one template as Coder's render.GoTemplate would, so the inbox shows Coder's text."""
    out: list[str] = []
    execute(parse(text), payload, {"$": payload}, payload, out)
    return "".join(out)


def render_actions(actions: str, payload: Payload) -> list[dict[str, str]]:
    """Render the whole actions JSON text as one template, then decode it, as Coder's enqueuer."""
    rendered = render(actions, payload)
    try:
        decoded = json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise fail(f"rendered actions are not JSON ({exc.msg})", rendered, "Coder renders the "
                    "text before decoding it, so a value holding a quote breaks it") from None
    if not isinstance(decoded, list | None) or not all(isinstance(a, dict) for a in decoded or []):
        raise fail("rendered actions are not a JSON array of objects", rendered, "fix the fixture")
    result = [{key: action.get(key, "") for key in ("label", "url")} for action in decoded or []]
    if not all(isinstance(value, str) for item in result for value in item.values()):
        raise fail("an action's label or url is not a string", rendered, "fix the fixture")
    return result  # Go decodes `null` to a nil slice; the mock serves that as no actions


def validate(text: str) -> None:
    """Parse a template without rendering it, so an unsupported fixture fails when it loads."""
    parse(text)
