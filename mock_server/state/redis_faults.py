"""Faults in Redis (`--state redis://`): every process applies the same faults, and a limited
fault counts down once across all of them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace

import redis

from mock_server.faults import Fault
from mock_server.state.keys import FAULT_IDS, FAULT_TIMES, FAULTS, FAULTS_SEEDED

# Count one firing of a limited fault: calls left after it, or -1 when another process used it up.
_COUNT_DOWN = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -1 end
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[2], ARGV[1]) end
return left
"""


def _fault(raw: str) -> Fault:
    data = json.loads(raw)
    return replace(Fault.from_json(data), id=data["id"])


class RedisFaults:
    """FaultStorage in Redis: a limited fault counts down once across every process."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client
        self._count_down = client.register_script(_COUNT_DOWN)

    def add(self, fault: Fault) -> Fault:
        """Ids come from one shared counter."""
        fault = replace(fault, id=int(self._redis.incr(FAULT_IDS)))
        with self._redis.pipeline() as pipe:
            self._queue(pipe, fault)
            pipe.execute()
        return fault

    def add_once(self, faults: Sequence[Fault]) -> None:
        """Once per shared state, not once per worker or replica."""

        def add_all(pipe: redis.client.Pipeline) -> None:
            if pipe.exists(FAULTS_SEEDED):
                return
            first = int(pipe.incrby(FAULT_IDS, len(faults))) - len(faults) + 1 if faults else 0
            pipe.multi()
            for offset, fault in enumerate(faults):
                self._queue(pipe, replace(fault, id=first + offset))
            pipe.set(FAULTS_SEEDED, 1)

        self._redis.transaction(add_all, FAULTS_SEEDED)

    @staticmethod
    def _queue(pipe: redis.client.Pipeline, fault: Fault) -> None:
        pipe.hset(FAULTS, str(fault.id), json.dumps(fault.to_json()))
        if fault.times is not None:
            pipe.hset(FAULT_TIMES, str(fault.id), fault.times)

    def all(self) -> list[Fault]:
        """Oldest first, with the calls each has left now."""
        with self._redis.pipeline() as pipe:
            stored, left = pipe.hvals(FAULTS).hgetall(FAULT_TIMES).execute()
        faults = sorted(map(_fault, stored), key=lambda fault: fault.id)
        return [replace(f, times=int(left.get(str(f.id), f.times))) if f.times is not None else f
                for f in faults]

    def has_any(self) -> bool:
        """One cheap round trip."""
        return bool(self._redis.hlen(FAULTS))

    def count_down(self, fault_id: int) -> bool:
        """Taken atomically across processes."""
        return int(self._count_down(keys=[FAULTS, FAULT_TIMES], args=[fault_id])) >= 0

    def remove(self, fault_id: int) -> bool:
        """Everywhere at once."""
        with self._redis.pipeline() as pipe:
            removed, _ = pipe.hdel(FAULTS, str(fault_id)).hdel(FAULT_TIMES, str(fault_id)).execute()
        return bool(removed)

    def clear(self) -> None:
        """Everywhere at once."""
        self._redis.delete(FAULTS, FAULT_TIMES)
