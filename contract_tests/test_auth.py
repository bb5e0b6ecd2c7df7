"""Every operation refuses a request without valid credentials, with 401 and Coder's error body."""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.client import TOKEN_HEADER, Api

OPERATIONS: dict[str, dict[str, Any]] = {
    "get-notification-dispatch-methods": {},
    "get-notifications-settings": {},
    "update-notifications-settings": {"body": {"notifier_paused": True}},
    "get-system-notification-templates": {},
    "send-a-test-notification": {},
    "get-user-notification-preferences": {"user": "me"},
    "update-user-notification-preferences": {"user": "me", "body": {"template_disabled_map": {}}},
    "get-user-by-name": {"user": "me"},
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
    exchange = anonymous.call(operation, headers=headers, **OPERATIONS[operation])
    exchange.expect_error(401)
    exchange.expect(bool(exchange.json().get("detail")), "a 401 says why in `detail`")


def test_the_test_notification_is_sent_only_when_allowed(owner: Api, target: Any) -> None:
    if not target.send_test_notification:
        pytest.skip("sending a real test notification needs --send-test-notification")
    exchange = owner.send_test().expect_status(204)
    exchange.expect(exchange.response.content == b"", "204 carries no body")
