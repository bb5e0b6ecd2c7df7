"""Unit tests of mock_server/wire.py: the bytes Go's encoding/json, strconv and google/uuid make."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mock_server import wire

TEMPLATE = UUID("f517da0b-cdc9-410f-ab89-a86107c420ed")
# Hypothesis' own wall-clock checks: a loaded machine generates slowly, which is no failure
NO_TIMING = [HealthCheck.too_slow]


def depth(value: object) -> int:
    """How deeply containers nest in a decoded value (iteratively, like the decoder)."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list | dict):
            deepest = max(deepest, level + 1)
            stack.extend((child, level + 1) for child in
                         (item.values() if isinstance(item, dict) else item))
    return deepest


# encode_json -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    pytest.param({"b": 1, "a": [True, None]}, b'{"b":1,"a":[true,null]}\n',
                 id="compact-ordered"),
    pytest.param({"html": "<a href='x'>&</a>"},
                 b'{"html":"\\u003ca href=\'x\'\\u003e\\u0026\\u003c/a\\u003e"}\n',
                 id="html-escaped"),
    pytest.param("\u2028\u2029", b'"\\u2028\\u2029"\n', id="line-separators"),
    pytest.param("é☃😀", '"é☃😀"\n'.encode(), id="utf8-not-escaped"),
    pytest.param("\x01\x1f\x7f", b'"\\u0001\\u001f\x7f"\n', id="control-characters"),
    pytest.param('"\\\n\t', b'"\\"\\\\\\n\\t"\n', id="json-escapes"),
    pytest.param(None, b"null\n", id="nil-slice"),
    pytest.param([], b"[]\n", id="empty-array"),
])
def test_encode_json_writes_go_bytes(value: object, expected: bytes) -> None:
    assert wire.encode_json(value) == expected


def test_encode_json_refuses_nan() -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        wire.encode_json(float("nan"))


# decode_json: values -----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "expected"), [
    pytest.param(b'{"notifier_paused":true}', {"notifier_paused": True}, id="object"),
    pytest.param(b' \t\r\n{"a":1}\n', {"a": 1}, id="whitespace-around"),
    pytest.param(b'{"a":1} trailing garbage', {"a": 1}, id="first-value-only"),
    pytest.param(b'{"a":1}{"a":2}', {"a": 1}, id="second-value-ignored"),
    pytest.param(b"0123", 0, id="number-then-garbage"),
    pytest.param(b"null", None, id="null"),
    pytest.param(b'{"a":1,"a":2}', {"a": 2}, id="last-duplicate-wins"),
    pytest.param(b'[-0.5e-3,1E+2,0,-7]', [-0.0005, 100.0, 0, -7], id="numbers"),
    pytest.param(b"1" + b"0" * 5000, float("inf"), id="huge-integer"),
    pytest.param(b'"\\u00e9\\ud83d\\ude00\\/"', "é😀/", id="escapes-and-pairs"),
    pytest.param(b'"\\ud800x"', "\ufffdx", id="lone-surrogate-escape"),
    pytest.param(b'"a\xffb"', "a\ufffdb", id="invalid-utf8-in-string"),
    pytest.param(b'"\xe2\x98"', "\ufffd\ufffd", id="truncated-utf8-per-byte"),
    pytest.param('"☃"'.encode(), "☃", id="raw-utf8"),
    pytest.param(b'{"k":"v"}\xff', {"k": "v"}, id="invalid-utf8-after-value"),
])
def test_decode_json_reads_like_go(raw: bytes, expected: object) -> None:
    assert wire.decode_json(raw) == expected


@pytest.mark.parametrize("levels", [40, 990, 1100, 9998])
def test_decode_json_reaches_go_max_depth(levels: int) -> None:
    value = wire.decode_json(b"[" * levels + b"[1]" + b"]" * levels)
    assert isinstance(value, list)
    assert depth(value) >= 34  # containers past a struct's depth may be kept empty


