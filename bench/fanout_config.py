"""The fan-out benchmark's configuration: its options, its cases and the fixed facts it uses
(the mock's default fixture tokens, the notification it delivers, the target of issue #11)."""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import command

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
API = "/api/v2"
WATCH_PATH = API + "/notifications/inbox/watch"
OWNER_TOKEN = "AdminToken-adminSecretValue000000"
MEMBER_TOKEN = "MemberTokn-memberSecretValue00000"
WORKSPACE_DELETED = "f517da0b-cdc9-410f-ab89-a86107c420ed"
TARGET_P99_MS = 100.0  # issue #11: 1,000 watchers on one worker, on a 2-core machine
CASES = ("memory", "redis")


@dataclass
class Case:
    """One configuration of the mock: its name in --cases and the JSON, and how it starts."""

    name: str
    label: str
    workers: int
    argv_extra: list[str]


def build_parser(description: str | None) -> argparse.ArgumentParser:
    """Options; with the defaults both cases take about a minute."""
    parser = argparse.ArgumentParser(prog="python -m bench.fanout", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watchers", type=int, default=1000,
                        help="idle watch sockets per case (default 1000)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="recorded notifications per case, after one unrecorded warm-up "
                             "round (default 5)")
    parser.add_argument("--clients", type=int, default=2,
                        help="client processes the watchers are split across (default 2)")
    parser.add_argument("--workers", type=int, default=2,
                        help="mock worker processes of the Redis case (default 2)")
    parser.add_argument("--cases", default=",".join(CASES),
                        help="comma-separated: memory (1 worker, in-memory state), redis "
                             "(--state redis:// with --workers); default both")
    parser.add_argument("--deflate", action=argparse.BooleanOptionalAction, default=True,
                        help="clients offer permessage-deflate as browsers do; the mock "
                             "declines it, as Coder does (default on)")
    parser.add_argument("--pause", type=float, default=0.5,
                        help="idle seconds between rounds (default 0.5)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds any one step may take: start-up, connecting, a round "
                             "(default 30)")
    parser.add_argument("--profile", action="store_true",
                        help="sample every mock process with py-spy (pip install py-spy) during "
                             "the recorded rounds: bench/results/fanout-CASE-PID.txt, collapsed "
                             "stacks, and the heaviest functions in the output")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json",
                        help="JSON report to add the `fanout` figures to, keeping the rest "
                             "(default bench/results/latest.json)")
    return parser


def parse_args(argv: Sequence[str] | None, description: str | None = None) -> argparse.Namespace:
    """Options, checked, and signals set to unwind (so `finally` stops every process)."""
    parser = build_parser(description)
    args = parser.parse_args(argv)
    args.case_names = [c.strip() for c in args.cases.split(",") if c.strip()]
    if not args.case_names or set(args.case_names) - set(CASES):
        parser.error(f"--cases takes a comma-separated subset of {', '.join(CASES)}")
    if min(args.watchers, args.rounds, args.clients, args.workers) < 1:
        parser.error("--watchers, --rounds, --clients and --workers must be >= 1")
    if args.clients > args.watchers:
        parser.error("--clients must not exceed --watchers")
    if args.profile and shutil.which("py-spy") is None and not venv_py_spy().exists():
        parser.error("--profile needs py-spy: pip install py-spy")
    if args.timeout <= 0 or args.pause < 0:
        parser.error("--timeout must be > 0 and --pause >= 0")
    command.unwind_on_signals()
    return args


def venv_py_spy() -> Path:
    """py-spy beside this interpreter (pip install py-spy puts it there)."""
    return Path(sys.executable).with_name("py-spy")


def cases(args: argparse.Namespace) -> list[Case]:
    """The configurations asked for."""
    found = []
    for name in args.case_names:
        if name == "memory":
            found.append(Case("memory", "1 worker, memory", 1, []))
        else:
            found.append(Case("redis", f"{args.workers} workers, Redis", args.workers,
                              ["--workers", str(args.workers)]))
    return found
