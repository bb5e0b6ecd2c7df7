"""Calls to the server under test, made through Schemathesis so ASGI and HTTP targets look alike.

Every call is an `Exchange`: the case sent (reproducible as a curl line) and the response. A
broken rule raises `Violation`, whose message names the operation, the request and the rule.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemathesis.core import NOT_SET
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema

TOKEN_HEADER = "Coder-Session-Token"
BYPASS_RATE_LIMIT = "X-Coder-Bypass-Ratelimit"


class Violation(AssertionError):
    """The server broke a rule of the contract."""


@dataclass(frozen=True)
class Exchange:
    """One request and its response."""

    case: Case
    response: Response

    @property
    def status(self) -> int:
        """The response status."""
        return self.response.status_code

    def json(self) -> Any:
        """The decoded body; a body that is not JSON is itself a violation."""
        try:
            return json.loads(self.response.content)
        except ValueError:
            raise Violation(self.describe("the body must be JSON")) from None

    def header(self, name: str) -> str | None:
        """A response header, case-insensitively; None when absent."""
        for key, values in self.response.headers.items():
            if key.lower() == name.lower():
                return ", ".join(values)
        return None

    def describe(self, rule: str) -> str:
        """A failure report: the rule, the operation, the request as curl, the response."""
        operation = self.case.operation
        body = self.response.content[:500].decode("utf-8", errors="replace") or "(empty body)"
        return (f"{rule}\n  operation: {operation.method.upper()} {operation.path} "
                f"({operation.definition.raw.get('operationId', '?')})\n"
                f"  request:   {self.case.as_curl_command()}\n"
                f"  response:  {self.status} {body}")

    def expect(self, condition: bool, rule: str) -> Exchange:
        """Raise a Violation describing this exchange unless `condition` holds."""
        if not condition:
            raise Violation(self.describe(rule))
        return self

    def expect_status(self, *statuses: int, rule: str = "") -> Exchange:
        """Require one of `statuses`."""
        wanted = " or ".join(str(s) for s in statuses)
        return self.expect(self.status in statuses,
                           rule or f"expected status {wanted}, got {self.status}")

    def expect_error(self, *statuses: int, message: str | None = None) -> Exchange:
        """Require a Coder error: one of `statuses` and a codersdk.Response body."""
        self.expect_status(*statuses)
        body = self.json()
        self.expect(isinstance(body, dict) and isinstance(body.get("message"), str),
                    "an error body must be a codersdk.Response with a string `message`")
        if message is not None:
            self.expect(body["message"] == message,
                        f"expected message {message!r}, got {body['message']!r}")
        return self


class Api:
    """The operations of the spec, called as one user (or anonymously)."""

    def __init__(self, schema: BaseSchema, token: str | None, *,
                 bypass_rate_limit: bool = False) -> None:
        self.schema = schema
        self.token = token
        self.bypass_rate_limit = bypass_rate_limit

    def call(self, operation_id: str, *, user: str | None = None, body: Any = NOT_SET,
             headers: Mapping[str, str] | None = None, validate: bool = True) -> Exchange:
        """Send one request; with `validate`, Schemathesis' response checks run on it too."""
        operation = self.schema.find_operation_by_id(operation_id)
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault(TOKEN_HEADER, self.token)
        if self.bypass_rate_limit:
            sent.setdefault(BYPASS_RATE_LIMIT, "true")
        case = operation.Case(path_parameters={"user": user} if user is not None else None,
                              headers=sent, body=body)
        response = case.call()
        exchange = Exchange(case, response)
        if validate:
            try:
                case.validate_response(response)
            except AssertionError as exc:
                raise Violation(exchange.describe(f"the response breaks the spec: {exc}")) from None
        return exchange

    # The operations, named for what a client wants -------------------------------------------

    def me(self, ref: str = "me") -> Exchange:
        """GET /users/{user}."""
        return self.call("get-user-by-name", user=ref)

    def settings(self) -> Exchange:
        """GET /notifications/settings."""
        return self.call("get-notifications-settings")

    def put_settings(self, paused: bool) -> Exchange:
        """PUT /notifications/settings."""
        return self.call("update-notifications-settings", body={"notifier_paused": paused})

    def dispatch_methods(self) -> Exchange:
        """GET /notifications/dispatch-methods."""
        return self.call("get-notification-dispatch-methods")

    def templates(self) -> Exchange:
        """GET /notifications/templates/system."""
        return self.call("get-system-notification-templates")

    def send_test(self) -> Exchange:
        """POST /notifications/test."""
        return self.call("send-a-test-notification")

    def preferences(self, user: str = "me") -> Exchange:
        """GET /users/{user}/notifications/preferences."""
        return self.call("get-user-notification-preferences", user=user)

    def stored_preferences(self, user: str = "me") -> dict[str, bool]:
        """A user's preferences as this caller reads them back (200 required)."""
        return preference_map(self.preferences(user).expect_status(200))

    def put_preferences(self, user: str, choices: Mapping[str, bool], *,
                        validate: bool = True) -> Exchange:
        """PUT /users/{user}/notifications/preferences."""
        return self.call("update-user-notification-preferences", user=user,
                         body={"template_disabled_map": dict(choices)}, validate=validate)


def preference_map(exchange: Exchange) -> dict[str, bool]:
    """A preferences answer (a list, or null) as template id → disabled."""
    body = exchange.json()
    exchange.expect(body is None or isinstance(body, list),
                    "preferences must be a JSON array or null")
    return {item["id"]: item["disabled"] for item in body or []}
