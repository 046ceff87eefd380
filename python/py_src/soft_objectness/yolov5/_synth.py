"""``synth``: a small detection data set in YOLO format, generated (no download).

Each image holds one to four filled squares, discs or triangles (three classes) of random
colours and sizes on a smooth, noisy background, placed so that no two boxes overlap by more
than an IoU of 0.2 (no object hides another). The layout is YOLOv5's::

    DIR/data.yaml                      path (absolute), train, val, names
    DIR/images/{train,val}/NNNNN.png   the images, size x size pixels, RGB
    DIR/labels/{train,val}/NNNNN.txt   one line per object: class x_center y_center w h (0..1)

``images`` training images and ``max(8, images // 4)`` validation images; the same seed gives
the same files. Needs numpy and Pillow (both YOLOv5 dependencies).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: The classes, in label order.
NAMES = ("square", "disc", "triangle")

Box = Tuple[int, float, float, float, float]   # class, x_center, y_center, w, h in pixels


def _iou(a: Box, b: Box) -> float:
    ax0, ay0, ax1, ay1 = a[1] - a[3] / 2, a[2] - a[4] / 2, a[1] + a[3] / 2, a[2] + a[4] / 2
    bx0, by0, bx1, by1 = b[1] - b[3] / 2, b[2] - b[4] / 2, b[1] + b[3] / 2, b[2] + b[4] / 2
    w = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    h = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = w * h
    return inter / (a[3] * a[4] + b[3] * b[4] - inter)


def _boxes(rng: np.random.Generator, size: int) -> List[Box]:
    """One to four boxes of 12 % to 40 % of the image side, none hiding another."""
    boxes: List[Box] = []
    for _ in range(int(rng.integers(1, 5))):
        for _try in range(20):
            side = float(rng.uniform(0.12, 0.40)) * size
            w = side * float(rng.uniform(0.8, 1.25))
            h = side
            box = (int(rng.integers(0, len(NAMES))), float(rng.uniform(w / 2, size - w / 2)),
                   float(rng.uniform(h / 2, size - h / 2)), w, h)
            if all(_iou(box, b) <= 0.2 for b in boxes):
                boxes.append(box)
                break
    return boxes


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smooth gradient between two dull colours plus Gaussian noise, [size, size, 3] float."""
    c0, c1 = rng.uniform(0.2, 0.8, 3), rng.uniform(0.2, 0.8, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:size, 0:size] / size
    t = (np.cos(angle) * xx + np.sin(angle) * yy)
    t = (t - t.min()) / max(t.max() - t.min(), 1e-9)
    img = c0 + (c1 - c0) * t[..., None]
    return img + rng.normal(0, 0.04, img.shape)


def _draw(img: np.ndarray, box: Box, colour: np.ndarray) -> None:
    cls, cx, cy, w, h = box
    size = img.shape[0]
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    u, v = (xx - cx) / (w / 2), (yy - cy) / (h / 2)
    if cls == 0:                                          # square (a rectangle near square)
        mask = (np.abs(u) <= 1) & (np.abs(v) <= 1)
    elif cls == 1:                                        # disc (an ellipse near round)
        mask = u * u + v * v <= 1
    else:                                                 # triangle, apex up
        mask = (v <= 1) & (np.abs(u) <= (v + 1) / 2)
    img[mask] = colour


def _colour(rng: np.random.Generator) -> np.ndarray:
    """A saturated colour: one channel high, one low, one anywhere."""
    c = np.array([rng.uniform(0.8, 1.0), rng.uniform(0.0, 0.2), rng.uniform(0.0, 1.0)])
    return c[rng.permutation(3)]


def make_split(root: Path, split: str, n: int, size: int, rng: np.random.Generator) -> int:
    """Writes ``n`` images and label files of one split; returns the number of objects."""
    from PIL import Image

    images, labels = root / "images" / split, root / "labels" / split
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    objects = 0
    for i in range(n):
        img = _background(rng, size)
        boxes = _boxes(rng, size)
        for box in boxes:
            _draw(img, box, _colour(rng))
        pixels = (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(pixels, "RGB").save(images / f"{i:05d}.png")
        lines = [f"{c} {x / size:.6f} {y / size:.6f} {w / size:.6f} {h / size:.6f}"
                 for c, x, y, w, h in boxes]
        (labels / f"{i:05d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        objects += len(boxes)
    return objects


def write_dataset(root: Path, images: int = 256, size: int = 160, seed: int = 0) -> Path:
    """Writes the data set into ``root``; returns the path of its ``data.yaml``."""
    if images < 1:
        raise ValueError(f"images: must be at least 1 (got {images})")
    if size < 32:
        raise ValueError(f"size: must be at least 32 pixels (got {size})")
    root = root.resolve()
    rng = np.random.Generator(np.random.PCG64(seed))
    counts = {split: make_split(root, split, n, size, rng)
              for split, n in (("train", images), ("val", max(8, images // 4)))}
    data = root / "data.yaml"
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(NAMES))
    data.write_text(
        f"# Generated by python -m soft_objectness.yolov5 synth (seed {seed}, {size} px):\n"
        f"# {images} training images ({counts['train']} objects), "
        f"{max(8, images // 4)} validation images ({counts['val']} objects).\n"
        f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n{names}\n",
        encoding="utf-8",
    )
    return data


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m soft_objectness.yolov5 synth",
        description="Write a small detection data set of generated shapes in YOLO format "
                    "(images/, labels/, data.yaml) into DIR.",
    )
    parser.add_argument("dir", metavar="DIR", help="output folder (created if missing)")
    parser.add_argument("--images", type=int, default=256,
                        help="training images (default 256); validation: a quarter, at least 8")
    parser.add_argument("--size", type=int, default=160, help="image side in pixels (default 160)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    try:
        data = write_dataset(Path(args.dir), args.images, args.size, args.seed)
    except ValueError as e:
        parser.error(str(e))
    print(data)
    return 0
