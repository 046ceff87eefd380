#!/usr/bin/env python3
"""The Python API against the Rust side and against the file round trip (issue 13).

On the standard workload (batch 16, 640x640, 80 classes, float32 predictions, YOLOv5s anchors;
8 and 32 boxes per image, built by the same `default_batch::build` as `softobj bench`):

* `soft_objectness.evaluate` in-process vs `softobj bench`'s `evaluate` stage;
* `soft_objectness.build_targets` vs `softobj bench`'s `soft-vec` stage (the vectorised soft
  builder, fresh buffers), with the configuration as a dict (read on every call) and as a
  `soft_objectness.Config` read once (what a training loop passes);
* the file round trip a porter uses without the package: write the case (`write_case`, the
  predictions as `.npy`), run `softobj eval CASE --out DIR`, read the answer back
  (`load_answer`).

Usage (from the repository root, with the package installed and `cargo build --release`):

    python3 bench/python_api.py [--reps 21] [--softobj target/release/softobj] [--json]

Each in-process timing is the median (and minimum) of `--reps` runs after 3 untimed ones (20
times as many for the builder, a tenth of a millisecond); the round trip of `max(3, reps // 4)`
runs. Prints a table and the ratios of medians and of minima (the minima are steadier on a
busy machine).
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

ROOT = Path(__file__).resolve().parents[1]


def timed(f, reps: int, warm: int = 3):
    """Median and minimum seconds of `f()` over `reps` runs, after `warm` untimed runs; the
    result of each run is dropped after the clock stops (as `softobj bench` does)."""
    for _ in range(warm):
        f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        r = f()
        times.append(time.perf_counter() - t0)
        del r
    return statistics.median(times), min(times)


def rust_stage(softobj: str, boxes: int, reps: int, stage: str):
    """Median and minimum seconds of one stage of `softobj bench`."""
    out = subprocess.run(
        [softobj, "bench", "--boxes", str(boxes), "--reps", str(reps), "--json", "--only", stage],
        check=True, capture_output=True, text=True,
    ).stdout
    s = json.loads(out)["stages"][0]
    return s["median_s"], s["min_s"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=21)
    ap.add_argument("--softobj", default=os.environ.get("SOFTOBJ", str(ROOT / "target/release/softobj")))
    ap.add_argument("--boxes", default="8,32", help="boxes per image, comma separated")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = ap.parse_args()

    results = []
    for boxes in [int(b) for b in args.boxes.split(",")]:
        case = so.default_batch(boxes)
        config = case["config"]
        t = case["inputs"]["targets"]
        p = case["inputs"]["predictions"]
        shapes = [a.shape for a in p]
        # The builder takes a tenth of a millisecond: 20 times the repetitions.
        py_eval = timed(lambda: so.evaluate(config, t, p), args.reps)
        rust_eval = rust_stage(args.softobj, boxes, args.reps, "evaluate")
        py_targets = timed(lambda: so.build_targets(config, t, shapes), 20 * args.reps)
        prepared = so.Config(config)  # what a training loop passes: read once
        py_targets_cfg = timed(lambda: so.build_targets(prepared, t, shapes), 20 * args.reps)
        rust_targets = rust_stage(args.softobj, boxes, 20 * args.reps, "soft-vec")
        with tempfile.TemporaryDirectory() as d:
            case_path = Path(d) / "case.json"
            out = Path(d) / "answer"

            def round_trip():
                so.write_case(case_path, case, npy=True)
                subprocess.run([args.softobj, "eval", str(case_path), "--out", str(out)],
                               check=True, capture_output=True)
                return so.load_answer(out)

            trip = timed(round_trip, max(3, args.reps // 4), warm=1)
        results.append({
            "boxes_per_image": boxes,
            "python_evaluate_s": py_eval,
            "rust_evaluate_s": rust_eval,
            "python_build_targets_s": py_targets,
            "python_build_targets_config_s": py_targets_cfg,
            "rust_soft_vec_s": rust_targets,
            "file_round_trip_s": trip,
        })

    if args.json:
        print(json.dumps({"reps": args.reps, "cpus": os.cpu_count(), "results": results}, indent=2))
        return 0
    ms = lambda s: f"{s * 1e3:9.2f}"
    print(f"standard workload: batch 16, 640x640, 80 classes, float32; median (min) of {args.reps} "
          f"runs, ms; {os.cpu_count()} CPUs")
    print(f"{'boxes':>5}  {'stage':<44} {'median':>9} {'min':>9}")
    for r in results:
        b = r["boxes_per_image"]
        for key, label in (
            ("python_evaluate_s", "soft_objectness.evaluate (in-process)"),
            ("rust_evaluate_s", "softobj bench: evaluate"),
            ("python_build_targets_s", "soft_objectness.build_targets (dict)"),
            ("python_build_targets_config_s", "soft_objectness.build_targets (Config)"),
            ("rust_soft_vec_s", "softobj bench: soft_vec (vectorised builder)"),
            ("file_round_trip_s", "write case + softobj eval --out DIR + load"),
        ):
            med, mn = r[key]
            print(f"{b:>5}  {label:<44} {ms(med)} {ms(mn)}")
    print()
    print(f"{'boxes':>5}  {'ratio':<44} {'medians':>9} {'minima':>9}  target")
    for r in results:
        b = r["boxes_per_image"]
        ratio = lambda a, c: (r[a][0] / r[c][0], r[a][1] / r[c][1])
        for label, (a, c), target in (
            ("evaluate: Python / Rust", ("python_evaluate_s", "rust_evaluate_s"), "<= 1.3"),
            ("build_targets (dict): Python / Rust builder", ("python_build_targets_s", "rust_soft_vec_s"), "-"),
            ("build_targets (Config): Python / Rust", ("python_build_targets_config_s", "rust_soft_vec_s"), "<= 1.5"),
            ("file round trip / Python evaluate", ("file_round_trip_s", "python_evaluate_s"), ">= 100"),
        ):
            med, mn = ratio(a, c)
            print(f"{b:>5}  {label:<44} {med:9.2f} {mn:9.2f}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
