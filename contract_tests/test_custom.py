"""Custom notifications and delivery: what `POST /notifications/custom` refuses (and then sends
nothing), the custom-templates list, and, only with --send-notifications, that a custom or test
notification reaches the caller's inbox within a bounded time and nobody else's, and that a
disabled preference stops it.

Coder delivers asynchronously, so "it arrived" is polled for (up to --delivery-timeout, 10 s by
default), and "it did not arrive" is judged once a notification sent after it has arrived.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from contract_tests.client import NO_EFFECT, Api
from contract_tests.facts import Facts, Identity
from contract_tests.guard import StateGuard
from contract_tests.inbox import (
    CUSTOM_TEMPLATE_ID,
    TEST_TEMPLATE_ID,
    check_notification,
    wait_for,
)
from contract_tests.skips import skip_without
from contract_tests.target import Target

CUSTOM_INVALID = "Invalid request body"
TITLE_BYTES, MESSAGE_BYTES = 120, 2000  # codersdk's limits, on the untrimmed byte length
# Each of these breaks one rule of CustomNotificationRequest.Validate: 400, nothing sent.
REFUSED: dict[str, Any] = {
    "content missing": {},
    "content null": {"content": None},
    "title missing": {"content": {"message": "a message"}},
    "blank title": {"content": {"title": " \t ", "message": "a message"}},
    "blank message": {"content": {"title": "a title", "message": "   "}},
    "121-byte title": {"content": {"title": "t" * 121, "message": "a message"}},
    "121-byte title of 61 characters": {"content": {"title": "é" * 60 + "t",
                                                    "message": "a message"}},
    "2001-byte message": {"content": {"title": "a title", "message": "m" * 2001}},
}
FALLBACK_OTHER = "DEFAULT_ICON_OTHER"


@pytest.fixture(scope="module")
def custom_era(owner: Api, guard: StateGuard) -> None:
    """Skip the module on a server without an inbox or custom notifications."""
    if guard.inbox is None:
        pytest.skip("the server has no inbox (Coder before March 2025)")
    if owner.custom_templates(validate=False).status == 404:
        pytest.skip("the server has no custom notifications (Coder before September 2025)")


def test_a_broken_custom_notification_is_refused_and_sends_nothing(owner: Api,
                                                                   custom_era: None) -> None:
    before = owner.inbox_page()
    for case, body in REFUSED.items():
        exchange = owner.send_custom(body, purpose=NO_EFFECT).expect_error(
            400, message=CUSTOM_INVALID)
        exchange.expect(bool(exchange.json().get("detail")), f"{case}: `detail` names the rule")
    after = owner.inbox_page()
    after.exchange.expect(after.ids == before.ids and after.unread_count == before.unread_count,
                          "refused custom notifications deliver nothing")


def test_the_custom_templates_are_the_custom_notification(owner: Api, custom_era: None) -> None:
    exchange = owner.custom_templates()
    templates = exchange.expect_status(200).json()
    exchange.expect(isinstance(templates, list), "the custom templates are a JSON array")
    ids = [t["id"] for t in templates]
    exchange.expect(len(ids) == len(set(ids)), "template ids are unique")
    exchange.expect(all(t["kind"] == "custom" for t in templates),
                    "the custom endpoint lists only kind `custom`")
    system = {t["id"] for t in owner.templates().expect_status(200).json()}
    exchange.expect(not system & set(ids), "a custom template is not a system one")
    custom = next((t for t in templates if t["id"] == CUSTOM_TEMPLATE_ID), None)
    if custom is None:
        pytest.skip(f"Coder's Custom Notification ({CUSTOM_TEMPLATE_ID}) is not listed")
    exchange.expect((custom["name"], custom["title_template"], custom["body_template"])
                    == ("Custom Notification", "{{.Labels.custom_title}}",
                        "{{.Labels.custom_message}}"),
                    "the Custom Notification renders its title and message labels")
    exchange.expect(json.loads(custom["actions"]) == [], "the Custom Notification has no "
                                                         "actions")


# Delivery: only with --send-notifications -----------------------------------------------------

def unique_title(purpose: str) -> str:
    """A title no notification has had (Coder drops a same-day duplicate), of exactly the most
    bytes Coder accepts."""
    title = f"Contract suite: {purpose} ({uuid.uuid4().hex[:12]}) "
    return (title + "." * TITLE_BYTES)[:TITLE_BYTES]


def enable(owner: Api, user: Identity, template_id: str) -> None:
    """Make sure `user` gets this template: an explicit `disabled: true` is set to false (a
    preference the guard puts back)."""
    if owner.stored_preferences(user.id).get(template_id) is True:
        owner.put_preferences(user.id, {template_id: False}).expect_status(200)


@pytest.fixture
def delivering(guard: StateGuard, target: Target, owner: Api, custom_era: None) -> Iterator[None]:
    """A deployment that delivers custom notifications to both users, the state put back after."""
    if not target.send_notifications:
        skip_without("send_notifications", reason="sending custom notifications needs an option")
    listed = {t["id"] for t in owner.custom_templates().expect_status(200).json()}
    if CUSTOM_TEMPLATE_ID not in listed:
        pytest.skip(f"the deployment lists no Custom Notification ({CUSTOM_TEMPLATE_ID})")
    guard.restore()
    assert guard.before is not None
    if guard.before.paused:
        pytest.skip("the notifier is paused: nothing is delivered, and resuming it would "
                    "release every notification it holds")
    for user in guard.users:
        enable(owner, user, CUSTOM_TEMPLATE_ID)
    yield
    guard.restore()


def send(api: Api, title: str, message: str) -> None:
    """Send a custom notification to the caller: 204, no body."""
    exchange = api.send_custom({"content": {"title": title, "message": message}})
    exchange.expect_status(204).expect(exchange.response.content == b"", "204 carries no body")


def arrived(api: Api, who: Identity, title: str, *, seconds: float) -> dict[str, Any]:
    """The custom notification titled `title` in `who`'s inbox, waited for."""
    item = wait_for(api, lambda i: i["template_id"] == CUSTOM_TEMPLATE_ID and i["title"] == title,
                    seconds=seconds)
    page = api.inbox_page()
    page.exchange.expect(item is not None, f"a custom notification {title!r} reaches the "
                                           f"caller's inbox within {seconds:g} s")
    assert item is not None
    check_notification(page.exchange, item, user_id=who.id)
    return item


