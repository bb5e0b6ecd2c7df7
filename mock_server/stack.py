"""The middleware stack, outermost first, and the three connexion/starlette layers it trims.

Each trim keeps the layer's behaviour and removes only work it did on every request for
nothing: measured per layer in-process, they were most of what the mock spent on a GET.
"""

from __future__ import annotations

import asyncio
import re
from functools import partial
from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.operations import AbstractOperation
from connexion.utils import is_nullable
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import errors
from mock_server.auth import AuthMiddleware, ControlGuardMiddleware
from mock_server.config import LOCAL_ORIGINS, MockConfig
from mock_server.context import context_of
from mock_server.faults import FaultBook, FaultMiddleware, Sleep
from mock_server.journal import Journal, JournalMiddleware
from mock_server.limits import BodyLimitMiddleware
from mock_server.store import Store
from mock_server.validation import ReadBodyAsJSON

CORS_HEADERS = ["Coder-Session-Token", "Content-Type", "Authorization", "Prefer",
                "X-Coder-Bypass-Ratelimit", "Mock-Control-Token"]
JSON = "application/json"
_ANNOTATIONS = {"description", "example", "examples", "title"}
_DOCS_PATH = re.compile(r"/(docs(/|$)|openapi\.(json|yaml)$)")


def middlewares(config: MockConfig, *, store: Store, journal: Journal, faults: FaultBook,
                api_path: str, control_path: str, sleep: Sleep = asyncio.sleep) -> list[Any]:
    """Connexion's stack with the mock's layers, outermost first.

    The journal sees every final status; CORS headers reach error answers too; Coder's auth
    replaces connexion's security and runs before routing, as chi's route groups do; faults hit
    routed calls after auth and before validation.
    """
    stack: list[Any] = [
        partial(ServerErrorMiddleware, handler=errors.handle_unexpected),
        partial(JournalMiddleware, journal=journal),
        partial(LocalCORSMiddleware, allow_origins=list(config.cors_origins),
                allow_origin_regex=None if config.cors_origins else LOCAL_ORIGINS,
                allow_credentials=True, allow_methods=["GET", "PUT", "POST", "DELETE"],
                allow_headers=CORS_HEADERS, expose_headers=["WWW-Authenticate"], max_age=600),
        ExceptionMiddleware,
        partial(BodyLimitMiddleware, limit=config.max_body_bytes),
        DocsMiddleware,
        ReadBodyAsJSON,
        partial(AuthMiddleware, store=store, user_not_found_status=config.user_not_found_status),
        RememberingRoutingMiddleware,
        partial(FaultMiddleware, book=faults, prefix=api_path, sleep=sleep),
        LeanRequestValidationMiddleware,
        LifespanMiddleware,
    ]
    if config.control:
        stack.insert(stack.index(DocsMiddleware),
                     partial(ControlGuardMiddleware, prefix=control_path,
                             token=config.control_token, origin_allowed=config.origin_allowed))
    if config.validate_responses:
        stack.insert(stack.index(LifespanMiddleware), ResponseValidationMiddleware)
    return stack


class DocsMiddleware(SwaggerUIMiddleware):
    """Connexion's docs (Swagger UI, openapi.json/yaml), entered only for docs paths: its
    router otherwise costs every API call about a tenth of the mock's time."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not _DOCS_PATH.search(scope["path"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class RememberingRoutingMiddleware(RoutingMiddleware):
    """Connexion's routing, remembered per method and path: a page calls the same few URLs
    again and again, and matching them route by route was a third of a GET's time.

    Only a matched operation is remembered (its id, base path and path parameters); unknown
    paths and wrong methods go through connexion's router every time, for its 404 and 405.
    """

    MAX_REMEMBERED = 4096

    def __init__(self, app: ASGIApp) -> None:
        self._remembered: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        super().__init__(_Remember(app, self._remembered, self.MAX_REMEMBERED))
        self._next = app

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


class _Remember:
    """The app behind connexion's router: note where a request was routed, then go on."""

    def __init__(self, app: ASGIApp, remembered: dict[Any, Any], limit: int) -> None:
        self.app, self.remembered, self.limit = app, remembered, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        routing = scope.get("extensions", {}).get(ROUTING_CONTEXT, {})
        context_of(scope).operation_id = routing.get("operation_id")
        if scope["type"] == "http" and routing.get("operation_id"):
            if len(self.remembered) >= self.limit:
                self.remembered.clear()  # fuzzers try endless paths; UIs come back to a few
            self.remembered[(scope["method"], scope["path"])] = (
                dict(routing), dict(scope.get("path_params", {})))
        await self.app(scope, receive, send)


class _PreparedValidation(RequestValidationOperation):
    """Connexion's request validation of one operation, with its validators built once.

    Connexion builds a URI parser, a parameter validator and a body validator on every request;
    they hold nothing request-specific, and every body the mock validates is JSON (Coder's are
    labelled so by ReadBodyAsJSON), so one of each per operation does the same checks.
    """

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._parameters is not None:
            self._parameters.validate(scope)
        if self._body is not None:
            mime_type, _ = self.extract_content_type(scope["headers"])
            self.validate_mime_type(mime_type)
            receive, scope = await self._body.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


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


class LocalCORSMiddleware(CORSMiddleware):
    """Starlette's CORS; a request without an Origin (not from a browser page) only gets the
    `Vary: Origin` starlette would add, without parsing its headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"origin" for name, _ in scope["headers"]):
            await self.app(scope, receive, _vary_on_origin(send))
            return
        await super().__call__(scope, receive, send)


def _vary_on_origin(send: Send) -> Send:
    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.setdefault("headers", [])
            vary = [i for i, (name, _) in enumerate(headers) if name.lower() == b"vary"]
            if vary:
                name, value = headers[vary[0]]
                headers[vary[0]] = (name, value + b", Origin")
            else:
                headers.append((b"vary", b"Origin"))
        await send(message)

    return sender

