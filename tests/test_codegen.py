"""Clients generated from openapi.yaml, as teams that generate one would: TypeScript types
(openapi-typescript) compiled with `tsc --strict` against codegen/typescript/program.ts, and a
Python client (openapi-python-client, from the client view: codegen/client_spec.py) calling every
operation of the in-process mock. Both fail when a schema drifts from Coder's types or from what
the mock answers. Generated code is cached under build/codegen/, keyed by its inputs' hash."""

from __future__ import annotations

import hashlib
import importlib
import os
import pkgutil
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from codegen import client_spec, docs_spec, extensions
from mock_server.server import MockServer
from tests.conftest import OWNER

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "codegen"
OPENAPI_TYPESCRIPT = "openapi-typescript@7.13.0"
TYPESCRIPT = "typescript@5.9.3"
NPX = shutil.which("npx")
needs_node = pytest.mark.skipif(NPX is None, reason="npx is missing (`make node` installs it)")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _run(command: list[str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def generated_typescript(spec_text: str) -> Path:
    """build/codegen/typescript/api.d.ts for this spec, generated only when the spec changed."""
    out = BUILD / "typescript" / "api.d.ts"
    stamp = out.with_suffix(".sha256")
    digest = _digest(spec_text, OPENAPI_TYPESCRIPT)
    if not out.exists() or not stamp.exists() or stamp.read_text() != digest:
        out.parent.mkdir(parents=True, exist_ok=True)
        source = out.with_name("openapi.yaml")
        source.write_text(spec_text, encoding="utf-8")
        result = _run([NPX or "npx", "--yes", OPENAPI_TYPESCRIPT, str(source), "-o", str(out)])
        assert result.returncode == 0, result.stdout + result.stderr
        stamp.write_text(digest)
    return out


def typescript_errors(spec_text: str) -> str:
    """tsc's complaints about program.ts against the types generated from `spec_text`."""
    generated_typescript(spec_text)
    result = _run([NPX or "npx", "--yes", "-p", TYPESCRIPT, "tsc", "-p",
                   "codegen/typescript/tsconfig.json"])
    return "" if result.returncode == 0 else result.stdout + result.stderr


@needs_node
def test_the_typed_program_compiles_against_types_generated_from_the_spec() -> None:
    assert typescript_errors((ROOT / "openapi.yaml").read_text(encoding="utf-8")) == ""


def generated_python(spec: dict[str, Any]) -> ModuleType:
    """The `coder_client` package openapi-python-client generates from the client view."""
    from openapi_python_client import __version__

    text = yaml.safe_dump(client_spec.client_spec(spec), sort_keys=False)
    home = BUILD / "python" / _digest(text, __version__)
    if not (home / "coder_client" / "__init__.py").exists():
        home.mkdir(parents=True, exist_ok=True)
        (home / "openapi.yaml").write_text(text, encoding="utf-8")
        result = _run([str(Path(sys.executable).parent / "openapi-python-client"), "generate",
                       "--path", "openapi.yaml", "--output-path", "coder_client.tmp",
                       "--meta", "none", "--overwrite"], cwd=home)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output
        assert "Warning" not in output, output
        (home / "coder_client.tmp").rename(home / "coder_client")
    sys.path.insert(0, str(home))
    try:
        return importlib.import_module("coder_client")
    finally:
        sys.path.remove(str(home))


def unknown_fields(value: Any, where: str = "answer") -> list[str]:
    """Fields the mock sent that the generated models do not know, anywhere in `value`."""
    if isinstance(value, list):
        return [f for i, item in enumerate(value) for f in unknown_fields(item, f"{where}[{i}]")]
    if not attrs.has(type(value)):
        return []
    found = [f"{where}.{key}" for key in getattr(value, "additional_properties", {})]
    fields = [field.name for field in attrs.fields(type(value))]
    return found + [f for name in fields if name != "additional_properties"
                    for f in unknown_fields(getattr(value, name), f"{where}.{name}")]


Step = tuple[str, Callable[[ModuleType, dict[str, str]], dict[str, Any]], int, str]
TEMPLATE_ID = "f517da0b-cdc9-410f-ab89-a86107c420ed"


def _model(client: ModuleType, name: str, **fields: Any) -> Any:
    return getattr(importlib.import_module(f"{client.__name__}.models"), name).from_dict(fields)


# (module under coder_client.api, its arguments, the status expected, the parsed type's name)
STEPS: list[Step] = [
    ("notifications.get_notification_dispatch_methods", lambda c, k: {}, 200,
     "CodersdkNotificationMethodsResponse"),
    ("notifications.get_notifications_settings", lambda c, k: {}, 200,
     "CodersdkNotificationsSettings"),
    ("notifications.update_notifications_settings", lambda c, k: {"body": _model(
        c, "CodersdkNotificationsSettings", notifier_paused=True)}, 200,
     "CodersdkNotificationsSettings"),
    ("notifications.get_system_notification_templates", lambda c, k: {}, 200, "list"),
    ("notifications.send_a_test_notification", lambda c, k: {}, 204, "NoneType"),
    ("notifications.update_user_notification_preferences", lambda c, k: {
        "user": "me", "body": _model(c, "CodersdkUpdateUserNotificationPreferences",
                                     template_disabled_map={TEMPLATE_ID: True})}, 200, "list"),
    ("notifications.get_user_notification_preferences", lambda c, k: {"user": "me"}, 200, "list"),
    ("users.get_user_by_name", lambda c, k: {"user": "me"}, 200, "CodersdkUser"),
    ("notifications.send_a_custom_notification", lambda c, k: {"body": _model(
        c, "CodersdkCustomNotificationRequest", content={"title": "Built", "message": "ok"})},
     204, "NoneType"),
    ("notifications.list_inbox_notifications", lambda c, k: {"read_status": "unread"}, 200,
     "CodersdkListInboxNotificationsResponse"),
    ("notifications.update_read_status_of_a_notification", lambda c, k: {
        "id": k.get("notification", ""), "body": _model(
            c, "CodersdkUpdateInboxNotificationReadStatusRequest", is_read=True)}, 200,
     "CodersdkUpdateInboxNotificationReadStatusResponse"),
    ("notifications.mark_all_unread_notifications_as_read", lambda c, k: {}, 204, "NoneType"),
    ("notifications.get_custom_notification_templates", lambda c, k: {}, 200, "list"),
    ("enterprise.update_notification_template_dispatch_method", lambda c, k: {
        "notification_template": TEMPLATE_ID, "body": _model(
            c, "CodersdkUpdateNotificationTemplateMethod", method="webhook")}, 200,
     "CodersdkResponse"),
]


def generated_operations(client: ModuleType) -> set[str]:
    """Every operation module the generator wrote, as `tag.operation`."""
    api = importlib.import_module(f"{client.__name__}.api")
    return {info.name.removeprefix(f"{api.__name__}.") for info in
            pkgutil.walk_packages(api.__path__, f"{api.__name__}.") if not info.ispkg}


async def session_failures(client: ModuleType, mock: MockServer) -> list[str]:
    """Every step's problem: a status, a parsed type or a field the client does not expect."""
    transport = httpx.ASGITransport(app=mock.app)
    failures, known = [], {}
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost/api/v2",
                                 headers={"Coder-Session-Token": OWNER}) as http:
        api = client.Client(base_url="http://localhost/api/v2").set_async_httpx_client(http)
        for name, arguments, status, parsed_type in STEPS:
            module = importlib.import_module(f"{client.__name__}.api.{name}")
            answer = await module.asyncio_detailed(client=api, **arguments(client, known))
            parsed = answer.parsed
            if answer.status_code != status or type(parsed).__name__ != parsed_type:
                failures.append(f"{name}: {answer.status_code} {type(parsed).__name__}, not "
                                f"{status} {parsed_type}: {answer.content[:200]!r}")
            failures += [f"{name}: unknown {f}" for f in unknown_fields(parsed)]
            items = parsed if isinstance(parsed, list) else [parsed]
            failures += [f"{name}: an item parsed as {type(item).__name__}" for item in items
                         if isinstance(parsed, list) and not attrs.has(type(item))]
            if hasattr(parsed, "notifications") and parsed.notifications:
                known["notification"] = parsed.notifications[0].id
    return failures


@pytest.fixture(scope="module")
def python_client() -> ModuleType:
    """The client generated from today's spec."""
    return generated_python(extensions.load())


def test_the_python_client_has_a_step_for_every_operation(python_client: ModuleType) -> None:
    assert generated_operations(python_client) == {name for name, *_ in STEPS}


@pytest.mark.anyio
async def test_the_generated_python_client_calls_every_operation_of_the_mock(
        python_client: ModuleType, mock: MockServer) -> None:
    assert await session_failures(python_client, mock) == []


def test_the_rendered_spec_shows_every_erratum_and_addition_on_its_operation() -> None:
    spec = extensions.load()
    shown = docs_spec.docs_spec(spec)
    validate(shown)
    for original, rendered in zip(extensions.operations(spec), extensions.operations(shown),
                                  strict=True):
        entries = original.body.get("x-docs-errata", []) + original.body.get(
            "x-docs-additions", [])
        missing = [e["about"] for e in entries if f"`{e['about']}`:" not in rendered.body[
            "description"]]
        assert entries, original.label
        assert missing == [], original.label
    assert "## WebSocket: GET /notifications/inbox/watch" in shown["info"]["description"]


def test_the_client_view_sends_coders_types_and_nothing_lenient() -> None:
    view = client_spec.client_spec(extensions.load())
    validate(view)
    bodies = view["components"]["requestBodies"].values()
    sent = [body["content"]["application/json"]["schema"]["$ref"] for body in bodies]
    assert sent, "no request bodies"
    assert all(ref.startswith("#/components/schemas/codersdk.") for ref in sent), sent
    assert not [name for name, schema in view["components"]["schemas"].items()
                if "x-client-schema" in schema]
