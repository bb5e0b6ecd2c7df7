"""openapi.yaml: valid, complete, and in agreement with the docs page or explicit about why not."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from tests import docs_page

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
CLAIMS = docs_page.read_claims()
DOCS_OPERATIONS = {
    ("GET", "/notifications/dispatch-methods"): "get-notification-dispatch-methods",
    ("GET", "/notifications/settings"): "get-notifications-settings",
    ("PUT", "/notifications/settings"): "update-notifications-settings",
    ("GET", "/notifications/templates/system"): "get-system-notification-templates",
    ("POST", "/notifications/test"): "send-a-test-notification",
    ("GET", "/users/{user}/notifications/preferences"): "get-user-notification-preferences",
    ("PUT", "/users/{user}/notifications/preferences"): "update-user-notification-preferences",
}


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path) → operation object."""
    return {(method.upper(), path): op for path, item in spec["paths"].items()
            for method, op in item.items() if method != "parameters"}


def parity_failures(spec: dict[str, Any]) -> list[str]:
    """Every docs claim the spec contradicts without an erratum."""
    return [f"{claim.id}: {problem}" for claim in CLAIMS
            if (problem := docs_page.check(spec, claim)) and not docs_page.erratum(spec, claim)]


def test_spec_is_valid_openapi_3_0() -> None:
    assert SPEC["openapi"] == "3.0.3"
    validate(SPEC)


def test_docs_page_yields_claims_for_all_seven_operations() -> None:
    parsed = {(claim.method, claim.path) for claim in CLAIMS}
    assert parsed == set(DOCS_OPERATIONS)
    for key in DOCS_OPERATIONS:
        kinds = {claim.about.split(".")[0] for claim in CLAIMS if (claim.method, claim.path) == key}
        assert {"summary", "security", "status"} <= kinds, key
    assert len(CLAIMS) >= 60


@pytest.mark.parametrize(("key", "operation_id"), DOCS_OPERATIONS.items(),
                         ids=[op for op in DOCS_OPERATIONS.values()])
def test_docs_operations_keep_coders_operation_ids(key: tuple[str, str], operation_id: str) -> None:
    operation = operations(SPEC)[key]
    assert operation["operationId"] == operation_id
    assert operation["tags"] == ["Notifications"]


@pytest.mark.parametrize("claim", CLAIMS, ids=[claim.id for claim in CLAIMS])
def test_spec_agrees_with_docs_claim_or_records_an_erratum(claim: docs_page.Claim) -> None:
    problem = docs_page.check(SPEC, claim)
    if problem:
        entry = docs_page.erratum(SPEC, claim)
        assert entry, f"{claim.id}: {problem}, and no x-docs-errata entry explains it"
        assert {"documented", "actual", "source"} <= set(entry), entry


def test_every_erratum_explains_a_real_difference() -> None:
    """An erratum about a claim the spec agrees with is stale and would hide a regression."""
    for (method, path), operation in operations(SPEC).items():
        for entry in operation.get("x-docs-errata", []):
            claims = [c for c in CLAIMS
                      if (c.method, c.path, c.about) == (method, path, entry["about"])]
            for claim in claims:
                assert docs_page.check(SPEC, claim), f"stale erratum {entry['about']} on {path}"


def _drop_field(spec: dict[str, Any]) -> None:
    del spec["components"]["schemas"]["codersdk.NotificationMethodsResponse"]["properties"][
        "default"]


def _drop_status(spec: dict[str, Any]) -> None:
    del spec["paths"]["/notifications/settings"]["put"]["responses"]["304"]


def _drop_operation(spec: dict[str, Any]) -> None:
    del spec["paths"]["/notifications/templates/system"]


def _retype_field(spec: dict[str, Any]) -> None:
    spec["components"]["schemas"]["codersdk.NotificationPreference"]["properties"][
        "disabled"]["type"] = "string"


def _drop_erratum(spec: dict[str, Any]) -> None:
    del spec["paths"]["/notifications/test"]["post"]["x-docs-errata"]


def _rename_parameter(spec: dict[str, Any]) -> None:
    spec["components"]["parameters"]["user"]["name"] = "username"


def _drop_body_field(spec: dict[str, Any]) -> None:
    del spec["components"]["schemas"]["NotificationsSettingsRequest"]["properties"][
        "notifier_paused"]


@pytest.mark.parametrize("mutate", [_drop_field, _drop_status, _drop_operation, _retype_field,
                                    _drop_erratum, _rename_parameter, _drop_body_field])
def test_parity_check_fails_when_the_spec_loses_something(mutate: Any) -> None:
    assert parity_failures(SPEC) == []
    broken = copy.deepcopy(SPEC)
    mutate(broken)
    assert parity_failures(broken), f"{mutate.__name__} went unnoticed"


@pytest.mark.parametrize(("key", "operation"), operations(SPEC).items(),
                         ids=[op["operationId"] for op in operations(SPEC).values()])
def test_every_operation_documents_auth_and_error_shapes(key: tuple[str, str],
                                                         operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    assert "401" in responses
    for status, response in responses.items():
        response = docs_page.resolve(SPEC, response)
        content = response.get("content", {})
        if status.startswith(("4", "5")):
            schema = content["application/json"]["schema"]
            assert docs_page.ref_name(schema) == "codersdk.Response", (key, status)
        if status in ("204", "304"):
            assert not content, f"{key} {status} must have no body"


@pytest.mark.parametrize(("name", "schema"), SPEC["components"]["schemas"].items())
def test_every_schema_has_a_description_and_an_example(name: str, schema: dict[str, Any]) -> None:
    assert schema.get("description"), name
    assert "example" in schema, name


def test_updates_link_to_their_reads() -> None:
    ops = operations(SPEC)
    settings_link = ops[("PUT", "/notifications/settings")]["responses"]["200"]["links"]
    prefs = ops[("PUT", "/users/{user}/notifications/preferences")]["responses"]["200"]["links"]
    assert [link["operationId"] for link in settings_link.values()] == [
        "get-notifications-settings"]
    assert next(iter(prefs.values())) == {
        "operationId": "get-user-notification-preferences",
        "parameters": {"user": "$request.path.user"},
        "description": "The next read of the same user returns what this write answered."}


def test_response_fields_the_server_always_sends_are_required() -> None:
    schemas = SPEC["components"]["schemas"]
    for name in ("codersdk.NotificationMethodsResponse", "codersdk.NotificationTemplate",
                 "codersdk.NotificationPreference", "codersdk.NotificationsSettings"):
        assert set(schemas[name]["required"]) == set(schemas[name]["properties"]), name


def test_request_bodies_are_as_lenient_as_gos_decoder() -> None:
    schemas = SPEC["components"]["schemas"]
    for name in ("NotificationsSettingsRequest", "UpdateUserNotificationPreferencesRequest"):
        schema = schemas[name]
        assert "required" not in schema, name
        assert schema.get("additionalProperties", True) is True, name
        assert schema["nullable"] is True, name
