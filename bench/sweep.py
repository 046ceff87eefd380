#!/usr/bin/env python3
"""Scaling sweep of the Rust side (docs/performance.md): time against boxes and against cells.

    python3 bench/sweep.py [--reps 31] [--out docs/performance]   # any Python 3 for the data
    .venv-torch/bin/python bench/sweep.py --plot-only             # matplotlib draws the figure

Batch 16, 80 classes, YOLOv5s anchors, float32 predictions, seeded COCO-like boxes
(`softobj bench`). Two sweeps: boxes per image 1..128 at 640x640, and the image size 160..1280
(the cells of every layer grow with its square) at 8 boxes per image. Each point is the minimum
of REPS runs in each of 3 processes (medians are kept in the JSON) of: the dense soft targets (vectorised builder), the loss forward + sparse gradient
(targets given) and a whole evaluation (validation, targets, loss, gradient), each with its
buffers reused from a `Workspace` (steady state: fresh buffers add page faults whose number
depends on the allocator's history, which only blurs the curves). It writes
OUT/scaling.json and, when matplotlib is importable, the log-log figure OUT/scaling.png with a
least-squares fit `t = a + b x` per curve (linear cost: `b` carries the growth).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
STAGES = {"soft-vec-ws": "dense soft targets", "forward-grad-ws": "loss forward + gradient",
          "evaluate-ws": "evaluate (all)"}
BOXES = [1, 2, 4, 8, 16, 32, 64, 128]
SIZES = [160, 320, 480, 640, 960, 1280]


def cells(size, batch=16, na=3):
    return batch * na * sum((size // s) ** 2 for s in (8, 16, 32))


def run(binary, reps, boxes, size, processes=3, pin=True):
    """Minimum over `processes` runs of `softobj bench` of each stage's minimum.

    A 0.1 ms stage on two threads is at the mercy of the machine: in some processes a
    two-thread run takes the one-thread time (docs/performance.md, "Threads"). The workers are
    pinned one per CPU (``--pin``, Linux) unless ``pin`` is false, and several processes and the
    minimum see through the rest.
    """
    best = {}
    for _ in range(processes):
        out = subprocess.run([binary, "bench", "--boxes", str(boxes), "--size", str(size), "--json", "--reps",
                              str(reps), "--only", "soft-vec-ws,forward-grad-ws,evaluate-ws",
                              *(["--pin"] if pin else [])],
                             check=True, capture_output=True, text=True).stdout
        v = json.loads(out)
        for s in v["stages"]:
            for key, val in ((s["stage"], s["min_s"]), (s["stage"] + "_median", s["median_s"])):
                best[key] = min(best.get(key, val), val)
        best["targets"] = v["targets"]
    return best


def fit(xs, ys):
    """Least squares t = a + b x."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    return my - b * mx, b


def plot(data, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.6))
    for ax, key, xlabel in ((axes[0], "boxes", "boxes in the batch (16 images, 640x640)"),
                            (axes[1], "sizes", "grid cells, all layers (16 images, 8 boxes each)")):
        pts = data[key]
        xs = [p["x"] for p in pts]
        for stage, label in STAGES.items():
            ys = [p[stage] * 1e3 for p in pts]
            a, b = fit(xs, ys)
            slope = f"{b * 1e3:.3g} us/box" if key == "boxes" else f"{b * 1e6:.3g} us/1000 cells"
            line, = ax.loglog(xs, ys, "o-", label=f"{label}: {a:.3g} ms + {slope}")
            ax.loglog(xs, [max(a + b * x, 1e-3) for x in xs], ":", color=line.get_color(), lw=1)
        lo, hi = min(xs), max(xs)
        y0 = min(p["soft-vec-ws"] for p in pts) * 1e3
        ax.loglog([lo, hi], [y0, y0 * hi / lo], "k--", lw=0.8, label="slope 1 (linear)")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("time (ms, minimum of the runs), 2 threads")
        ax.grid(True, which="both", lw=0.3)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)
    axes[0].set_title("cost against boxes")
    axes[1].set_title("cost against cells (image 160 to 1280 px)")
    fig.suptitle("softobj scaling (dotted: least-squares fit t = a + b x)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=31)
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "performance"))
    ap.add_argument("--softobj", default=None, help="the softobj binary (default: cargo build --release)")
    ap.add_argument("--plot-only", action="store_true", help="redraw the figure from OUT/scaling.json")
    ap.add_argument("--no-pin", action="store_true", help="do not pin softobj's workers (softobj bench --pin)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "scaling.json")
    if not args.plot_only:
        binary = args.softobj
        if binary is None:
            subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "softobj"], cwd=ROOT, check=True)
            binary = os.path.join(ROOT, "target", "release", "softobj")
        data = {"boxes": [], "sizes": [], "load_average": os.getloadavg()[0]}
        for n in BOXES:
            r = run(binary, args.reps, n, 640, pin=not args.no_pin)
            data["boxes"].append({"x": r["targets"], "boxes_per_image": n, **r})
            print(f"boxes {n:>4}/image: " + "  ".join(f"{k} {r[k] * 1e3:8.3f} ms" for k in STAGES), flush=True)
        for s in SIZES:
            r = run(binary, args.reps, 8, s, pin=not args.no_pin)
            data["sizes"].append({"x": cells(s), "size": s, **r})
            print(f"size {s:>5} px ({cells(s):>8} cells): " + "  ".join(f"{k} {r[k] * 1e3:8.3f} ms" for k in STAGES),
                  flush=True)
        json.dump(data, open(path, "w"), indent=1)
        print(f"wrote {path}")
    data = json.load(open(path))
    for key in ("boxes", "sizes"):
        xs = [p["x"] for p in data[key]]
        for stage in STAGES:
            a, b = fit(xs, [p[stage] for p in data[key]])
            print(f"fit {key:<5} {stage:<13} t = {a * 1e3:.4f} ms + {b * 1e6:.5f} us * x")
    try:
        plot(data, os.path.join(args.out, "scaling.png"))
    except ImportError:
        print("matplotlib not importable here: run again with --plot-only from .venv-torch", file=sys.stderr)


if __name__ == "__main__":
    main()
