"""Every operation the suite may call, what a successful call changes, and the option that allows
that change. One table, read by the Schemathesis test (which operations it may generate), by the
client (which refuses to send a call with a side effect its option does not allow), by the skips
(which option enables a skipped check) and by the report (what the run may send and did send).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contract_tests.options import flag_of
from contract_tests.target import Target


@dataclass(frozen=True)
class Operation:
    """One operation of the spec, as the suite treats it."""

    operation_id: str
    method: str
    path: str
    effect: str = ""  # what a successful call changes that the guard cannot put back exactly
    flags: tuple[str, ...] = ()  # Target fields, any of which allows the effect
    generated: bool = True  # Schemathesis may generate cases for it (once allowed)
    sends: bool = False  # a success delivers a notification (counted in the report)

    @property
    def label(self) -> str:
        """`POST /notifications/custom`."""
        return f"{self.method} {self.path}"

    def allowed(self, target: Target) -> bool:
        """Whether a call with this operation's effect may be sent to `target`."""
        return not self.flags or any(getattr(target, flag) for flag in self.flags)

    @property
    def enabled_by(self) -> str:
        """The option(s) that allow the effect, as a report names them."""
        return " or ".join(flag_of(flag) for flag in self.flags)


OPERATIONS: tuple[Operation, ...] = (
    Operation("get-notification-dispatch-methods", "GET", "/notifications/dispatch-methods"),
    Operation("get-notifications-settings", "GET", "/notifications/settings"),
    # Settings and existing preferences are put back exactly (guard.py); new preferences are a
    # matter of which template ids the guard hands out, not of the operation.
    Operation("update-notifications-settings", "PUT", "/notifications/settings"),
    Operation("get-system-notification-templates", "GET", "/notifications/templates/system"),
    Operation("send-a-test-notification", "POST", "/notifications/test",
              effect="a test notification to the owner (e-mail or webhook, and its inbox)",
              flags=("send_test_notification", "send_notifications"), sends=True),
    Operation("get-user-notification-preferences", "GET",
              "/users/{user}/notifications/preferences"),
    Operation("update-user-notification-preferences", "PUT",
              "/users/{user}/notifications/preferences"),
    Operation("get-user-by-name", "GET", "/users/{user}"),
    Operation("list-inbox-notifications", "GET", "/notifications/inbox"),
    Operation("mark-all-unread-notifications-as-read", "PUT",
              "/notifications/inbox/mark-all-as-read",
              effect="every unread notification of the owner read (put back, read_at moves)",
              flags=("allow_read_state_changes",), generated=False),
    # One unread notification read, then unread again, is exact; a random id answers 500 on a
    # real Coder, so it is never generated.
    Operation("update-read-status-of-a-notification", "PUT",
              "/notifications/inbox/{id}/read-status", generated=False),
    Operation("send-a-custom-notification", "POST", "/notifications/custom",
              effect="a custom notification to the caller (owner or member), left in its inbox",
              flags=("send_notifications",), generated=False, sends=True),
    Operation("get-custom-notification-templates", "GET", "/notifications/templates/custom"),
    Operation("update-notification-template-dispatch-method", "PUT",
              "/notifications/templates/{notification_template}/method",
              effect="one template's dispatch method, then put back",
              flags=("allow_method_changes",), generated=False),
    Operation("watch-for-new-inbox-notifications", "GET", "/notifications/inbox/watch",
              generated=False),  # a WebSocket (x-websockets), opened by test_watch.py
)
BY_ID = {operation.operation_id: operation for operation in OPERATIONS}
BY_LABEL = {operation.label: operation.operation_id for operation in OPERATIONS}
SENDS = tuple(o.operation_id for o in OPERATIONS if o.sends)


def operation(operation_id: str) -> Operation:
    """The table's row for this operation; a KeyError names a call the table does not know."""
    try:
        return BY_ID[operation_id]
    except KeyError:
        raise KeyError(f"{operation_id} is not in contract_tests/operations.py: add it, with "
                       "what it changes and the option that allows it") from None


def not_generated(target: Target) -> list[str]:
    """Operations Schemathesis must not generate against `target`."""
    return [o.operation_id for o in OPERATIONS if not o.generated or not o.allowed(target)]


def may_change(target: Target) -> list[str]:
    """The report header's lines: each effect the run may have, or the option it lacks."""
    return [f"{o.label}: {o.effect}" + ("" if o.allowed(target) else
                                         f": NO, refusals only (allow with {o.enabled_by})")
            for o in OPERATIONS if o.effect]


def describe_sent(counts: dict[str, int], operations: Iterable[Operation] = OPERATIONS) -> str:
    """The summary's line of what the run really delivered, from the responses it got."""
    parts = [f"{counts.get(o.operation_id, 0)} × {o.label}" for o in operations if o.sends]
    return ", ".join(parts)
