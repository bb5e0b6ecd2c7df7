"""`create_app(config)`: the one place a mock deployment is assembled. Nothing exists at import."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from connexion import ConnexionMiddleware
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from mock_server import errors
from mock_server.config import (
    BASE_PATH,
    CONTROL_PATH,
    CONTROL_SPEC_PATH,
    DOCS_PATH,
    SPEC_PATH,
    MockConfig,
)
from mock_server.connexion_seam import validator_map
from mock_server.deployment import Deployment, build_deployment
from mock_server.dispatch import Dispatcher, Handler
from mock_server.faults import Sleep, check_targets
from mock_server.fixtures import read_yaml
from mock_server.handlers import users
from mock_server.handlers.control import ControlHandlers
from mock_server.handlers.inbox import InboxHandlers
from mock_server.handlers.notifications import NotificationHandlers
from mock_server.handlers.preferences import PreferenceHandlers
from mock_server.middleware.watch import WATCH_OPERATION
from mock_server.stack import middlewares
from mock_server.state.backend import StateUnavailable

_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def create_app(config: MockConfig, deployment: Deployment | None = None, *,
               sleep: Sleep = asyncio.sleep) -> ConnexionMiddleware:
    """Serve a deployment (given, or built from the configuration); `sleep` is what latency
    faults wait with.

    Connexion's middleware routes, validates and serves the docs; the handlers sit in a plain
    table behind it (see dispatch.py for why not connexion's AsyncApp).
    """
    deployment = deployment or build_deployment(config)
    store, journal, faults = deployment.store, deployment.journal, deployment.faults
    spec = read_yaml(SPEC_PATH)
    specs = {BASE_PATH: spec}
    handlers = _operations(deployment, config)
    missing = sorted(set(_operation_ids(spec)) - set(handlers))
    missing += sorted(set(_socket_operations(spec).values()) - {WATCH_OPERATION})
    if missing:
        raise ValueError(f"{SPEC_PATH.name} has operations the mock does not implement: "
                         f"{', '.join(missing)}")
    check_targets(config.faults, users=store.seed.users,
                  operation_ids=[*_operation_ids(spec), *_socket_operations(spec).values()])
    if config.control:
        specs[CONTROL_PATH] = read_yaml(CONTROL_SPEC_PATH)
        handlers |= _control_operations(ControlHandlers(deployment, operation_ids=[
            *_operation_ids(spec), *_socket_operations(spec).values()]))
    stack = middlewares(config, store=store, journal=journal, faults=faults,
                        events=deployment.events, version=deployment.version, sleep=sleep)
    app = ConnexionMiddleware(Dispatcher(handlers), import_name=__name__, middlewares=stack)
    for base_path, api_spec in specs.items():
        app.add_api(api_spec, base_path=base_path,
                    resolver=Resolver(function_resolver=handlers.__getitem__),
                    validator_map=validator_map(),
                    validate_responses=config.validate_responses and base_path == BASE_PATH,
                    swagger_ui_options=SwaggerUIOptions(swagger_ui_path=DOCS_PATH))
    app.add_error_handler(errors.CoderError, errors.handle_coder_error)
    app.add_error_handler(ProblemException, errors.handle_problem)
    app.add_error_handler(HTTPException, errors.http_exception_handler(_allowed_methods(specs)))
    app.add_error_handler(StateUnavailable, errors.handle_state_unavailable)
    app.add_error_handler(Exception, errors.handle_unexpected)
    return app


def _operations(deployment: Deployment, config: MockConfig) -> dict[str, Handler]:
    """operationId → handler: the whole API surface in one table."""
    notifications = NotificationHandlers(deployment.store, deployment.enqueuer, config)
    preferences = PreferenceHandlers(deployment.store)
    inbox = InboxHandlers(deployment.store, deployment.enqueuer)
    return {
        "get-notification-dispatch-methods": notifications.dispatch_methods,
        "get-notifications-settings": notifications.settings,
        "update-notifications-settings": notifications.put_settings,
        "get-system-notification-templates": notifications.system_templates,
        "send-a-test-notification": notifications.send_test,
        "get-user-notification-preferences": preferences.read,
        "update-user-notification-preferences": preferences.write,
        "get-user-by-name": users.get_user,
        "get-custom-notification-templates": notifications.custom_templates,
        "update-notification-template-dispatch-method": notifications.put_template_method,
        "list-inbox-notifications": inbox.list,
        "update-read-status-of-a-notification": inbox.read_status,
        "mark-all-unread-notifications-as-read": inbox.mark_all_read,
        "send-a-custom-notification": inbox.custom,
    }


def _control_operations(control: ControlHandlers) -> dict[str, Handler]:
    """operationId → handler for control.yaml."""
    return {
        "mock-health": control.health, "mock-reset": control.reset,
        "mock-get-fixtures": control.fixtures, "mock-load-fixtures": control.load_fixtures,
        "mock-get-state": control.state, "mock-put-state": control.put_state,
        "mock-get-outbox": control.outbox, "mock-clear-outbox": control.clear_outbox,
        "mock-get-journal": control.journal_entries, "mock-clear-journal": control.clear_journal,
        "mock-get-faults": control.faults, "mock-add-fault": control.add_fault,
        "mock-clear-faults": control.clear_faults, "mock-remove-fault": control.remove_fault,
        "mock-send-notification": control.send_notification,
    }


def _operation_ids(spec: dict[str, Any]) -> list[str]:
    return [operation["operationId"] for item in spec["paths"].values()
            for method, operation in item.items() if method in _HTTP_METHODS]


def _socket_operations(spec: dict[str, Any]) -> dict[str, str]:
    """The WebSocket operations openapi.yaml records under `x-websockets`: path → operationId."""
    return {path: operation["operationId"]
            for path, item in spec.get("x-websockets", {}).items()
            for method, operation in item.items() if method in _HTTP_METHODS}


def _allowed_methods(specs: dict[str, dict[str, Any]]) -> Callable[[str], list[str]]:
    """For a 405: every method the specs serve on the requested path, as chi lists them."""
    routes = [(compile_path(base + path)[0], sorted(m.upper() for m in item
                                                     if m in _HTTP_METHODS))
              for base, spec in specs.items()
              for path, item in (*spec["paths"].items(), *spec.get("x-websockets", {}).items())]

    def allowed(path: str) -> list[str]:
        return next((methods for pattern, methods in routes if pattern.match(path)), [])

    return allowed
