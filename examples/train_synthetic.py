#!/usr/bin/env python3
"""Train a tiny YOLO-style detector on generated images of shapes, twice: with YOLOv5's baseline
loss and with the soft-objectness loss (``soft_objectness.torch.ComputeLoss``), on the CPU.

The detector has a few strided convolutions and YOLOv5's Detect head on three layers (strides
8, 16, 32); the images (64 x 64) hold one to three filled squares, discs or triangles (three
classes) of 10 to 40 pixels on a noisy background. Both runs see the same images in the same
order from the same initial weights; only the loss differs (``assigner="yolov5"`` or
``"soft"``; everything else at its defaults). Every EVAL steps the held-out images are
detected as YOLOv5's val.py does (scores above 0.001, class-wise NMS at IoU 0.6, at most 100 per
image) and measured by pycocotools' COCOeval, the COCO reference implementation: mAP@0.5:0.95
and mAP@0.5, and from COCOeval's own matching at IoU 0.5 the precision and recall of the
detections above 0.25.

The figure (``assets/train_synthetic.png`` by default, matplotlib) shows both loss curves (each
loss in its own units: the two methods' objectness terms are different functions), both mAPs,
the precision and the recall.

    pip install matplotlib pycocotools torchvision
    python examples/train_synthetic.py [--steps 300] [--out assets/train_synthetic.png]

About 1 to 2 minutes per run on 2 CPU cores. The original method's authors report that the
soft loss helps early training and later hurts mAP; 300 steps show the early part only
(``python -m soft_objectness.yolov5 compare`` trains YOLOv5 itself for longer: docs/torch.md).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from torchvision.ops import batched_nms

from soft_objectness.torch import ComputeLoss

SIZE = 64
NC = 3
STRIDES = (8, 16, 32)
ANCHORS_PX = [[(10, 10), (14, 14), (18, 18)], [(22, 22), (28, 28), (34, 34)],
              [(40, 40), (48, 48), (56, 56)]]
HYP = {"box": 0.05, "cls": 0.5, "cls_pw": 1.0, "obj": 1.0, "obj_pw": 1.0, "anchor_t": 4.0,
       "fl_gamma": 0.0, "label_smoothing": 0.0}


# -- data -------------------------------------------------------------------------------------

def make_images(n, seed):
    """``n`` images [n, 3, SIZE, SIZE] and their targets [nt, 6] (image, class, x, y, w, h)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    imgs = rng.normal(0.5, 0.08, (n, 3, SIZE, SIZE)).astype(np.float32)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] + 0.5
    rows = []
    for i in range(n):
        for _ in range(rng.integers(1, 4)):
            cls = int(rng.integers(0, NC))
            w = h = float(rng.uniform(10, 40))
            cx, cy = rng.uniform(w / 2, SIZE - w / 2), rng.uniform(h / 2, SIZE - h / 2)
            u, v = (xx - cx) / (w / 2), (yy - cy) / (h / 2)
            if cls == 0:                                   # square
                mask = (np.abs(u) <= 1) & (np.abs(v) <= 1)
            elif cls == 1:                                 # disc
                mask = u * u + v * v <= 1
            else:                                          # triangle, apex up
                mask = (v <= 1) & (np.abs(u) <= (v + 1) / 2)
            colour = rng.uniform(0, 1, 3).astype(np.float32)
            imgs[i][:, mask] = colour[:, None]
            rows.append([i, cls, cx / SIZE, cy / SIZE, w / SIZE, h / SIZE])
    return torch.from_numpy(np.clip(imgs, 0, 1)), torch.tensor(rows, dtype=torch.float32)


def batch_of(imgs, targets, idx):
    sel = torch.isin(targets[:, 0].long(), idx)
    t = targets[sel].clone()
    remap = torch.full((imgs.shape[0],), -1, dtype=torch.long)
    remap[idx] = torch.arange(len(idx))
    t[:, 0] = remap[t[:, 0].long()].float()
    return imgs[idx], t


# -- model (YOLOv5's structure, in miniature) -------------------------------------------------

def conv(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                         nn.SiLU())


