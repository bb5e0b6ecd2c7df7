"""Read states (`PUT .../read-status`, mark all read): the answer's shape, the unread count
moving by exactly one, marking all read, and scoping between users.

Every property holds for any inbox: what needs an unread notification skips when the caller has
none. Read states the suite changes are put back (guard.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from contract_tests.client import PAGE_SIZE, Api, Exchange, InboxPage
from contract_tests.facts import Facts
from contract_tests.guard import InboxRecord, StateGuard
from contract_tests.inbox import check_notification
from contract_tests.skips import skip_without
from contract_tests.target import Target

MAX_PAGES = 4  # pages of the member's inbox walked to look for the owner's notifications
MAX_RESTORE = 100  # mark all read only when at most this many must be marked unread again


def read_answer(exchange: Exchange, notification_id: str, *, is_read: bool,
                unread_count: int) -> dict[str, Any]:
    """codersdk.UpdateInboxNotificationReadStatusResponse for this notification."""
    exchange.expect_status(200)
    body = exchange.json()
    exchange.expect(isinstance(body, dict) and isinstance(body.get("notification"), dict)
                    and "unread_count" in body,
                    "the answer is {notification, unread_count} (Coder's UI reads both; its "
                    "annotation's codersdk.Response is wrong)")
    item = body["notification"]
    exchange.expect(item.get("id") == notification_id, "the answer is the notification updated")
    exchange.expect((item.get("read_at") is not None) == is_read,
                    f"is_read {is_read} leaves read_at {'set' if is_read else 'null'}")
    exchange.expect(body["unread_count"] == unread_count,
                    f"unread_count must be {unread_count} after this, not {body['unread_count']}")
    return item


def listed(api: Api, notification_id: str) -> tuple[dict[str, Any] | None, InboxPage]:
    """The notification as the first page lists it, and the page."""
    page = api.inbox_page()
    return next((item for item in page.items if item["id"] == notification_id), None), page


def test_marking_one_notification_moves_the_count_by_exactly_one(
        owner: Api, guard: StateGuard, record: InboxRecord, target: Target,
        first_page: InboxPage) -> None:
    record.remember(first_page.items)
    unread = [item for item in first_page.items if item["read_at"] is None]
    read = [item for item in first_page.items if item["read_at"] is not None]
    if unread:  # read, then unread again: exactly as it was
        item, steps = unread[0], (True, False)
    elif read and target.allow_read_state_changes:  # unread, then read again: read_at moves
        item, steps = read[0], (False, True)
        record.moved.add(item["id"])
    else:
        skip_without("allow_read_state_changes", reason="no unread notification on the owner's "
                     "first page (re-marking a read one moves its read_at)")
    count = first_page.unread_count
    try:
        for is_read in steps:
            count += -1 if is_read else 1
            answered = read_answer(owner.set_read(item["id"], is_read), item["id"],
                                   is_read=is_read, unread_count=count)
            now, page = listed(owner, item["id"])
            page.exchange.expect(now is not None and now["read_at"] == answered["read_at"],
                                 "the next list shows the read_at the answer gave")
            page.exchange.expect(page.unread_count == count,
                                 f"the next list's unread_count is {count}")
    finally:
        guard.restore_read_states()


def test_mark_all_read_leaves_none_unread(owner: Api, guard: StateGuard, record: InboxRecord,
                                          target: Target) -> None:
    if not target.allow_read_state_changes:
        skip_without("allow_read_state_changes", reason="marking every notification read "
                     "needs an option")
    unread_pages = owner.inbox_walk(MAX_RESTORE // PAGE_SIZE + 1, read_status="unread")
    unread = [item for page in unread_pages for item in page.items]
    if not record.complete or len(unread) > MAX_RESTORE:
        pytest.skip(f"more than {MAX_RESTORE} unread notifications: too many to put back")
    record.remember(unread)
    try:
        exchange = owner.mark_all_read().expect_status(204)
        exchange.expect(exchange.response.content == b"", "204 carries no body")
        after = owner.inbox_page(read_status="unread")
        after.exchange.expect(after.unread_count == 0 and after.items == [],
                              f"after mark all read nothing is unread; unread_count "
                              f"{after.unread_count}, {len(after.items)} listed unread")
        page = owner.inbox_page()
        page.exchange.expect(all(item["read_at"] is not None for item in page.items),
                             "every listed notification has read_at set")
    finally:
        guard.restore_read_states()
    back = owner.inbox_page()
    back.exchange.expect(back.unread_count == unread_pages[0].unread_count,
                         "every notification the run marked read is unread again")


# Scoping: one user's inbox is theirs alone ------------------------------------------------------

def test_the_member_never_sees_the_owners_notifications(owner: Api, member: Api, facts: Facts,
                                                        first_page: InboxPage) -> None:
    assert facts.member is not None
    own = set(first_page.ids)
    pages = member.inbox_walk(MAX_PAGES)
    for page in pages:
        for item in page.items:
            check_notification(page.exchange, item, user_id=facts.member.id)
        page.exchange.expect(not own & set(page.ids), "the owner's notifications never appear "
                                                      "in the member's inbox")
    if first_page.items:
        foreign = member.inbox_page(starting_before=first_page.items[0]["id"])
        foreign.exchange.expect(foreign.ids == pages[0].ids, "another user's notification as "
                                "starting_before is ignored: the member's first page")


def test_the_member_cannot_change_the_owners_read_states(owner: Api, member: Api,
                                                         guard: StateGuard,
                                                         first_page: InboxPage) -> None:
    if not first_page.items:
        pytest.skip("the owner's inbox is empty")
    item = next((i for i in first_page.items if i["read_at"] is None), first_page.items[0])
    member_count = member.inbox_page().unread_count
    try:
        exchange = member.set_read(item["id"], item["read_at"] is None, validate=False)
        exchange.expect(400 <= exchange.status < 600,
                        "another user's notification is refused (Coder: 500, its "
                        f"authorization layer failing the lookup), got {exchange.status}")
        exchange.expect_error(exchange.status)
        now, page = listed(owner, item["id"])
        page.exchange.expect(now is not None and now["read_at"] == item["read_at"],
                             "a refused call leaves the owner's notification as it was")
        page.exchange.expect(page.unread_count == first_page.unread_count,
                             "a refused call leaves the owner's unread_count as it was")
        mine = member.inbox_page()
        mine.exchange.expect(mine.unread_count == member_count,
                             "a refused call leaves the member's unread_count as it was")
    finally:
        guard.restore_read_states()
