"""The requests the benchmark repeats: every GET and PUT of the spec, as the owner sends them."""

from __future__ import annotations

import json
from dataclasses import dataclass

API = "/api/v2"
OWNER_TOKEN = "AdminToken-adminSecretValue000000"
TOKEN_HEADER = "Coder-Session-Token"
# The bypass header keeps a future rate limiter (Coder's 512/min) from turning the run into 429s.
HEADERS = {TOKEN_HEADER: OWNER_TOKEN, "X-Coder-Bypass-Ratelimit": "true"}
# Workspace Deleted: a system template of Coder and of the default fixture set.
TEMPLATE_ID = "f517da0b-cdc9-410f-ab89-a86107c420ed"


@dataclass(frozen=True)
class Workload:
    """One request repeated by wrk; `path` is relative to the API base path, its `{id}` each
    server's own (found at set-up), its `{template}` Workspace Deleted."""

    method: str
    path: str
    body: str | None = None

    @property
    def name(self) -> str:
        """How the table names it: the request as a client of /api/v2 sends it."""
        return f"{self.method} {API}{self.path}"

    def url_path(self, base_path: str, params: dict[str, str]) -> str:
        """The path a server is loaded at: its base path, its parameters filled in."""
        return f"{base_path}{self.path.format_map({'template': TEMPLATE_ID, **params})}"


WORKLOADS = (
    Workload("GET", "/notifications/settings"),
    Workload("GET", "/notifications/dispatch-methods"),
    Workload("GET", "/notifications/templates/system"),
    Workload("GET", "/notifications/templates/custom"),
    Workload("GET", "/users/me/notifications/preferences"),
    Workload("GET", "/users/me"),
    Workload("GET", "/notifications/inbox"),
    Workload("PUT", "/notifications/settings", json.dumps({"notifier_paused": True})),
    Workload("PUT", "/users/me/notifications/preferences",
             json.dumps({"template_disabled_map": {TEMPLATE_ID: True}})),
    Workload("PUT", "/notifications/inbox/{id}/read-status", json.dumps({"is_read": True})),
    Workload("PUT", "/notifications/inbox/mark-all-as-read"),
    Workload("PUT", "/notifications/templates/{template}/method", json.dumps({"method": "smtp"})),
)


def named(names: list[str]) -> tuple[Workload, ...]:
    """The workloads whose names contain one of these strings (all of them for none)."""
    if not names:
        return WORKLOADS
    chosen = tuple(w for w in WORKLOADS if any(n in w.name for n in names))
    if not chosen:
        raise ValueError(f"no workload matches {names}; they are: "
                         + ", ".join(w.name for w in WORKLOADS))
    return chosen
