"""Every operation refuses a request without valid credentials, with 401 and Coder's error body."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.client import NO_EFFECT, TOKEN_HEADER, Api
from contract_tests.skips import skip_without

OPERATIONS: dict[str, dict[str, Any]] = {
    "get-notification-dispatch-methods": {},
    "get-notifications-settings": {},
    "update-notifications-settings": {"body": {"notifier_paused": True}},
    "get-system-notification-templates": {},
    "send-a-test-notification": {},
    "get-user-notification-preferences": {"user": "me"},
    "update-user-notification-preferences": {"user": "me", "body": {"template_disabled_map": {}}},
    "get-user-by-name": {"user": "me"},
    "list-inbox-notifications": {},
    "update-read-status-of-a-notification": {"path": {"id": "7f9a3c2e-1b4d-4e8a-9c61-2d5e8f0a1b37"},
                                             "body": {"is_read": True}},
    # Without credentials nothing is read: a server that marked all read anyway is put back.
    "mark-all-unread-notifications-as-read": {},
    # A body Coder refuses: a server that skipped authentication would still send nothing.
    "send-a-custom-notification": {"body": {}},
    "get-custom-notification-templates": {},
    "update-notification-template-dispatch-method": {
        "path": {"notification_template": "00000000-0000-4000-8000-000000000000"},
        "body": {"method": ""}},
}
CREDENTIALS = {
    "no token": None,
    "not a token": "not-a-session-token",
    "wrong id length": "short-abcdefghijklmnopqrstuv",
    "unknown key": "Zz9Zz9Zz9Z-abcdefghijklmnopqrstuv",
}


@pytest.mark.parametrize("credential", CREDENTIALS.values(), ids=CREDENTIALS.keys())
@pytest.mark.parametrize("operation", OPERATIONS)
def test_bad_credentials_are_refused_with_401(anonymous: Api, operation: str,
                                              credential: str | None) -> None:
    headers = {TOKEN_HEADER: credential} if credential else None
    exchange = anonymous.call(operation, headers=headers, validate=False, purpose=NO_EFFECT,
                              **OPERATIONS[operation])
    if exchange.status == 404 and exchange.json().get("message") == "Route not found.":
        pytest.skip(f"the server has no {operation} (an older or non-enterprise Coder)")
    exchange.validate().expect_error(401)
    exchange.expect(bool(exchange.json().get("detail")), "a 401 says why in `detail`")


def test_the_test_notification_is_sent_only_when_allowed(owner: Api, target: Any) -> None:
    if not target.sends_test_notification:
        skip_without("send_test_notification", "send_notifications",
                     reason="sending a real test notification needs an option")
    exchange = owner.send_test().expect_status(204)
    exchange.expect(exchange.response.content == b"", "204 carries no body")
