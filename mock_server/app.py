"""`create_app(config)`: the one place a mock deployment is assembled. Nothing exists at import."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from connexion import ConnexionMiddleware
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import ProblemException
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.routing import compile_path

from mock_server import errors, redis_state
from mock_server.config import CONTROL_SPEC_PATH, SPEC_PATH, MockConfig
from mock_server.dispatch import Dispatcher, Handler
from mock_server.faults import FaultBook, Sleep, parse_fault
from mock_server.fixtures import load_seed, read_yaml
from mock_server.handlers import users
from mock_server.handlers.control import ControlHandlers
from mock_server.handlers.notifications import NotificationHandlers
from mock_server.handlers.preferences import PreferenceHandlers
from mock_server.journal import Journal
from mock_server.models import Template
from mock_server.persistence import StateFile
from mock_server.stack import middlewares
from mock_server.store import Store
from mock_server.validation import CachedParameterValidator, GoJSONBodyValidator

BASE_PATH = "/api/v2"
CONTROL_PATH = "/__mock"
_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def create_app(config: MockConfig, *, store: Store | None = None, journal: Journal | None = None,
               faults: FaultBook | None = None,
               sleep: Sleep = asyncio.sleep) -> ConnexionMiddleware:
    """Build a mock deployment around its state (given, or made from the configuration).

    Connexion's middleware routes, validates and serves the docs; the handlers sit in a plain
    table behind it (see dispatch.py for why not connexion's AsyncApp).
    """
    store = store or build_store(config)
    journal = journal or build_journal(config)
    faults = faults or build_faults(config)
    spec = read_yaml(SPEC_PATH)
    specs = {BASE_PATH: spec}
    handlers = _operations(store, config)
    missing = sorted(set(_operation_ids(spec)) - set(handlers))
    if missing:
        raise ValueError(f"{SPEC_PATH.name} has operations the mock does not implement: "
                         f"{', '.join(missing)}")
    if config.control:
        specs[CONTROL_PATH] = read_yaml(CONTROL_SPEC_PATH)
        handlers |= _control_operations(ControlHandlers(
            store, journal, faults, operation_ids=_operation_ids(spec)))
    stack = middlewares(config, store=store, journal=journal, faults=faults,
                        api_path=BASE_PATH, control_path=CONTROL_PATH, sleep=sleep)
    app = ConnexionMiddleware(Dispatcher(handlers), import_name=__name__, middlewares=stack)
    for base_path, api_spec in specs.items():
        app.add_api(api_spec, base_path=base_path,
                    resolver=Resolver(function_resolver=handlers.__getitem__),
                    validator_map={"body": MediaTypeDict({"*/*json": GoJSONBodyValidator}),
                                   "parameter": CachedParameterValidator},
                    validate_responses=config.validate_responses and base_path == BASE_PATH,
                    swagger_ui_options=SwaggerUIOptions(swagger_ui_path="/docs"))
    app.add_error_handler(errors.CoderError, errors.handle_coder_error)
    app.add_error_handler(ProblemException, errors.handle_problem)
    app.add_error_handler(HTTPException, errors.http_exception_handler(_allowed_methods(specs)))
    app.add_error_handler(Exception, errors.handle_unexpected)
    return app


def build_store(config: MockConfig) -> Store:
    """The state a configuration starts from: its fixture set, the saved state file, or Redis."""
    seed = load_seed(config.fixtures)

    def keep(template: Template) -> bool:
        return config.task_templates or template.feature != "tasks"

    if config.state_url is not None:
        return redis_state.RedisStore(seed, redis_state.connect(config.state_url),
                                      template_filter=keep)
    store = Store(seed, template_filter=keep)
    if config.state_file is not None:
        StateFile(config.state_file).attach(store)
    return store


def build_journal(config: MockConfig) -> Journal:
    """This process's journal, or the one every process of a shared state writes to."""
    if config.state_url is not None:
        return redis_state.RedisJournal(redis_state.connect(config.state_url),
                                        config.journal_size)
    return Journal(config.journal_size)


def build_faults(config: MockConfig) -> FaultBook:
    """The faults active from the start: `--fault` ones, and `--latency` on every call."""
    faults = [parse_fault(spec) for spec in config.faults]
    if config.latency:
        faults.append(parse_fault(f"*=latency={config.latency}"))
    if config.state_url is not None:
        shared = redis_state.RedisFaultBook(redis_state.connect(config.state_url))
        shared.seed(faults)  # once per shared state, however many processes start
        return shared
    book = FaultBook()
    for fault in faults:
        book.add(fault)
    return book


def _operations(store: Store, config: MockConfig) -> dict[str, Handler]:
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
    }


def _operation_ids(spec: dict[str, Any]) -> list[str]:
    return [operation["operationId"] for item in spec["paths"].values()
            for method, operation in item.items() if method in _HTTP_METHODS]


def _allowed_methods(specs: dict[str, dict[str, Any]]) -> Callable[[str], list[str]]:
    """For a 405: every method the specs serve on the requested path, as chi lists them."""
    routes = [(compile_path(base + path)[0], sorted(m.upper() for m in item
                                                     if m in _HTTP_METHODS))
              for base, spec in specs.items() for path, item in spec["paths"].items()]

    def allowed(path: str) -> list[str]:
        return next((methods for pattern, methods in routes if pattern.match(path)), [])

    return allowed
