"""Read Coder's docs page into claims, and judge a spec against each claim.

A claim is one thing the page says about the wire: an operation exists with this summary, a
parameter has this type, a status is answered, a field has this type. The spec must agree with
every claim or carry an `x-docs-errata` entry (same `about`) explaining why the page is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS_PAGE = Path(__file__).resolve().parent.parent / "docs" / "coder-api-notifications.md"
_ENDPOINT = re.compile(r"^`(GET|PUT|POST|DELETE|PATCH) (/\S+)`$", re.M)
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_JSON_TYPES = {bool: "boolean", str: "string", list: "array", dict: "object", int: "integer",
               float: "number"}


@dataclass(frozen=True)
class Claim:
    """One statement of the docs page about one operation."""

    method: str
    path: str
    about: str
    expected: Any

    @property
    def id(self) -> str:
        """A readable test id."""
        return f"{self.method} {self.path} {self.about}"


def read_claims(page: Path = DOCS_PAGE) -> list[Claim]:
    """Every claim the page makes, operation by operation."""
    text = page.read_text(encoding="utf-8")
    claims: list[Claim] = []
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        summary, _, body = section.partition("\n")
        endpoint = _ENDPOINT.search(body)
        if endpoint is None:
            continue
        method, path = endpoint.groups()
        claims.extend(Claim(method, path, about, expected)
                      for about, expected in _section_claims(summary.strip(), body))
    return claims


def _section_claims(summary: str, body: str) -> Iterator[tuple[str, Any]]:
    yield "summary", summary
    if "you must be authenticated" in body:
        yield "security", "CoderSessionToken"
    operation_id = re.search(r'<h3 id="([a-z-]+)-responseschema">', body)
    if operation_id:
        yield "operationId", operation_id.group(1)
    for row in _table(body, "### Parameters"):
        if row["In"] == "body":
            yield "body.schema", _LINK.sub(r"\1", row["Type"])
            yield "body.required", row["Required"] == "true"
        else:
            yield f"parameter.{row['Name'].strip('`')}", (row["In"], row["Type"],
                                                          row["Required"] == "true")
    body_example = _json_after(body, "> Body parameter")
    for name, value in (body_example or {}).items():
        yield f"body.field.{name}", _JSON_TYPES[type(value)]
    for row in _table(body, "### Responses"):
        status = row["Status"]
        yield f"status.{status}", True
        schema = _LINK.sub(r"\1", row["Schema"])
        if schema:
            yield f"response.{status}.shape", "array" if schema.startswith("array of") else "object"
            yield f"response.{status}.schema", schema.removeprefix("array of ").strip()
    fields = list(_table(body, "Status Code **200**"))
    if fields:
        yield "response.200.required", sorted(
            name for row in fields if row["Required"] == "true"
            and (name := row["Name"].strip("`").lstrip("» ")) != "[array item]")
        for row in fields:
            name = row["Name"].strip("`").lstrip("» ")
            if name != "[array item]":
                yield f"field.{name}", row["Type"]
    else:
        example = _json_after(body, "> 200 Response")
        example = example[0] if isinstance(example, list) else example
        for name, value in (example or {}).items():
            yield f"field.{name}", _JSON_TYPES[type(value)]


def _table(body: str, heading: str) -> Iterator[dict[str, str]]:
    """Rows of the first Markdown table after `heading`, as dicts keyed by the header cells."""
    start = body.find(heading)
    if start < 0:
        return
    lines = body[start:].splitlines()[1:]
    rows = [line for line in _leading_table(lines)]
    if len(rows) < 2:
        return
    header = _cells(rows[0])
    for line in rows[2:]:
        yield dict(zip(header, _cells(line), strict=True))


def _leading_table(lines: list[str]) -> Iterator[str]:
    started = False
    for line in lines:
        if line.startswith("|"):
            started = True
            yield line
        elif started or line.startswith("#"):
            return


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _json_after(body: str, marker: str) -> Any:
    start = body.find(marker)
    if start < 0:
        return None
    block = re.search(r"```json\n(.*?)```", body[start:], re.S)
    return json.loads(block.group(1)) if block else None


# Judging a spec -------------------------------------------------------------------------------


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local `$ref`s until a concrete node."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def ref_name(node: Any) -> str:
    """The component name a `$ref` points to, or ""."""
    return node["$ref"].rsplit("/", 1)[1] if isinstance(node, dict) and "$ref" in node else ""


def check(spec: dict[str, Any], claim: Claim) -> str | None:
    """Why the spec disagrees with the claim, or None when it agrees."""
    operation = spec["paths"].get(claim.path, {}).get(claim.method.lower())
    if operation is None:
        return f"no {claim.method} {claim.path} operation"
    kind, _, rest = claim.about.partition(".")
    checker = _CHECKERS[kind]
    actual = checker(spec, operation, rest)
    return None if actual == claim.expected else f"docs say {claim.expected!r}, spec has {actual!r}"


def _summary(_spec: dict[str, Any], operation: dict[str, Any], _rest: str) -> Any:
    return operation.get("summary")


def _operation_id(_spec: dict[str, Any], operation: dict[str, Any], _rest: str) -> Any:
    return operation.get("operationId")


def _parameter(spec: dict[str, Any], operation: dict[str, Any], name: str) -> Any:
    path_item = next(item for item in spec["paths"].values() if operation in item.values())
    for parameter in path_item.get("parameters", []) + operation.get("parameters", []):
        parameter = resolve(spec, parameter)
        if parameter["name"] == name:
            return (parameter["in"], resolve(spec, parameter["schema"])["type"],
                    parameter.get("required", False))
    return None


def _body(spec: dict[str, Any], operation: dict[str, Any], rest: str) -> Any:
    request = resolve(spec, operation.get("requestBody"))
    if not request:
        return None
    schema = resolve(spec, request["content"]["application/json"]["schema"])
    if rest == "schema":
        return schema.get("x-go-type")
    if rest == "required":
        return request.get("required", False)
    field = resolve(spec, schema.get("properties", {}).get(rest.removeprefix("field.")))
    return field.get("type") if field else None


def _security(spec: dict[str, Any], operation: dict[str, Any], _rest: str) -> Any:
    requirements = operation.get("security", spec.get("security", []))
    return "|".join(sorted(name for requirement in requirements for name in requirement)) or None


def _status(_spec: dict[str, Any], operation: dict[str, Any], status: str) -> Any:
    return status in operation["responses"]


def _response(spec: dict[str, Any], operation: dict[str, Any], rest: str) -> Any:
    status, _, what = rest.partition(".")
    response = resolve(spec, operation["responses"].get(status))
    raw = ((response or {}).get("content") or {}).get("application/json", {}).get("schema")
    schema = resolve(spec, raw)
    if schema is None:
        return None
    if what == "shape":
        return schema.get("type")
    if what == "required":
        item = resolve(spec, schema["items"]) if schema.get("type") == "array" else schema
        return sorted(item.get("required", []))
    return ref_name(schema.get("items")) if schema.get("type") == "array" else ref_name(raw)


def _field(spec: dict[str, Any], operation: dict[str, Any], name: str) -> Any:
    raw = resolve(spec, operation["responses"]["200"])["content"]["application/json"]["schema"]
    schema = resolve(spec, raw)
    if schema.get("type") == "array":
        schema = resolve(spec, schema["items"])
    field = resolve(spec, schema.get("properties", {}).get(name))
    if field is None:
        return None
    return f"{field['type']}({field['format']})" if "format" in field else field["type"]


_CHECKERS = {"summary": _summary, "security": _security, "operationId": _operation_id,
             "parameter": _parameter, "body": _body, "status": _status, "response": _response,
             "field": _field}


def erratum(spec: dict[str, Any], claim: Claim) -> dict[str, Any] | None:
    """The `x-docs-errata` entry of the claim's operation that explains it, if any."""
    operation = spec["paths"].get(claim.path, {}).get(claim.method.lower(), {})
    return next((entry for entry in operation.get("x-docs-errata", [])
                 if entry.get("about") == claim.about), None)
