"""Mockoon CLI: its own import of openapi.yaml, each workload's route then set to answer the
mock's bytes when the owner's token is sent (a header rule) and 401 otherwise."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from bench.peers.capture import Answer

PACKAGE = "@mockoon/cli@9.9.0"


def imported(spec: Path, out: Path, cwd: Path) -> dict[str, Any]:
    """The environment Mockoon builds from the spec (`mockoon-cli import`)."""
    done = subprocess.run(["npx", "--yes", PACKAGE, "import", "-i", str(spec), "-o", str(out)],
                          cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"mockoon-cli import failed: {(done.stderr or done.stdout)[-2000:]}")
    return json.loads(out.read_text())


def _matches(route: dict[str, Any], prefix: str, answer: Answer) -> bool:
    """Whether the route (`users/:user`) serves this concrete path (`/api/v2/users/me`)."""
    pattern = re.sub(r":[A-Za-z_]+", "[^/]+", f"/{prefix}/{route['endpoint']}".replace("//", "/"))
    same_method = route["method"].upper() == answer.method
    return same_method and re.fullmatch(pattern, answer.path) is not None


def _response(template: dict[str, Any], answer: Answer, *, default: bool,
              rules: list[dict[str, Any]]) -> dict[str, Any]:
    """One of the route's responses with the answer's status, headers and exact body."""
    return {**template, "statusCode": answer.status, "body": answer.body.decode(),
            "headers": [{"key": k, "value": v} for k, v in answer.headers],
            "bodyType": "INLINE", "disableTemplating": True, "rules": rules,
            "rulesOperator": "AND", "default": default, "latency": 0}


def patch(env: dict[str, Any], answers: list[Answer], denied: Answer, token_header: str,
          token: str) -> list[str]:
    """Point each answered route at the mock's bytes; the routes patched, by endpoint."""
    env["headers"], env["cors"] = [], False  # the mock's headers come with each answer
    rule = {"target": "header", "modifier": token_header, "value": token, "invert": False,
            "operator": "equals"}
    patched = []
    for answer in answers:
        route = next((r for r in env["routes"] if _matches(r, env["endpointPrefix"], answer)),
                     None)
        if route is None:
            raise RuntimeError(f"Mockoon's import has no route for {answer.method} {answer.path}")
        template = route["responses"][0]
        route["responses"] = [_response(template, answer, default=False, rules=[rule]),
                              _response({**template, "uuid": template["uuid"] + "-denied"},
                                        denied, default=True, rules=[])]
        patched.append(f"{route['method'].upper()} {route['endpoint']}")
    return patched


def write_env(path: Path, spec: Path, answers: list[Answer], denied: Answer,
              token_header: str, token: str, cwd: Path) -> list[str]:
    """Import the spec into `path`, patch it with the answers; the routes patched."""
    env = imported(spec, path, cwd)
    patched = patch(env, answers, denied, token_header, token)
    path.write_text(json.dumps(env))
    return patched


def argv(host: str, port: int, env: Path) -> list[str]:
    """mockoon-cli start on loopback, logging to stdout only (no log file)."""
    return ["npx", "--yes", PACKAGE, "start", "--data", str(env), "--hostname", host,
            "--port", str(port), "--disable-log-to-file", "--disable-admin-api"]
