#!/usr/bin/env python3
"""PyTorch vs the Rust oracle on identical inputs (docs/performance.md).

Run with the exporter's venv (torch, numpy), from anywhere:

    .venv-torch/bin/python bench/vs_pytorch.py            # 8 and 32 boxes per image
    .venv-torch/bin/python bench/vs_pytorch.py --quick    # 8 boxes per image, fewer repetitions

For each workload (the default batch: 16 images 640x640, 80 classes, YOLOv5s anchors, seeded
COCO-like boxes, float32 predictions):

1. ``softobj bench --dump DIR`` writes the inputs (``case.json`` + ``.npy``) and the oracle's
   outputs (soft ``tobj``, losses, counts, objectness gradient, YOLOv5 rows).
2. PyTorch loads those files. Before PyTorch is timed, the exporter's float64 reference
   (``fixtures/export/soft_objectness_torch.py``) must reproduce the oracle on them: ``tobj``
   bit for bit, counts exactly, losses to 1e-12 relative, the objectness gradient to 1e-10 of
   its largest component (the fixture tolerances, docs/fixtures.md); the timed tensorised soft
   builder must give the same ``tobj`` with its exact helpers, and YOLOv5 v6.0 ``build_targets``
   must emit the oracle's YOLOv5 rows. Any failure stops the run (exit code 1).
3. The Rust side is timed with ``softobj bench --case DIR/case.json`` (the same files) on a
   rayon pool of THREADS threads, every workload before PyTorch runs anything; then PyTorch,
   with ``torch.set_num_threads(THREADS)`` on float32 predictions, after its checks. Each
   figure is a median of REPS runs after untimed warm-up runs (at least 3, and at least 20 ms
   of them, on both sides; the Rust side: the median over three processes of that median).
   Both sides pin their threads one per CPU (PyTorch's OpenMP threads with
   ``OMP_PROC_BIND=true``, ``softobj bench --pin``) unless ``--no-pin``.

The last line reads ``soft_build Ax fwd_bwd Bx baseline_build Cx`` with the smallest ratio over
the workloads run: PyTorch's tensorised soft builder / Rust's vectorised builder (dense tobj of
every layer); PyTorch autograd forward + backward / Rust forward + sparse gradient (targets
given, fresh buffers); PyTorch's binary build_targets / Rust's soft builder.
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

# Threads pinned one per CPU on both sides unless --no-pin (docs/performance.md, "Threads"): for
# PyTorch through OpenMP's own variables, read when torch is imported, so set before that.
PIN = "--no-pin" not in sys.argv
# OpenMP binds this (the main) thread too, and children inherit that: softobj gets the CPUs the
# script started with.
CPUS = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
if PIN:
    os.environ.setdefault("OMP_PROC_BIND", "true")
    os.environ.setdefault("OMP_PLACES", "cores")

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import numpy as np
    import torch
    import torch_side as T
    M = T.M
except ImportError as e:  # pragma: no cover - environment problem
    print(f"vs_pytorch.py: needs torch and numpy (the exporter's venv .venv-torch): {e}", file=sys.stderr)
    sys.exit(2)


def median_ms(f, reps):
    """Median wall time of ``f()`` in ms over ``reps`` runs, after untimed warm-up runs: at
    least 3 and at least 20 ms of them (as ``softobj bench``)."""
    start, runs = time.perf_counter(), 0
    while runs < 3 or time.perf_counter() - start < 0.020:
        f()
        runs += 1
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def softobj(binary, *args):
    def unbind():
        if CPUS is not None:
            os.sched_setaffinity(0, CPUS)
    out = subprocess.run([binary, *args], capture_output=True, text=True, preexec_fn=unbind)
    if out.returncode != 0:
        print(f"vs_pytorch.py: {binary} {' '.join(args)} failed:\n{out.stderr}", file=sys.stderr)
        sys.exit(2)
    return out.stdout


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


class Failed(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failed(what)


def load(d):
    case = json.load(open(os.path.join(d, "case.json")))
    oracle = json.load(open(os.path.join(d, "oracle.json")))
    targets = torch.from_numpy(np.load(os.path.join(d, case["inputs"]["targets"]["npy"])))
    preds = [torch.from_numpy(np.load(os.path.join(d, p["npy"]))) for p in case["inputs"]["predictions"]]
    return M.complete_config(case["config"]), targets, preds, oracle


def correctness(d, cfg, targets, preds, oracle):
    """Step 2: PyTorch (float64) must give the oracle's answer on these inputs."""
    shapes = [list(p.shape) for p in preds]
    p64 = [p.double() for p in preds]
    ref = M.evaluate(cfg, targets, p64)
    for l, t in enumerate(ref["tobj"]):
        o = np.load(os.path.join(d, oracle["tobj"][l]))
        check(np.array_equal(o.view(np.uint64), t.numpy().view(np.uint64)), f"layer {l}: tobj not bit-identical")
    check(ref["counts"] == oracle["counts"], f"counts differ: {ref['counts']} vs {oracle['counts']}")
    worst = 0.0
    for key in ("loss", "lbox", "lobj", "lcls"):
        worst = max(worst, rel(ref[key], oracle[key]))
    for key in ("hard_loss", "soft_loss"):
        for a, b in zip(ref[key], oracle[key]):
            worst = max(worst, rel(a, b))
    check(worst <= 1e-12, f"losses differ by {worst:.3g} relative (tolerance 1e-12)")
    gmax, gerr = 0.0, 0.0
    for l, g in enumerate(ref["grad"]):
        o = np.load(os.path.join(d, oracle["grad_obj"][l]))
        gmax = max(gmax, float(np.abs(o).max()))
        gerr = max(gerr, float(np.abs(g[..., 4].numpy() - o).max()))
    check(gerr <= 1e-10 * gmax, f"objectness gradient differs by {gerr:.3g} (tolerance {1e-10 * gmax:.3g})")
    # The timed builder (statistics stripped), with the exporter's exact helpers: same bits.
    exact = T.soft_targets(cfg, targets, shapes, exact=True)
    for l, t in enumerate(exact):
        check(torch.equal(t, ref["tobj"][l]), f"layer {l}: timed builder (exact helpers) differs")
    # Its timed form (torch.exp, torch.sqrt): how far from the oracle.
    fast = T.soft_targets(cfg, targets, shapes, exact=False)
    diff = sum(int((a != b).sum()) for a, b in zip(fast, ref["tobj"]))
    dmax = max(float((a - b).abs().max()) for a, b in zip(fast, ref["tobj"]))
    # YOLOv5 v6.0 build_targets (float64 here, so rows compare exactly) vs the oracle's rows.
    anchors = M._anchors_tensor(cfg)
    _, tbox, indices, _ = T.build_targets_v6(shapes, targets, anchors, cfg["hyp"]["anchor_t"])
    nrows = 0
    for l, ((b, a, gj, gi), tb) in enumerate(zip(indices, tbox)):
        o = np.load(os.path.join(d, oracle["yolov5_rows"][l]))
        got = np.stack([b.numpy(), a.numpy(), gj.numpy(), gi.numpy()], 1).astype(np.float64)
        check(got.shape[0] == o.shape[0], f"layer {l}: build_targets emits {got.shape[0]} rows, oracle {o.shape[0]}")
        check(np.array_equal(got, o[:, :4]), f"layer {l}: build_targets cells differ from the oracle's rows")
        check(np.abs(tb.numpy() - o[:, 4:8]).max(initial=0.0) <= 1e-12, f"layer {l}: build_targets tbox differs")
        nrows += got.shape[0]
    print(f"  check: tobj bit-identical, counts equal, losses within {worst:.1e} relative, "
          f"objectness gradient within {gerr / gmax:.1e} of its largest component: OK")
    print(f"  check: timed builder = exporter builder bit for bit with exact helpers; with torch.exp "
          f"{diff} of {sum(t.numel() for t in fast)} cells differ, by at most {dmax:.1e}")
    print(f"  check: YOLOv5 v6.0 build_targets emits the oracle's {nrows} YOLOv5 rows: OK")
    return ref


