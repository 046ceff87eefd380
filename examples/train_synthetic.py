#!/usr/bin/env python3
"""Train a tiny YOLO-style detector on generated images of shapes, twice: with YOLOv5's baseline
loss and with the soft-objectness loss (``soft_objectness.torch.ComputeLoss``), on the CPU.

The detector has a few strided convolutions and YOLOv5's Detect head on three layers (strides
8, 16, 32); the images (64 x 64) hold one to three filled squares, discs or triangles (three
classes) of 10 to 40 pixels on a noisy background. Both runs see the same images in the same
order from the same initial weights; only the loss differs (``assigner="yolov5"`` or
``"soft"``; everything else at its defaults). Every EVAL steps the recall at IoU 0.5 is measured
on held-out images: the share of their boxes that some prediction with confidence above 0.25
(objectness times class probability) covers with IoU >= 0.5 and the right class.

The figure (``assets/train_synthetic.png`` by default) shows both loss curves (each loss in its
own units: the two methods' objectness terms are different functions) and both recall curves.
It is drawn with matplotlib when installed (``pip install matplotlib``), else by a small PNG
writer of this file (curves without text).

    python examples/train_synthetic.py [--steps 300] [--out assets/train_synthetic.png]

About 1 to 2 minutes per run on 2 CPU cores. The original method's authors report that the
soft loss helps early training and later hurts mAP; this shows the early part.
"""

from __future__ import annotations

import argparse
import math
import os
import struct
import time
import zlib

import numpy as np
import torch
import torch.nn as nn

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


# -- recall at IoU 0.5 ------------------------------------------------------------------------

def detections(model, imgs, conf=0.25):
    """Predictions above ``conf`` (YOLOv5's decoding): image index [n] and (x1, y1, x2, y2,
    class) [n, 5] in pixels."""
    det = model.model[-1]
    images, boxes = [], []
    with torch.no_grad():
        for p, s, anchors in zip(model(imgs), STRIDES, det.anchors):
            bs, na, ny, nx, _ = p.shape
            y = p.sigmoid()
            gy, gx = torch.meshgrid(torch.arange(ny), torch.arange(nx), indexing="ij")
            cx = (y[..., 0] * 2 - 0.5 + gx) * s
            cy = (y[..., 1] * 2 - 0.5 + gy) * s
            w = (y[..., 2] * 2) ** 2 * (anchors[:, 0] * s).view(1, na, 1, 1)
            h = (y[..., 3] * 2) ** 2 * (anchors[:, 1] * s).view(1, na, 1, 1)
            score, cls = (y[..., 5:] * y[..., 4:5]).max(-1)
            keep = score > conf
            images.append(torch.arange(bs).view(bs, 1, 1, 1).expand_as(keep)[keep])
            boxes.append(torch.stack((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2,
                                      cls.float()), -1)[keep])
    return torch.cat(images), torch.cat(boxes)


def recall(model, imgs, targets):
    """Share of the boxes of ``targets`` that a prediction of their class covers at IoU >= 0.5."""
    model.eval()
    images, boxes = detections(model, imgs)
    model.train()
    t = targets
    gt = torch.stack(((t[:, 2] - t[:, 4] / 2) * SIZE, (t[:, 3] - t[:, 5] / 2) * SIZE,
                      (t[:, 2] + t[:, 4] / 2) * SIZE, (t[:, 3] + t[:, 5] / 2) * SIZE), -1)
    iw = (torch.minimum(gt[:, None, 2], boxes[None, :, 2]) - torch.maximum(gt[:, None, 0], boxes[None, :, 0])).clamp(min=0)
    ih = (torch.minimum(gt[:, None, 3], boxes[None, :, 3]) - torch.maximum(gt[:, None, 1], boxes[None, :, 1])).clamp(min=0)
    inter = iw * ih
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    iou = inter / (area(gt)[:, None] + area(boxes)[None, :] - inter)
    match = (iou >= 0.5) & (t[:, None, 0].long() == images[None, :]) & (t[:, None, 1] == boxes[None, :, 4])
    return float(match.any(1).float().mean()) if t.shape[0] else 0.0


# -- training ---------------------------------------------------------------------------------

