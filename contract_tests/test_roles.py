"""Owners and members: members are refused owner actions and other users' preferences, refusals
write nothing, and one user's preferences never leak to or change another's."""

from __future__ import annotations

import pytest

from contract_tests.client import NO_EFFECT, Api, preference_map
from contract_tests.facts import Facts, Identity
from contract_tests.guard import StateGuard
from contract_tests.skips import skip_without


@pytest.fixture(scope="module")
def member_identity(member: Api, facts: Facts) -> Identity:
    """The member, as the server named them."""
    assert facts.member is not None
    return facts.member


@pytest.fixture(scope="module")
def member_writable(guard: StateGuard, member_identity: Identity) -> tuple[str, ...]:
    """Templates the suite may write for the member and still put back."""
    writable = guard.writable(member_identity)
    if not writable:
        skip_without("allow_new_preferences", reason="the member has no stored preference to "
                     "rewrite")
    return writable


def test_members_read_the_same_settings_as_owners(owner: Api, member: Api) -> None:
    exchange = member.settings().expect_status(200)
    exchange.expect(exchange.json() == owner.settings().json(),
                    "settings are deployment-wide: a member reads what the owner reads")


def test_a_member_cannot_change_settings(owner: Api, member: Api, known_state: StateGuard) -> None:
    current = owner.settings().json()["notifier_paused"]
    exchange = member.put_settings(not current).expect_error(403)
    exchange.expect(owner.settings().json()["notifier_paused"] == current,
                    "a refused write changes nothing")


def test_a_member_sending_the_stored_settings_gets_304(owner: Api, member: Api,
                                                      known_state: StateGuard) -> None:
    current = owner.settings().json()["notifier_paused"]
    owner.put_settings(current).expect_status(200, 304)  # make sure a value is stored
    exchange = member.put_settings(current).expect_status(304)
    exchange.expect(exchange.response.content == b"",
                    "the equality check runs before the permission check: 304, no body")


def test_a_member_cannot_send_a_test_notification(member: Api) -> None:
    member.send_test(purpose=NO_EFFECT).expect_error(403)


@pytest.mark.parametrize("reference", ["username", "id"])
def test_a_member_cannot_see_another_user(member: Api, facts: Facts, reference: str) -> None:
    other = getattr(facts.owner, reference)
    member.me(other).expect_error(400, 404)
    member.preferences(other).expect_error(400, 404)


@pytest.mark.parametrize("reference", ["username", "id"])
def test_a_member_cannot_write_another_users_preferences(owner: Api, member: Api, facts: Facts,
                                                         reference: str) -> None:
    before = owner.stored_preferences(facts.owner.id)
    target = facts.template_ids[0]
    member.put_preferences(getattr(facts.owner, reference),
                           {target: not before.get(target, False)}).expect_error(400, 404)
    assert owner.stored_preferences(facts.owner.id) == before, \
        "a refused write changed the owner's preferences"


def test_a_member_reads_their_own_preferences_through_every_reference(
        member: Api, member_identity: Identity) -> None:
    maps = [member.stored_preferences(ref) for ref in member_identity.refs]
    assert maps[0] == maps[1] == maps[2], f"me, username and UUID disagree: {maps}"


def test_an_owner_write_for_a_member_is_theirs_alone(owner: Api, member: Api,
                                                     member_identity: Identity,
                                                     member_writable: tuple[str, ...],
                                                     known_state: StateGuard) -> None:
    writable = member_writable
    owners_before = owner.stored_preferences("me")
    choices = {writable[0]: not member.stored_preferences("me").get(writable[0], False)}
    owner.put_preferences(member_identity.id, choices).expect_status(200)
    exchange = member.preferences("me").expect_status(200)
    exchange.expect(preference_map(exchange)[writable[0]] == choices[writable[0]],
                    "the member reads what the owner wrote for them")
    exchange.expect(owner.stored_preferences("me") == owners_before,
                    "writing one user's preferences must not change another's")


def test_a_members_own_write_leaves_the_owner_alone(owner: Api, member: Api,
                                                    member_writable: tuple[str, ...],
                                                    known_state: StateGuard) -> None:
    owners_before = owner.stored_preferences("me")
    choices = {template_id: True for template_id in member_writable[:3]}
    exchange = member.put_preferences("me", choices).expect_status(200)
    exchange.expect(all(preference_map(exchange)[t] for t in choices),
                    "a member may write their own preferences")
    exchange.expect(owner.stored_preferences("me") == owners_before,
                    "a member's write must not change the owner's preferences")
