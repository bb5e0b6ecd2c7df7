"""`me`, the username and the UUID name the same user, for every operation that takes `{user}`."""

from __future__ import annotations

from contract_tests.client import Api
from contract_tests.facts import Facts


def test_me_username_and_uuid_name_the_same_user(owner: Api, facts: Facts) -> None:
    for ref in facts.owner.refs:
        exchange = owner.me(ref).expect_status(200)
        body = exchange.json()
        exchange.expect((body["id"], body["username"]) == (facts.owner.id, facts.owner.username),
                        f"GET /users/{ref} must name the caller")


def test_usernames_match_case_insensitively(owner: Api, facts: Facts) -> None:
    exchange = owner.me(facts.owner.username.upper()).expect_status(200)
    exchange.expect(exchange.json()["id"] == facts.owner.id,
                    "Coder looks usernames up with LOWER(username)")


def test_preferences_read_the_same_through_every_reference(owner: Api, facts: Facts) -> None:
    maps = [owner.stored_preferences(ref) for ref in facts.owner.refs]
    assert maps[0] == maps[1] == maps[2], f"me, username and UUID disagree: {maps}"


def test_an_unknown_user_is_refused_without_leaking(owner: Api) -> None:
    for operation in ("get-user-by-name", "get-user-notification-preferences"):
        owner.call(operation, user="no-such-user-3f1c9a").expect_error(400, 404)
        owner.call(operation, user="00000000-0000-4000-8000-000000000000").expect_error(400, 404)
