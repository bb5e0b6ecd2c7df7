"""The compiled fast path never accepts a body connexion's validator would refuse."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mock_server import connexion_seam, go_body
from mock_server.config import SPEC_PATH
from mock_server.fixtures import read_yaml

SCHEMAS = read_yaml(SPEC_PATH)["components"]["schemas"]
BODIES = {name: SCHEMAS[name] for name in ("NotificationsSettingsRequest",
                                           "UpdateUserNotificationPreferencesRequest")}
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8)
shaped = st.fixed_dictionaries({}, optional={
    "notifier_paused": json_values, "template_disabled_map": st.dictionaries(
        st.text(max_size=8), json_values, max_size=3) | json_values})


@pytest.mark.parametrize("name", BODIES)
def test_the_compiled_check_exists_for_coders_bodies(name: str) -> None:
    assert go_body._quick(go_body.SchemaKey(BODIES[name])) is not None


@pytest.mark.parametrize("name", BODIES)
@settings(max_examples=300, deadline=None)
@given(body=shaped | json_values)
def test_the_compiled_check_accepts_only_what_connexion_accepts(name: str, body: Any) -> None:
    key = go_body.SchemaKey(BODIES[name])
    quick = go_body._quick(key)
    assert quick is not None
    if quick.is_valid(body):
        assert not list(connexion_seam._compiled(key).iter_errors(body)), body
