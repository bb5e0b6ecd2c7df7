"""Request bodies read as Coder's httpapi.Read reads them, checked by connexion against the spec.

Coder decodes every body with Go's json.Decoder, whatever its Content-Type: the first JSON value
counts, `null` means the zero value, and a value of the wrong type is refused with Go's
`cannot unmarshal` text. Connexion still does the schema validation; this module only makes its
parsing and its error messages Coder's.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs
from connexion.json_schema import Draft4RequestValidator
from connexion.utils import is_null, is_nullable
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from jsonschema.exceptions import best_match
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import errors, wire
from mock_server.context import context_of

_JSON_KINDS = {dict: "object", list: "array", str: "string", bool: "bool", int: "number",
               float: "number"}
_GO_SCALARS = {"boolean": "bool", "string": "string", "integer": "int", "number": "float64"}


class GoJSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body validator with Go's decoding rules and error texts."""

    @property
    def _validator(self) -> Draft4Validator:
        return _compiled(_Identity(self._schema))

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        """Read the whole body (an empty one is Go's `EOF`), decode and validate it, and leave
        the value as Go decoded it (`null` is `{}`) for the handler."""
        chunks = []
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            more_body = message.get("more_body", False)
        raw = b"".join(chunks)
        body = self._decode(raw)
        self._validate(body)
        context_of(scope).body = body
        replay = {"type": "http.request", "body": raw, "more_body": False}
        return self._insert_messages(receive, messages=[replay]), scope

    @property
    def _is_go_struct(self) -> bool:
        """Coder's request bodies carry `x-go-type`; the mock's control API bodies do not."""
        return "x-go-type" in self._schema

    def _decode(self, raw: bytes) -> Any:
        try:
            value = wire.decode_json(raw)
        except wire.GoJSONError as exc:
            raise errors.invalid_json(str(exc)) from None
        if not self._is_go_struct:
            return value
        if value is None and self._schema.get("type") == "object":
            return {}
        return _match_fields(value, self._schema)

    def _validate(self, body: Any) -> None:
        quick = _quick(_Identity(self._schema)) if self._is_go_struct else None
        if quick is not None and quick.is_valid(body):
            return
        error = best_match(self._validator.iter_errors(body))
        if error is None:
            return
        if self._is_go_struct:
            raise errors.invalid_json(_unmarshal_error(error, self._schema))
        where = "/".join(str(part) for part in error.absolute_path)
        raise errors.CoderError(400, "Invalid request body.",
                                detail=f"{where}: {error.message}" if where else error.message)


class _Identity:
    """A schema as a cache key: the same object, not an equal one (schemas are unhashable)."""

    __slots__ = ("schema",)

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    def __hash__(self) -> int:
        return id(self.schema)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.schema is self.schema


@functools.lru_cache(maxsize=128)
def _compiled(key: _Identity, *, parameter: bool = False) -> Draft4Validator:
    """One validator per schema, instead of one per request (the key keeps the schema alive)."""
    cls = Draft4Validator if parameter else Draft4RequestValidator
    return cls(key.schema, format_checker=Draft4Validator.FORMAT_CHECKER)


@functools.lru_cache(maxsize=128)
def _quick(key: _Identity) -> jsonschema_rs.Validator | None:
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


class CachedParameterValidator(ParameterValidator):
    """Connexion's parameter validator, without the deep copy and the validator it builds for
    every parameter of every request (a tenth of a GET's time in the mock)."""

    @staticmethod
    def validate_parameter(parameter_type: str, value: Any, param: dict[str, Any],
                           param_name: str | None = None) -> str | None:
        """Connexion's checks: an error text (one line, naming the parameter), or None."""
        if value is None or (is_nullable(param) and is_null(value)):
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        try:
            _compiled(_Identity(param.get("schema", param)), parameter=True).validate(value)
        except ValidationError as exc:
            return f"{parameter_type} parameter '{param['name']}': {exc.message}"
        return None


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


class ReadBodyAsJSON:
    """Coder ignores a request's Content-Type; label every body JSON before connexion checks it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/v2/") and scope[
                "method"] in ("PUT", "POST", "PATCH"):
            headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-type"]
            headers.append((b"content-type", b"application/json"))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)
