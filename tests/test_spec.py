"""openapi.yaml: valid, complete, and in agreement with the docs page or explicit about why not."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_spec_validator import validate

from codegen import extensions
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


# What the spec adds to the page, machine-readably (x-docs-additions) -------------------------

README_PATH = SPEC_PATH.parent / "README.md"
GENERATED = re.compile(r"<!-- generated by `python -m codegen.extensions`[^\n]*-->\n(.*?)"
                       r"<!-- end of generated tables -->", re.S)


def page_statuses(op: extensions.Operation) -> set[str]:
    """The statuses the docs page lists for this operation (none when it is not on the page)."""
    return {claim.about.split(".")[1] for claim in CLAIMS
            if (claim.method.lower(), claim.path) == (op.method, op.path)
            and claim.about.startswith("status.")}


def additions_failures(spec: dict[str, Any]) -> list[str]:
    """What the spec says beyond the page without an x-docs-additions entry, and stale entries."""
    failures = []
    for op in extensions.operations(spec):
        entries = op.body.get("x-docs-additions", [])
        abouts = [entry["about"] for entry in entries]
        on_page = (op.method.upper(), op.path) in DOCS_OPERATIONS
        expected = {f"status.{status}" for status in op.body["responses"]
                    if status not in page_statuses(op)
                    and (on_page or not status.startswith(("2", "1")))}
        expected |= set() if on_page else {"operation"}
        expected |= {"body.lenient"} if "requestBody" in op.body else set()
        failures += [f"{op.label}: {about} has no x-docs-additions entry"
                     for about in sorted(expected - set(abouts))]
        failures += [f"{op.label}: stale or repeated addition {about}"
                     for about in abouts if about not in expected or abouts.count(about) > 1]
        failures += [f"{op.label}: {entry['about']} lacks added or source"
                     for entry in entries if not (entry.get("added") and entry.get("source"))]
    return failures


def test_everything_beyond_the_page_is_recorded_as_an_addition() -> None:
    assert additions_failures(SPEC) == []


def _drop_addition(spec: dict[str, Any]) -> None:
    spec["paths"]["/notifications/settings"]["get"]["x-docs-additions"].pop()


def _add_status(spec: dict[str, Any]) -> None:
    spec["paths"]["/notifications/dispatch-methods"]["get"]["responses"]["500"] = {
        "$ref": "#/components/responses/InternalServerError"}


def _stale_addition(spec: dict[str, Any]) -> None:
    spec["paths"]["/notifications/test"]["post"]["x-docs-additions"].append(
        {"about": "body.lenient", "added": "x", "source": "y"})


def _drop_outside_mark(spec: dict[str, Any]) -> None:
    spec["x-websockets"]["/notifications/inbox/watch"]["get"]["x-docs-additions"].pop(0)


@pytest.mark.parametrize("mutate", [_drop_addition, _add_status, _stale_addition,
                                    _drop_outside_mark])
def test_the_additions_check_fails_when_the_record_drifts(mutate: Any) -> None:
    broken = copy.deepcopy(SPEC)
    mutate(broken)
    assert additions_failures(broken), f"{mutate.__name__} went unnoticed"


def test_readmes_errata_tables_are_the_ones_generated_from_the_spec() -> None:
    found = GENERATED.search(README_PATH.read_text(encoding="utf-8"))
    assert found, "README's errata section lost its generated-tables markers"
    assert found.group(1).strip() == extensions.readme_tables(SPEC).strip(), (
        "README's errata tables drifted from openapi.yaml: paste `python -m codegen.extensions`")


def test_a_changed_erratum_changes_the_generated_tables() -> None:
    broken = copy.deepcopy(SPEC)
    broken["paths"]["/notifications/test"]["post"]["x-docs-errata"][0]["actual"] = "202 Accepted"
    assert extensions.readme_tables(broken) != extensions.readme_tables(SPEC)


# Coder's client types, and the lenient bodies the server reads ------------------------------


@pytest.mark.parametrize("op", [op for op in extensions.operations(SPEC)
                                if "requestBody" in op.body], ids=lambda op: op.label)
def test_each_lenient_body_names_the_coder_type_a_client_sends(op: extensions.Operation) -> None:
    body = docs_page.resolve(SPEC, op.body["requestBody"])["content"]["application/json"]
    name = docs_page.ref_name(body["schema"])
    lenient = SPEC["components"]["schemas"][name]
    assert not name.startswith("codersdk."), name
    client = docs_page.resolve(SPEC, {"$ref": lenient["x-client-schema"]})
    assert lenient["x-client-schema"].endswith("/" + lenient["x-go-type"])
    assert set(client["properties"]) == set(lenient["properties"]), name
    assert client.get("nullable") is not True, f"{lenient['x-go-type']} is not nullable"


def test_swagger_ui_lists_each_schema_once() -> None:
    """Swagger UI names a schema by its `title`, else its key: a title equal to another
    schema's key made codersdk.NotificationsSettings show twice."""
    shown = [schema.get("title", name) for name, schema in SPEC["components"]["schemas"].items()]
    assert sorted(shown) == sorted(set(shown))
