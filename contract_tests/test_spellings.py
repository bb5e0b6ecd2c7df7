"""Every spelling a real Coder accepts (coder-behaviour.md §0.2-0.4, §3, §7; Go's encoding/json):
the five token sources and their order, `{user}` as `me`, a username in any case or a UUID in
any form google/uuid parses, preference keys in any UUID form (stored and answered
normalised), `null` as Go's zero value, body keys matched as Go matches them, unknown fields
ignored."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_tests.client import TOKEN_HEADER, Api, Exchange, preference_map
from contract_tests.facts import Facts
from contract_tests.guard import StateGuard
from contract_tests.plugin import ContractRun
from contract_tests.skips import skip_without
from contract_tests.target import Target

UNKNOWN = "Zz9Zz9Zz9Z-abcdefghijklmnopqrstuv"  # well formed, names no key
COOKIE = "coder_session_token"
# APITokenFromRequest's order: the first source that carries a token is the one used.
SOURCES = ("cookie", "query", "header", "bearer", "access_token")


def carried(sources: dict[str, str]) -> dict[str, Any]:
    """Api.call arguments carrying each source's token."""
    headers, query, cookies = {}, {}, {}
    for source, token in sources.items():
        if source == "cookie":
            cookies[COOKIE] = token
        elif source == "query":
            query["coder_session_token"] = token
        elif source == "header":
            headers[TOKEN_HEADER] = token
        elif source == "bearer":
            headers["Authorization"] = f"Bearer {token}"
        else:
            query["access_token"] = token
    return {"headers": headers, "query": query, "cookies": cookies}


def me_with(anonymous: Api, sources: dict[str, str]) -> Exchange:
    """GET /users/me with these tokens and no other credential."""
    return anonymous.call("get-user-by-name", user="me", validate=False, **carried(sources))


