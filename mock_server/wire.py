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
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_HEX36 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_MAX_DEPTH = 10000  # encoding/json's maxNestingDepth
_KEPT_DEPTH = 32  # deeper containers are checked but not kept: no request struct looks that far
_WHITESPACE = re.compile(r"[ \t\r\n]*")
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DIGITS = re.compile(r"[0-9]+")
_MAX_INT_DIGITS = 4000  # int() refuses more than 4300 digits; a longer literal is read as a float
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]+|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*')
_SURROGATES = re.compile("[\ud800-\udfff]")
_LITERALS = {"t": ("true", True), "f": ("false", False), "n": ("null", None)}
_OPENED = object()  # the scanner's mark: the next value read is a member of an open container
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]  # CPython's C unescaper


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
    """Read the first JSON value of a body as Go's json.Decoder does, or raise GoJSONError.

    A plain, valid document (the usual request) goes through CPython's C parser, which agrees
    with Go on it; anything else (an error to word as Go does, trailing data, NaN, deep nesting,
    huge numbers, surrogate escapes, bad UTF-8) goes through the Go scanner below.
    """
    if b"\\ud" not in raw.lower():
        try:
            return _FAST.decode(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            pass
    text = raw.decode("utf-8", errors="surrogateescape")  # one character per undecodable byte
    if not text.strip(_JSON_WHITESPACE):
        raise GoJSONError("EOF")
    return _Scanner(text).value()


def _no_constants(name: str) -> Any:
    """Go has no NaN or Infinity: leave those documents to the Go scanner."""
    raise ValueError(name)


_FAST = json.JSONDecoder(parse_constant=_no_constants)


class _Scanner:
    """encoding/json's scanner, iterative (Go nests 10000 deep, CPython's parser ~1000 at best)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, context: str, pos: int | None = None) -> GoJSONError:
        """Go's error for the byte at `pos`: it names the byte, not the character it starts."""
        pos = self.pos if pos is None else pos
        if pos >= len(self.text):
            return GoJSONError("unexpected EOF")
        byte = self.text[pos].encode("utf-8", errors="surrogateescape")[0]
        return GoJSONError(f"invalid character {quote_char(chr(byte))} {context}")

    def peek(self) -> str:
        """Skip whitespace; the next character, or "" at the end."""
        self.pos = _WHITESPACE.match(self.text, self.pos).end()
        return self.text[self.pos:self.pos + 1]

    def value(self) -> Any:
        """The first value; containers nested deeper than Go's structs look are kept empty."""
        stack: list[Any] = []  # the open containers, outermost first
        keys: list[str] = []  # for each: the object key whose value comes next
        while True:
            value = self._open_or_scalar(stack, keys)
            if value is not _OPENED:
                value = self._attach(value, stack, keys)
                if value is not _OPENED:
                    return value

    def _open_or_scalar(self, stack: list[Any], keys: list[str]) -> Any:
        """The next scalar or empty container; _OPENED when a container with members opens."""
        char = self.peek()
        if char not in ("[", "{"):
            return self.scalar()
        if len(stack) == _MAX_DEPTH:
            raise self.fail("exceeded max depth")
        self.pos += 1
        if self.peek() == ("]" if char == "[" else "}"):
            self.pos += 1
            return [] if char == "[" else {}
        stack.append([] if char == "[" else {})
        keys.append(self.key() if char == "{" else "")
        return _OPENED

    def _attach(self, value: Any, stack: list[Any], keys: list[str]) -> Any:
        """Put `value` in its container, then close every container it completes: the whole
        value once the outermost closes, else _OPENED (a member follows)."""
        while stack:
            container = stack[-1]
            if len(stack) > _KEPT_DEPTH and isinstance(value, list | dict):
                value = type(value)()
            if isinstance(container, list):
                container.append(value)
                closing, context = "]", "after array element"
            else:
                container[keys[-1]] = value
                closing, context = "}", "after object key:value pair"
            char = self.peek()
            if char == ",":
                self.pos += 1
                if isinstance(container, dict):
                    keys[-1] = self.key()
                return _OPENED
            if char != closing:
                raise self.fail(context)
            self.pos += 1
            value, _ = stack.pop(), keys.pop()
        return value

    def key(self) -> str:
        """An object key and the colon after it."""
        if self.peek() != '"':
            raise self.fail("looking for beginning of object key string")
        key = self.string()
        if self.peek() != ":":
            raise self.fail("after object key")
        self.pos += 1
        return key

    def scalar(self) -> Any:
        """A string, number, true, false or null (Go has no NaN or Infinity)."""
        char = self.text[self.pos:self.pos + 1]
        if char == '"':
            return self.string()
        if char and char in "-0123456789":
            return self.number()
        if char not in _LITERALS:
            raise self.fail("looking for beginning of value")
        word, value = _LITERALS[char]
        for offset in range(1, len(word)):
            if self.text[self.pos + offset:self.pos + offset + 1] != word[offset]:
                raise self.fail(f"in literal {word} (expecting {quote_char(word[offset])})",
                                self.pos + offset)
        self.pos += len(word)
        return value

    def number(self) -> int | float:
        """A number as Go's scanner reads it; a huge one becomes a float, never an error."""
        start = self.pos
        integer = _INTEGER.match(self.text, start)
        if integer is None:
            raise self.fail("in numeric literal", start + 1)
        end = integer.end()
        for marks, optional, context in ((".", "", "after decimal point in numeric literal"),
                                         ("eE", "+-", "in exponent of numeric literal")):
            if self.text[end:end + 1] and self.text[end] in marks:
                end += 1
                if self.text[end:end + 1] and self.text[end] in optional:
                    end += 1
                digits = _DIGITS.match(self.text, end)
                if digits is None:
                    raise self.fail(context, end)
                end = digits.end()
        token, self.pos = self.text[start:end], end
        if end == integer.end() and len(token) <= _MAX_INT_DIGITS:
            return int(token)
        return float(token)

    def string(self) -> str:
        """A string; invalid UTF-8 and lone surrogate escapes become U+FFFD, as in Go."""
        start = self.pos
        end = _STRING.match(self.text, start).end()
        char = self.text[end:end + 1]
        if char == '"':
            value, self.pos = _scanstring(self.text, start + 1)
            return _SURROGATES.sub("\ufffd", value)
        if char != "\\":
            raise self.fail("in string literal", end)  # a control character, or the end
        if self.text[end + 1:end + 2] != "u":
            raise self.fail("in string escape code", end + 1)
        bad = next(i for i in range(end + 2, end + 6) if self.text[i:i + 1] not in _HEX_DIGITS)
        raise self.fail("in \\u hexadecimal character escape", bad)


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
        if not _HEX32.fullmatch(value):
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
    if not _HEX36.fullmatch(value):
        raise ValueError("invalid UUID format")
    return uuid.UUID(hex=value.replace("-", ""))


def format_time_ns(nanoseconds: int) -> str:
    """A Unix time in nanoseconds as Go marshals a time.Time that has them (time.Now())."""
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    text = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{fraction:09d}".rstrip("0") if fraction else "") + "Z"


def format_time(moment: datetime) -> str:
    """Render a time as Go's time.Time marshals it: RFC 3339, the fraction's trailing zeros cut."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"
