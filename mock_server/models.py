"""The deployment's records, immutable, each rendered as Coder's codersdk type renders it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from mock_server import wire

OWNER_ROLE = "owner"
ROLE_DISPLAY_NAMES = {"owner": "Owner", "user-admin": "User Admin",
                      "template-admin": "Template Admin", "auditor": "Auditor"}


@dataclass(frozen=True, slots=True)
class User:
    """A Coder user; only the site-wide `owner` role grants anything beyond a member's rights."""

    id: UUID
    username: str
    email: str
    name: str = ""
    roles: tuple[str, ...] = ()
    status: str = "active"
    login_type: str = "password"
    created_at: datetime = field(default_factory=lambda: datetime(2025, 1, 1))

    @property
    def is_owner(self) -> bool:
        """Owners may change deployment settings and read or write anyone's preferences."""
        return OWNER_ROLE in self.roles

    @property
    def is_active(self) -> bool:
        """Suspended and dormant users cannot sign in."""
        return self.status == "active"

    def may_see(self, other: User) -> bool:
        """Whether this user's `{user}` lookups may resolve `other`: self, or anyone for owners."""
        return self.is_owner or self.id == other.id

    def to_json(self) -> dict[str, Any]:
        """codersdk.User in Go's field order."""
        created = wire.format_time(self.created_at)
        return {
            "id": str(self.id), "username": self.username, "avatar_url": "", "name": self.name,
            "email": self.email, "created_at": created, "updated_at": created,
            "last_seen_at": created, "status": self.status, "login_type": self.login_type,
            "theme_preference": "", "organization_ids": [],
            "roles": [{"name": role, "display_name": ROLE_DISPLAY_NAMES.get(role, role)}
                      for role in self.roles],
        }


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A session token: the 10-character id is looked up, the 22-character secret compared."""

    id: str
    secret: str
    user_id: UUID
    expires_at: datetime | None = None

    @property
    def token(self) -> str:
        """The value a client sends."""
        return f"{self.id}-{self.secret}"


@dataclass(frozen=True, slots=True)
class Template:
    """A notification template row."""

    id: UUID
    name: str
    title_template: str
    body_template: str
    actions: str
    group: str
    method: str
    kind: str
    enabled_by_default: bool
    feature: str = ""

    def to_json(self) -> dict[str, Any]:
        """codersdk.NotificationTemplate in Go's field order."""
        return {
            "id": str(self.id), "name": self.name, "title_template": self.title_template,
            "body_template": self.body_template, "actions": self.actions, "group": self.group,
            "method": self.method, "kind": self.kind, "enabled_by_default": self.enabled_by_default,
        }


@dataclass(frozen=True, slots=True)
class Preference:
    """One stored row of notification_preferences; `template_id` is what the API calls `id`."""

    template_id: UUID
    disabled: bool
    updated_at: datetime
    _json: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # rendered once per write, since every read of the user's preferences sends it again
        object.__setattr__(self, "_json", {"id": str(self.template_id), "disabled": self.disabled,
                                           "updated_at": wire.format_time(self.updated_at)})

    def to_json(self) -> dict[str, Any]:
        """codersdk.NotificationPreference in Go's field order."""
        return self._json


@dataclass(frozen=True, slots=True)
class Seed:
    """Everything a fixture set defines: who exists, which templates, and the starting state."""

    users: tuple[User, ...]
    keys: tuple[ApiKey, ...]
    templates: tuple[Template, ...]
    settings_json: str = ""
    preferences: dict[UUID, dict[UUID, bool]] = field(default_factory=dict)
    inbox: tuple[dict[str, Any], ...] = ()  # rendered inbox notifications, codersdk's JSON form
    source: Path | None = None  # the directory it was read from

    def accounts(self) -> list[tuple[User, ApiKey]]:
        """Every key with the user it signs in, in fixture order (banners, control API, tests)."""
        users = {user.id: user for user in self.users}
        return [(users[key.user_id], key) for key in self.keys]
