"""The PyTorch side of ``bench/vs_pytorch.py``: what is timed.

* The differentiable loss is the package's, ``soft_objectness.torch.losses`` (:func:`forward`,
  re-exported here; the one torch implementation of the repository, also behind
  ``soft_objectness.torch.ComputeLoss(backend="torch")`` and the fixture exporter). The
  package must be installed in the venv (``pip install ./python``).
* :func:`soft_targets` -- every layer's dense soft ``tobj`` by the exporter's tensorised builder
  (``fixtures/export/soft_objectness_torch.py``: anchor matching, per-row ranges,
  ``repeat_interleave`` expansion, one scatter), called with ``with_stats=False`` (without the
  statistics the exporter also gathers: a ``torch.unique`` sort that the original builder
  does not have). ``exact=True``
  evaluates ``exp`` and ``sqrt`` as the exporter does for bit-exact fixtures (glibc ``exp``
  through Python's ``math``, one element at a time); ``exact=False`` uses ``torch.exp`` and
  ``torch.sqrt`` on whole tensors, as the original research code did: that is what is timed.
* :func:`build_targets_v6` -- YOLOv5 v6.0 ``ComputeLoss.build_targets`` (the binary baseline
  assigner with neighbour cells), transcribed; only the clamp bounds are Python ints (v6.0 passes
  0-dim float tensors, which current torch refuses for an in-place clamp of a long tensor).
* :func:`f32_plans` -- the exporter's prepared constants (targets, masks, CIoU alpha) in float32,
  so that :func:`forward` runs on float32 predictions in float32.

The exporter's module is imported read-only; nothing in it is changed, except that
:func:`soft_targets` swaps two of its helper functions for the duration of a call when
``exact=False``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys

import torch
from soft_objectness.torch.losses import forward  # noqa: F401  (what vs_pytorch.py times)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "export"))
import soft_objectness_torch as M  # noqa: E402


@contextlib.contextmanager
def tensor_transcendentals():
    """Within the block, the module's score uses ``torch.exp`` and its distances ``torch.sqrt``."""
    saved = (M.exp_glibc, M._sqrt)
    M.exp_glibc, M._sqrt = torch.exp, torch.sqrt
    try:
        yield
    finally:
        M.exp_glibc, M._sqrt = saved


def soft_targets(cfg, targets, shapes, exact=False):
    """Every layer's soft ``tobj`` (f64) for predictions of the given shapes."""
    anchors = M._anchors_tensor(cfg)
    ctx = contextlib.nullcontext() if exact else tensor_transcendentals()
    out = []
    with ctx:
        for i, (bs, na, ny, nx, _) in enumerate(shapes):
            rows = M.match_anchors(targets, anchors[i], nx, ny, cfg["hyp"]["anchor_t"])
            tobj, _ = M.build_soft_tobj(rows, bs, na, ny, nx, cfg["distance"], cfg["score"],
                                        cfg["overlap"], with_stats=False)
            out.append(tobj)
    return out


def build_targets_v6(shapes, targets, anchors, anchor_t):
    """YOLOv5 v6.0 ``ComputeLoss.build_targets``.

    ``shapes``: prediction shapes ``[bs, na, ny, nx, no]`` per layer; ``targets``: ``[nt, 6]``
    (image, class, x, y, w, h), normalised; ``anchors``: ``[nl, na, 2]`` in grid units.
    Returns ``(tcls, tbox, indices, anch)`` as v6.0 does.
    """
    na, nt = anchors.shape[1], targets.shape[0]
    tcls, tbox, indices, anch = [], [], [], []
    gain = torch.ones(7, dtype=targets.dtype)
    ai = torch.arange(na, dtype=targets.dtype).view(na, 1).repeat(1, nt)
    targets = torch.cat((targets.repeat(na, 1, 1), ai[:, :, None]), 2)
    g = 0.5
    off = torch.tensor([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]], dtype=targets.dtype) * g
    for i, shape in enumerate(shapes):
        anchors_i = anchors[i]
        gain[2:6] = torch.tensor(shape, dtype=targets.dtype)[[3, 2, 3, 2]]
        t = targets * gain
        if nt:
            r = t[:, :, 4:6] / anchors_i[:, None]
            j = torch.max(r, 1 / r).max(2)[0] < anchor_t
            t = t[j]
            gxy = t[:, 2:4]
            gxi = gain[[2, 3]] - gxy
            j, k = ((gxy % 1 < g) & (gxy > 1)).T
            l, m = ((gxi % 1 < g) & (gxi > 1)).T
            j = torch.stack((torch.ones_like(j), j, k, l, m))
            t = t.repeat((5, 1, 1))[j]
            offsets = (torch.zeros_like(gxy)[None] + off[:, None])[j]
        else:
            t = targets[0]
            offsets = 0
        b, c = t[:, :2].long().T
        gxy = t[:, 2:4]
        gwh = t[:, 4:6]
        gij = (gxy - offsets).long()
        gi, gj = gij.T
        a = t[:, 6].long()
        indices.append((b, a, gj.clamp_(0, shape[2] - 1), gi.clamp_(0, shape[3] - 1)))
        tbox.append(torch.cat((gxy - gij, gwh), 1))
        anch.append(anchors_i[a])
        tcls.append(c)
    return tcls, tbox, indices, anch


def f32_plans(plans):
    """The prepared constants of ``M.prepare`` in float32 (masks and indices unchanged)."""
    def f32(vs):
        return tuple(v.float() for v in vs)

    return [dataclasses.replace(L, tbox=f32(L.tbox), anchor=f32(L.anchor), tobj=L.tobj.float(),
                                alpha=L.alpha.float()) for L in plans]
