"""The one place the mock subclasses or overrides connexion internals (written for connexion 3.3.0).

Each trim keeps a layer's behaviour and removes only work it did on every request for nothing
(measured per layer in-process, they were most of what the mock spent on a GET). `STOCK` maps
each trim to the layer it trims, so tests/test_connexion_seam.py can check that both answer alike.

What this module relies on, to re-check when connexion is upgraded:

- `connexion.middleware.swagger_ui.SwaggerUIMiddleware`: subclassed (`DocsMiddleware.__call__`),
  its `app` attribute is the next app; it serves `{base}/openapi.json|yaml` (the default
  `SwaggerUIOptions.spec_path`) and the UI under `swagger_ui_path`.
- `connexion.middleware.routing.RoutingMiddleware`: subclassed; `__init__(app)` puts `app` behind
  its router. `connexion.middleware.abstract.ROUTING_CONTEXT`: the scope extension its router
  fills (`operation_id`, `api_base_path`), read here and restored for remembered routes, with
  `scope["path_params"]`.
- `connexion.middleware.request_validation.RequestValidationMiddleware.api_cls`;
  `RequestValidationAPI.make_operation` and its `next_app`, `strict_validation`,
  `validator_map`; `RequestValidationOperation.__init__` (keywords `operation`,
  `strict_validation`, `validator_map`) and its `_validator_map`, `extract_content_type`,
  `validate_mime_type`, `security_query_params`, `next_app`.
- `connexion.operations.AbstractOperation`: `parameters`, `request_body`, `body_schema`,
  `body_definition`, `uri_parser_class`.
- `connexion.validators.JSONRequestBodyValidator`: its keyword constructor, `_schema`,
  `_validator` (overridden), `wrap_receive` (overridden), `_insert_messages`.
- `connexion.validators.ParameterValidator.validate_parameter` (a static method `validate`
  calls), and the `validator_map` shape `add_api` takes (`"body"`: a `MediaTypeDict`,
  `"parameter"`: a class).
- `connexion.json_schema.Draft4RequestValidator`; `connexion.utils.is_null`, `is_nullable`.
"""

from __future__ import annotations

import functools
import re
from types import MappingProxyType
from typing import Any

from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator
from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.utils import is_null, is_nullable
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import go_body
from mock_server.config import DOCS_PATH
from mock_server.context import context_of

JSON = "application/json"
_ANNOTATIONS = {"description", "example", "examples", "title"}
_DOCS_PATH = re.compile(rf"{re.escape(DOCS_PATH)}(/|$)|/openapi\.(json|yaml)$")


class DocsMiddleware(SwaggerUIMiddleware):
    """Connexion's docs (Swagger UI, openapi.json/yaml), entered only for docs paths: its
    router otherwise costs every API call about a tenth of the mock's time."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _DOCS_PATH.search(scope["path"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class ContextRoutingMiddleware(RoutingMiddleware):
    """Connexion's routing, with the routed operation handed to the mock's RequestContext."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(self._behind_router(app))

    def _behind_router(self, app: ASGIApp) -> ASGIApp:
        """The app connexion's router calls: here, only the hand-over."""
        return _HandOver(app)


