#!/usr/bin/env python3
"""Training from PyTorch (docs/performance.md): forward + backward of ``soft_objectness.torch.ComputeLoss``
against YOLOv5 v7.0's own ``ComputeLoss``, same inputs, same process.

The default batch (``soft_objectness.default_batch``: batch 16, 640x640, 80 classes,
YOLOv5s anchors, seeded COCO-like boxes, 8 boxes per image by default), float32 predictions on
the CPU, THREADS threads (torch's and the oracle's rayon pool). Timed per call, from the
predictions as leaves to their ``.grad`` (``loss, items = compute_loss(p, targets);
loss.backward()``):

* ``yolov5``: YOLOv5 v7.0's ``ComputeLoss`` (the binary baseline) from the ``yolov5`` wheel
  (``tests/yolov5/yolov5_ref.py`` loads its ``utils/loss.py``; ``tests/yolov5/fetch-wheels.sh``
  downloads it), built from a stand-in model with the workload's hyp, anchors and strides;
* ``path1``: ``ComputeLoss(backend="cpu")``, the oracle's loss and analytic gradient;
* ``path2``: ``ComputeLoss(backend="torch")``, the Rust builder's targets and torch's loss.

Both paths run the soft method (the workload's configuration) and, for reference, the baseline
assigner (``--assigner`` picks). Each figure is the median (and minimum) of REPS calls after
untimed warm-up calls; the contenders take turns call by call, so a slow spell of a shared
machine falls on all of them alike. ``--device cuda`` times YOLOv5 and path 2 on a CUDA device
(synchronised around each call; path 1 is CPU only).

Usage (from the repository root, with the package and torch installed):

    .venv-torch/bin/python bench/torch_train.py [--reps 15] [--boxes 8] [--threads 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--warm", type=int, default=3)
    ap.add_argument("--boxes", type=int, default=8, help="boxes per image")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--assigner", choices=["soft", "yolov5", "both"], default="both",
                    help="the method of paths 1 and 2 (YOLOv5 is always its baseline)")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda for YOLOv5 and path 2 there")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    return ap.parse_args()


ARGS = parse()
os.environ.setdefault("RAYON_NUM_THREADS", str(ARGS.threads))   # before the pool starts

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

import soft_objectness as so  # noqa: E402
from soft_objectness.torch import ComputeLoss  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "yolov5"))
import yolov5_ref  # noqa: E402

STRIDES = (8.0, 16.0, 32.0)


class Detect(nn.Module):
    """What YOLOv5's ComputeLoss reads from its Detect layer (no weights are used)."""

    def __init__(self, nc, anchors):
        super().__init__()
        self.nc, self.nl, self.na = nc, anchors.shape[0], anchors.shape[1]
        self.register_buffer("anchors", anchors)
        self.register_buffer("stride", torch.tensor(STRIDES))
        self.weight = nn.Parameter(torch.zeros(1))      # YOLOv5 asks the model for its device


class Model(nn.Module):
    def __init__(self, hyp, detect):
        super().__init__()
        self.hyp = hyp
        self.model = nn.ModuleList([detect])


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step(compute_loss, leaves, targets, device):
    for p in leaves:
        p.grad = None
    sync(device)
    t0 = time.perf_counter()
    loss, items = compute_loss(leaves, targets)
    loss.backward()
    sync(device)
    return time.perf_counter() - t0, float(loss.detach())


def main():
    torch.set_num_threads(ARGS.threads)
    device = torch.device(ARGS.device)
    case = so.default_batch(ARGS.boxes)
    config = case["config"]
    anchors = torch.tensor(config["anchors"]["data"], dtype=torch.float32).view(config["anchors"]["shape"])
    preds = [torch.from_numpy(np.ascontiguousarray(p)) for p in case["inputs"]["predictions"]]
    assert all(p.dtype == torch.float32 for p in preds)
    targets64 = torch.from_numpy(case["inputs"]["targets"])

    wheel = yolov5_ref.wheel_path(yolov5_ref.VERSIONS["v7.0"])
    if wheel is None:
        sys.exit("yolov5 7.0 wheel not found: tests/yolov5/fetch-wheels.sh downloads it")
    _, loss_mod = yolov5_ref.load("v7.0")
    model = Model(dict(config["hyp"]), Detect(config["nc"], anchors)).to(device)

    contenders = {"yolov5": (loss_mod.ComputeLoss(model), "v7.0 baseline")}
    assigners = ["soft", "yolov5"] if ARGS.assigner == "both" else [ARGS.assigner]
    for a in assigners:
        cfg = dict(config, assigner=a, ciou="v7.0" if a == "yolov5" else config["ciou"])
        suffix = "" if a == "soft" else " (baseline)"
        if device.type == "cpu":
            contenders["path1" + suffix] = (ComputeLoss(backend="cpu", **cfg), a)
        contenders["path2" + suffix] = (ComputeLoss(backend="torch", **cfg), a)

    leaves = {k: [p.to(device).clone().requires_grad_(True) for p in preds] for k in contenders}
    targets = targets64.float().to(device)
    times = {k: [] for k in contenders}
    losses = {}
    for i in range(ARGS.warm + ARGS.reps):
        for k, (cl, _) in contenders.items():
            dt, loss = step(cl, leaves[k], targets, device)
            if i >= ARGS.warm:
                times[k].append(dt)
            losses[k] = loss

    # The numbers are the oracle's: the same loss as soft_objectness.evaluate (f32 preset).
    for a in assigners:
        suffix = "" if a == "soft" else " (baseline)"
        cfg = dict(config, assigner=a, ciou="v7.0" if a == "yolov5" else config["ciou"])
        want = so.evaluate(cfg, targets64, preds).loss
        for k in ("path1" + suffix, "path2" + suffix):
            if k in losses:
                assert abs(losses[k] - want) <= so.PRESETS["f32"]["rtol"] * abs(want), (k, losses[k], want)

    base = statistics.median(times["yolov5"])
    rows = {}
    print(f"default batch: {case['name']}, {tuple(preds[0].shape)} + 2 layers, float32, "
          f"{ARGS.threads} threads, device {device}, {ARGS.reps} reps (median, min in ms)")
    for k, ts in times.items():
        med, mn = statistics.median(ts), min(ts)
        rows[k] = {"median_ms": med * 1e3, "min_ms": mn * 1e3, "vs_yolov5": base / med,
                   "method": contenders[k][1], "loss": losses[k]}
        print(f"  {k:20s} {med * 1e3:8.1f}  {mn * 1e3:8.1f}   YOLOv5 / this {base / med:6.2f}x  "
              f"({contenders[k][1]}, loss {losses[k]:.6g})")
    if "path1" in rows:
        print(f"path 1 is {rows['path1']['vs_yolov5']:.1f}x faster than YOLOv5 (target >= 5x)")
    if "path2" in rows:
        print(f"path 2 takes {1 / rows['path2']['vs_yolov5']:.2f}x YOLOv5's time (target <= 1.2x)")
    if ARGS.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
