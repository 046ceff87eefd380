#!/usr/bin/env python3
"""The porter's harness on a Python port: where the time of `so.conformance` goes
(docs/performance.md).

The port is the reference port of `python/tests/ports` (the repository's torch reference run
case by case) with one bug planted (`--bug`, default `focal_ignored`: one failure group). Each
round runs `so.conformance(port, count=COUNT, seed=SEED)`: the edge mix and COUNT random
cases, then the failure group shrunk. Its time splits into

* the port: the Python callable's own time (timed around each call, inside its thread);
* the adapter: the rest of the harness's wait for the port's replies (the case to a config
  dict and numpy arrays, the hand-off to the port's thread and back, the answer read by the
  core's reader);
* the harness: everything else (the oracle's evaluations, the comparisons, grouping,
  attribution, shrinking's own work);

and in time into the cases (up to the end of the last case's port call) and what follows
(grouping, attribution and shrinking, its port calls included). For scale, the oracle alone:
`so.evaluate_case` on the same cases from Python, one after the other. The harness must find
the bug (the run fails and every group is shrunk), so that the figures are those of a run that
does its whole job.

Usage (from the repository root, with the package and torch installed):

    python3 bench/harness.py [--bug focal_ignored] [--count 100] [--seed 0] [--rounds 5] [--json]

Figures are medians over the rounds (the spread: min to max), in seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence, Tuple

import soft_objectness as so

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
from ports import BUGS, reference_port  # noqa: E402  (the planted-bug ports: python/tests)


def parse() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bug", default="focal_ignored", choices=sorted(BUGS))
    ap.add_argument("--count", type=int, default=100, help="random cases")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    return ap.parse_args()


class Timed:
    """A port that keeps the start and end of each of its calls."""

    def __init__(self, port: Callable[..., Any]) -> None:
        self.port = port
        self.calls: List[Tuple[float, float]] = []

    def __call__(self, config: Any, targets: Any, predictions: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return self.port(config, targets, predictions)
        finally:
            self.calls.append((t0, time.perf_counter()))

    def seconds(self, calls: Sequence[Tuple[float, float]]) -> float:
        return sum(b - a for a, b in calls)


def one_round(args: argparse.Namespace) -> Dict[str, float]:
    """The figures of one round (seconds, and the port calls)."""
    port = Timed(reference_port(args.bug))
    t0 = time.perf_counter()
    c = so.conformance(port, count=args.count, seed=args.seed)
    t1 = time.perf_counter()
    if c.ok or len(c.minimal) != len(c.groups) or not c.minimal:
        sys.exit(f"the harness did not find and shrink {args.bug}:\n{c}")
    n = len(c.cases)
    own = port.seconds(port.calls)
    cases_end = port.calls[n - 1][1]
    return {
        "total": t1 - t0,
        "port": own,
        "adapter": c.port_seconds - own,
        "harness": c.seconds - c.port_seconds,
        "cases": cases_end - t0,
        "cases_port": port.seconds(port.calls[:n]),
        "after": t1 - cases_end,
        "after_port": port.seconds(port.calls[n:]),
        "n_cases": n,
        "groups": len(c.groups),
        "port_calls": c.port_calls,
        "shrink_calls": len(port.calls) - n,
    }


def oracle_alone(args: argparse.Namespace) -> float:
    """Seconds of `so.evaluate_case` over the run's cases, one after the other."""
    cases = so.gen_cases(edge=True) + so.gen_cases(args.count, seed=args.seed)
    t0 = time.perf_counter()
    for case in cases:
        so.evaluate_case(case)
    return time.perf_counter() - t0


def main() -> None:
    args = parse()
    rounds: List[Dict[str, float]] = []
    oracle: List[float] = []
    for _ in range(args.rounds):
        rounds.append(one_round(args))
        oracle.append(oracle_alone(args))
    first = rounds[0]
    print(f"so.conformance(reference_port({args.bug!r}), count={args.count}, seed={args.seed}): "
          f"{first['n_cases']} cases, {first['groups']} failure group(s), "
          f"{first['port_calls']} port calls ({first['shrink_calls']} shrinking); "
          f"{args.rounds} rounds, median (min to max), s")
    figures: Dict[str, Any] = {}
    med_total = statistics.median(r["total"] for r in rounds)
    for key, what in [("total", "total"), ("port", "the port (its own time)"),
                      ("adapter", "the adapter (to and from Python)"),
                      ("harness", "the harness (oracle, comparison, attribution, shrinking)"),
                      ("cases", "the cases"), ("cases_port", "  of which the port"),
                      ("after", "grouping, attribution, shrinking"),
                      ("after_port", "  of which the port")]:
        xs = [r[key] for r in rounds]
        med = statistics.median(xs)
        figures[key] = {"median_s": med, "min_s": min(xs), "max_s": max(xs),
                        "share": med / med_total}
        print(f"  {what:58s} {med:7.3f} ({min(xs):.3f} to {max(xs):.3f})  "
              f"{100 * med / med_total:5.1f}%")
    med = statistics.median(oracle)
    figures["oracle_alone"] = {"median_s": med, "min_s": min(oracle), "max_s": max(oracle)}
    print(f"  {'for scale: so.evaluate_case over the same cases':58s} {med:7.3f} "
          f"({min(oracle):.3f} to {max(oracle):.3f})")
    if args.json:
        print(json.dumps({"bug": args.bug, "count": args.count, "seed": args.seed,
                          "rounds": args.rounds, "figures": figures}, indent=1))


if __name__ == "__main__":
    main()
