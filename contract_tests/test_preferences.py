"""Preferences: writes are visible, answers are complete, bad writes change nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract_tests.client import Api, Exchange, preference_map
from contract_tests.facts import Facts

# The Custom Notification is a template of kind `custom`: not listed by the system endpoint, yet
# users may store a preference for it. Its id is fixed by Coder's migration 000368.
CUSTOM_TEMPLATE_ID = "39b1e189-c857-4b0c-877a-511144c18516"
BAD_KEY = "Unable to parse notification template UUID."


def choices_from(ids: tuple[str, ...]) -> st.SearchStrategy[dict[str, bool]]:
    """Non-empty maps of template id → disabled over `ids`."""
    return st.dictionaries(st.sampled_from(ids), st.booleans(), min_size=1, max_size=len(ids))


def times(exchange: Exchange) -> dict[str, datetime]:
    """updated_at of each preference in an answer."""
    return {item["id"]: datetime.fromisoformat(item["updated_at"].replace("Z", "+00:00"))
            for item in exchange.json() or []}


@given(data=st.data())
def test_a_write_is_answered_in_full_and_read_back(owner: Api, writable: tuple[str, ...],
                                                   data: st.DataObject) -> None:
    before = owner.stored_preferences()
    choices = data.draw(choices_from(writable))
    exchange = owner.put_preferences("me", choices).expect_status(200)
    answered = preference_map(exchange)
    exchange.expect(answered == {**before, **choices},
                    "the answer lists every stored preference: those sent, with the values "
                    "sent, and all the others unchanged")
    exchange.expect(owner.stored_preferences() == answered,
                    "the next read returns what the write answered")


def test_every_write_moves_updated_at(owner: Api, writable: tuple[str, ...]) -> None:
    template_id = writable[0]
    first = owner.put_preferences("me", {template_id: True}).expect_status(200)
    second = owner.put_preferences("me", {template_id: True}).expect_status(200)
    second.expect(times(second)[template_id] > times(first)[template_id],
                  "re-sending a value still moves its updated_at")


def test_an_empty_map_writes_nothing(owner: Api) -> None:
    before = owner.preferences("me").expect_status(200).json()
    exchange = owner.put_preferences("me", {}).expect_status(200)
    exchange.expect(preference_map(exchange) == preference_map(owner.preferences("me")),
                    "an empty map answers the current preferences")
    exchange.expect((exchange.json() is None) == (before is None),
                    "an empty map answers null exactly when nothing is stored")


def test_every_preference_names_a_known_template(owner: Api, facts: Facts) -> None:
    known = set(facts.template_ids) | {CUSTOM_TEMPLATE_ID}
    for user in [facts.owner] + ([facts.member] if facts.member else []):
        exchange = owner.preferences(user.id).expect_status(200)
        unknown = set(preference_map(exchange)) - known
        exchange.expect(not unknown, f"preference ids must be template ids; unknown: {unknown}")


# Keys google/uuid.Parse refuses for their length alone: it accepts 32, 36, 38 and 45 bytes.
bad_keys = st.text(min_size=0, max_size=40).filter(
    lambda key: len(key.encode()) not in (32, 36, 38, 45))


@given(bad_key=bad_keys, data=st.data())
def test_a_bad_key_rejects_the_whole_write(owner: Api, writable: tuple[str, ...], bad_key: str,
                                           data: st.DataObject) -> None:
    before = owner.stored_preferences()
    good = data.draw(choices_from(writable))
    exchange = owner.put_preferences("me", {**good, bad_key: True}, validate=True)
    exchange.expect_error(400, message=BAD_KEY)
    exchange.expect(owner.stored_preferences() == before,
                    "a rejected write changes nothing, not even the good keys sent beside it")


BAD_BODIES: dict[str, Any] = {
    "map is a list": {"template_disabled_map": []},
    "map is a string": {"template_disabled_map": "all"},
    "value is a string": {"template_disabled_map": {"$ID": "yes"}},
    "value is a number": {"template_disabled_map": {"$ID": 1}},
    "body is an array": [],
    "body is a string": "template_disabled_map",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_a_malformed_body_is_refused_and_changes_nothing(owner: Api, writable: tuple[str, ...],
                                                         body: Any) -> None:
    before = owner.stored_preferences()
    if isinstance(body, dict) and isinstance(body["template_disabled_map"], dict):
        body = {"template_disabled_map": {writable[0]: body["template_disabled_map"]["$ID"]}}
    exchange = owner.call("update-user-notification-preferences", user="me", body=body)
    exchange.expect_error(400)
    exchange.expect(owner.stored_preferences() == before, "a rejected write changes nothing")
