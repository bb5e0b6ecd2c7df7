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
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote_plus

NO_VALUE = "<no value>"
_MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
_WS = " \t\r\n"
_SPACES = frozenset(_WS)  # the spaces Go's trim markers accept (a slice of "" is not one)
_NAME = r"(?!\d)\w+"
_TOKEN = re.compile(
    rf"(\$(?:{_NAME})?(?:\.{_NAME})*)|(\.(?:{_NAME}(?:\.{_NAME})*)?)|({_NAME})|(:=)|([|,])|(\S)")
_KINDS = ("var", "field", "ident", ":=", "punct", "other")
_KEYWORDS = ("with", "define", "template", "block", "break", "continue", "nil", "true", "false",
             "if", "else", "end", "range")
_BUILTINS = ("and", "or", "not", "len", "index", "slice", "print", "printf", "println", "html",
             "js", "call", "eq", "ne", "lt", "le", "gt", "ge")
_REFUSED = dict.fromkeys(_KEYWORDS, "keyword") | dict.fromkeys(_BUILTINS, "builtin function")
_LITERALS = {'"': "string literal", "`": "raw string literal", "'": "character literal",
             "(": "parenthesized pipeline", ")": "parenthesized pipeline"}
_FIELDS = {"Labels": "labels", "Data": "data", "UserName": "user_name",
           "UserUsername": "user_username", "UserEmail": "user_email"}
_HINT = ("supported are .Field chains, $var, base_url, urlquery, |, if/else/end, "
         "range [$v :=]/else/end, comments and trim markers (mock_server/gotemplate.py)")


class TemplateError(ValueError):
    """A template outside the supported subset, malformed, or failing where Go's would fail."""


@dataclass(frozen=True, kw_only=True)
class Payload:
    """What a Coder template sees (types.MessagePayload), plus the deployment URL for base_url."""

    labels: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    user_name: str = ""
    user_username: str = ""
    user_email: str = ""
    base_url: str = ""


_GO_TYPES = {Payload: "types.MessagePayload", str: "string", bool: "bool", int: "float64",
             float: "float64", list: "[]interface {}"}


def render(text: str, payload: Payload) -> str:
    """Render one template as Coder's render.GoTemplate would, so the inbox shows Coder's text."""
    out: list[str] = []
    _exec(_parse(text), payload, {"$": payload}, payload, out)
    return "".join(out)


def render_actions(actions: str, payload: Payload) -> list[dict[str, str]]:
    """Render the whole actions JSON text as one template, then decode it, as Coder's enqueuer."""
    rendered = render(actions, payload)
    try:
        decoded = json.loads(rendered)
    except json.JSONDecodeError as exc:
        raise _fail(f"rendered actions are not JSON ({exc.msg})", rendered, "Coder renders the "
                    "text before decoding it, so a value holding a quote breaks it") from None
    if not isinstance(decoded, list | None) or not all(isinstance(a, dict) for a in decoded or []):
        raise _fail("rendered actions are not a JSON array of objects", rendered, "fix the fixture")
    result = [{key: action.get(key, "") for key in ("label", "url")} for action in decoded or []]
    if not all(isinstance(value, str) for item in result for value in item.values()):
        raise _fail("an action's label or url is not a string", rendered, "fix the fixture")
    return result  # Go decodes `null` to a nil slice; the mock serves that as no actions


def validate(text: str) -> None:
    """Parse a template without rendering it, so an unsupported fixture fails when it loads."""
    _parse(text)


def _fail(what: str, source: str, hint: str = _HINT) -> TemplateError:
    """Build every refusal the same way: what is wrong, in which text, and what would work."""
    return TemplateError(f"{what} in {source!r}; hint: {hint}")


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> tuple:
    """Parse a template once; the same few texts are rendered again and again."""
    return _block(_split(text), 0, frozenset({"$"}), None)[0]


def _split(text: str) -> list[tuple]:
    """Cut text into text pieces and actions, applying trim markers and dropping comments."""
    pieces: list[tuple] = []
    pos, trim = 0, False
    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        marker = text[start + 2:start + 4] if start >= 0 else ""
        ltrim = marker[:1] == "-" and marker[1:] in _SPACES
        chunk = chunk.lstrip(_WS) if trim else chunk
        chunk = chunk.rstrip(_WS) if ltrim else chunk
        if chunk:
            pieces.append(("text", chunk))
        if start < 0:
            return pieces
        end, body, trim = _close(text, start, start + (4 if ltrim else 2))
        if body is not None:
            tokens = tuple((_KINDS[m.lastindex - 1], m.group()) for m in _TOKEN.finditer(body))
            pieces.append(("act", tokens, text[start:end + 2]))
        pos = end + 2


