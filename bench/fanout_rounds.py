"""One round of a fan-out case: arm the clients, deliver one notification, collect when each
watcher had it; the round's figures (p50/p99/max, the mock's CPU time, the clients' load)."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from websockets.sync.client import connect as sync_connect

from bench import servers
from bench.fanout_client import Client
from bench.fanout_config import MEMBER_TOKEN, WATCH_PATH, WORKSPACE_DELETED, Case
from bench.servers import HOST, Server


def deliver(mock: Server, label: str) -> dict[str, Any]:
    """POST /__mock/notifications: one Workspace Deleted notification to the member."""
    body = json.dumps({"template_id": WORKSPACE_DELETED, "user": "member",
                       "labels": {"name": label, "reason": "autodeleted due to dormancy",
                                  "initiator": "autobuild"}})
    status, answer = servers.fetch(mock.port, "POST", "/__mock/notifications", {}, body,
                                   timeout=30)
    if status != 201:
        raise RuntimeError(f"POST /__mock/notifications answered {status}: {answer[:500]!r}")
    receipt = json.loads(answer)
    if receipt["duplicate"] or receipt["held"]:
        raise RuntimeError(f"the notification was not delivered: {receipt!r}")
    return next(m for m in receipt["messages"] if m["method"] == "inbox")


def warm_up(mock: Server, run_id: str, timeout: float, deflate: bool) -> None:
    """One watcher and one delivery, so every code path is loaded before memory is read."""
    url = f"ws://{HOST}:{mock.port}{WATCH_PATH}"
    with sync_connect(url, additional_headers={"Coder-Session-Token": MEMBER_TOKEN},
                      compression="deflate" if deflate else None, open_timeout=timeout,
                      close_timeout=5, proxy=None) as watcher:
        sent = deliver(mock, f"fanout-{run_id}-warm-up")
        got = json.loads(watcher.recv(timeout=timeout))
        if got["notification"]["id"] != sent["id"]:
            raise RuntimeError(f"the warm-up watcher got {got!r}, not {sent['id']}")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest value with at least `fraction` of them at or
    below it (p99 of 1,000 is the 990th)."""
    return sorted_values[max(0, math.ceil(fraction * len(sorted_values)) - 1)]


@dataclass
class Tally:
    """What the clients saw of one notification, summed over them."""

    latencies: list[float] = field(default_factory=list)  # ms, one per watcher that had it
    missing: int = 0
    wrong: int = 0
    busy: list[float | None] = field(default_factory=list)  # each client's CPU share
    unread: set[int] = field(default_factory=set)

    def add(self, armed: dict[str, Any], got: dict[str, Any], sent_id: str,
            sent_at: float) -> None:
        """One client's `collected` answer (and its `armed` one, for its CPU time)."""
        arrivals = [a for a in got["arrivals"] if a is not None]
        self.missing += len(got["arrivals"]) - len(arrivals)
        self.wrong += sum(n for key, n in got["ids"].items() if key != sent_id)
        self.latencies.extend((a - sent_at) * 1000 for a in arrivals)
        self.unread.update(got["unread_counts"])
        if arrivals and got["cpu_at_last_s"] is not None:
            window = max(arrivals) - sent_at
            self.busy.append((got["cpu_at_last_s"] - armed["cpu_s"]) / window
                             if window > 0 else None)


def one_round(mock: Server, clients: list[Client], number: int, run_id: str,
              timeout: float) -> dict[str, Any]:
    """Arm the clients, deliver, collect every watcher's arrival; the round's figures."""
    for client in clients:
        client.send(cmd="arm", round=number)
    armed = [client.answer("armed", timeout) for client in clients]
    assert mock.proc is not None
    cpu_before = servers.cpu_ns(mock.proc.pid)
    sent_at = time.monotonic()
    sent = deliver(mock, f"fanout-{run_id}-{number}")
    answered_at = time.monotonic()
    for client in clients:
        client.send(cmd="collect", round=number, timeout=timeout)
    collected = [client.answer("collected", timeout + 10) for client in clients]
    cpu_after = servers.cpu_ns(mock.proc.pid)
    tally = Tally()
    for arm, got in zip(armed, collected, strict=True):
        tally.add(arm, got, sent["id"], sent_at)
    latencies = sorted(tally.latencies)
    if not latencies:
        raise RuntimeError(f"round {number}: no watcher received notification {sent['id']}")
    return {"round": number, "notification_id": sent["id"], "received": len(latencies),
            "missing": tally.missing, "wrong_notification": tally.wrong,
            "p50_ms": percentile(latencies, 0.50), "p99_ms": percentile(latencies, 0.99),
            "max_ms": latencies[-1], "min_ms": latencies[0],
            "post_answered_ms": (answered_at - sent_at) * 1000,
            "mock_cpu_ms": (cpu_after - cpu_before) / 1e6,
            "client_busy": [None if b is None else round(b, 3) for b in tally.busy],
            "unread_counts": sorted(tally.unread)}


def report_round(case: Case, tag: str, figures: dict[str, Any]) -> None:
    """One progress line per round."""
    print(f"  {case.label}: {tag:<11} p50 {figures['p50_ms']:7.1f}ms  "
          f"p99 {figures['p99_ms']:7.1f}ms  max {figures['max_ms']:7.1f}ms  "
          f"POST {figures['post_answered_ms']:6.1f}ms  mock CPU "
          f"{figures['mock_cpu_ms']:6.1f}ms  client busy {figures['client_busy']}"
          + (f"  MISSING {figures['missing']}" if figures["missing"] else "")
          + (f"  WRONG {figures['wrong_notification']}"
             if figures["wrong_notification"] else ""), flush=True)
