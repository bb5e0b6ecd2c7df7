"""Injected faults: an error status, latency or a dropped connection, for chosen calls.

A fault targets an operation (by operationId, or every one) and optionally one caller, and fires
on the next N calls or on a percentage of them. Faults come from the control API, the command
line (`--fault`, `--latency`) or, for one call, a `Prefer: status=503` request header (on the
watch socket also the `mock_prefer` query parameter, since browsers cannot set its headers).
On the watch socket a status refuses the upgrade, a latency delays every message, and a drop
cuts the connection at once or, with `after_messages`, after that many messages.
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from mock_server.context import Caller
from mock_server.models import User
from mock_server.state.memory_faults import MemoryFaults

if TYPE_CHECKING:
    from mock_server.state.backend import FaultStorage

MAX_LATENCY_MS = 60_000  # a minute: longer would only hang the client and the shutdown
_PREFER_STATUS = re.compile(r"(?:^|[;,\s])(?:status|code)\s*=\s*(\d{3})\b")
_PREFER_LATENCY = re.compile(r"(?:^|[;,\s])latency\s*=\s*(\d+)(?:\s*-\s*(\d+))?\b")
_PREFER_DROP = re.compile(r"(?:^|[;,\s])drop\b")
_PREFER_AFTER = re.compile(r"(?:^|[;,\s])after_messages\s*=\s*(\d+)\b")
_SPEC = re.compile(r"^(?P<operation>[\w*-]+)(?:@(?P<user>[^=]+))?=(?P<rest>.+)$")


class FaultError(ValueError):
    """A fault that cannot be injected; the message says which part is wrong and what is valid."""


@dataclass(frozen=True, kw_only=True)
class Fault:
    """What to do to matching calls."""

    operation_id: str = "*"
    user: str | None = None
    status: int | None = None
    body: Mapping[str, Any] | None = None
    latency_ms: tuple[int, int] | None = None
    drop: bool = False
    after_messages: int | None = None  # with drop: a watch socket sends this many first
    times: int | None = None
    percent: float = 100.0
    id: int = 0

    def __post_init__(self) -> None:
        if self.status is not None and not 400 <= self.status <= 599:
            raise FaultError(f"status {self.status} must be an error status, 400 to 599")
        if self.status is None and self.latency_ms is None and not self.drop:
            raise FaultError("a fault needs a status, a latency or drop")
        if self.latency_ms is not None and not (
                0 <= self.latency_ms[0] <= self.latency_ms[1] <= MAX_LATENCY_MS):
            raise FaultError(f"latency {list(self.latency_ms)} must be 0 <= min <= max <= "
                             f"{MAX_LATENCY_MS} milliseconds")
        if self.after_messages is not None and not self.drop:
            raise FaultError(f"after_messages {self.after_messages} needs drop: it is how many "
                             "messages a watch socket sends before it is dropped")
        if self.after_messages is not None and self.after_messages < 0:
            raise FaultError(f"after_messages {self.after_messages} must be at least 0")
        if self.times is not None and self.times < 1:
            raise FaultError(f"times {self.times} must be at least 1")
        if not 0 < self.percent <= 100:
            raise FaultError(f"percent {self.percent} must be above 0 and at most 100")

    def matches(self, operation_id: str | None, caller: Caller | None) -> bool:
        """Whether this fault targets a call of `operation_id` by `caller`."""
        if self.operation_id not in ("*", operation_id):
            return False
        return self.user is None or (caller is not None and self.targets(caller.user))

    def targets(self, user: User) -> bool:
        """Whether this fault's user is `user` (its username in any letter case, or its id)."""
        return self.user is None or self.user.lower() in (user.username.lower(), str(user.id))

    @property
    def decides(self) -> bool:
        """Whether this fault replaces the answer (a status or a drop), not only delays it."""
        return self.status is not None or self.drop

    def describe(self) -> str:
        """How the journal and the log name this fault: its source and what it does."""
        effects = [f"status {self.status}"] if self.status else []
        if self.latency_ms:
            low, high = self.latency_ms
            effects.append(f"latency {low}-{high} ms" if low != high else f"latency {low} ms")
        if self.drop:
            effects.append("drop" if self.after_messages is None
                           else f"drop after {self.after_messages} messages")
        source = f"fault {self.id}" if self.id else "Prefer header"
        return f"{source}: {', '.join(effects)}"

    def to_json(self) -> dict[str, Any]:
        """The fault as the control API shows it."""
        data = asdict(self)
        data["latency_ms"] = list(self.latency_ms) if self.latency_ms else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        """A fault from the control API's JSON (already checked against control.yaml)."""
        latency = data.get("latency_ms")
        if isinstance(latency, int):
            latency = (latency, latency)
        return cls(operation_id=data.get("operation_id", "*"), user=data.get("user"),
                   status=data.get("status"), body=data.get("body"),
                   latency_ms=tuple(latency) if latency else None, drop=data.get("drop", False),
                   after_messages=data.get("after_messages"), times=data.get("times"),
                   percent=data.get("percent", 100.0))


