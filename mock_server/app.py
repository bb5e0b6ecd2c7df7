"""`create_app(config)`: the one place a mock deployment is assembled. Nothing exists at import."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from mock_server import errors
from mock_server.auth import AuthMiddleware
from mock_server.config import SPEC_PATH, MockConfig
from mock_server.fixtures import load_seed, read_yaml
from mock_server.handlers import users
from mock_server.handlers.notifications import NotificationHandlers
from mock_server.handlers.preferences import PreferenceHandlers
from mock_server.store import Store
from mock_server.validation import GoJSONBodyValidator, ReadBodyAsJSON

BASE_PATH = "/api/v2"
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def create_app(config: MockConfig, *, store: Store | None = None) -> AsyncApp:
    """Build a mock deployment: its store (or the one given), handlers and middleware."""
    store = store or build_store(config)
    spec = read_yaml(SPEC_PATH)
    app = AsyncApp(__name__, middlewares=_middlewares(config, store))
    app.add_api(
        spec,
        base_path=BASE_PATH,
        resolver=Resolver(function_resolver=_operations(store, config).__getitem__),
        validator_map={"body": MediaTypeDict({"*/*json": GoJSONBodyValidator})},
        validate_responses=config.validate_responses,
        swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"),
    )
    app.add_error_handler(errors.CoderError, errors.handle_coder_error)
    app.add_error_handler(ProblemException, errors.handle_problem)
    app.add_error_handler(HTTPException, errors.http_exception_handler(_allowed_methods(spec)))
    app.add_error_handler(Exception, errors.handle_unexpected)
    return app


def build_store(config: MockConfig) -> Store:
    """The state a configuration starts from; raises FixtureError for a broken fixture set."""
    return Store(load_seed(config.fixtures),
                 template_filter=lambda t: config.task_templates or t.feature != "tasks")


def _operations(store: Store, config: MockConfig) -> dict[str, Callable[..., Any]]:
    """operationId → handler: the whole API surface in one table."""
    notifications = NotificationHandlers(store, config)
    preferences = PreferenceHandlers(store)
    return {
        "get-notification-dispatch-methods": notifications.dispatch_methods,
        "get-notifications-settings": notifications.settings,
        "update-notifications-settings": notifications.put_settings,
        "get-system-notification-templates": notifications.system_templates,
        "send-a-test-notification": notifications.send_test,
        "get-user-notification-preferences": preferences.read,
        "update-user-notification-preferences": preferences.write,
        "get-user-by-name": users.get_user,
    }


def _middlewares(config: MockConfig, store: Store) -> list[Any]:
    """Connexion's stack, with Coder's auth in place of its security middleware."""
    stack: list[Any] = [
        partial(ServerErrorMiddleware, handler=errors.handle_unexpected),
        ExceptionMiddleware,
        SwaggerUIMiddleware,
        ReadBodyAsJSON,
        partial(AuthMiddleware, store=store, user_not_found_status=config.user_not_found_status),
        RoutingMiddleware,
        RequestValidationMiddleware,
        LifespanMiddleware,
        ContextMiddleware,
    ]
    if config.validate_responses:
        stack.insert(stack.index(LifespanMiddleware), ResponseValidationMiddleware)
    return stack


def _allowed_methods(spec: dict[str, Any]) -> Callable[[str], list[str]]:
    """For a 405: every method the spec serves on the requested path, as chi lists them."""
    routes = [(compile_path(BASE_PATH + path)[0], sorted(m.upper() for m in item
                                                          if m in _HTTP_METHODS))
              for path, item in spec["paths"].items()]

    def allowed(path: str) -> list[str]:
        return next((methods for pattern, methods in routes if pattern.match(path)), [])

    return allowed

