"""The mock's configuration: one immutable value, built at the edge (CLI or environment)."""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PACKAGE_DIR = Path(__file__).resolve().parent
SPEC_PATH = PACKAGE_DIR / "openapi.yaml"
DEFAULT_FIXTURES = PACKAGE_DIR / "default_fixtures"
DISPATCH_METHODS = ("smtp", "webhook")
ENV_VAR = "CODER_MOCK_CONFIG"


@dataclass(frozen=True, kw_only=True)
class MockConfig:
    """What a mock deployment is: its seed data and the Coder version quirks it reproduces."""

    fixtures: Path = DEFAULT_FIXTURES
    default_method: str = "smtp"
    user_not_found_status: Literal[400, 404] = 400
    task_templates: bool = False
    validate_responses: bool = False
    max_body_bytes: int = 1024 * 1024

    def __post_init__(self) -> None:
        if self.default_method not in DISPATCH_METHODS:
            raise ValueError(f"default_method {self.default_method!r} is not one of "
                             f"{', '.join(DISPATCH_METHODS)}")
        if self.user_not_found_status not in (400, 404):
            raise ValueError(f"user_not_found_status {self.user_not_found_status!r} must be "
                             "400 (Coder up to 2025) or 404 (newer)")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes {self.max_body_bytes!r} must be positive")
        object.__setattr__(self, "fixtures", Path(self.fixtures))

    def to_env(self) -> str:
        """Serialise for a child process (uvicorn's factory mode); the inverse of `from_env`."""
        values = dataclasses.asdict(self)
        values["fixtures"] = str(self.fixtures)
        return json.dumps(values)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> MockConfig:
        """Read the configuration the CLI left for uvicorn's factory; defaults if there is none."""
        raw = (os.environ if environ is None else environ).get(ENV_VAR)
        return cls(**json.loads(raw)) if raw else cls()
