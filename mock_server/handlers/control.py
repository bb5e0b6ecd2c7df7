"""The control API (`/__mock`, control.yaml): reset, fixtures, state, outbox, journal, faults."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any
from uuid import UUID

from starlette.responses import Response

from mock_server import errors, wire
from mock_server.config import BASE_PATH
from mock_server.delivery import NotificationDisabled
from mock_server.deployment import Deployment
from mock_server.dispatch import Call
from mock_server.faults import Fault, FaultError, target_problem
from mock_server.fixtures import FixtureError, load_seed
from mock_server.gotemplate import TemplateError
from mock_server.models import Seed, User
from mock_server.responses import json_response, no_content
from mock_server.state import UnknownTemplate


class ControlHandlers:
    """What a UI developer does to the mock between (or during) test runs."""

    def __init__(self, deployment: Deployment, *, operation_ids: Collection[str]) -> None:
        self.deployment = deployment
        self.store = deployment.store
        self.journal = deployment.journal
        self.book = deployment.faults
        self.enqueuer = deployment.enqueuer
        self.operation_ids = frozenset(operation_ids)

    async def health(self, _call: Call) -> Response:
        """For scripts that wait for the mock to come up: 200 once it can serve, 503 (with why)
        while its shared state is unreachable; answered within the state timeout."""
        report = await self.deployment.health()
        return json_response(report, status=200 if report["status"] == "ok" else 503)

    async def reset(self, _call: Call) -> Response:
        """Back to the current fixture set's state."""
        await self.store.reset()
        return no_content()

    async def fixtures(self, _call: Call) -> Response:
        """The fixture set in use and every token, so tests need not hard-code them."""
        return json_response(_describe(self.store.seed))

    async def load_fixtures(self, call: Call) -> Response:
        """Switch to another fixture set; a broken one changes nothing."""
        path = Path(call.body["path"])
        try:
            seed = load_seed(path)
        except FixtureError as exc:
            raise errors.CoderError(400, "Cannot load the fixture set.", detail=str(exc)) from None
        await self.store.reset(seed)
        return json_response(_describe(seed))

    async def state(self, _call: Call) -> Response:
        """Everything that changes at run time, to save and restore later."""
        return json_response(await self.store.snapshot())

    async def put_state(self, call: Call) -> Response:
        """Restore a snapshot taken by GET /state."""
        try:
            await self.store.restore(call.body)
        except ValueError as exc:
            raise errors.CoderError(400, "Cannot restore this state.", detail=str(exc)) from None
        if not await self.enqueuer.paused():
            await self.enqueuer.release()  # held messages of a state that is not paused go out
        return no_content()

    async def send_notification(self, call: Call) -> Response:
        """Deliver any template to any user, as Coder's internal events do."""
        body = call.body
        user = self._user(body["user"])
        try:
            receipt = await self.enqueuer.enqueue(
                UUID(body["template_id"]), user, labels=body.get("labels"),
                data=body.get("data"), targets=[UUID(t) for t in body.get("targets", [])])
        except UnknownTemplate as exc:
            raise errors.CoderError(400, "Unknown template.", detail=(
                f"No notification template has id {exc.template_id}; GET "
                f"{BASE_PATH}/notifications/templates/system lists them.")) from None
        except NotificationDisabled as exc:
            raise errors.CoderError(400, "Notification is not enabled.", detail=(
                f"{user.username} has disabled {exc.template.name!r} (or it is off by default "
                "and they never enabled it): nothing was delivered.")) from None
        except TemplateError as exc:
            raise errors.CoderError(400, "Cannot render the template.", detail=str(exc)) from None
        return json_response(receipt.to_json(), status=201)

    def _user(self, name: str) -> User:
        """A user by username (any letter case) or id."""
        try:
            user = self.store.user(wire.parse_uuid(name))
        except ValueError:
            user = self.store.user_by_username(name)
        if user is None:
            raise errors.CoderError(400, "Unknown user.", detail=(
                f"{name!r} is neither the username nor the id of a user of the fixture set "
                "(GET /__mock/fixtures lists them)."))
        return user

    async def outbox(self, _call: Call) -> Response:
        """Notifications the mock "sent" (test notifications), oldest first."""
        return json_response(await self.store.outbox())

    async def clear_outbox(self, _call: Call) -> Response:
        """Empty the outbox."""
        await self.store.clear_outbox()
        return no_content()

    async def journal_entries(self, call: Call) -> Response:
        """The calls answered so far (the last `limit`), oldest first."""
        limit = call.query("limit")
        return json_response(await self.journal.entries(int(limit) if limit else None))

    async def clear_journal(self, _call: Call) -> Response:
        """Forget the calls."""
        await self.journal.clear()
        return no_content()

    async def faults(self, _call: Call) -> Response:
        """The active faults."""
        return json_response([fault.to_json() for fault in await self.book.faults()])

    async def add_fault(self, call: Call) -> Response:
        """Inject a fault into calls of one operation (or all), optionally of one user."""
        body = call.body
        operation_id = body.get("operation_id", "*")
        if operation_id != "*" and operation_id not in self.operation_ids:
            raise errors.CoderError(400, "Unknown operation_id.", detail=(
                f"{operation_id!r} is not an operationId of openapi.yaml; use one of "
                f"{', '.join(sorted(self.operation_ids))}, or '*'"))
        try:
            fault = Fault.from_json(body)
            unknown = target_problem(fault, operation_ids=self.operation_ids,
                                     users=self.store.seed.users)
            if unknown is not None:
                raise FaultError(unknown)
            fault = await self.book.add(fault)
        except FaultError as exc:
            raise errors.CoderError(400, "Invalid fault.", detail=str(exc)) from None
        return json_response(fault.to_json(), status=201)

    async def clear_faults(self, _call: Call) -> Response:
        """Remove every fault."""
        await self.book.clear()
        return no_content()

    async def remove_fault(self, call: Call) -> Response:
        """Remove one fault by id."""
        fault_id = int(call.path("id"))
        if not await self.book.remove(fault_id):
            raise errors.CoderError(404, "No such fault.",
                                    detail=f"no active fault has id {fault_id}")
        return no_content()


def _describe(seed: Seed) -> dict[str, Any]:
    users: dict[str, dict[str, Any]] = {}
    for user in seed.users:
        users[str(user.id)] = {"id": str(user.id), "username": user.username,
                               "role": "owner" if user.is_owner else "member",
                               "status": user.status, "tokens": []}
    for user, key in seed.accounts():
        users[str(user.id)]["tokens"].append(key.token)
    return {"path": str(seed.source or ""), "users": list(users.values())}
