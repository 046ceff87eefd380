#!/usr/bin/env python3
"""The Python API against the Rust side and against the file round trip (docs/performance.md).

On the default batch (batch 16, 640x640, 80 classes, float32 predictions, YOLOv5s anchors;
8 and 32 boxes per image, built by the same `DefaultBatch::build` as `softobj bench`):

* `soft_objectness.evaluate` in-process vs `softobj bench`'s `evaluate` stage;
* `soft_objectness.build_targets` (the configuration as a `soft_objectness.Config` read once,
  what a training loop passes, and as a dict read on every call) vs the Rust builder: the
  library's `build_targets` timed in this process with no Python around it (the package's
  `_core._testing.time_build_targets`), called from this thread as a Rust program's main thread calls
  it (outside rayon's pool, handing the work to the pool and waiting: what every Python call
  does too) and from a worker of the pool (as `softobj bench` times its stages); and
  `softobj bench`'s `soft-vec` stage itself (a separate process);
* the file round trip a porter uses without the package: write the case (`write_case`, the
  predictions as `.npy`), run `softobj eval CASE --out DIR`, read the answer back
  (`load_answer`).

The machine this runs on changes speed from minute to minute, so every comparison is made in
`--rounds` rounds, each timing both sides back to back: `evaluate` then the `softobj bench`
stage; the Python builds and the in-process Rust builds from this thread taken in turn, ten
calls at a time (so that they also share the cadence of calls, see `interleaved`), then the
builds on a pool worker and the `softobj bench` stage. A ratio is reported over all runs
(medians, minima) and as the spread of the rounds' ratios.

Usage (from the repository root, with the package installed and `cargo build --release`):

    python3 bench/python_api.py [--reps 21] [--rounds 5] [--softobj target/release/softobj] [--json]

Per round: `--reps` runs of `evaluate` and of the `softobj bench` stage (after 3 untimed
ones); 20 times as many of each builder (a tenth of a millisecond); the round trip
`max(3, reps // 4)` times in all.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soft_objectness as so
from soft_objectness import _core

ROOT = Path(__file__).resolve().parents[1]


def timed(f, reps: int, warm: int = 3) -> list[float]:
    """Seconds of each of `reps` runs of `f()` (see `clock`), after `warm` untimed runs."""
    for _ in range(warm):
        f()
    run = clock(f)
    return [run() for _ in range(reps)]


def rust_stage(softobj: str, boxes: int, reps: int, stage: str) -> tuple[float, float]:
    """Median and minimum seconds of one stage of `softobj bench`."""
    out = subprocess.run(
        [softobj, "bench", "--boxes", str(boxes), "--reps", str(reps), "--json", "--only", stage],
        check=True, capture_output=True, text=True,
    ).stdout
    s = json.loads(out)["stages"][0]
    return s["median_s"], s["min_s"]


def interleaved(runs: dict, reps: int, block: int = 10) -> dict:
    """Seconds of `reps` runs of each of `runs` (name -> a function that runs once and returns
    the seconds it measured), taken in turn in blocks of `block` runs, so that every one sees
    the machine of the same moments and calls at the same cadence (rayon's workers sleep after
    a while without work, and waking them is most of what a caller outside the pool pays).
    Three untimed runs of each first."""
    for f in runs.values():
        for _ in range(3):
            f()
    times = {name: [] for name in runs}
    for _ in range(max(1, reps // block)):
        for name, f in runs.items():
            times[name] += [f() for _ in range(block)]
    return times


def clock(f, pause: float = 0.0):
    """`f` as a run that returns the seconds it took (its result dropped after the clock),
    after sleeping `pause` seconds untimed."""
    def run() -> float:
        if pause:
            time.sleep(pause)
        t0 = time.perf_counter()
        r = f()
        d = time.perf_counter() - t0
        del r
        return d
    return run


PAUSE = 0.001  # seconds between calls at a training loop's cadence


def rust_after(pause: float, config, targets, shapes) -> float:
    """Seconds of one run of the Rust builder from this thread (the core call alone, timed in
    Rust) after sleeping `pause` seconds."""
    time.sleep(pause)
    return _core._testing.time_build_targets(config, targets, shapes, 1, False)[0]


class Series:
    """The runs of one measurement, kept per round."""

    def __init__(self) -> None:
        self.rounds: list[tuple[float, float]] = []  # (median, min) of each round

    def add(self, times: list[float]) -> None:
        self.rounds.append((statistics.median(times), min(times)))

    def add_summary(self, median: float, minimum: float) -> None:
        self.rounds.append((median, minimum))

    def median(self) -> float:
        """Median over the rounds of each round's median."""
        return statistics.median(m for m, _ in self.rounds)

    def min(self) -> float:
        return min(m for _, m in self.rounds)

    def ratio(self, other: "Series") -> dict:
        """This over `other`: of the medians, of the minima, and the spread of the rounds'
        ratios of medians (both sides of a ratio measured in the same round)."""
        per_round = [a[0] / b[0] for a, b in zip(self.rounds, other.rounds)]
        return {
            "medians": self.median() / other.median(),
            "minima": self.min() / other.min(),
            "rounds_low": min(per_round),
            "rounds_high": max(per_round),
        }


