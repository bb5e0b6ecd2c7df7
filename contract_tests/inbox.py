"""What the inbox properties share: the rules of one notification's shape, instants as Coder
writes them, and waiting for a notification Coder delivers asynchronously.

Written from Coder's types (codersdk.InboxNotification) and handlers, not from any server's code.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from contract_tests.client import Api, Exchange

CUSTOM_TEMPLATE_ID = "39b1e189-c857-4b0c-877a-511144c18516"  # Coder's migration 000368
TEST_TEMPLATE_ID = "c425f63e-716a-4bf4-ae24-78348f706c3f"
FIELDS = ("id", "user_id", "template_id", "targets", "title", "content", "icon", "actions",
          "read_at", "created_at")
POLL_SECONDS = 0.2
INVALID_QUERY = "Query parameters have invalid values."
BAD_READ_STATUS = "starting_before query parameter should be any of 'all', 'read', 'unread'."

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def is_uuid(value: Any) -> bool:
    """A UUID as Go's uuid.UUID marshals it: lowercase, hyphenated."""
    return isinstance(value, str) and bool(_UUID.match(value))


def instant(value: Any) -> int | None:
    """An RFC 3339 time as nanoseconds since the epoch (Go keeps nanoseconds, Python's
    datetime only microseconds); None when it is not one."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        return None
    return int(moment.timestamp()) * 1_000_000_000 + int((fraction or "").ljust(9, "0"))


def check_notification(exchange: Exchange, item: Any, *, user_id: str) -> None:
    """codersdk.InboxNotification: every field present (`read_at` too, null when unread), of
    its type, and the caller's own."""
    exchange.expect(isinstance(item, dict), "each notification is a JSON object")
    missing = [name for name in FIELDS if name not in item]
    exchange.expect(not missing, f"a notification has all of {', '.join(FIELDS)}; missing "
                                 f"{missing} (`read_at` is always present, null when unread)")
    name = item.get("title")
    for key in ("id", "user_id", "template_id"):
        exchange.expect(is_uuid(item[key]), f"{name!r}: `{key}` must be a UUID")
    exchange.expect(item["user_id"] == user_id,
                    f"{name!r}: the inbox holds only the caller's own notifications "
                    f"(user_id {item['user_id']}, caller {user_id})")
    targets = item["targets"]
    exchange.expect(targets is None or (isinstance(targets, list)
                                        and all(is_uuid(t) for t in targets)),
                    f"{name!r}: `targets` is an array of UUIDs (null when enqueued without)")
    for key in ("title", "content", "icon"):
        exchange.expect(isinstance(item[key], str), f"{name!r}: `{key}` must be a string")
    actions = item["actions"]
    exchange.expect(isinstance(actions, list) and all(
        isinstance(a, dict) and isinstance(a.get("label"), str) and isinstance(a.get("url"), str)
        for a in actions), f"{name!r}: `actions` is an array of {{label, url}} strings")
    exchange.expect(item["read_at"] is None or instant(item["read_at"]) is not None,
                    f"{name!r}: `read_at` is null or an RFC 3339 time")
    exchange.expect(instant(item["created_at"]) is not None,
                    f"{name!r}: `created_at` is an RFC 3339 time")


def wait_for(api: Api, found: Callable[[dict[str, Any]], bool], *,
             seconds: float) -> dict[str, Any] | None:
    """The newest notification on the caller's first page that `found` accepts, polling until
    one arrives or `seconds` pass; None then."""
    deadline = time.monotonic() + seconds
    while True:
        match = next((item for item in api.inbox_page().items if found(item)), None)
        if match is not None or time.monotonic() > deadline:
            return match
        time.sleep(POLL_SECONDS)


def refused(exchange: Exchange, field: str, detail_start: str) -> None:
    """Coder's query-parameter 400: the message, and a validation naming the field."""
    exchange.expect_error(400, message=INVALID_QUERY)
    validations = exchange.json().get("validations") or []
    exchange.expect(any(v.get("field") == field and str(v.get("detail", "")).startswith(
        detail_start) for v in validations),
        f"a validation names {field!r} with a detail starting {detail_start!r}")
