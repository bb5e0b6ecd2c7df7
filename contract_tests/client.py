"""Calls to the server under test, made through Schemathesis so ASGI and HTTP targets look alike.

Every call is an `Exchange`: the case sent (reproducible as a curl line) and the response. A
broken rule raises `Violation`, whose message names the operation, the request and the rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schemathesis.core import NOT_SET
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema

from contract_tests.operations import operation

TOKEN_HEADER = "Coder-Session-Token"
BYPASS_RATE_LIMIT = "X-Coder-Bypass-Ratelimit"
ERROR_TYPE = "application/json; charset=utf-8"


class Violation(AssertionError):
    """The server broke a rule of the contract."""


class NotAllowed(RuntimeError):
    """The suite itself tried to send a call with a side effect its options do not allow."""


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

    def validate(self) -> Exchange:
        """Run Schemathesis' response checks (the spec's statuses, schemas, headers) on it."""
        try:
            self.case.validate_response(self.response)
        except AssertionError as exc:
            raise Violation(self.describe(f"the response breaks the spec: {exc}")) from None
        return self

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
        self.expect(self.header("Content-Type") == ERROR_TYPE,
                    f"an error is sent as {ERROR_TYPE} (httpapi.Write), not "
                    f"{self.header('Content-Type')!r}")
        body = self.json()
        self.expect(isinstance(body, dict) and isinstance(body.get("message"), str),
                    "an error body must be a codersdk.Response with a string `message`")
        if message is not None:
            self.expect(body["message"] == message,
                        f"expected message {message!r}, got {body['message']!r}")
        return self


# Why a call is sent: for its effect (allowed only when operations.py's option for it is set),
# to see it refused or change nothing (any call may), or to put back what the run changed.
EFFECT, NO_EFFECT, RESTORE = "effect", "no effect", "restore"


class Api:
    """The operations of the spec, called as one user (or anonymously), as far as `allows`
    (an operation id -> whether its effect is allowed) lets them."""

    def __init__(self, schema: BaseSchema, token: str | None, *,
                 allows: Callable[[str], bool], bypass_rate_limit: bool = False) -> None:
        self.schema = schema
        self.token = token
        self.allows = allows
        self.bypass_rate_limit = bypass_rate_limit

    def call(self, operation_id: str, *, user: str | None = None, body: Any = NOT_SET,
             headers: Mapping[str, str] | None = None, validate: bool = True,
             path: Mapping[str, str] | None = None,
             query: Mapping[str, str | list[str]] | None = None,
             cookies: Mapping[str, str] | None = None, purpose: str = EFFECT) -> Exchange:
        """Send one request; with `validate`, Schemathesis' response checks run on it too.

        `path` fills path parameters other than `{user}`; `query` is sent as given (a list value
        repeats the parameter), also parameters the spec does not name. A call sent for its
        `purpose` EFFECT must be allowed by the table in operations.py (NotAllowed otherwise).
        """
        if purpose == EFFECT and not self.allows(operation_id):
            raise NotAllowed(f"the suite sent {operation_id} for its effect without "
                             f"{operation(operation_id).enabled_by}: a bug of the suite")
        operation_ = self.schema.find_operation_by_id(operation_id)
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault(TOKEN_HEADER, self.token)
        if self.bypass_rate_limit:
            sent.setdefault(BYPASS_RATE_LIMIT, "true")
        parameters = {**({"user": user} if user is not None else {}), **(path or {})}
        case = operation_.Case(path_parameters=parameters or None, headers=sent, body=body,
                               query=dict(query) if query is not None else None,
                               cookies=dict(cookies) if cookies is not None else None)
        exchange = Exchange(case, case.call())
        return exchange.validate() if validate else exchange

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

    def send_test(self, *, purpose: str = EFFECT) -> Exchange:
        """POST /notifications/test."""
        return self.call("send-a-test-notification", purpose=purpose)

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


    # The inbox, custom notifications and template methods (all scoped to the caller) ------

    def inbox(self, validate: bool = True, **query: str | list[str]) -> Exchange:
        """GET /notifications/inbox with these query parameters."""
        return self.call("list-inbox-notifications", query=query, validate=validate)

    def inbox_page(self, **query: str) -> InboxPage:
        """One page of the inbox as this caller reads it (200 and the list's shape required)."""
        return InboxPage.of(self.inbox(**query).expect_status(200))

    def inbox_walk(self, max_pages: int, **query: str) -> list[InboxPage]:
        """Pages along the `starting_before` cursor, as Coder's UI asks for them: the next page
        only after a full one, at most `max_pages`."""
        pages = [self.inbox_page(**query)]
        while len(pages) < max_pages and len(pages[-1].items) == PAGE_SIZE:
            pages.append(self.inbox_page(**query, starting_before=pages[-1].items[-1]["id"]))
        return pages

    def set_read(self, notification_id: str, is_read: bool, *, validate: bool = True) -> Exchange:
        """PUT /notifications/inbox/{id}/read-status."""
        return self.call("update-read-status-of-a-notification", path={"id": notification_id},
                         body={"is_read": is_read}, validate=validate)

    def mark_all_read(self) -> Exchange:
        """PUT /notifications/inbox/mark-all-as-read."""
        return self.call("mark-all-unread-notifications-as-read")

    def send_custom(self, body: Any, *, validate: bool = True,
                    purpose: str = EFFECT) -> Exchange:
        """POST /notifications/custom with this body (any JSON, to check refusals too)."""
        return self.call("send-a-custom-notification", body=body, validate=validate,
                         purpose=purpose)

    def custom_templates(self, *, validate: bool = True) -> Exchange:
        """GET /notifications/templates/custom."""
        return self.call("get-custom-notification-templates", validate=validate)

    def put_template_method(self, template_id: str, method: Any, *, validate: bool = True,
                            purpose: str = EFFECT) -> Exchange:
        """PUT /notifications/templates/{notification_template}/method."""
        return self.call("update-notification-template-dispatch-method",
                         path={"notification_template": template_id}, body={"method": method},
                         validate=validate, purpose=purpose)


PAGE_SIZE = 25  # Coder's inbox page: GetFilteredInboxNotificationsByUserID's fixed limit


@dataclass(frozen=True)
class InboxPage:
    """One answer of the inbox list: its notifications and the caller's unread count."""

    exchange: Exchange
    items: list[dict[str, Any]]
    unread_count: int

    @classmethod
    def of(cls, exchange: Exchange) -> InboxPage:
        """The page an answer holds; a body of another shape is a violation."""
        body = exchange.json()
        exchange.expect(isinstance(body, dict), "the inbox list is one JSON object")
        exchange.expect(isinstance(body.get("notifications"), list),
                        "`notifications` must be an array, `[]` when nothing matches, never "
                        "null or absent (Coder's UI spins or throws on null)")
        count = body.get("unread_count")
        exchange.expect(isinstance(count, int) and not isinstance(count, bool) and count >= 0,
                        "`unread_count` must be a non-negative integer")
        return cls(exchange, body["notifications"], count)

    @property
    def ids(self) -> list[str]:
        """The notifications' ids, in the order answered."""
        return [item["id"] for item in self.items]


def preference_map(exchange: Exchange) -> dict[str, bool]:
    """A preferences answer (a list, or null) as template id → disabled."""
    body = exchange.json()
    exchange.expect(body is None or isinstance(body, list),
                    "preferences must be a JSON array or null")
    return {item["id"]: item["disabled"] for item in body or []}