def train(assigner, steps, train_set, val_set, eval_every, batch=16, seed=0):
    torch.manual_seed(seed)
    model = TinyYolo()
    compute_loss = ComputeLoss(model, assigner=assigner)       # the drop-in, from the model
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(seed)
    losses, recalls = [], []
    t0 = time.perf_counter()
    for step in range(steps + 1):
        if step % eval_every == 0:
            recalls.append((step, recall(model, *val_set)))
        if step == steps:
            break
        idx = torch.randperm(train_set[0].shape[0], generator=g)[:batch]
        imgs, targets = batch_of(*train_set, idx)
        loss, loss_items = compute_loss(model(imgs), targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss_items.sum()))
    model.eval()
    per_image = detections(model, val_set[0])[0].numel() / val_set[0].shape[0]
    model.train()
    print(f"{assigner:6s}: {steps} steps in {time.perf_counter() - t0:.0f} s, last loss "
          f"{np.mean(losses[-20:]):.4f}, recall@0.5 " + " ".join(f"{r:.2f}" for _, r in recalls)
          + f"; at the end {per_image:.1f} predictions per image above 0.25 (before NMS; "
          f"{val_set[1].shape[0] / val_set[0].shape[0]:.1f} boxes per image)")
    return losses, recalls


# -- the figure -------------------------------------------------------------------------------

def smooth(v, k=10):
    v = np.asarray(v)
    c = np.cumsum(np.insert(v, 0, 0.0))
    return np.array([(c[i + 1] - c[max(0, i + 1 - k)]) / (i + 1 - max(0, i + 1 - k)) for i in range(len(v))])


def plot_matplotlib(runs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=90)
    colours = {"yolov5": "#1f77b4", "soft": "#d62728"}
    labels = {"yolov5": "YOLOv5 baseline", "soft": "soft objectness"}
    for name, (losses, recalls) in runs.items():
        ax1.plot(smooth(losses), color=colours[name], label=labels[name], lw=1.5)
        ax2.plot([s for s, _ in recalls], [r for _, r in recalls], "o-", color=colours[name],
                 label=labels[name], lw=1.5, ms=3)
    ax1.set(title="training loss (lbox + lobj + lcls, 10-step mean)", xlabel="step", yscale="log")
    ax2.set(title="recall at IoU 0.5 (held-out, conf > 0.25)", xlabel="step", ylim=(0, 1))
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    fig.savefig(path)


def plot_minimal(runs, path, w=640, h=240):
    """Both panels without text: losses (log scale) left, recall (0 to 1) right; blue the
    baseline, red the soft loss."""
    img = np.full((h, w, 3), 255, np.uint8)
    colours = {"yolov5": (31, 119, 180), "soft": (214, 39, 40)}

    def panel(x0, series, lo, hi):
        img[10:h - 10, x0, :] = 0
        img[h - 10, x0:x0 + w // 2 - 20, :] = 0
        for name, (xs, ys) in series.items():
            n = max(max(xs), 1)
            pts = [(x0 + int(x / n * (w // 2 - 30)), int(h - 10 - (y - lo) / (hi - lo) * (h - 30)))
                   for x, y in zip(xs, ys)]
            for (a, b), (c, d) in zip(pts, pts[1:]):
                for t in np.linspace(0, 1, 2 * max(abs(c - a), abs(d - b), 1)):
                    px, py = int(round(a + (c - a) * t)), int(round(b + (d - b) * t))
                    img[max(0, min(h - 1, py)) - 1:max(0, min(h - 1, py)) + 1, px, :] = colours[name]

    logl = {k: (list(range(len(v[0]))), list(np.log10(smooth(v[0])))) for k, v in runs.items()}
    lo = min(min(y) for _, y in logl.values())
    hi = max(max(y) for _, y in logl.values())
    panel(10, logl, lo, hi)
    panel(w // 2 + 10, {k: ([s for s, _ in v[1]], [r for _, r in v[1]]) for k, v in runs.items()}, 0, 1)
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


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
    try:
        plot_matplotlib(runs, args.out)
    except ImportError:
        plot_minimal(runs, args.out)
    print(f"wrote {os.path.normpath(args.out)}")


if __name__ == "__main__":
    main()