def measure(args, boxes: int) -> dict:
    case = so.default_batch(boxes)
    config = case["config"]
    prepared = so.Config(config)  # what a training loop passes: read once
    t = case["inputs"]["targets"]
    p = case["inputs"]["predictions"]
    shapes = [a.shape for a in p]
    n = 20 * args.reps  # the builder takes a tenth of a millisecond
    s = {k: Series() for k in (
        "python_evaluate", "rust_evaluate", "python_build_targets_config",
        "python_build_targets_dict", "rust_build_targets_caller", "python_build_targets_paced",
        "rust_build_targets_paced", "rust_build_targets_pool",
        "rust_soft_vec_stage")}
    for _ in range(args.rounds):
        s["python_evaluate"].add(timed(lambda: so.evaluate(config, t, p), args.reps))
        s["rust_evaluate"].add_summary(*rust_stage(args.softobj, boxes, args.reps, "evaluate"))
        builds = interleaved({
            "python_build_targets_config": clock(lambda: so.build_targets(prepared, t, shapes)),
            "python_build_targets_dict": clock(lambda: so.build_targets(config, t, shapes)),
            # The core call alone, timed in Rust, from this thread (outside the pool).
            "rust_build_targets_caller":
                lambda: _core._testing.time_build_targets(prepared, t, shapes, 1, False)[0],
        }, n)
        # At a training loop's cadence: every call after a pause of PAUSE (rayon's workers
        # asleep, as they are after a model's forward pass), both sides alike.
        builds |= interleaved({
            "python_build_targets_paced":
                clock(lambda: so.build_targets(prepared, t, shapes), PAUSE),
            "rust_build_targets_paced":
                lambda: rust_after(PAUSE, prepared, t, shapes),
        }, n // 4)
        for name, times in builds.items():
            s[name].add(times)
        s["rust_build_targets_pool"].add(_core._testing.time_build_targets(prepared, t, shapes, n, True))
        s["rust_soft_vec_stage"].add_summary(*rust_stage(args.softobj, boxes, n, "soft-vec"))
    with tempfile.TemporaryDirectory() as d:
        case_path = Path(d) / "case.json"
        out = Path(d) / "answer"

        def round_trip():
            so.write_case(case_path, case, npy=True, force=True)
            subprocess.run([args.softobj, "eval", str(case_path), "--out", str(out)],
                           check=True, capture_output=True)
            return so.load_answer(out)

        trip = Series()
        trip.add(timed(round_trip, max(3, args.reps // 4), warm=1))
    python_eval_all = Series()
    python_eval_all.add_summary(s["python_evaluate"].median(), s["python_evaluate"].min())
    return {
        "boxes_per_image": boxes,
        "seconds": {k: {"median": v.median(), "min": v.min()} for k, v in s.items()}
        | {"file_round_trip": {"median": trip.median(), "min": trip.min()}},
        "ratios": {
            "evaluate_python_over_softobj_bench": s["python_evaluate"].ratio(s["rust_evaluate"]),
            "build_targets_config_over_rust_caller":
                s["python_build_targets_config"].ratio(s["rust_build_targets_caller"]),
            "build_targets_paced_over_rust_paced":
                s["python_build_targets_paced"].ratio(s["rust_build_targets_paced"]),
            "build_targets_dict_over_rust_caller":
                s["python_build_targets_dict"].ratio(s["rust_build_targets_caller"]),
            "build_targets_config_over_rust_pool":
                s["python_build_targets_config"].ratio(s["rust_build_targets_pool"]),
            "build_targets_config_over_softobj_bench":
                s["python_build_targets_config"].ratio(s["rust_soft_vec_stage"]),
            "round_trip_over_python_evaluate": trip.ratio(python_eval_all),
        },
    }


LABELS = {
    "python_evaluate": "soft_objectness.evaluate (in-process)",
    "rust_evaluate": "softobj bench: evaluate",
    "python_build_targets_config": "soft_objectness.build_targets (Config)",
    "python_build_targets_dict": "soft_objectness.build_targets (dict)",
    "rust_build_targets_caller": "Rust build_targets, caller outside the pool",
    "python_build_targets_paced": "soft_objectness.build_targets (Config), 1 ms apart",
    "rust_build_targets_paced": "Rust build_targets, caller, 1 ms apart",
    "rust_build_targets_pool": "Rust build_targets, on a pool worker",
    "rust_soft_vec_stage": "softobj bench: soft-vec",
    "file_round_trip": "write case + softobj eval --out DIR + load",
}

RATIOS = {
    "evaluate_python_over_softobj_bench": ("evaluate: Python / softobj bench", "<= 1.3"),
    "build_targets_config_over_rust_caller": ("build_targets (Config) / Rust, caller", "<= 1.5"),
    "build_targets_paced_over_rust_paced": ("build_targets (Config) / Rust, 1 ms apart", "<= 1.5"),
    "build_targets_dict_over_rust_caller": ("build_targets (dict) / Rust, caller", "-"),
    "build_targets_config_over_rust_pool": ("build_targets (Config) / Rust, pool worker", "-"),
    "build_targets_config_over_softobj_bench": ("build_targets (Config) / softobj bench", "-"),
    "round_trip_over_python_evaluate": ("file round trip / Python evaluate", ">= 100"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--softobj", default=os.environ.get("SOFTOBJ", str(ROOT / "target/release/softobj")))
    ap.add_argument("--boxes", default="8,32", help="boxes per image, comma separated")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args()

    results = [measure(args, int(b)) for b in args.boxes.split(",")]
    if args.json:
        print(json.dumps({"reps": args.reps, "rounds": args.rounds, "cpus": os.cpu_count(),
                          "results": results}, indent=2))
        return 0
    print(f"default batch: batch 16, 640x640, 80 classes, float32; {args.rounds} rounds; "
          f"median over the rounds of each round's median (minimum of all runs), ms; "
          f"{os.cpu_count()} CPUs")
    print(f"{'boxes':>5}  {'stage':<46} {'median':>9} {'min':>9}")
    for r in results:
        for key, label in LABELS.items():
            v = r["seconds"][key]
            print(f"{r['boxes_per_image']:>5}  {label:<46} {v['median'] * 1e3:9.3f} {v['min'] * 1e3:9.3f}")
    print()
    print(f"{'boxes':>5}  {'ratio':<46} {'medians':>8} {'minima':>8} {'rounds':>13}  target")
    for r in results:
        for key, (label, target) in RATIOS.items():
            q = r["ratios"][key]
            spread = f"{q['rounds_low']:.2f}-{q['rounds_high']:.2f}"
            print(f"{r['boxes_per_image']:>5}  {label:<46} {q['medians']:8.2f} {q['minima']:8.2f} "
                  f"{spread:>13}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