def _close(text: str, start: int, inner: int) -> tuple[int, str | None, bool]:
    """Find the }} closing the action at `start`: (its index, body or None for a comment, trim)."""
    if text.startswith("/*", inner):
        end = text.find("*/", inner + 2) + 2
        if end < 2:
            raise _fail("unclosed comment", text[start:start + 40], "close it with */}}")
        rtrim = text[end:end + 1] in _SPACES and text.startswith("-}}", end + 1)
        end += 2 if rtrim else 0
        if not text.startswith("}}", end):
            raise _fail("comment ends before closing delimiter", text[start:end + 20],
                        "write {{/* ... */}} with nothing between */ and }}")
        return end, None, rtrim
    end = text.find("}}", inner)
    if end < 0:
        raise _fail("unclosed action", text[start:start + 40], "every {{ needs a matching }}")
    body = text[inner:end]
    rtrim = len(body) >= 2 and body[-1] == "-" and body[-2] in _WS
    return end, body[:-2] if rtrim else body, rtrim


def _block(pieces: list, pos: int, scope: frozenset, opener: str | None) -> tuple:
    """Parse pieces up to {{else}}/{{end}} (or the end); return (nodes, next pos, terminator)."""
    nodes: list[tuple] = []
    while pos < len(pieces):
        piece, pos = pieces[pos], pos + 1
        if piece[0] == "text":
            nodes.append(piece)
            continue
        tokens, src = piece[1], piece[2]
        head = tokens[0][1] if tokens and tokens[0][0] == "ident" else None
        if head in ("else", "end"):
            if len(tokens) > 1:
                what = "else if" if tokens[1][1] == "if" else f"arguments to {head}"
                raise _fail(f"unsupported construct {what!r}", src,
                            "write {{else}}{{if ...}}...{{end}}{{end}}")
            if opener is None:
                raise _fail(f"unexpected {{{{{head}}}}}", src, "it has no {{if}} or {{range}}")
            return tuple(nodes), pos, head
        if head in ("if", "range"):
            node, pos = _control(head, tokens[1:], src, pieces, pos, scope)
            nodes.append(node)
        else:
            nodes.append(("action", _pipeline_ast(tokens, src, scope), src))
    if opener is not None:
        raise _fail("unexpected EOF", opener, "the action needs a matching {{end}}")
    return tuple(nodes), pos, None


def _control(head: str, tokens: tuple, src: str, pieces: list, pos: int, scope: frozenset):
    """Parse an {{if}} or a {{range}} with its branches; return (node, next pos)."""
    var = None
    declares = len(tokens) > 1 and tokens[0][0] == "var" and tokens[1][1] in (":=", ",")
    if head == "range" and declares:
        if tokens[1][1] == "," or "." in tokens[0][1] or tokens[0][1] == "$":
            what = "range with two variables" if tokens[1][1] == "," else "range declaration"
            raise _fail(f"unsupported {what}", src, "write {{range $v := pipeline}}")
        var, tokens, scope = tokens[0][1], tokens[2:], scope | {tokens[0][1]}
    pipe = _pipeline_ast(tokens, src, scope)
    body, pos, term = _block(pieces, pos, scope, src)
    other: tuple = ()
    if term == "else":
        other, pos, term = _block(pieces, pos, scope, src)
        if term == "else":
            raise _fail("second {{else}}", src, "an if or a range takes one {{else}}")
    return (("if", pipe, body, other, src) if head == "if"
            else ("range", var, pipe, body, other, src)), pos


def _pipeline_ast(tokens: tuple, src: str, scope: frozenset) -> tuple:
    """Parse `command | command ...` into a tuple of commands."""
    if not tokens:
        raise _fail("missing value for command", src, "an action needs e.g. .Labels.name")
    if any(kind == ":=" for kind, _ in tokens):
        raise _fail("unsupported variable declaration", src,
                    "the shipped templates declare variables only in {{range $v := ...}}")
    commands, current = [], []
    for token in (*tokens, ("punct", "|")):
        if token != ("punct", "|"):
            current.append(token)
        elif not current:
            raise _fail("missing command in pipeline", src, "write e.g. {{.UserEmail | urlquery}}")
        else:
            commands.append(_command(current, src, scope, piped=bool(commands)))
            current = []
    return tuple(commands)


def _command(tokens: list, src: str, scope: frozenset, piped: bool) -> tuple:
    """Parse one command: a function with its arguments, or a lone operand."""
    if tokens[0][0] != "ident":
        operands = [_operand(token, src, scope) for token in tokens]
        if len(operands) > 1 or piped:
            raise _fail(f"can't give argument to non-function {tokens[0][1]}", src)
        return operands[0]
    name = _function(tokens[0][1], src)
    args = tuple(_operand(token, src, scope) for token in tokens[1:])
    if name == "base_url" and (args or piped):
        raise _fail("wrong number of args for base_url: want 0", src, "write {{base_url}}")
    return ("call", name, args)


def _operand(token: tuple[str, str], src: str, scope: frozenset) -> tuple:
    """Parse a field chain, a variable, or a function used as an argument."""
    kind, text = token
    if kind == "ident":
        return ("call", _function(text, src), ())
    if kind == "field":
        return ("chain", ".", tuple(text[1:].split(".")) if text != "." else ())
    if kind == "var":
        name, _, rest = text.partition(".")
        if name not in scope:
            raise _fail(f"undefined variable {name!r}", src, "declare it with {{range $v := ...}}")
        return ("chain", name, tuple(rest.split(".")) if rest else ())
    what = _LITERALS.get(text, "number literal" if text.isdigit() else f"syntax {text!r}")
    raise _fail(f"unsupported {what}", src)


