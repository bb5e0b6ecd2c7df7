"""Parse the template subset into a small tree of tuples, refusing everything outside it.

Nodes: ("text", s), ("action", pipeline, src), ("if", pipeline, body, else, src),
("range", var, pipeline, body, else, src); a pipeline is a tuple of commands, each
("chain", root, names) or ("call", function, args).
"""

from __future__ import annotations

import functools
import re

from mock_server.gotemplate.refusal import fail

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


@functools.lru_cache(maxsize=1024)
def parse(text: str) -> tuple:
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
            raise fail("unclosed comment", text[start:start + 40], "close it with */}}")
        rtrim = text[end:end + 1] in _SPACES and text.startswith("-}}", end + 1)
        end += 2 if rtrim else 0
        if not text.startswith("}}", end):
            raise fail("comment ends before closing delimiter", text[start:end + 20],
                        "write {{/* ... */}} with nothing between */ and }}")
        return end, None, rtrim
    end = text.find("}}", inner)
    if end < 0:
        raise fail("unclosed action", text[start:start + 40], "every {{ needs a matching }}")
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
                raise fail(f"unsupported construct {what!r}", src,
                            "write {{else}}{{if ...}}...{{end}}{{end}}")
            if opener is None:
                raise fail(f"unexpected {{{{{head}}}}}", src, "it has no {{if}} or {{range}}")
            return tuple(nodes), pos, head
        if head in ("if", "range"):
            node, pos = _control(head, tokens[1:], src, pieces, pos, scope)
            nodes.append(node)
        else:
            nodes.append(("action", _pipeline_ast(tokens, src, scope), src))
    if opener is not None:
        raise fail("unexpected EOF", opener, "the action needs a matching {{end}}")
    return tuple(nodes), pos, None


def _control(head: str, tokens: tuple, src: str, pieces: list, pos: int, scope: frozenset):
    """Parse an {{if}} or a {{range}} with its branches; return (node, next pos)."""
    var = None
    declares = len(tokens) > 1 and tokens[0][0] == "var" and tokens[1][1] in (":=", ",")
    if head == "range" and declares:
        if tokens[1][1] == "," or "." in tokens[0][1] or tokens[0][1] == "$":
            what = "range with two variables" if tokens[1][1] == "," else "range declaration"
            raise fail(f"unsupported {what}", src, "write {{range $v := pipeline}}")
        var, tokens, scope = tokens[0][1], tokens[2:], scope | {tokens[0][1]}
    pipe = _pipeline_ast(tokens, src, scope)
    body, pos, term = _block(pieces, pos, scope, src)
    other: tuple = ()
    if term == "else":
        other, pos, term = _block(pieces, pos, scope, src)
        if term == "else":
            raise fail("second {{else}}", src, "an if or a range takes one {{else}}")
    return (("if", pipe, body, other, src) if head == "if"
            else ("range", var, pipe, body, other, src)), pos


def _pipeline_ast(tokens: tuple, src: str, scope: frozenset) -> tuple:
    """Parse `command | command ...` into a tuple of commands."""
    if not tokens:
        raise fail("missing value for command", src, "an action needs e.g. .Labels.name")
    if any(kind == ":=" for kind, _ in tokens):
        raise fail("unsupported variable declaration", src,
                    "the shipped templates declare variables only in {{range $v := ...}}")
    commands, current = [], []
    for token in (*tokens, ("punct", "|")):
        if token != ("punct", "|"):
            current.append(token)
        elif not current:
            raise fail("missing command in pipeline", src, "write e.g. {{.UserEmail | urlquery}}")
        else:
            commands.append(_command(current, src, scope, piped=bool(commands)))
            current = []
    return tuple(commands)


def _command(tokens: list, src: str, scope: frozenset, piped: bool) -> tuple:
    """Parse one command: a function with its arguments, or a lone operand."""
    if tokens[0][0] != "ident":
        operands = [_operand(token, src, scope) for token in tokens]
        if len(operands) > 1 or piped:
            raise fail(f"can't give argument to non-function {tokens[0][1]}", src)
        return operands[0]
    name = _function(tokens[0][1], src)
    args = tuple(_operand(token, src, scope) for token in tokens[1:])
    if name == "base_url" and (args or piped):
        raise fail("wrong number of args for base_url: want 0", src, "write {{base_url}}")
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
            raise fail(f"undefined variable {name!r}", src, "declare it with {{range $v := ...}}")
        return ("chain", name, tuple(rest.split(".")) if rest else ())
    what = _LITERALS.get(text, "number literal" if text.isdigit() else f"syntax {text!r}")
    raise fail(f"unsupported {what}", src)


def _function(name: str, src: str) -> str:
    """Accept base_url and urlquery, and name anything else precisely."""
    if name in ("base_url", "urlquery"):
        return name
    if name in _REFUSED:
        raise fail(f"unsupported {_REFUSED[name]} {name!r}", src)
    raise fail(f"function {name!r} not defined", src)