def parse_fault(spec: str) -> Fault:
    """`OPERATION[@USER]=STATUS|drop[,after_messages=N][,times=N][,percent=P][,latency=MS|MIN-MAX]`
    (the CLI form)."""
    match = _SPEC.match(spec.strip())
    if match is None:
        raise FaultError(f"fault {spec!r}: expected OPERATION[@USER]=STATUS|drop[,times=N]"
                         "[,percent=P][,latency=MS|MIN-MAX], e.g. get-notifications-settings=503")
    values: dict[str, Any] = {"operation_id": match["operation"], "user": match["user"]}
    for part in match["rest"].split(","):
        key, _, value = part.strip().partition("=")
        try:
            if key.isdigit() and not value:
                values["status"] = int(key)
            elif key == "drop" and not value:
                values["drop"] = True
            elif key == "times":
                values["times"] = int(value)
            elif key == "after_messages":
                values["after_messages"] = int(value)
            elif key == "percent":
                values["percent"] = float(value.rstrip("%"))
            elif key == "latency":
                values["latency_ms"] = parse_latency(value)
            else:
                raise FaultError(f"fault {spec!r}: unknown part {part!r}; use a status, drop, "
                                 "after_messages=N, times=N, percent=P or latency=MS")
        except ValueError as exc:
            if isinstance(exc, FaultError):
                raise
            raise FaultError(f"fault {spec!r}: {part!r} is not a number") from None
    return Fault(**values)


