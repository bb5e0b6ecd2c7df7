"""Go's %v for the values JSON decoding gives Coder, so numbers and maps print as Go prints them."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from mock_server.gotemplate.payload import Payload
from mock_server.gotemplate.refusal import fail

_GO_TYPES = {Payload: "types.MessagePayload", str: "string", bool: "bool", int: "float64",
             float: "float64", list: "[]interface {}"}


def go_type(value: Any) -> str:
    """Name a value's type as Go's error messages would."""
    return _GO_TYPES.get(type(value), type(value).__name__)


def go_str(value: Any, src: str) -> str:
    """Format a value like Go's %v does for the types JSON decoding produces."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return go_float(float(value))
    if value is None:
        return "<nil>"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_str(item, src) for item in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{go_str(value[k], src)}" for k in sorted(value)) + "]"
    raise fail(f"can't print a value of type {go_type(value)}", src, "print one of its fields")


def go_float(number: float) -> str:
    """Format a float64 like Go's %v: shortest digits, exponent form below 1e-4 or from 1e6."""
    if not math.isfinite(number):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(number)]
    decimal = Decimal(repr(number)).normalize()
    exponent, digits = decimal.adjusted(), len(decimal.as_tuple().digits)
    if exponent < -4 or exponent >= 6:
        return format(number, f".{digits - 1}e")
    return format(number, f".{max(digits - 1 - exponent, 0)}f")
