"""Run a parsed template with Go's semantics: truth, missing keys, range order, pipelines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus

from mock_server.gotemplate.payload import FIELDS, MISSING, NO_VALUE, Payload
from mock_server.gotemplate.printing import go_str, go_type
from mock_server.gotemplate.refusal import fail


def execute(nodes: tuple, dot: Any, variables: dict, payload: Payload, out: list[str]) -> None:
    """Walk parsed nodes, appending their output."""
    for node in nodes:
        if node[0] == "text":
            out.append(node[1])
        elif node[0] == "action":
            value = _pipeline(node[1], dot, variables, payload, node[2])
            out.append(NO_VALUE if value is MISSING else go_str(value, node[2]))
        elif node[0] == "if":
            value = _pipeline(node[1], dot, variables, payload, node[4])
            truth = value is not MISSING and bool(value)  # Go: zero, empty, nil, missing are false
            execute(node[2] if truth else node[3], dot, variables, payload, out)
        else:
            _range(node, dot, variables, payload, out)


def _range(node: tuple, dot: Any, variables: dict, payload: Payload, out: list[str]) -> None:
    """Run a {{range}} once per list item or map value (in key order), or run its else."""
    _, var, pipe, body, other, src = node
    value = _pipeline(pipe, dot, variables, payload, src)
    if isinstance(value, Mapping):
        items = [value[key] for key in sorted(value)]
    elif isinstance(value, list | tuple) or value is MISSING:
        items = [] if value is MISSING else list(value)
    else:
        raise fail(f"range can't iterate over {go_str(value, src)}", src, "range a list or map")
    for item in items:
        execute(body, item, {**variables, var: item} if var else variables, payload, out)
    if not items:
        execute(other, dot, {**variables, var: value} if var else variables, payload, out)


def _pipeline(commands: tuple, dot: Any, variables: dict, payload: Payload, src: str) -> Any:
    """Evaluate commands left to right, each result becoming the next call's last argument."""
    value: Any = MISSING
    for index, command in enumerate(commands):
        value = _evaluate(command, dot, variables, payload, src, [value] if index else [])
        value = MISSING if value is None else value  # Go: a nil interface{} turns invalid
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
    args = [NO_VALUE if arg is MISSING or arg is None else arg for arg in args]
    text = "".join((" " if i and not isinstance(arg, str) and not isinstance(args[i - 1], str)
                    else "") + go_str(arg, src) for i, arg in enumerate(args))
    return quote_plus(text, safe="")  # fmt.Sprint spaces only two adjacent non-strings


def _field(value: Any, name: str, src: str) -> Any:
    """Look up .name as Go does in a struct, a map, or a missing value."""
    if value is MISSING:
        return MISSING
    if isinstance(value, Payload) and name in FIELDS:
        return getattr(value, FIELDS[name])
    if isinstance(value, Mapping):
        return value.get(name, MISSING)
    if value is None:
        raise fail(f"nil pointer evaluating interface {{}}.{name}", src, "the value is null")
    raise fail(f"can't evaluate field {name} in type {go_type(value)}", src, "the payload has "
                ".Labels, .Data, .UserName, .UserUsername, .UserEmail; only maps have more")
