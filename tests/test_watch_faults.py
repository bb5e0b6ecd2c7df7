"""Faults on the inbox watch socket: the Fault model's `after_messages`, and what a refusal, a
drop (at once or after N messages) and a delay do to a real socket."""

from __future__ import annotations

import pytest

from mock_server.faults import Fault, FaultError, parse_fault, parse_prefer

WATCH = "watch-for-new-inbox-notifications"


@pytest.mark.parametrize(("spec", "fault"), [
    (f"{WATCH}=drop,after_messages=2", Fault(operation_id=WATCH, drop=True, after_messages=2)),
    (f"{WATCH}=drop,after_messages=0,times=1",
     Fault(operation_id=WATCH, drop=True, after_messages=0, times=1)),
    (f"{WATCH}=latency=250", Fault(operation_id=WATCH, latency_ms=(250, 250))),
    (f"{WATCH}@member=503", Fault(operation_id=WATCH, user="member", status=503)),
])
def test_socket_faults_parse_from_the_command_line(spec: str, fault: Fault) -> None:
    assert parse_fault(spec) == fault


@pytest.mark.parametrize(("spec", "message"), [
    (f"{WATCH}=503,after_messages=1", "after_messages 1 needs drop"),
    (f"{WATCH}=drop,after_messages=-1", "after_messages -1 must be at least 0"),
    (f"{WATCH}=drop,after_messages=x", "'after_messages=x' is not a number"),
])
def test_bad_socket_faults_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(FaultError, match=message):
        parse_fault(spec)


@pytest.mark.parametrize(("header", "fault"), [
    ("drop; after_messages=1", Fault(drop=True, after_messages=1)),
    ("drop", Fault(drop=True)),
    ("latency=40", Fault(latency_ms=(40, 40))),
])
def test_prefer_carries_socket_faults(header: str, fault: Fault) -> None:
    assert parse_prefer(header) == fault


def test_a_socket_fault_names_itself_and_round_trips_through_json() -> None:
    fault = Fault(operation_id=WATCH, drop=True, after_messages=3, id=7)
    assert fault.describe() == "fault 7: drop after 3 messages"
    assert Fault.from_json(fault.to_json()) == Fault(operation_id=WATCH, drop=True,
                                                     after_messages=3)
