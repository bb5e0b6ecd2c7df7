"""The middleware stack: the ordered list of layers a request crosses, outermost first.

The layers themselves live elsewhere: the mock's own in mock_server/middleware/, connexion's
trimmed ones in connexion_seam.py, connexion's stock ones in connexion.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from functools import partial
from typing import Any

from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware

from mock_server import errors
from mock_server.config import BASE_PATH, CONTROL_PATH, LOCAL_ORIGINS, MockConfig
from mock_server.connexion_seam import (
    DocsMiddleware,
    LeanRequestValidationMiddleware,
    RememberingRoutingMiddleware,
)
from mock_server.faults import FaultBook, Sleep
from mock_server.journal import Journal
from mock_server.middleware.auth import AuthMiddleware
from mock_server.middleware.body_limit import BodyLimitMiddleware
from mock_server.middleware.control_guard import ControlGuardMiddleware
from mock_server.middleware.cors import CORS_HEADERS, LocalCORSMiddleware
from mock_server.middleware.faults import FaultMiddleware
from mock_server.middleware.host import HostMiddleware
from mock_server.middleware.journal import JournalMiddleware
from mock_server.middleware.json_body import ReadBodyAsJSON
from mock_server.middleware.replay import ReplayRecorder
from mock_server.middleware.watch import WATCH_PATH, WatchMiddleware
from mock_server.middleware.websocket import WebSocketBridge
from mock_server.state import EventStorage, Store


def middlewares(config: MockConfig, *, store: Store, journal: Journal, faults: FaultBook,
                events: EventStorage, version: Callable[[], Hashable | None],
                sleep: Sleep = asyncio.sleep) -> list[Any]:
    """Connexion's stack with the mock's layers. A request crosses them in this order:

    0. ReplayRecorder (unless --no-replay): keeps an answer the protocol may replay to the same
       request bytes (mock_server/replay.py); outermost, it sees the state before and after.
    1. WebSocketBridge: a WebSocket handshake goes on as the GET it is, its HTTP answer
       becoming the handshake's denial, so every layer below treats it as Coder's router does.
    2. ServerErrorMiddleware: a crash of the mock is still answered, in Coder's shape.
    3. JournalMiddleware: opens the call's RequestContext, records the call's final status.
    4. HostMiddleware: refuses a Host the mock does not serve (DNS rebinding), in Coder's shape.
    5. LocalCORSMiddleware: answers preflights, adds CORS headers (error answers too).
    6. ExceptionMiddleware: turns every error raised further in into its answer.
    7. BodyLimitMiddleware: refuses a body over --max-body-bytes or --body-timeout.
    8. ControlGuardMiddleware (with the control API): checks the page's origin and the token.
    9. DocsMiddleware: Swagger UI and openapi.json/yaml; every other path passes.
    10. ReadBodyAsJSON: labels Coder's request bodies JSON, whatever they say.
    11. AuthMiddleware: authenticates Coder's route groups and resolves `{user}`, before
        routing as chi's route groups do (an unknown path in a group still needs a token).
    12. WatchMiddleware: the inbox watch socket, which OpenAPI cannot route (x-websockets):
        its faults, parameters and handshake checks, then the socket; other paths pass.
    13. RememberingRoutingMiddleware: finds the operation (404 and 405 come from here).
    14. FaultMiddleware: injects the faults that fire on a routed API call.
    15. LeanRequestValidationMiddleware: checks parameters, decodes the body as Go does.
    16. ResponseValidationMiddleware (with --validate-responses): checks the answer.
    17. LifespanMiddleware: startup and shutdown; then the Dispatcher calls the handler.
    """
    stack: list[Any] = [
        WebSocketBridge,
        partial(ServerErrorMiddleware, handler=errors.handle_unexpected),
        partial(JournalMiddleware, journal=journal),
        partial(HostMiddleware, allowed=config.served_hosts()),
        partial(LocalCORSMiddleware, allow_origins=list(config.cors_origins),
                allow_origin_regex=None if config.cors_origins else LOCAL_ORIGINS,
                allow_credentials=True, allow_methods=["GET", "PUT", "POST", "DELETE"],
                allow_headers=CORS_HEADERS, expose_headers=["WWW-Authenticate"], max_age=600),
        ExceptionMiddleware,
        partial(BodyLimitMiddleware, limit=config.max_body_bytes, timeout=config.body_timeout,
                paths={CONTROL_PATH + "/state": config.max_state_bytes}),
        DocsMiddleware,
        ReadBodyAsJSON,
        partial(AuthMiddleware, store=store, user_not_found_status=config.user_not_found_status),
        partial(WatchMiddleware, store=store, events=events, book=faults,
                origin_allowed=config.origin_allowed, sleep=sleep),
        RememberingRoutingMiddleware,
        partial(FaultMiddleware, book=faults, prefix=BASE_PATH, sleep=sleep),
        LeanRequestValidationMiddleware,
        LifespanMiddleware,
    ]
    if config.control:
        stack.insert(stack.index(DocsMiddleware),
                     partial(ControlGuardMiddleware, prefix=CONTROL_PATH,
                             token=config.control_token, origin_allowed=config.origin_allowed))
    if config.replay:
        stack.insert(0, partial(ReplayRecorder, version=version, journal=journal,
                                prefix=BASE_PATH + "/", excluded=(WATCH_PATH,)))
    if config.validate_responses:
        stack.insert(stack.index(LifespanMiddleware), ResponseValidationMiddleware)
    return stack
