"""Settings: a write is what the next read says; an unchanged write is a bodiless 304."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from contract_tests.client import Api
from contract_tests.guard import StateGuard


def paused(api: Api) -> bool:
    """The flag as the server reads it back."""
    return api.settings().expect_status(200).json()["notifier_paused"]


@given(values=st.lists(st.booleans(), min_size=1, max_size=6))
def test_a_settings_write_is_what_the_next_read_returns(owner: Api, guard: StateGuard,
                                                        values: list[bool]) -> None:
    for value in values:
        current = paused(owner)
        exchange = owner.put_settings(value).expect_status(200, 304)
        if exchange.status == 200:
            exchange.expect(exchange.json() == {"notifier_paused": value},
                            "a 200 answer must echo the stored value")
        else:
            exchange.expect(current == value, "304 means the value equals the stored one")
        after = owner.settings()
        after.expect(after.json()["notifier_paused"] == value,
                     f"the read after writing {value} must return it")


def test_an_unchanged_settings_write_answers_304_with_an_empty_body(
        owner: Api, known_state: StateGuard) -> None:
    current = paused(owner)
    owner.put_settings(current).expect_status(200, 304)  # a fresh deployment stores once: 200
    again = owner.put_settings(current).expect_status(304)
    again.expect(again.response.content == b"", "a 304 carries no body")


def test_unknown_fields_and_missing_flag_are_ignored(owner: Api, known_state: StateGuard) -> None:
    owner.put_settings(True).expect_status(200, 304)
    exchange = owner.call("update-notifications-settings",
                          body={"unexpected": "field"}).expect_status(200)
    exchange.expect(exchange.json() == {"notifier_paused": False},
                    "a body without notifier_paused means false, as Go decodes it")
    exchange.expect(not paused(owner), "the read after {} must say false")


def test_repeated_settings_reads_agree(owner: Api) -> None:
    values = {paused(owner) for _ in range(4)}
    assert len(values) == 1, f"four reads of the settings disagreed: {values}"