def test_decode_json_keeps_shallow_values_whole() -> None:
    raw = b'{"a":' + b"[" * 30 + b"1" + b"]" * 30 + b"}"
    value = wire.decode_json(raw)
    assert depth(value) == 31


# decode_json: Go's error texts -------------------------------------------------------------

@pytest.mark.parametrize(("raw", "error"), [
    pytest.param(b"", "EOF", id="empty"),
    pytest.param(b" \r\n\t", "EOF", id="only-whitespace"),
    pytest.param(b"{", "unexpected EOF", id="open-object"),
    pytest.param(b'{"a"', "unexpected EOF", id="after-key"),
    pytest.param(b'{"a":', "unexpected EOF", id="after-colon"),
    pytest.param(b'"abc', "unexpected EOF", id="open-string"),
    pytest.param(b'"\\', "unexpected EOF", id="open-escape"),
    pytest.param(b'"\\u12', "unexpected EOF", id="open-unicode-escape"),
    pytest.param(b"tru", "unexpected EOF", id="short-literal"),
    pytest.param(b"-", "unexpected EOF", id="lone-minus"),
    pytest.param(b"1.", "unexpected EOF", id="open-fraction"),
    pytest.param(b"1e+", "unexpected EOF", id="open-exponent"),
    pytest.param(b"[" * 10000, "unexpected EOF", id="deep-but-unclosed"),
    pytest.param(b"x", "invalid character 'x' looking for beginning of value", id="letter"),
    pytest.param(b"NaN", "invalid character 'N' looking for beginning of value", id="nan"),
    pytest.param(b"Infinity", "invalid character 'I' looking for beginning of value",
                 id="infinity"),
    pytest.param(b"-Infinity", "invalid character 'I' in numeric literal", id="minus-infinity"),
    pytest.param(b'{"a":NaN}', "invalid character 'N' looking for beginning of value",
                 id="nan-in-object"),
    pytest.param(b"'x'", "invalid character '\\'' looking for beginning of value",
                 id="single-quote"),
    pytest.param(b"\xff\xfe", "invalid character 'ÿ' looking for beginning of value",
                 id="invalid-utf8-byte"),
    pytest.param("é".encode(), "invalid character 'Ã' looking for beginning of value",
                 id="first-byte-of-utf8"),
    pytest.param(b"\x00", "invalid character '\\x00' looking for beginning of value",
                 id="nul-byte"),
    pytest.param(b"\x85", "invalid character '\\u0085' looking for beginning of value",
                 id="c1-control-byte"),
    pytest.param(b"{,}", "invalid character ',' looking for beginning of object key string",
                 id="comma-for-key"),
    pytest.param(b'{"a":1,}', "invalid character '}' looking for beginning of object key string",
                 id="trailing-comma-object"),
    pytest.param(b"{a:1}", "invalid character 'a' looking for beginning of object key string",
                 id="bare-key"),
    pytest.param(b'{"a" 1}', "invalid character '1' after object key", id="missing-colon"),
    pytest.param(b'{"a":1 "b":2}', "invalid character '\"' after object key:value pair",
                 id="missing-comma-object"),
    pytest.param(b"[1 2]", "invalid character '2' after array element", id="missing-comma-array"),
    pytest.param(b'[{"a":[1]} 2]', "invalid character '2' after array element",
                 id="after-nested-element"),
    pytest.param(b"[1,]", "invalid character ']' looking for beginning of value",
                 id="trailing-comma-array"),
    pytest.param(b"[,]", "invalid character ',' looking for beginning of value",
                 id="leading-comma"),
    pytest.param(b'"\\x"', "invalid character 'x' in string escape code", id="bad-escape"),
    pytest.param(b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape",
                 id="bad-unicode-escape"),
    pytest.param(b'"a\tb"', "invalid character '\\t' in string literal", id="tab-in-string"),
    pytest.param(b'"a\nb"', "invalid character '\\n' in string literal", id="newline-in-string"),
    pytest.param(b"trUe", "invalid character 'U' in literal true (expecting 'u')",
                 id="bad-true"),
    pytest.param(b"fals}", "invalid character '}' in literal false (expecting 'e')",
                 id="bad-false"),
    pytest.param(b"nil", "invalid character 'i' in literal null (expecting 'u')", id="bad-null"),
    pytest.param(b"-x", "invalid character 'x' in numeric literal", id="minus-letter"),
    pytest.param(b"1.x", "invalid character 'x' after decimal point in numeric literal",
                 id="bad-fraction"),
    pytest.param(b"1ex", "invalid character 'x' in exponent of numeric literal",
                 id="bad-exponent"),
    pytest.param(b"[" * 10001, "invalid character '[' exceeded max depth", id="too-deep-array"),
    pytest.param(b'{"a":' * 10001, "invalid character '{' exceeded max depth",
                 id="too-deep-object"),
    pytest.param(b"[" * 10000 + b"{", "invalid character '{' exceeded max depth",
                 id="depth-counts-both-kinds"),
    pytest.param(b"[" * 5000 + b"x", "invalid character 'x' looking for beginning of value",
                 id="error-before-the-depth-limit"),
])
def test_decode_json_fails_with_go_text(raw: bytes, error: str) -> None:
    with pytest.raises(wire.GoJSONError) as caught:
        wire.decode_json(raw)
    assert str(caught.value) == error


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(codec="utf-8")),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=5), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=NO_TIMING)
@given(value=JSON_VALUES, indent=st.sampled_from([None, 1]))
def test_decode_json_reads_what_any_encoder_writes(value: object, indent: int | None) -> None:
    assert wire.decode_json(json.dumps(value, indent=indent).encode()) == value
    assert wire.decode_json(wire.encode_json(value)) == value