def target_problem(fault: Fault, *, operation_ids: Collection[str],
                   users: Sequence[User]) -> str | None:
    """Why this fault could never fire (an operation or a user that does not exist), with
    what would; None when it can."""
    if fault.operation_id != "*" and fault.operation_id not in operation_ids:
        near = difflib.get_close_matches(fault.operation_id, operation_ids, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return (f"no operation {fault.operation_id!r}; {hint}use an operationId of "
                f"openapi.yaml ({', '.join(sorted(operation_ids))}) or * for every one")
    names = [user.username for user in users]
    if fault.user is not None and not any(fault.targets(user) for user in users):
        near = difflib.get_close_matches(fault.user.lower(), names, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return (f"no user {fault.user!r} in the fixture set; {hint}use a username "
                f"({', '.join(names)}) or a user id")
    return None


def check_targets(specs: Iterable[str], *, operation_ids: Collection[str],
                  users: Iterable[User]) -> None:
    """Refuse, at start-up, a `--fault` that could never fire (FaultError naming it)."""
    for spec in specs:
        problem = target_problem(parse_fault(spec), operation_ids=operation_ids,
                                 users=list(users))
        if problem is not None:
            raise FaultError(f"--fault {spec!r}: {problem}")


def parse_latency(text: str) -> tuple[int, int]:
    """`250` or `100-400` milliseconds."""
    low, _, high = text.strip().partition("-")
    try:
        return int(low), int(high or low)
    except ValueError:
        raise FaultError(f"latency {text!r}: expected milliseconds, MS or MIN-MAX") from None


def parse_prefer(header: str) -> Fault | None:
    """A one-call fault from a `Prefer` header (`status=503`, `latency=300`, `drop`, with
    `after_messages=N` on a watch socket), if any."""
    status = _PREFER_STATUS.search(header)
    latency = _PREFER_LATENCY.search(header)
    drop = _PREFER_DROP.search(header) is not None
    after = _PREFER_AFTER.search(header)
    if not (status or latency or drop or after):
        return None
    return Fault(status=int(status[1]) if status else None, drop=drop,
                 after_messages=int(after[1]) if after else None,
                 latency_ms=(int(latency[1]), int(latency[2] or latency[1])) if latency else None)


Draw = Callable[[float, float], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the faults that fired for one call do to it, decided by `combine`."""

    fired: tuple[Fault, ...]
    delay_ms: float = 0.0
    decider: Fault | None = None  # the status or drop that replaces the answer, if any

    def describe(self) -> str:
        """Every fault that fired, as the journal names them."""
        return "; ".join(fault.describe() for fault in self.fired)


def combine(fired: Sequence[Fault], *, draw: Draw = random.uniform) -> Outcome | None:
    """The one rule for faults that fire together: every delay applies (their draws add), and
    the first status or drop, oldest first, decides the answer; None when nothing fired."""
    if not fired:
        return None
    delay = sum(draw(*fault.latency_ms) for fault in fired if fault.latency_ms is not None)
    decider = next((fault for fault in fired if fault.decides), None)
    return Outcome(fired=tuple(fired), delay_ms=delay, decider=decider)


class FaultBook:
    """The fault policy over a storage: the control API adds faults, each call takes what fires.

    Which faults fire (target, roll, calls left) is decided here, what they then do together by
    `combine`; the storage (this process's memory, or Redis) only keeps them.
    """

    def __init__(self, storage: FaultStorage | None = None, *,
                 rng: Callable[[], float] = random.random, draw: Draw = random.uniform,
                 initial: Sequence[Fault] = (), limit: int = 1000) -> None:
        self._storage = storage if storage is not None else MemoryFaults()
        self._rng = rng
        self._draw = draw
        self._initial: Sequence[Fault] | None = initial  # added on first use, then None
        self.limit = limit  # active faults at most (--max-faults); more is refused

    async def _ready(self) -> FaultStorage:
        """The storage, with the configuration's faults added (once per storage)."""
        if self._initial is not None:
            await self._storage.add_once(self._initial)
            self._initial = None
        return self._storage

    async def add(self, fault: Fault) -> Fault:
        """Activate a fault; it gets an id for later removal."""
        active = len(await (await self._ready()).all())
        if active >= self.limit:
            raise FaultError(f"{active} faults are active, the most this mock keeps "
                             "(--max-faults); remove some first")
        return await self._storage.add(fault)

    async def faults(self) -> list[Fault]:
        """The active faults, oldest first, with the calls each has left."""
        return await (await self._ready()).all()

    async def remove(self, fault_id: int) -> bool:
        """Deactivate one fault; False when there was none with that id."""
        return await (await self._ready()).remove(fault_id)

    async def clear(self) -> None:
        """Deactivate every fault."""
        await (await self._ready()).clear()

    async def take(self, operation_id: str | None, caller: Caller | None) -> Outcome | None:
        """What the active faults do to this call (`combine`); once a status or drop has fired,
        later ones cannot change the answer, so they are neither rolled nor counted down."""
        fired: list[Fault] = []
        decided = False
        storage = await self._ready()
        for fault in await storage.all() if await storage.has_any() else ():
            if decided and fault.decides:
                continue
            if fault.matches(operation_id, caller) and self._wins_roll(fault) and (
                    fault.times is None or await self._storage.count_down(fault.id)):
                fired.append(fault)
                decided = decided or fault.decides
        return combine(fired, draw=self._draw)

    def one_call(self, fault: Fault) -> Outcome | None:
        """A `Prefer:` header's fault: it replaces the active ones for this call."""
        return combine([fault], draw=self._draw)

    def _wins_roll(self, fault: Fault) -> bool:
        """A percentage fault fires on that share of calls (one rng draw)."""
        return fault.percent >= 100 or self._rng() * 100 < fault.percent