class RememberingRoutingMiddleware(ContextRoutingMiddleware):
    """Connexion's routing, remembered per method and path: a page calls the same few URLs
    again and again, and matching them route by route was a third of a GET's time.

    Only a matched operation is remembered (its id, base path and path parameters); unknown
    paths and wrong methods go through connexion's router every time, for its 404 and 405.
    """

    MAX_REMEMBERED = 4096

    def __init__(self, app: ASGIApp) -> None:
        self._remembered: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        self._next = app
        super().__init__(app)

    def _behind_router(self, app: ASGIApp) -> ASGIApp:
        """Hand over, and remember where the request was routed."""
        return _Remember(app, self._remembered, self.MAX_REMEMBERED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        known = self._remembered.get((scope.get("method", ""), scope.get("path", "")))
        if known is None or scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        routing, path_params = known
        scope.setdefault("extensions", {})[ROUTING_CONTEXT] = dict(routing)
        scope["path_params"] = {**scope.get("path_params", {}), **path_params}
        context_of(scope).operation_id = routing["operation_id"]
        await self._next(scope, receive, send)


class _HandOver:
    """The app behind connexion's router: note the routed operation in the RequestContext."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
        context_of(scope).operation_id = routing.get("operation_id")
        await self.app(scope, receive, send)


class _Remember(_HandOver):
    """The hand-over, also noting where a request was routed for the next time."""

    def __init__(self, app: ASGIApp, remembered: dict[Any, Any], limit: int) -> None:
        super().__init__(app)
        self.remembered, self.limit = remembered, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
        if scope["type"] == "http" and routing.get("operation_id"):
            if len(self.remembered) >= self.limit:
                self.remembered.clear()  # fuzzers try endless paths; UIs come back to a few
            self.remembered[(scope["method"], scope["path"])] = (
                dict(routing), dict(scope.get("path_params", {})))
        await super().__call__(scope, receive, send)


class _PreparedValidation(RequestValidationOperation):
    """Connexion's request validation of one operation, with its validators built once.

    Connexion builds a URI parser, a parameter validator and a body validator on every request;
    they hold nothing request-specific, and every body the mock validates is JSON (Coder's are
    labelled so by ReadBodyAsJSON), so one of each per operation does the same checks. The media
    type check depends only on the Content-Type value, so a value once accepted is not checked
    again (at most MAX_ACCEPTED of them; a refused one always is).
    """

    MAX_ACCEPTED = 16

    def __init__(self, next_app: ASGIApp, *, operation: AbstractOperation,
                 strict_validation: bool = False, validator_map: dict | None = None) -> None:
        super().__init__(next_app, operation=operation, strict_validation=strict_validation,
                         validator_map=validator_map)
        uri_parser = operation.uri_parser_class(operation.parameters,
                                                operation.body_definition())
        checked = [p for p in operation.parameters if not _cannot_fail(p)]
        self._parameters = self._validator_map["parameter"](
            checked, uri_parser=uri_parser, strict_validation=strict_validation,
            security_query_params=self.security_query_params) if checked else None
        schema = operation.body_schema(JSON) if operation.request_body else None
        self._body = self._validator_map["body"][JSON](
            schema=schema, required=operation.request_body.get("required", False),
            nullable=is_nullable(operation.body_definition(JSON)), encoding="utf-8",
            strict_validation=strict_validation, uri_parser=uri_parser) if schema else None
        self._accepted: set[bytes | None] = set()  # Content-Type values the check accepted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._parameters is not None:
            self._parameters.validate(scope)
        if self._body is not None:
            self._check_media_type(scope["headers"])
            receive, scope = await self._body.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)

    def _check_media_type(self, headers: list[tuple[bytes, bytes]]) -> None:
        value = next((v for name, v in headers if name.lower() == b"content-type"), None)
        if value in self._accepted:
            return
        mime_type, _ = self.extract_content_type(headers)
        self.validate_mime_type(mime_type)
        if len(self._accepted) < self.MAX_ACCEPTED:
            self._accepted.add(value)


def _cannot_fail(parameter: dict[str, Any]) -> bool:
    """A path parameter typed a plain string: whatever routing matched is valid (`{user}`)."""
    schema = parameter.get("schema", {})
    return parameter["in"] == "path" and set(schema) <= _ANNOTATIONS | {"type"} and schema.get(
        "type") == "string"


class _LeanValidationAPI(RequestValidationAPI):
    def make_operation(self, operation: AbstractOperation) -> Any:
        """Nothing to validate: pass through; otherwise validators prepared once."""
        if not operation.parameters and not operation.request_body:
            return self.next_app
        return _PreparedValidation(self.next_app, operation=operation,
                                   strict_validation=self.strict_validation,
                                   validator_map=self.validator_map)


class LeanRequestValidationMiddleware(RequestValidationMiddleware):
    """Connexion's request validation, with the per-request set-up done once per operation."""

    api_cls = _LeanValidationAPI


class GoJSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body validator, reading bodies as Go does (go_body.py)."""

    @property
    def _validator(self) -> Draft4Validator:
        return _compiled(go_body.SchemaKey(self._schema))

    async def wrap_receive(self, receive: Receive, *, scope: Scope) -> tuple[Receive, Scope]:
        """Read the whole body (an empty one is Go's `EOF`), decode and check it as Go would,
        and leave the value as Go decoded it (`null` is `{}`) for the handler."""
        chunks = []
        more_body = True
        while more_body:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunks.append(message.get("body", b""))
            more_body = message.get("more_body", False)
        raw = b"".join(chunks)
        body = go_body.decode(raw, self._schema)
        go_body.check(body, self._schema, self._validator)
        context_of(scope).body = body
        replay = {"type": "http.request", "body": raw, "more_body": False}
        return self._insert_messages(receive, messages=[replay]), scope


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
            _compiled(go_body.SchemaKey(param.get("schema", param)), parameter=True).validate(
                value)
        except ValidationError as exc:
            return f"{parameter_type} parameter '{param['name']}': {exc.message}"
        return None


@functools.lru_cache(maxsize=128)
def _compiled(key: go_body.SchemaKey, *, parameter: bool = False) -> Draft4Validator:
    """One validator per schema, instead of one per request (the key keeps the schema alive)."""
    cls = Draft4Validator if parameter else Draft4RequestValidator
    return cls(key.schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def validator_map() -> dict[str, Any]:
    """The validators `add_api` is given: Go's reading of bodies, cached parameter checks."""
    return {"body": MediaTypeDict({"*/*json": GoJSONBodyValidator}),
            "parameter": CachedParameterValidator}


STOCK: MappingProxyType[type, type] = MappingProxyType({
    DocsMiddleware: SwaggerUIMiddleware,
    RememberingRoutingMiddleware: ContextRoutingMiddleware,  # stock routing plus the hand-over
    LeanRequestValidationMiddleware: RequestValidationMiddleware,
    CachedParameterValidator: ParameterValidator,
})
"""Each trim → the layer it trims as connexion ships it (GoJSONBodyValidator is semantics, not
a trim: Coder's decoding, which the stock validator does not have)."""
