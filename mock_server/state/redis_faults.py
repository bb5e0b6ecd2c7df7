"""Faults in Redis (`--state redis://`): every process applies the same faults, and a limited
fault counts down once across all of them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import redis.asyncio

from mock_server.faults import Fault
from mock_server.state import redis_scripts
from mock_server.state.keys import FAULT_IDS, FAULT_TIMES, FAULTS, FAULTS_SEEDED
from mock_server.state.redis_link import RedisLink, guarded


def _fault(raw: str) -> Fault:
    data = json.loads(raw)
    return replace(Fault.from_json(data), id=data["id"])


class RedisFaults:
    """FaultStorage in Redis: a limited fault counts down once across every process."""

    def __init__(self, link: RedisLink) -> None:
        self._link = link

    @guarded
    async def add(self, fault: Fault) -> Fault:
        """Ids come from one shared counter."""
        client = self._link.client()
        fault = replace(fault, id=int(await client.incr(FAULT_IDS)))
        async with client.pipeline() as pipe:
            self._queue(pipe, fault)
            await pipe.execute()
        return fault

    @guarded
    async def add_once(self, faults: Sequence[Fault]) -> None:
        """Once per shared state, not once per worker or replica."""

        async def add_all(pipe: redis.asyncio.client.Pipeline) -> None:
            if await pipe.exists(FAULTS_SEEDED):
                return
            first = int(await pipe.incrby(FAULT_IDS, len(faults))) - len(faults) + 1 \
                if faults else 0
            pipe.multi()
            for offset, fault in enumerate(faults):
                self._queue(pipe, replace(fault, id=first + offset))
            pipe.set(FAULTS_SEEDED, 1)

        await self._link.client().transaction(add_all, FAULTS_SEEDED)

    @staticmethod
    def _queue(pipe: redis.asyncio.client.Pipeline, fault: Fault) -> None:
        pipe.hset(FAULTS, str(fault.id), json.dumps(fault.to_json()))
        if fault.times is not None:
            pipe.hset(FAULT_TIMES, str(fault.id), fault.times)

    @guarded
    async def all(self) -> list[Fault]:
        """Oldest first, with the calls each has left now."""
        async with self._link.client().pipeline() as pipe:
            stored, left = await pipe.hvals(FAULTS).hgetall(FAULT_TIMES).execute()
        faults = sorted(map(_fault, stored), key=lambda fault: fault.id)
        return [replace(f, times=int(left.get(str(f.id), f.times))) if f.times is not None else f
                for f in faults]

    @guarded
    async def has_any(self) -> bool:
        """One cheap round trip."""
        return bool(await self._link.client().hlen(FAULTS))

    @guarded
    async def count_down(self, fault_id: int) -> bool:
        """Taken atomically across processes."""
        script = self._link.script(redis_scripts.COUNT_DOWN)
        return int(await script(keys=[FAULTS, FAULT_TIMES], args=[fault_id])) >= 0

    @guarded
    async def remove(self, fault_id: int) -> bool:
        """Everywhere at once."""
        async with self._link.client().pipeline() as pipe:
            removed, _ = await pipe.hdel(FAULTS, str(fault_id)).hdel(
                FAULT_TIMES, str(fault_id)).execute()
        return bool(removed)

    @guarded
    async def clear(self) -> None:
        """Everywhere at once."""
        await self._link.client().delete(FAULTS, FAULT_TIMES)