def time_torch(cfg, targets, preds, reps):
    """Step 3, PyTorch: float32 predictions."""
    shapes = [list(p.shape) for p in preds]
    out = {}
    out["soft_build"] = median_ms(lambda: T.soft_targets(cfg, targets, shapes), reps)
    t32 = targets.float()
    a32 = M._anchors_tensor(cfg).float()
    out["baseline_build"] = median_ms(lambda: T.build_targets_v6(shapes, t32, a32, cfg["hyp"]["anchor_t"]), reps)
    plans = T.f32_plans(M.prepare(cfg, targets, [p.double() for p in preds]))
    leaves = [p.clone().requires_grad_(True) for p in preds]

    def fwd_bwd():
        for p in leaves:
            p.grad = None
        T.forward(cfg, leaves, plans)["loss"].backward()

    out["fwd_bwd"] = median_ms(fwd_bwd, reps)

    def step():
        for p in leaves:
            p.grad = None
        with T.tensor_transcendentals():
            pl = M.prepare(cfg, targets, leaves)
        T.forward(cfg, leaves, pl)["loss"].backward()

    out["step"] = median_ms(step, reps)
    loss32 = float(T.forward(cfg, preds, plans)["loss"])
    return out, loss32


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 boxes per image only, 3 repetitions")
    ap.add_argument("--boxes", default=None, help="boxes per image, comma separated (default 8,32)")
    ap.add_argument("--reps", type=int, default=None, help="timed repetitions per stage (default 11)")
    ap.add_argument("--threads", type=int, default=2, help="threads on each side (default 2)")
    ap.add_argument("--no-pin", action="store_true",
                    help="leave thread placement to the scheduler (default: PyTorch's OpenMP threads "
                         "bound with OMP_PROC_BIND=true, softobj bench --pin)")
    ap.add_argument("--softobj", default=None, help="the softobj binary (default: cargo build --release)")
    ap.add_argument("--keep", default=None, help="dump the workloads under this directory and keep them")
    args = ap.parse_args()
    boxes = [int(b) for b in (args.boxes or ("8" if args.quick else "8,32")).split(",")]
    reps = args.reps or (3 if args.quick else 11)
    binary = args.softobj
    if binary is None:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "softobj"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "softobj")
    torch.set_num_threads(args.threads)
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    pinning = ("threads pinned one per CPU (OMP_PROC_BIND=%s, softobj bench --pin)" % os.environ.get("OMP_PROC_BIND")
               if PIN else "threads not pinned")
    print(f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads, float32 predictions) vs softobj "
          f"(rayon, {args.threads} threads, f64 arithmetic on the f32 predictions); {os.cpu_count()} CPUs, "
          f"load average {load_avg:.2f}; medians of {reps} runs; {pinning}")
    ratios = {"soft_build": [], "fwd_bwd": [], "baseline_build": []}
    root = args.keep or tempfile.mkdtemp(prefix="softobj-vs-pytorch-")
    try:
        # The Rust side of every workload first, before PyTorch has run anything: its idle
        # OpenMP threads keep spinning for a while after its last operation (measured: +20% on
        # the Rust side's times), and after its seconds of work on both CPUs (checks and
        # timings) 2-thread runs of anything were sometimes slower for a while on this VM.
        rust = {}
        for n in boxes:
            d = os.path.join(root, f"boxes{n}")
            softobj(binary, "bench", "--boxes", str(n), "--dump", d, "--only", "match", "--reps", "1")
            # Three processes, the median of their medians per stage: in some processes a
            # 2-thread build runs no faster than a 1-thread one, even pinned (docs/performance.md).
            runs = []
            for _ in range(3):
                rs = json.loads(softobj(binary, "bench", "--case", os.path.join(d, "case.json"), "--json",
                                        "--reps", str(reps), "--threads", str(args.threads), "--only",
                                        "validate,soft-vec,soft-vec-ws,soft-loop,yolov5,forward-grad,"
                                        "forward-grad-ws,evaluate,evaluate-ws", *(["--pin"] if PIN else [])))
                runs.append({s["stage"]: s["median_s"] * 1e3 for s in rs["stages"]})
            rust[n] = {k: statistics.median(run[k] for run in runs) for k in runs[0]}
        for n in boxes:
            d = os.path.join(root, f"boxes{n}")
            r = rust[n]
            cfg, targets, preds, oracle = load(d)
            print(f"\n== {n} boxes per image ({targets.shape[0]} targets), predictions "
                  f"{[list(p.shape) for p in preds]}")
            correctness(d, cfg, targets, preds, oracle)
            pt, loss32 = time_torch(cfg, targets, preds, reps)
            print(f"  PyTorch float32 loss {loss32:.6f}, oracle (f64) {oracle['loss']:.6f}")
            rows = [
                ("dense soft targets: tensorised builder / vectorised", pt["soft_build"], r["soft-vec"]),
                ("  (Rust with a workspace)", pt["soft_build"], r["soft-vec-ws"]),
                ("  (Rust loop builder)", pt["soft_build"], r["soft-loop"]),
                ("YOLOv5 build_targets / Rust YOLOv5 assigner", pt["baseline_build"], r["yolov5"]),
                ("YOLOv5 build_targets / Rust soft targets", pt["baseline_build"], r["soft-vec"]),
                ("loss fwd+bwd (autograd) / forward+gradient", pt["fwd_bwd"], r["forward-grad"]),
                ("  (Rust with a workspace)", pt["fwd_bwd"], r["forward-grad-ws"]),
                ("targets+fwd+bwd / evaluate (with validation)", pt["step"], r["evaluate"]),
                ("  (Rust with a workspace)", pt["step"], r["evaluate-ws"]),
            ]
            print(f"  {'stage (PyTorch / Rust)':<52} {'PyTorch ms':>11} {'Rust ms':>9} {'ratio':>8}")
            for name, a, b in rows:
                print(f"  {name:<52} {a:>11.3f} {b:>9.3f} {a / b:>7.1f}x")
            print(f"  (Rust validation alone: {r['validate']:.3f} ms)")
            ratios["soft_build"].append(pt["soft_build"] / r["soft-vec"])
            ratios["fwd_bwd"].append(pt["fwd_bwd"] / r["forward-grad"])
            ratios["baseline_build"].append(pt["baseline_build"] / r["soft-vec"])
    except Failed as e:
        print(f"vs_pytorch.py: PyTorch does not reproduce the oracle: {e}", file=sys.stderr)
        sys.exit(1)
    finally:
        if args.keep is None:
            subprocess.run(["rm", "-rf", root], check=False)
    print(f"\nsmallest ratio over {len(boxes)} workload(s):")
    print(" ".join(f"{k} {min(v):.1f}x" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
