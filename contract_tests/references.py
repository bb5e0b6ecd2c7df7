"""Server-valid values for positive cases Schemathesis generates (the schema cannot say "an
existing user")."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.case import Case
from schemathesis.generation.modes import GenerationMode

PREFERENCES_PUT = "update-user-notification-preferences"
INBOX_LIST = "list-inbox-notifications"


@dataclass
class References:
    """Makes positive cases valid for the server, not only for the schema.

    The schema says `{user}` is any string and preference keys any string; the server wants an
    existing user and existing template ids. Positive cases get the caller's own user (as `me`,
    username or UUID) and templates the guard may write; negative cases stay as generated.
    """

    refs: tuple[str, ...]
    writable: tuple[str, ...]
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def apply(self, case: Case) -> Case:
        """Rewrite the server-specific values of a positive case."""
        if case.path_parameters and "user" in case.path_parameters and _positive(
                case, ParameterLocation.PATH):
            case.path_parameters = {**case.path_parameters, "user": self.rng.choice(self.refs)}
        operation_id = case.operation.definition.raw.get("operationId")
        if operation_id == PREFERENCES_PUT and isinstance(case.body, dict) and _positive(
                case, ParameterLocation.BODY):
            chosen = self.rng.sample(self.writable, self.rng.randint(0, len(self.writable)))
            choices = {template_id: self.rng.random() < 0.5 for template_id in chosen}
            case.body = {**case.body, "template_disabled_map": choices}
        if operation_id == INBOX_LIST and _positive(case, ParameterLocation.QUERY):
            case.query = self._inbox_query(case.query or {})
        return case

    def _inbox_query(self, query: dict[str, Any]) -> dict[str, Any]:
        """The list's parameters as the server parses them: UUID lists, a known read status."""
        def uuids() -> str:
            return ",".join(str(uuid.UUID(int=self.rng.getrandbits(128)))
                            for _ in range(self.rng.randint(1, 2)))

        rewritten = {"targets": uuids, "templates": uuids,
                     "read_status": lambda: self.rng.choice(("all", "read", "unread", "")),
                     "starting_before": lambda: str(uuid.UUID(int=self.rng.getrandbits(128)))}
        return {name: rewritten[name]() if name in rewritten else value
                for name, value in query.items()}


def _positive(case: Case, location: ParameterLocation) -> bool:
    """Whether this part of the case was generated as valid data (explicit examples are)."""
    if case.meta is None:
        return True
    component = case.meta.components.get(location)
    return component is None or component.mode == GenerationMode.POSITIVE
