"""What a template sees: Coder's types.MessagePayload, and Go's invalid value for a missing key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

NO_VALUE = "<no value>"
MISSING = type("Missing", (), {"__repr__": lambda self: "<missing>"})()
FIELDS = {"Labels": "labels", "Data": "data", "UserName": "user_name",
          "UserUsername": "user_username", "UserEmail": "user_email"}


@dataclass(frozen=True, kw_only=True)
class Payload:
    """What a Coder template sees (types.MessagePayload), plus the deployment URL for base_url."""

    labels: Mapping[str, str] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    user_name: str = ""
    user_username: str = ""
    user_email: str = ""
    base_url: str = ""