class Detect(nn.Module):
    """YOLOv5's Detect head in training mode: ``nc, na, nl, anchors`` (grid units), ``stride``."""

    def __init__(self, ch):
        super().__init__()
        self.nc, self.no, self.nl, self.na = NC, NC + 5, 3, 3
        anchors = torch.tensor(ANCHORS_PX, dtype=torch.float32) / torch.tensor(STRIDES).view(3, 1, 1)
        self.register_buffer("anchors", anchors)
        self.register_buffer("stride", torch.tensor(STRIDES, dtype=torch.float32))
        self.m = nn.ModuleList(nn.Conv2d(c, self.na * self.no, 1) for c in ch)
        for mi, s in zip(self.m, STRIDES):                 # YOLOv5's bias initialisation
            b = mi.bias.view(self.na, -1)
            b.data[:, 4] += math.log(8 / (SIZE / s) ** 2)
            b.data[:, 5:] += math.log(0.6 / (NC - 0.99))

    def forward(self, xs):
        out = []
        for conv_i, x in zip(self.m, xs):
            y = conv_i(x)
            bs, _, ny, nx = y.shape
            out.append(y.view(bs, self.na, self.no, ny, nx).permute(0, 1, 3, 4, 2).contiguous())
        return out


class TinyYolo(nn.Module):
    def __init__(self):
        super().__init__()
        self.hyp = dict(HYP)
        self.p3 = nn.Sequential(conv(3, 16, 2), conv(16, 32, 2), conv(32, 32, 1), conv(32, 48, 2))
        self.p4 = conv(48, 64, 2)
        self.p5 = conv(64, 96, 2)
        self.model = nn.ModuleList([self.p3, self.p4, self.p5, Detect((48, 64, 96))])

    def forward(self, x):
        a = self.p3(x)
        b = self.p4(a)
        return self.model[-1]([a, b, self.p5(b)])


# -- mAP, precision and recall (pycocotools) --------------------------------------------------

def detections(model, imgs, conf=0.001, iou=0.6, max_det=100):
    """Per image, the predictions above ``conf`` (YOLOv5's decoding: score = objectness times
    class probability) after class-wise NMS at ``iou``, at most ``max_det``, as YOLOv5's val.py
    makes them: a list of (boxes [n, 4] x1 y1 x2 y2 in pixels, scores [n], classes [n])."""
    det = model.model[-1]
    out = []
    with torch.no_grad():
        flat = []
        for p, s, anchors in zip(model(imgs), STRIDES, det.anchors):
            bs, na, ny, nx, _ = p.shape
            y = p.sigmoid()
            gy, gx = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
            cx = (y[..., 0] * 2 - 0.5 + gx) * s
            cy = (y[..., 1] * 2 - 0.5 + gy) * s
            w = (y[..., 2] * 2) ** 2 * (anchors[:, 0] * s).view(1, na, 1, 1)
            h = (y[..., 3] * 2) ** 2 * (anchors[:, 1] * s).view(1, na, 1, 1)
            score, cls = (y[..., 5:] * y[..., 4:5]).max(-1)
            box = torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), -1)
            flat.append((box.reshape(bs, -1, 4), score.reshape(bs, -1), cls.reshape(bs, -1)))
        boxes, scores, classes = (torch.cat(t, 1) for t in zip(*flat))
        for b, sc, c in zip(boxes, scores, classes):
            keep = sc > conf
            b, sc, c = b[keep], sc[keep], c[keep]
            keep = batched_nms(b, sc, c, iou)[:max_det]
            out.append((b[keep], sc[keep], c[keep]))
    return out


