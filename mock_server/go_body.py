"""Request bodies as Coder's httpapi.Read decodes them: Go's encoding/json rules and error texts.

Coder decodes every body with Go's json.Decoder, whatever its Content-Type: the first JSON value
counts, `null` means the zero value, a key goes to the field of that name or else to one equal
under case folding, and a value of the wrong type is refused with Go's `cannot unmarshal` text.
The schema check is jsonschema's (the validator connexion would use, given by the caller), with a
compiled jsonschema-rs check first. Connexion never appears here: connexion_seam.py calls in.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match

from mock_server import errors, wire

_JSON_KINDS = {dict: "object", list: "array", str: "string", bool: "bool", int: "number",
               float: "number"}
_GO_SCALARS = {"boolean": "bool", "string": "string", "integer": "int", "number": "float64"}


class SchemaKey:
    """A schema as a cache key: the same object, not an equal one (schemas are unhashable)."""

    __slots__ = ("schema",)

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    def __hash__(self) -> int:
        return id(self.schema)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SchemaKey) and other.schema is self.schema


def is_go_struct(schema: dict[str, Any]) -> bool:
    """Coder's request bodies carry `x-go-type`; the mock's control API bodies do not."""
    return "x-go-type" in schema


def decode(raw: bytes, schema: dict[str, Any]) -> Any:
    """The body as Go decodes it into the schema's struct (`null` is `{}`); Coder's 400 if not."""
    try:
        value = wire.decode_json(raw)
    except wire.GoJSONError as exc:
        raise errors.invalid_json(str(exc)) from None
    if not is_go_struct(schema):
        return value
    if value is None and schema.get("type") == "object":
        return {}
    return _match_fields(value, schema)


def check(body: Any, schema: dict[str, Any], validator: Draft4Validator) -> None:
    """Refuse a body the schema does not allow: in Go's words for Coder's bodies, else the path
    and jsonschema's message (the control API's)."""
    go_struct = is_go_struct(schema)
    quick = _quick(SchemaKey(schema)) if go_struct else None
    if quick is not None and quick.is_valid(body):
        return
    error = best_match(validator.iter_errors(body))
    if error is None:
        return
    if go_struct:
        raise errors.invalid_json(_unmarshal_error(error, schema))
    where = "/".join(str(part) for part in error.absolute_path)
    raise errors.CoderError(400, "Invalid request body.",
                            detail=f"{where}: {error.message}" if where else error.message)


@functools.lru_cache(maxsize=128)
def _quick(key: SchemaKey) -> jsonschema_rs.Validator | None:
    """A compiled (Rust) check of the same schema: when it passes, so does connexion's; when it
    fails (or meets `nullable`, which it does not know), connexion's validator decides and words
    the error. Used for Coder's bodies only, which have no `format` or `$ref` to disagree on.

    Connexion attaches the spec's `components` to the schema (which can lead back to the schema
    itself); the body schemas are already resolved, so they are compiled without it.
    """
    schema = {name: value for name, value in key.schema.items() if name != "components"}
    try:
        return jsonschema_rs.Draft4Validator(schema)
    except (ValueError, TypeError):
        return None  # connexion's validator alone, as before


def _match_fields(value: Any, schema: dict[str, Any]) -> Any:
    """Go gives a key to the field of that name, else to one equal under case folding."""
    properties = schema.get("properties")
    if not isinstance(value, dict) or not properties:
        return value
    folded: dict[str, str] | None = None  # built only for a key that is not spelled exactly
    matched: dict[str, Any] = {}
    for key, item in value.items():  # a later key for the same field overwrites, as in Go
        name = key
        if key not in properties:
            folded = folded or {_fold(field): field for field in properties}
            name = folded.get(_fold(key), key)
        matched[name] = _match_fields(item, properties[name]) if name in properties else item
    return matched


def _fold(name: str) -> str:
    """encoding/json's foldName: ASCII upper-cased, other runes ToUpper(ToLower(r))."""
    out = []
    for char in name:
        lower = char.lower() if len(char.lower()) == 1 else char
        upper = lower.upper()
        out.append(upper if len(upper) == 1 else lower)
    return "".join(out)


def _unmarshal_error(error: ValidationError, root: dict[str, Any]) -> str:
    """The `json: cannot unmarshal ...` text Go reports for the same type mismatch."""
    kind = _JSON_KINDS.get(type(error.instance), "value")
    struct = root.get("x-go-type", "struct")
    if not error.path:
        return f"json: cannot unmarshal {kind} into Go value of type {struct}"
    field = error.path[0]
    return (f"json: cannot unmarshal {kind} into Go struct field "
            f"{struct.rpartition('.')[2]}.{field} of type {_go_type(error.schema)}")


def _go_type(schema: dict[str, Any]) -> str:
    """The Go type a JSON Schema stands for, as encoding/json names it in errors."""
    if schema.get("type") == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map[string]{_go_type(schema['additionalProperties'])}"
    if schema.get("type") == "array":
        return f"[]{_go_type(schema.get('items', {}))}"
    return schema.get("x-go-type") or _GO_SCALARS.get(schema.get("type", ""), "interface {}")