@settings(max_examples=300, deadline=None, suppress_health_check=NO_TIMING)
@given(raw=st.binary(max_size=40))
def test_decode_json_fails_only_as_go_does(raw: bytes) -> None:
    try:
        wire.decode_json(raw)
    except wire.GoJSONError as exc:
        error = str(exc)
        assert error in ("EOF", "unexpected EOF") or error.startswith("invalid character ")


@settings(max_examples=500, deadline=None, suppress_health_check=NO_TIMING)
@given(text=st.text(alphabet='{}[],:"\\ tfnrule0123456789.-+Eaxy\t\n', max_size=30))
def test_decode_json_agrees_with_a_strict_parser(text: str) -> None:
    """Where CPython's parser reads a whole document, the first value is the same value."""
    try:
        expected = json.loads(text)
    except ValueError:
        return
    assert wire.decode_json(text.encode()) == expected


# quote and quote_char ----------------------------------------------------------------------

@pytest.mark.parametrize(("value", "quoted"), [
    pytest.param("nobody", '"nobody"', id="plain"),
    pytest.param('say "hi"', '"say \\"hi\\""', id="double-quotes"),
    pytest.param("a\\b", '"a\\\\b"', id="backslash"),
    pytest.param("\a\b\f\n\r\t\v", '"\\a\\b\\f\\n\\r\\t\\v"', id="go-escapes"),
    pytest.param("\x00\x1b\x7f", '"\\x00\\x1b\\x7f"', id="ascii-controls"),
    pytest.param("é☃😀", '"é☃😀"', id="printable-unicode"),
    pytest.param("\u0085\u00a0\u200b\u2028", '"\\u0085\\u00a0\\u200b\\u2028"',
                 id="unprintable-unicode"),
    pytest.param("\U000e0001", '"\\U000e0001"', id="unprintable-astral"),
    pytest.param("", '""', id="empty"),
    pytest.param("it's", '"it\'s"', id="single-quote-kept"),
])
def test_quote_is_go_percent_q(value: str, quoted: str) -> None:
    assert wire.quote(value) == quoted


