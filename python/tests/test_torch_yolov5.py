"""The drop-in against YOLOv5's own ``ComputeLoss`` (the ``yolov5`` wheels from PyPI).

``ComputeLoss(model, assigner="yolov5", ciou=...)`` of both paths against YOLOv5
``release``'s ``ComputeLoss(model)`` on the same model and batch (6.0 and 6.1 with
``ciou="v6.0"``, 7.0 with ``"v7.0"``: ``yolov5_ref.CIOU``): float64 (YOLOv5 run with
float64 as its default dtype, as ``tests/yolov5`` does) to the YOLOv5 parity tolerances
(losses 1e-9 relative, gradients 1e-8 of the largest component: YOLOv5 is not glibc-exact),
``loss_items`` the same shape and values, the autobalance state after three calls; and float32
under the default dtype, the drop-in's setting, to the ``f32`` preset. Skips unless the wheels
are in ``$YOLOV5_WHEELS`` (default ``~/.cache/soft-objectness/yolov5``;
``tests/yolov5/fetch-wheels.sh`` downloads them).
"""

from __future__ import annotations

import contextlib
import sys
import zipfile

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="torch is not installed (pip install -r python/requirements-test.txt)"
)

import soft_objectness as so  # noqa: E402
import yolov5_like  # noqa: E402
from conftest import ROOT  # noqa: E402
from soft_objectness.torch import ComputeLoss  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "yolov5"))
import yolov5_ref  # noqa: E402

LOSS_REL = 1e-9
GRAD_REL = 1e-8
F32 = so.PRESETS["f32"]


def yolov5_loss_module(release):
    version = yolov5_ref.VERSIONS[release]
    if yolov5_ref.wheel_path(version) is None:
        pytest.skip(f"yolov5=={version} wheel not found (tests/yolov5/fetch-wheels.sh downloads it)")
    return yolov5_ref.load(release)[1]


