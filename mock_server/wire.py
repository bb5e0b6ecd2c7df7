"""Coder's wire format: what Go's standard library and google/uuid put on (and read off) the wire.

Coder answers with `encoding/json` (HTML-escaped, a trailing newline, struct field order),
reads bodies with a `json.Decoder` (first value only), quotes user input with `%q` and parses
ids with google/uuid. The mock reproduces those details here, once.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

_HTML_ESCAPES = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))
_LINE_SEPARATORS = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"))
_JSON_WHITESPACE = " \t\r\n"
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v", "\\": "\\\\"}
_HEX = re.compile(r"[0-9a-fA-F]{2}")
_MAX_DEPTH = 10000


class GoJSONError(ValueError):
    """A body Go's json.Decoder would refuse; `str()` is the error text Go would report."""


def encode_json(value: Any) -> bytes:
    """Serialise like Go's json.Encoder with SetEscapeHTML(true): compact, newline-terminated."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for raw, escaped in _LINE_SEPARATORS:
        text = text.replace(raw, escaped)
    data = text.encode()
    for raw, escaped in _HTML_ESCAPES:
        data = data.replace(raw, escaped)
    return data + b"\n"


def decode_json(raw: bytes) -> Any:
    """Read the first JSON value of a body as Go's json.Decoder does, or raise GoJSONError."""
    text = raw.decode("utf-8", errors="replace")  # Go decodes invalid UTF-8 as U+FFFD too
    start = len(text) - len(text.lstrip(_JSON_WHITESPACE))
    if start == len(text):
        raise GoJSONError("EOF")
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    try:
        value, _ = decoder.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise GoJSONError(_go_syntax_error(exc)) from None
    except RecursionError:
        raise GoJSONError(f"exceeded max depth of {_MAX_DEPTH}") from None
    return value


def _refuse_constant(name: str) -> Any:
    """Go's scanner has no NaN or Infinity literals."""
    raise json.JSONDecodeError("Expecting value", name, 0)


def _go_syntax_error(exc: json.JSONDecodeError) -> str:
    """Translate CPython's decoder message into the one Go's scanner gives for the same byte."""
    doc, pos = exc.doc, exc.pos
    if exc.msg.startswith("Unterminated string") or pos >= len(doc.rstrip(_JSON_WHITESPACE)):
        return "unexpected EOF"
    char = quote_char(doc[pos])
    if exc.msg == "Expecting value":
        context = "in numeric literal" if doc[pos] in "IN" and pos > 0 else (
            "looking for beginning of value")
    elif exc.msg.startswith("Expecting property name"):
        context = "looking for beginning of object key string"
    elif exc.msg == "Expecting ':' delimiter":
        context = "after object key"
    elif exc.msg == "Expecting ',' delimiter":
        context = ("after array element" if _innermost_container(doc, pos) == "["
                   else "after object key:value pair")
    elif exc.msg.startswith("Invalid control character"):
        context = "in string literal"
    elif exc.msg.startswith("Invalid \\"):
        context = "in string escape code"
    else:
        context = f"({exc.msg})"
    return f"invalid character {char} {context}"


def _innermost_container(doc: str, end: int) -> str:
    """The bracket of the innermost array or object still open at `end`, skipping strings."""
    stack: list[str] = []
    in_string = escaped = False
    for char in doc[:end]:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "[{":
            stack.append(char)
        elif char in "]}" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def quote(value: str) -> str:
    """Quote like Go's strconv.Quote (`%q`), which Coder uses to echo user input in details."""
    out = []
    for char in value:
        if char == '"':
            out.append('\\"')
        elif char in _GO_ESCAPES:
            out.append(_GO_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def quote_char(char: str) -> str:
    """Quote one character as Go's JSON scanner does in its error messages."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + quote(char)[1:-1] + "'"


def parse_uuid(value: str) -> uuid.UUID:
    """Parse like google/uuid.Parse: 36, 38 (braced, unchecked), 45 (urn:uuid:) or 32 chars."""
    length = len(value.encode())
    if length == 32:
        if not all(_HEX.fullmatch(value[i:i + 2]) for i in range(0, 32, 2)):
            raise ValueError("invalid UUID format")
        return uuid.UUID(hex=value)
    if length == 45:
        if value[:9].lower() != "urn:uuid:":
            raise ValueError(f"invalid urn prefix: {quote(value[:9])}")
        value = value[9:]
    elif length == 38:
        value = value[1:-1]
    elif length != 36:
        raise ValueError(f"invalid UUID length: {length}")
    if len(value) != 36 or any(value[i] != "-" for i in (8, 13, 18, 23)):
        raise ValueError("invalid UUID format")
    digits = value.replace("-", "")
    if len(digits) != 32 or not all(_HEX.fullmatch(digits[i:i + 2]) for i in range(0, 32, 2)):
        raise ValueError("invalid UUID format")
    return uuid.UUID(hex=digits)


def format_time(moment: datetime) -> str:
    """Render a time as Go's time.Time marshals it: RFC 3339, the fraction's trailing zeros cut."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