@pytest.mark.parametrize(("char", "quoted"), [
    ("x", "'x'"), ("'", "'\\''"), ('"', "'\"'"), ("\t", "'\\t'"), ("\\", "'\\\\'"),
])
def test_quote_char_is_go_scanner_quoting(char: str, quoted: str) -> None:
    assert wire.quote_char(char) == quoted


# parse_uuid --------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    pytest.param("f517da0b-cdc9-410f-ab89-a86107c420ed", id="canonical"),
    pytest.param("F517DA0B-CDC9-410F-AB89-A86107C420ED", id="upper-case"),
    pytest.param("{f517da0b-cdc9-410f-ab89-a86107c420ed}", id="braces"),
    pytest.param("(f517da0b-cdc9-410f-ab89-a86107c420ed]", id="any-wrapping-pair"),
    pytest.param("urn:uuid:f517da0b-cdc9-410f-ab89-a86107c420ed", id="urn"),
    pytest.param("URN:UUID:f517da0b-cdc9-410f-ab89-a86107c420ed", id="urn-any-case"),
    pytest.param("f517da0bcdc9410fab89a86107c420ed", id="32-hex"),
])
def test_parse_uuid_accepts_google_uuid_spellings(text: str) -> None:
    assert wire.parse_uuid(text) == TEMPLATE


@pytest.mark.parametrize(("text", "error"), [
    pytest.param("abc", "invalid UUID length: 3", id="short"),
    pytest.param("", "invalid UUID length: 0", id="empty"),
    pytest.param("me", "invalid UUID length: 2", id="me"),
    pytest.param("ééé", "invalid UUID length: 6", id="length-in-bytes"),
    pytest.param("f517da0b-cdc9-410f-ab89-a86107c420ed0", "invalid UUID length: 37",
                 id="one-too-many"),
    pytest.param("f517da0b_cdc9-410f-ab89-a86107c420ed", "invalid UUID format",
                 id="wrong-separator"),
    pytest.param("g517da0b-cdc9-410f-ab89-a86107c420ed", "invalid UUID format", id="not-hex"),
    pytest.param("f517da0bcdc9410fab89a86107c420eZ", "invalid UUID format", id="32-not-hex"),
    pytest.param("é" * 18, "invalid UUID format", id="36-bytes-of-text"),
    pytest.param("urx:uuid:f517da0b-cdc9-410f-ab89-a86107c420ed",
                 'invalid urn prefix: "urx:uuid:"', id="bad-urn"),
    pytest.param("{f517da0b-cdc9-410f-ab89-a86107c420e}}", "invalid UUID format",
                 id="braces-cut-a-digit"),
])
def test_parse_uuid_errors_are_google_uuid_texts(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=r"UUID|urn") as caught:
        wire.parse_uuid(text)
    assert str(caught.value) == error


# format_time -------------------------------------------------------------------------------

@pytest.mark.parametrize(("moment", "text"), [
    pytest.param(datetime(2025, 7, 6, 9, 12, 44, 518271, tzinfo=UTC),
                 "2025-07-06T09:12:44.518271Z", id="microseconds"),
    pytest.param(datetime(2025, 7, 6, 9, 12, 44, 500000, tzinfo=UTC),
                 "2025-07-06T09:12:44.5Z", id="trailing-zeros-cut"),
    pytest.param(datetime(2025, 7, 6, 9, 12, 44, 120, tzinfo=UTC),
                 "2025-07-06T09:12:44.00012Z", id="leading-zeros-kept"),
    pytest.param(datetime(2025, 1, 15, 8, 0, tzinfo=UTC), "2025-01-15T08:00:00Z",
                 id="whole-second"),
    pytest.param(datetime(2025, 1, 15, 10, 0, tzinfo=timezone(timedelta(hours=2))),
                 "2025-01-15T08:00:00Z", id="converted-to-utc"),
])
def test_format_time_is_go_rfc3339nano(moment: datetime, text: str) -> None:
    assert wire.format_time(moment) == text