@contextlib.contextmanager
def default_dtype(dtype):
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def batch(seed, dtype, bs=2, nc=3, size=64, boxes=10):
    rng = np.random.Generator(np.random.PCG64(seed))
    rows = [[rng.integers(0, bs), rng.integers(0, nc), rng.uniform(0, 1), rng.uniform(0, 1),
             rng.uniform(0.03, 0.7), rng.uniform(0.03, 0.7)] for _ in range(boxes)]
    targets = torch.tensor(rows, dtype=dtype)
    preds = [torch.from_numpy(rng.standard_normal((bs, 3, size // s, size // s, 5 + nc)) * 1.5).to(dtype)
             for s in (8, 16, 32)]
    return preds, targets


def run(compute_loss, preds, targets):
    leaves = [p.clone().requires_grad_(True) for p in preds]
    loss, items = compute_loss(leaves, targets.clone())
    loss.backward()
    return loss, items, [p.grad for p in leaves]


def rel(a, b):
    return 0.0 if a == b else abs(a - b) / max(abs(a), abs(b))


def grad_err(got, want):
    gmax = max(float(g.abs().max()) for g in want)
    return max(float((a - b).abs().max()) for a, b in zip(got, want)) / gmax


@pytest.mark.parametrize("backend", ["cpu", "torch"])
@pytest.mark.parametrize("release", [r for r in yolov5_ref.VERSIONS if yolov5_ref.EXACT[r]])
@pytest.mark.parametrize("hyp", [{}, {"fl_gamma": 1.5, "label_smoothing": 0.1}], ids=["hyp", "focal_ls"])
def test_equals_yolov5_compute_loss_float64(release, backend, hyp):
    loss_mod = yolov5_loss_module(release)
    with default_dtype(torch.float64):
        model = yolov5_like.Model(3, {**yolov5_like.HYP, **hyp})
        theirs = loss_mod.ComputeLoss(model, autobalance=True)
        ours = ComputeLoss(model, assigner="yolov5", ciou=yolov5_ref.CIOU[release], autobalance=True,
                           backend=backend)
        for step in range(3):
            preds, targets = batch(step, torch.float64)
            l1, i1, g1 = run(theirs, preds, targets)
            l2, i2, g2 = run(ours, preds, targets)
            assert l2.shape == l1.shape == (1,) and i2.shape == i1.shape == (3,)
            assert not i2.requires_grad and not i1.requires_grad
            assert rel(float(l2.detach()), float(l1.detach())) <= LOSS_REL
            assert all(rel(float(a), float(b)) <= LOSS_REL for a, b in zip(i2, i1)), (i2, i1)
            assert grad_err(g2, g1) <= GRAD_REL
            assert all(rel(a, b) <= LOSS_REL for a, b in zip(ours.balance, theirs.balance)), \
                (step, ours.balance, theirs.balance)


@pytest.mark.parametrize("backend", ["cpu", "torch"])
def test_equals_yolov5_compute_loss_float32(backend):
    """The drop-in's setting: float32 model and predictions, YOLOv5 7.0 and default dtype."""
    loss_mod = yolov5_loss_module("v7.0")
    model = yolov5_like.Model(3)
    theirs = loss_mod.ComputeLoss(model)
    ours = ComputeLoss(model, assigner="yolov5", ciou="v7.0", backend=backend)
    preds, targets = batch(5, torch.float32)
    l1, i1, g1 = run(theirs, preds, targets)
    l2, i2, g2 = run(ours, preds, targets)
    assert l2.dtype == l1.dtype == i2.dtype == i1.dtype == torch.float32
    assert rel(float(l2.detach()), float(l1.detach())) <= F32["rtol"]
    assert all(rel(float(a), float(b)) <= F32["rtol"] for a, b in zip(i2, i1)), (i2, i1)
    assert grad_err(g2, g1) <= F32["grad_rtol"]
    assert all(g.dtype == torch.float32 for g in g2)


HYP_FILES = ("hyp.scratch-low.yaml", "hyp.scratch-med.yaml", "hyp.scratch-high.yaml",
             "hyp.no-augmentation.yaml", "hyp.VOC.yaml", "hyp.Objects365.yaml")


@pytest.mark.parametrize("name", HYP_FILES)
def test_a_whole_hyp_file_as_yolov5_reads_it(name):
    """``ComputeLoss(hyp=yaml.safe_load(open(HYP_FILE)))`` with YOLOv5 7.0's own hyp files (from
    its wheel): the loss keys are read and the training settings left out, as YOLOv5 7.0's
    ``ComputeLoss`` reads ``model.hyp``, to the same float64 numbers."""
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    loss_mod = yolov5_loss_module("v7.0")
    with zipfile.ZipFile(yolov5_ref.wheel_path(yolov5_ref.VERSIONS["v7.0"])) as z:
        hyp = yaml.safe_load(z.read(f"yolov5/data/hyps/{name}"))
    assert {"lr0", "mosaic", "box", "obj", "anchor_t"} <= set(hyp)
    with default_dtype(torch.float64):
        model = yolov5_like.Model(3, hyp)
        detect = model.model[-1]
        theirs = loss_mod.ComputeLoss(model)
        ours = ComputeLoss(anchors=detect.anchors, nc=3, hyp=hyp, assigner="yolov5", ciou="v7.0")
        ours_model = ComputeLoss(model, assigner="yolov5", ciou="v7.0")
        assert ours.hyp == ours_model.hyp
        assert all(ours.hyp[k] == hyp[k] for k in hyp if k in ours.hyp)
        preds, targets = batch(3, torch.float64)
        l1, i1, g1 = run(theirs, preds, targets)
        for compute_loss in (ours, ours_model):
            l2, i2, g2 = run(compute_loss, preds, targets)
            assert rel(float(l2.detach()), float(l1.detach())) <= LOSS_REL
            assert all(rel(float(a), float(b)) <= LOSS_REL for a, b in zip(i2, i1)), (i2, i1)
            assert grad_err(g2, g1) <= GRAD_REL


def test_a_training_step_with_the_drop_in():
    """YOLOv5's train.py lines with the import changed: the model's parameters move."""
    torch.manual_seed(0)
    model = yolov5_like.Model(3)
    compute_loss = ComputeLoss(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    imgs = torch.rand(2, 3, 64, 64)
    _, targets = batch(1, torch.float32)
    losses = []
    for _ in range(5):
        pred = model(imgs)
        loss, loss_items = compute_loss(pred, targets)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss_items.sum()))
    assert losses[-1] < losses[0]