def absent(api: Api, *titles_or_ids: str) -> None:
    """None of these titles or ids is on the caller's first page."""
    page = api.inbox_page()
    found = [i["id"] for i in page.items if {i["id"], i["title"]} & set(titles_or_ids)]
    page.exchange.expect(not found, f"{found} must not be in this inbox")


def test_a_custom_notification_reaches_the_callers_inbox_only(
        owner: Api, facts: Facts, guard: StateGuard, api: Callable[..., Api], target: Target,
        delivering: None) -> None:
    title, message = unique_title("custom delivery"), "Sent by `python -m contract_tests`."
    send(owner, title, message)
    item = arrived(owner, facts.owner, title, seconds=target.delivery_timeout)
    assert guard.inbox is not None
    guard.inbox.remember([item])
    page = owner.inbox_page()
    page.exchange.expect(item["content"] == message and item["read_at"] is None,
                         "it is unread, its content the message sent")
    page.exchange.expect(item["actions"] == [] and not item["targets"],
                         "the Custom Notification has no actions and no targets")
    page.exchange.expect(item["icon"] in (FALLBACK_OTHER, ""),
                         f"no icon is stored: the fallback {FALLBACK_OTHER} (early inboxes: \"\")")
    if target.member_token:
        absent(api(target.member_token), item["id"], title)


def test_a_members_custom_notification_is_theirs_alone(owner: Api, member: Api, facts: Facts,
                                                       guard: StateGuard, target: Target,
                                                       delivering: None) -> None:
    assert facts.member is not None
    title = unique_title("member's custom delivery")
    send(member, title, "Sent by the contract suite, as the member.")
    item = arrived(member, facts.member, title, seconds=target.delivery_timeout)
    absent(owner, item["id"], title)


def test_a_disabled_preference_stops_a_custom_notification(owner: Api, facts: Facts,
                                                           guard: StateGuard, target: Target,
                                                           delivering: None) -> None:
    assert guard.before is not None
    if (CUSTOM_TEMPLATE_ID not in guard.before.preferences.get(facts.owner.id, {})
            and not target.allow_new_preferences):
        skip_without("allow_new_preferences", reason="the owner has no preference for the "
                     "Custom Notification to rewrite")
    blocked, control = unique_title("blocked by a preference"), unique_title("after it")
    owner.put_preferences("me", {CUSTOM_TEMPLATE_ID: True}).expect_status(200)
    exchange = owner.send_custom({"content": {"title": blocked, "message": "Must not arrive."}},
                                 validate=False)
    exchange.expect(exchange.status in (204, 400, 403, 409, 422, 500),
                    "a disabled notification is refused (Coder: 500 `notification is not "
                    f"enabled`) or dropped (204), got {exchange.status}")
    owner.put_preferences("me", {CUSTOM_TEMPLATE_ID: False}).expect_status(200)
    send(owner, control, "Sent once the preference was enabled again.")
    arrived(owner, facts.owner, control, seconds=target.delivery_timeout)
    absent(owner, blocked)


def test_the_test_notification_reaches_the_owners_inbox_only(
        owner: Api, facts: Facts, guard: StateGuard, target: Target, api: Callable[..., Api],
        known_state: StateGuard) -> None:
    if not target.sends_test_notification:
        skip_without("send_test_notification", "send_notifications",
                     reason="sending a real test notification needs an option")
    if guard.inbox is None:
        pytest.skip("the server has no inbox")
    assert guard.before is not None
    if guard.before.paused:
        pytest.skip("the notifier is paused: nothing is delivered")
    enable(owner, facts.owner, TEST_TEMPLATE_ID)
    before = set(owner.inbox_page().ids)
    owner.send_test().expect_status(204)
    item = wait_for(owner, lambda i: i["template_id"] == TEST_TEMPLATE_ID
                    and i["id"] not in before, seconds=target.delivery_timeout)
    page = owner.inbox_page()
    page.exchange.expect(item is not None, "the test notification reaches the owner's inbox "
                                           f"within {target.delivery_timeout:g} s")
    assert item is not None
    check_notification(page.exchange, item, user_id=facts.owner.id)
    guard.inbox.remember([item])
    if target.member_token:
        absent(api(target.member_token), item["id"])
    guard.restore()
