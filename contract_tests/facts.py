"""What the suite learns from the server before testing it: who the tokens are, which templates.

The suite knows nothing of any fixture data: users come from `GET /users/me`, templates from
the templates endpoint, so a server with other users and templates is judged the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from contract_tests.client import Api, Violation
from contract_tests.preflight import expect_other_user, expect_role


@dataclass(frozen=True)
class Identity:
    """A user as the server names it; `refs` are the three ways `{user}` may name them."""

    id: str
    username: str

    @property
    def refs(self) -> tuple[str, str, str]:
        """`me`, the username and the UUID all name this user when they sign in."""
        return ("me", self.username, self.id)


@dataclass(frozen=True)
class Template:
    """The parts of a system template the suite needs."""

    id: str
    name: str
    enabled_by_default: bool


@dataclass(frozen=True)
class Facts:
    """The server's users (as the tokens see them) and templates."""

    owner: Identity
    member: Identity | None
    templates: tuple[Template, ...]

    @property
    def template_ids(self) -> tuple[str, ...]:
        """Every system template id."""
        return tuple(t.id for t in self.templates)

    def default_disabled(self, template_id: str) -> bool:
        """The `disabled` value that behaves as if no preference were stored."""
        template = next((t for t in self.templates if t.id == template_id), None)
        return template is not None and not template.enabled_by_default

    @classmethod
    def learn(cls, owner: Api, member: Api | None) -> Facts:
        """Ask the server; fail early, with a hint, when a token is not what it claims to be."""
        owner_identity = _identity(owner, expect_owner=True)
        member_identity = _identity(member, expect_owner=False) if member else None
        if member_identity is not None:
            expect_other_user(owner_identity.id, member_identity.id)
        listing = owner.templates().expect_status(200)
        templates = tuple(Template(t["id"], t["name"], bool(t.get("enabled_by_default", True)))
                          for t in listing.json())
        return cls(owner=owner_identity, member=member_identity, templates=templates)


def _identity(api: Api, *, expect_owner: bool) -> Identity:
    exchange = api.me()
    if exchange.status == 401:
        raise RuntimeError(f"the server refused the token: {exchange.json().get('detail', '')}")
    body = exchange.expect_status(200).json()
    expect_role(body, owner=expect_owner)
    try:
        return Identity(id=body["id"], username=body["username"])
    except KeyError as exc:
        raise Violation(exchange.describe(f"GET /users/me must include {exc}")) from None
