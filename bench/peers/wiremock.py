"""WireMock (the standalone jar the npm package `wiremock` ships), run by java directly: one
stub per workload with the mock's bytes, matched on method, path and the owner's token."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

from bench.peers import npx
from bench.peers.capture import Answer

PACKAGE = "wiremock@3.13.2"


def jar(cwd: Path) -> Path:
    """The standalone jar inside the npm package (fetched by npx, pinned)."""
    package_dir = npx.bin_path(PACKAGE, "wiremock", cwd).parent
    jars = sorted(package_dir.glob("build/wiremock-standalone-*.jar"))
    if not jars:
        raise RuntimeError(f"{PACKAGE}: no build/wiremock-standalone-*.jar in {package_dir}")
    return jars[-1]


def java() -> str:
    """The java to run the jar with; a clear error where there is none."""
    path = shutil.which("java")
    if not path:
        raise RuntimeError("java is not on PATH (make bench installs a JRE with apt-get)")
    return path


def stub(answer: Answer, token_header: str, token: str) -> dict[str, object]:
    """A mapping: this request with the token gets the mock's answer, byte for byte."""
    headers = dict(answer.headers)
    if answer.status not in (204, 304):  # as the mock frames it (WireMock would chunk)
        headers["content-length"] = str(len(answer.body))
    response: dict[str, object] = {"status": answer.status, "headers": headers}
    if answer.body:
        response["base64Body"] = base64.b64encode(answer.body).decode()
    return {"priority": 1,
            "request": {"method": answer.method, "urlPath": answer.path,
                        "headers": {token_header: {"equalTo": token}}},
            "response": response}


def write_stubs(root: Path, answers: list[Answer], denied: Answer, token_header: str,
                token: str) -> None:
    """WireMock's --root-dir: mappings/ with one stub per answer, and a 401 for a stubbed path
    without the token (lower priority, so it only catches what the token stubs do not)."""
    mappings = root / "mappings"
    mappings.mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(exist_ok=True)
    for index, answer in enumerate(answers):
        (mappings / f"{index:02d}.json").write_text(json.dumps(stub(answer, token_header, token)))
        refused = stub(denied, token_header, token)
        refused["priority"] = 5
        refused["request"] = {"method": answer.method, "urlPath": answer.path}
        (mappings / f"{index:02d}-denied.json").write_text(json.dumps(refused))


def argv(jar_path: Path, host: str, port: int, root: Path) -> list[str]:
    """java -jar with the request journal off and no banner; WireMock's other defaults."""
    return [java(), "-jar", str(jar_path), "--bind-address", host, "--port", str(port),
            "--root-dir", str(root), "--no-request-journal", "--disable-banner"]
