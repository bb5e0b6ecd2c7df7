"""`PUT /notifications/templates/{id}/method` (enterprise): who may call it, what it refuses,
304 for the stored method, and, only with --allow-method-changes, a change that is stored and
put back.

A method of `""` (the deployment default) cannot be put back: the call refuses `""`. So the
suite never changes such a template: it sends a template's own method (a no-op on any server)
or a refused value, and only the change check, behind its flag, writes another method, to a
template whose method is not empty.
"""

from __future__ import annotations

import string
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contract_tests.client import NO_EFFECT, Api
from contract_tests.guard import StateGuard
from contract_tests.plugin import ContractRun
from contract_tests.skips import skip_without
from contract_tests.target import Target

NOT_FOUND = "Resource not found or you do not have access to this resource"
BAD_METHOD = "Invalid request to update notification template method"
UPDATED = "Successfully updated notification template method."
METHODS = ("smtp", "webhook", "inbox")  # the database's enum, inbox included on newer versions


@pytest.fixture(scope="module")
def enterprise(owner: Api) -> None:
    """An unknown template is 404 with Coder's message; a build without the enterprise route
    (404 `Route not found.`) skips the module."""
    exchange = owner.put_template_method(str(uuid.uuid4()), "smtp", validate=False,
                                         purpose=NO_EFFECT)
    if exchange.status == 404 and exchange.json().get("message") == "Route not found.":
        pytest.skip("the server has no template-method route (not an enterprise build)")
    exchange.expect_error(404, message=NOT_FOUND)


def system_templates(owner: Api) -> list[dict[str, Any]]:
    """The system templates as the owner reads them now."""
    return owner.templates().expect_status(200).json()


def method_of(owner: Api, template_id: str) -> str:
    """A template's method as the owner reads it now."""
    return next(t["method"] for t in system_templates(owner) if t["id"] == template_id)


@pytest.fixture
def forced(owner: Api, enterprise: None, guard: StateGuard) -> Iterator[dict[str, Any]]:
    """A template whose method is not `""` (so it can be put back); methods are put back after."""
    template = next((t for t in system_templates(owner) if t["method"]), None)
    if template is None:
        pytest.skip("no template has a method of its own, and one of \"\" cannot be put back")
    yield template
    guard.restore_methods()


def test_a_member_cannot_change_a_template_method(owner: Api, member: Api, enterprise: None,
                                                  guard: StateGuard) -> None:
    templates = system_templates(owner)
    template = next((t for t in templates if t["method"]), templates[0])
    try:  # its own method: a server that let the member through could answer 304 or 400 only
        member.put_template_method(template["id"], template["method"],
                                   purpose=NO_EFFECT).expect_error(
            404, message=NOT_FOUND)
        assert method_of(owner, template["id"]) == template["method"], \
            "a refused call changed the template's method"
    finally:
        guard.restore_methods()


def test_an_empty_method_is_refused(owner: Api, enterprise: None, guard: StateGuard) -> None:
    templates = system_templates(owner)
    template = next((t for t in templates if not t["method"]), templates[0])
    try:
        exchange = owner.put_template_method(template["id"], "", purpose=NO_EFFECT)
        exchange.expect_error(400, message=BAD_METHOD)
        exchange.expect(method_of(owner, template["id"]) == template["method"],
                        "a refused call changes nothing")
    finally:
        guard.restore_methods()


def test_a_bad_method_is_refused_with_a_validation(owner: Api, forced: dict[str, Any],
                                                   contract_run: ContractRun) -> None:
    @settings(max_examples=max(1, min(contract_run.max_examples, 5)), database=None,
              deadline=None, suppress_health_check=list(HealthCheck))
    @example(method="carrier-pigeon")
    @example(method="SMTP")
    @given(method=st.text(alphabet=string.ascii_letters + "-_", min_size=1, max_size=14).filter(
        lambda method: method not in METHODS))
    def check(method: str) -> None:
        exchange = owner.put_template_method(forced["id"], method, purpose=NO_EFFECT)
        exchange.expect_error(400, message=BAD_METHOD)
        validations = exchange.json().get("validations") or []
        exchange.expect(any(v.get("field") == "method" and str(v.get("detail", "")).startswith(
            f'"{method}" is not a valid method') for v in validations),
            "a validation for `method` names the value refused")

    check()
    assert method_of(owner, forced["id"]) == forced["method"], "a refused call changed the method"


def test_the_stored_method_again_is_304(owner: Api, forced: dict[str, Any]) -> None:
    exchange = owner.put_template_method(forced["id"], forced["method"],
                                         purpose=NO_EFFECT).expect_status(304)
    exchange.expect(exchange.response.content == b"", "a 304 carries no body")


def test_a_method_change_is_stored_and_put_back(owner: Api, forced: dict[str, Any],
                                                target: Target) -> None:
    if not target.allow_method_changes:
        skip_without("allow_method_changes", reason="changing a template's method needs an "
                     "option")
    available = owner.dispatch_methods().expect_status(200).json()["available"]
    other = next((m for m in available if m != forced["method"]), None)
    if other is None:
        pytest.skip("the deployment offers no other method")
    for method in (other, forced["method"]):
        exchange = owner.put_template_method(forced["id"], method).expect_status(200)
        exchange.expect(exchange.json().get("message") == UPDATED, f"200 says {UPDATED!r}")
        exchange.expect(method_of(owner, forced["id"]) == method,
                        f"the system templates list the method stored, {method!r}")
