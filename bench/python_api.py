#!/usr/bin/env python3
"""The Python API against the Rust side and against the file round trip (issue 13).

On the standard workload (batch 16, 640x640, 80 classes, float32 predictions, YOLOv5s anchors;
8 and 32 boxes per image, built by the same `default_batch::build` as `softobj bench`):

* `soft_objectness.evaluate` in-process vs `softobj bench`'s `evaluate` stage;
* `soft_objectness.build_targets` vs `softobj bench`'s `soft_vec` stage (the vectorised soft
  builder, fresh buffers);
* the file round trip a porter uses without the package: write the case (`write_case`, the
  predictions as `.npy`), run `softobj eval CASE --out-dir DIR`, read the answer back
  (`load_answer`).

Usage (from the repository root, with the package installed and `cargo build --release`):

    python3 bench/python_api.py [--reps 21] [--softobj target/release/softobj] [--json]

Each in-process timing is the median of `--reps` runs after 3 untimed ones; the round trip is
the median of `max(3, reps // 4)` runs. Prints a table and the ratios.
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


def rust_stages(softobj: str, boxes: int, reps: int) -> dict:
    out = subprocess.run(
        [softobj, "bench", "--boxes", str(boxes), "--reps", str(reps), "--json",
         "--only", "evaluate,soft-vec"],
        check=True, capture_output=True, text=True,
    ).stdout
    return {s["stage"]: (s["median_s"], s["min_s"]) for s in json.loads(out)["stages"]}


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
        py_eval = timed(lambda: so.evaluate(config, t, p), args.reps)
        py_targets = timed(lambda: so.build_targets(config, t, shapes), args.reps)
        rust = rust_stages(args.softobj, boxes, args.reps)
        with tempfile.TemporaryDirectory() as d:
            case_path = Path(d) / "case.json"
            out = Path(d) / "answer"

            def round_trip():
                so.write_case(case_path, case, npy=True)
                subprocess.run([args.softobj, "eval", str(case_path), "--out-dir", str(out)],
                               check=True, capture_output=True)
                return so.load_answer(out)

            trip = timed(round_trip, max(3, args.reps // 4), warm=1)
        results.append({
            "boxes_per_image": boxes,
            "python_evaluate_s": py_eval,
            "rust_evaluate_s": rust["evaluate"],
            "python_build_targets_s": py_targets,
            "rust_soft_vec_s": rust["soft_vec"],
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
            ("python_build_targets_s", "soft_objectness.build_targets"),
            ("rust_soft_vec_s", "softobj bench: soft_vec (vectorised builder)"),
            ("file_round_trip_s", "write case + softobj eval --out-dir + load"),
        ):
            med, mn = r[key]
            print(f"{b:>5}  {label:<44} {ms(med)} {ms(mn)}")
    print()
    print(f"{'boxes':>5}  {'ratio (medians)':<44} {'value':>9}  target")
    for r in results:
        b = r["boxes_per_image"]
        ev = r["python_evaluate_s"][0] / r["rust_evaluate_s"][0]
        bt = r["python_build_targets_s"][0] / r["rust_soft_vec_s"][0]
        rt = r["file_round_trip_s"][0] / r["python_evaluate_s"][0]
        print(f"{b:>5}  {'evaluate: Python / Rust':<44} {ev:9.2f}  <= 1.3")
        print(f"{b:>5}  {'build_targets: Python / Rust builder':<44} {bt:9.2f}  <= 1.5")
        print(f"{b:>5}  {'file round trip / Python evaluate':<44} {rt:9.1f}  >= 100")
    return 0


if __name__ == "__main__":
    sys.exit(main())