def _function(name: str, src: str) -> str:
    """Accept base_url and urlquery, and name anything else precisely."""
    if name in ("base_url", "urlquery"):
        return name
    if name in _REFUSED:
        raise _fail(f"unsupported {_REFUSED[name]} {name!r}", src)
    raise _fail(f"function {name!r} not defined", src)


def _exec(nodes: tuple, dot: Any, variables: dict, payload: Payload, out: list[str]) -> None:
    """Walk parsed nodes, appending their output."""
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "action":
            value = _pipeline(node[1], dot, variables, payload, node[2])
            out.append(NO_VALUE if value is _MISSING else _go_str(value, node[2]))
        elif node[0] == "if":
            value = _pipeline(node[1], dot, variables, payload, node[4])
            truth = value is not _MISSING and bool(value)  # Go: zero, empty, nil, missing are false
            _exec(node[2] if truth else node[3], dot, variables, payload, out)
        else:
            _range(node, dot, variables, payload, out)


def _range(node: tuple, dot: Any, variables: dict, payload: Payload, out: list[str]) -> None:
    """Run a {{range}} once per list item or map value (in key order), or run its else."""
    _, var, pipe, body, other, src = node
    value = _pipeline(pipe, dot, variables, payload, src)
    if isinstance(value, Mapping):
        items = [value[key] for key in sorted(value)]
    elif isinstance(value, list | tuple) or value is _MISSING:
        items = [] if value is _MISSING else list(value)
    else:
        raise _fail(f"range can't iterate over {_go_str(value, src)}", src, "range a list or map")
    for item in items:
        _exec(body, item, {**variables, var: item} if var else variables, payload, out)
    if not items:
        _exec(other, dot, {**variables, var: value} if var else variables, payload, out)


def _pipeline(commands: tuple, dot: Any, variables: dict, payload: Payload, src: str) -> Any:
    """Evaluate commands left to right, each result becoming the next call's last argument."""
    value: Any = _MISSING
    for index, command in enumerate(commands):
        value = _evaluate(command, dot, variables, payload, src, [value] if index else [])
        value = _MISSING if value is None else value  # Go: a nil interface{} turns invalid
    return value


def _evaluate(node: tuple, dot: Any, variables: dict, payload: Payload, src: str,
              piped: list) -> Any:
    """Evaluate a field chain or a function call."""
    if node[0] == "chain":
        value = dot if node[1] == "." else variables[node[1]]
        for name in node[2]:
            value = _field(value, name, src)
        return value
    if node[1] == "base_url":
        return payload.base_url
    args = [_evaluate(arg, dot, variables, payload, src, []) for arg in node[2]] + piped
    args = [NO_VALUE if arg is _MISSING or arg is None else arg for arg in args]
    text = "".join((" " if i and not isinstance(arg, str) and not isinstance(args[i - 1], str)
                    else "") + _go_str(arg, src) for i, arg in enumerate(args))
    return quote_plus(text, safe="")  # fmt.Sprint spaces only two adjacent non-strings


def _field(value: Any, name: str, src: str) -> Any:
    """Look up .name as Go does in a struct, a map, or a missing value."""
    if value is _MISSING:
        return _MISSING
    if isinstance(value, Payload) and name in _FIELDS:
        return getattr(value, _FIELDS[name])
    if isinstance(value, Mapping):
        return value.get(name, _MISSING)
    if value is None:
        raise _fail(f"nil pointer evaluating interface {{}}.{name}", src, "the value is null")
    go_type = _GO_TYPES.get(type(value), type(value).__name__)
    raise _fail(f"can't evaluate field {name} in type {go_type}", src, "the payload has "
                ".Labels, .Data, .UserName, .UserUsername, .UserEmail; only maps have more")


def _go_str(value: Any, src: str) -> str:
    """Format a value like Go's %v does for the types JSON decoding produces."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _go_float(float(value))
    if value is None:
        return "<nil>"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_go_str(item, src) for item in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_go_str(value[k], src)}" for k in sorted(value)) + "]"
    go_type = _GO_TYPES.get(type(value), type(value).__name__)
    raise _fail(f"can't print a value of type {go_type}", src, "print one of its fields")


def _go_float(number: float) -> str:
    """Format a float64 like Go's %v: shortest digits, exponent form below 1e-4 or from 1e6."""
    if not math.isfinite(number):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(number)]
    decimal = Decimal(repr(number)).normalize()
    exponent, digits = decimal.adjusted(), len(decimal.as_tuple().digits)
    if exponent < -4 or exponent >= 6:
        return format(number, f".{digits - 1}e")
    return format(number, f".{max(digits - 1 - exponent, 0)}f")