def coco_eval(model, imgs, targets, conf=0.25):
    """mAP@0.5:0.95 and mAP@0.5 (pycocotools' COCOeval over ``imgs``), and the precision and
    recall at IoU 0.5 of the detections above ``conf``, counted from COCOeval's own matching
    (its ``evalImgs``); also the detections per image above ``conf``."""
    model.eval()
    dets = detections(model, imgs)
    model.train()
    t = targets.tolist()
    gt = COCO()
    gt.dataset = {
        "images": [{"id": i, "width": SIZE, "height": SIZE} for i in range(imgs.shape[0])],
        "categories": [{"id": c} for c in range(NC)],
        "annotations": [{"id": k + 1, "image_id": int(r[0]), "category_id": int(r[1]),
                         "bbox": [(r[2] - r[4] / 2) * SIZE, (r[3] - r[5] / 2) * SIZE,
                                  r[4] * SIZE, r[5] * SIZE],
                         "area": r[4] * r[5] * SIZE * SIZE, "iscrowd": 0}
                        for k, r in enumerate(t)],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
    results = [{"image_id": i, "category_id": int(c), "score": float(s),
                "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]}
               for i, (bs, ss, cs) in enumerate(dets) for b, s, c in zip(bs, ss, cs)]
    if not results:
        return {"map": 0.0, "map50": 0.0, "precision": 0.0, "recall": 0.0, "per_image": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):
        e = COCOeval(gt, gt.loadRes(results), "bbox")
        e.evaluate()
        e.accumulate()
        e.summarize()
    tp = n_det = n_gt = 0
    for r in e.evalImgs:                       # IoU 0.5 is threshold 0; "all" areas only
        if r is None or r["aRng"] != e.params.areaRng[0]:
            continue
        above = (np.asarray(r["dtScores"]) >= conf) & ~r["dtIgnore"][0]
        tp += int(((r["dtMatches"][0] > 0) & above).sum())
        n_det += int(above.sum())
        n_gt += int((~np.asarray(r["gtIgnore"], bool)).sum())
    return {"map": float(e.stats[0]), "map50": float(e.stats[1]),
            "precision": tp / max(n_det, 1), "recall": tp / max(n_gt, 1),
            "per_image": n_det / imgs.shape[0]}


# -- training ---------------------------------------------------------------------------------

def train(assigner, steps, train_set, val_set, eval_every, batch=16, seed=0):
    torch.manual_seed(seed)
    model = TinyYolo()
    compute_loss = ComputeLoss(model, assigner=assigner)       # the drop-in, from the model
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    losses, evals = [], []
    t0 = time.perf_counter()
    for step in range(steps + 1):
        if step % eval_every == 0:
            evals.append((step, coco_eval(model, *val_set)))
        if step == steps:
            break
        idx = torch.randperm(train_set[0].shape[0], generator=g)[:batch]
        imgs, targets = batch_of(*train_set, idx)
        loss, loss_items = compute_loss(model(imgs), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss_items.sum()))
    last = evals[-1][1]
    print(f"{assigner:6s}: {steps} steps in {time.perf_counter() - t0:.0f} s; every "
          f"{eval_every} steps mAP@0.5:0.95 " + " ".join(f"{m['map']:.3f}" for _, m in evals)
          + "; mAP@0.5 " + " ".join(f"{m['map50']:.3f}" for _, m in evals)
          + f"; at the end P {last['precision']:.3f} R {last['recall']:.3f} at conf 0.25 with "
          f"{last['per_image']:.1f} detections per image after NMS "
          f"({val_set[1].shape[0] / val_set[0].shape[0]:.1f} boxes per image)")
    return losses, evals


# -- the figure -------------------------------------------------------------------------------

def smooth(v, k=10):
    v = np.asarray(v)
    c = np.cumsum(np.insert(v, 0, 0.0))
    return np.array([(c[i + 1] - c[max(0, i + 1 - k)]) / (i + 1 - max(0, i + 1 - k)) for i in range(len(v))])


def plot(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(14, 3.4), dpi=90)
    colours = {"yolov5": "#1f77b4", "soft": "#d62728"}
    labels = {"yolov5": "YOLOv5 baseline", "soft": "soft objectness"}
    for name, (losses, evals) in runs.items():
        steps = [s for s, _ in evals]
        c = colours[name]
        axes[0].plot(smooth(losses), color=c, label=labels[name], lw=1.5)
        axes[1].plot(steps, [m["map"] for _, m in evals], "o-", color=c, lw=1.5, ms=3,
                     label=labels[name] + ", mAP@0.5:0.95")
        axes[1].plot(steps, [m["map50"] for _, m in evals], "o--", color=c, lw=1, ms=2,
                     label=labels[name] + ", mAP@0.5")
        axes[2].plot(steps, [m["precision"] for _, m in evals], "o-", color=c, lw=1.5, ms=3,
                     label=labels[name])
        axes[3].plot(steps, [m["recall"] for _, m in evals], "o-", color=c, lw=1.5, ms=3,
                     label=labels[name])
    axes[0].set(title="training loss (lbox + lobj + lcls, 10-step mean)", xlabel="step",
                yscale="log")
    axes[1].set(title="mAP (pycocotools, held-out)", xlabel="step", ylim=(0, 1))
    axes[2].set(title="precision at conf 0.25, IoU 0.5", xlabel="step", ylim=(0, 1))
    axes[3].set(title="recall at conf 0.25, IoU 0.5", xlabel="step", ylim=(0, 1))
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    fig.savefig(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                                  "assets", "train_synthetic.png"))
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    train_set = make_images(1024, seed=1)
    val_set = make_images(128, seed=2)
    runs = {a: train(a, args.steps, train_set, val_set, args.eval_every) for a in ("yolov5", "soft")}
    plot(runs, args.out)
    print(f"wrote {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