def bounded(contract_run: ContractRun, at_most: int = 10) -> settings:
    """Few examples: each costs requests to a (possibly real) server."""
    return settings(max_examples=max(1, min(contract_run.max_examples, at_most)),
                    database=None, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("source", SOURCES)
def test_every_token_source_signs_in(anonymous: Api, facts: Facts, target: Target,
                                     source: str) -> None:
    exchange = me_with(anonymous, {source: target.owner_token}).expect_status(200)
    exchange.expect(exchange.json()["id"] == facts.owner.id, f"a token in the {source} signs "
                    "in its user")


@pytest.mark.parametrize("spelling", ["bearer {}", "BEARER {}", "Bearer   {}  "])
def test_the_bearer_prefix_is_any_case_and_the_value_trimmed(anonymous: Api, target: Target,
                                                             spelling: str) -> None:
    exchange = anonymous.call("get-user-by-name", user="me", validate=False,
                              headers={"Authorization": spelling.format(target.owner_token)})
    exchange.expect_status(200, rule=f"Authorization: {spelling!r} signs in (the prefix "
                                     "matches in any case, the value is trimmed)")


PAIRS = [(a, b) for i, a in enumerate(SOURCES) for b in SOURCES[i + 1:]]


@pytest.mark.parametrize(("first", "later"), PAIRS, ids=[f"{a}-over-{b}" for a, b in PAIRS])
def test_the_first_source_with_a_token_wins(anonymous: Api, facts: Facts, target: Target,
                                            first: str, later: str) -> None:
    good = me_with(anonymous, {first: target.owner_token, later: UNKNOWN})
    good.expect_status(200, rule=f"the {first} token is used, not the {later} one")
    bad = me_with(anonymous, {first: UNKNOWN, later: target.owner_token})
    bad.expect_error(401)
    bad.expect(bad.json().get("detail") == "API key is invalid.",
               f"the {first} token is used (and refused), even with a good one in the {later}")
    if target.member_token is not None:
        both = me_with(anonymous, {first: target.member_token, later: target.owner_token})
        both.expect(both.status == 200 and facts.member is not None and both.json()["id"]
                    == facts.member.id, f"the {first} token's user is signed in")


def any_case(text: str) -> st.SearchStrategy[str]:
    """`text` with each letter in either case."""
    return st.lists(st.booleans(), min_size=len(text), max_size=len(text)).map(
        lambda flips: "".join(c.upper() if f else c.lower()
                              for c, f in zip(text, flips, strict=True)))


def uuid_forms(value: str) -> st.SearchStrategy[str]:
    """Every form google/uuid.Parse accepts: hyphenated, without hyphens, in braces, after
    `urn:uuid:` (its prefix matched case-insensitively), each in any letter case."""
    shapes = [value, value.replace("-", ""), "{" + value + "}", "urn:uuid:" + value]
    return st.sampled_from(shapes).flatmap(any_case)


def test_user_is_me_a_username_in_any_case_or_any_uuid_form(owner: Api, facts: Facts,
                                                            contract_run: ContractRun) -> None:
    stored = owner.stored_preferences("me")

    @bounded(contract_run)
    @given(ref=st.one_of(st.just("me"), any_case(facts.owner.username),
                         uuid_forms(facts.owner.id)))
    def check(ref: str) -> None:
        exchange = owner.me(ref).expect_status(200, rule=f"/users/{ref} names the caller")
        exchange.expect(exchange.json()["id"] == facts.owner.id, f"/users/{ref} names the "
                        "caller")
        answer = owner.preferences(ref).expect_status(200)
        answer.expect(preference_map(answer) == stored, f"/users/{ref}/notifications/"
                      "preferences are the caller's")

    check()


def test_preference_keys_in_any_uuid_form_are_stored_normalised(
        owner: Api, writable: tuple[str, ...], contract_run: ContractRun) -> None:
    @bounded(contract_run)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        template_id = data.draw(st.sampled_from(writable))
        key, disabled = data.draw(uuid_forms(template_id)), data.draw(st.booleans())
        before = owner.stored_preferences()
        exchange = owner.put_preferences("me", {key: disabled}).expect_status(200)
        exchange.expect(preference_map(exchange) == {**before, template_id: disabled},
                        f"key {key!r} is stored as {template_id}, and answered so")
        exchange.expect(owner.stored_preferences() == {**before, template_id: disabled},
                        "the next read names it normalised too")

    check()


BodyCase = tuple[Any, bool]  # a settings body and the notifier_paused Go decodes from it
SETTINGS_BODIES: dict[str, BodyCase] = {
    "null body": (None, False),
    "null value": ({"notifier_paused": None}, False),
    "upper-case key": ({"NOTIFIER_PAUSED": True}, True),
    "mixed-case key": ({"Notifier_Paused": True}, True),
    "long s folds to s (Go's case folding)": ({"notifier_pau\u017fed": True}, True),
    "the last of two matching keys wins": ({"notifier_paused": True, "NOTIFIER_PAUSED": False},
                                           False),
    "unknown fields beside it": ({"notifier_paused": True, "paused": False, "x": [1]}, True),
}


@pytest.mark.parametrize("case", SETTINGS_BODIES.values(), ids=SETTINGS_BODIES.keys())
def test_settings_bodies_decode_as_go_decodes_them(owner: Api, known_state: StateGuard,
                                                   case: BodyCase) -> None:
    body, expected = case
    owner.put_settings(not expected).expect_status(200, 304)
    exchange = owner.call("update-notifications-settings", body=body, validate=False)
    exchange.expect_status(200, rule=f"{body!r} is read as notifier_paused={expected}")
    read = owner.settings().expect_status(200)
    read.expect(read.json() == {"notifier_paused": expected},
                f"after {body!r} the settings say notifier_paused={expected}")


PreferenceBody = Callable[[str], Any]
PREFERENCE_BODIES: dict[str, tuple[PreferenceBody, bool | None]] = {
    "null body": (lambda _t: None, None),
    "null map": (lambda _t: {"template_disabled_map": None}, None),
    "null value (Go's false)": (lambda t: {"template_disabled_map": {t: None}}, False),
    "upper-case key": (lambda t: {"TEMPLATE_DISABLED_MAP": {t: True}}, True),
    "long s folds to s (Go's case folding)": (
        lambda t: {"template_di\u017fabled_map": {t: True}}, True),
    "unknown fields beside it": (lambda t: {"template_disabled_map": {t: True},
                                            "push_subscription": "x"}, True),
}


@pytest.mark.parametrize("case", PREFERENCE_BODIES.values(), ids=PREFERENCE_BODIES.keys())
def test_preference_bodies_decode_as_go_decodes_them(
        owner: Api, writable: tuple[str, ...], known_state: StateGuard,
        case: tuple[PreferenceBody, bool | None]) -> None:
    make, expected = case
    template_id = writable[0]
    owner.put_preferences("me", {template_id: expected is not True}).expect_status(200)
    before = owner.stored_preferences()
    body = make(template_id)
    exchange = owner.call("update-user-notification-preferences", user="me", body=body,
                          validate=False).expect_status(200)
    wanted = before if expected is None else {**before, template_id: expected}
    exchange.expect(preference_map(exchange) == wanted == owner.stored_preferences(),
                    f"{body!r} stores {wanted.get(template_id)!r} for {template_id}")


def test_read_status_bodies_decode_as_go_decodes_them(owner: Api, facts: Facts,
                                                      guard: StateGuard) -> None:
    if guard.inbox is None:
        pytest.skip("the server has no inbox (Coder before March 2025)")
    unread = owner.inbox_page(read_status="unread").items
    if not unread:
        skip_without("send_notifications", reason="the owner has no unread notification")
    item = unread[0]
    try:
        for body, is_read in (({"IS_READ": True}, True), ({"is_read": None}, False),
                              ({"is_read": True, "extra": 1}, True), ({}, False)):
            exchange = owner.call("update-read-status-of-a-notification",
                                  path={"id": uuid.UUID(item["id"]).hex.upper()}, body=body,
                                  validate=False).expect_status(200)
            answered = exchange.json().get("notification") or {}
            exchange.expect((answered.get("read_at") is not None) == is_read,
                            f"{body!r} (and the id in another UUID form) marks it "
                            f"{'read' if is_read else 'unread'}")
    finally:
        guard.restore_read_states()
