"""Planted bugs: the reference port with one rule of the spec broken, the way ports break it.

Each :class:`Bug` replaces (or wraps) the one function of the reference that implements its
rule, inside :func:`planted` (attributes of ``soft_objectness_torch`` or of
``soft_objectness.torch.losses`` set and restored), never by editing the reference's file: the
fixture exporter's tests and ``ComputeLoss`` run the same functions. ``float32_accumulation``
and ``float32_throughout`` instead wrap the whole evaluation: they round the answer's values
through float32, as a port computing in float32 returns them (the losses and the gradient; or
every value, ``tobj`` included).

``keys`` are the config keys, spelled as the case format spells them (``nl`` and ``na`` for
the shape of the anchors), that issue 22's harness should name as the responsible option; an
empty ``keys`` means no option is to blame (the float32 bugs show on every case). ``when`` is
the condition under which the bug shows, in the harness's words. ``minimal`` is the smallest
case that shows it, ``example`` such a case (:func:`example_case` builds it) and ``control``
the same case with the responsible option reset, where the bugged port conforms again. Every
bug here shows on a case of at most 1 image and 2 boxes (``minimal_ok``), which the harness's
shrinking must reach.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple

import numpy as np
import torch

from soft_objectness.torch import losses

from .cases import tiny_case
from .reference import LOCK, sot

Patch = Tuple[Any, str, Any]


@dataclass(frozen=True)
class Bug:
    """One planted bug: what it breaks, which option the harness should blame, how to plant it."""

    name: str
    rule: str                       # the spec rule it breaks (docs/spec.md numbering)
    keys: Tuple[str, ...]           # the responsible config keys, case-format spelling
    when: str                       # when it shows, e.g. "hyp.fl_gamma > 0"
    what: str                       # what the port does wrong, one sentence
    minimal: str                    # the smallest case that shows it
    patches: Callable[[], List[Patch]]              # (object, attribute, replacement)
    post: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]]   # applied to the answer
    example: Mapping[str, Any]      # ports.cases.tiny_case arguments of a case that shows it
    control: Optional[Mapping[str, Any]]   # the same with the option reset: conforms again
    edge: Tuple[str, ...]           # edge-mix cases (name up to the colon) that show it
    minimal_ok: bool = True         # at most 1 image and 2 boxes suffice


# The reference's functions as imported, before any plant: the wrappers call these.
_forward = losses.forward
_ciou = losses.ciou
_soft_element_loss = losses.soft_element_loss
_build_soft_tobj = sot.build_soft_tobj
_score_fn = sot.score_fn
_prepare = sot.prepare


@contextlib.contextmanager
def planted(bug: Optional[Bug]) -> Iterator[None]:
    """Replace the bug's functions for the duration of the block (nothing when ``bug`` is None)."""
    patches = bug.patches() if bug is not None else []
    saved = [(obj, attr, getattr(obj, attr)) for obj, attr, _ in patches]
    try:
        for obj, attr, value in patches:
            setattr(obj, attr, value)
        yield
    finally:
        for obj, attr, value in reversed(saved):
            setattr(obj, attr, value)


# --------------------------------------------------------------------------------------------
# The plants, one per bug
# --------------------------------------------------------------------------------------------

def _forward_with_hyp(**fixed: float) -> Callable[..., Dict[str, Any]]:
    """``forward`` reading ``fixed`` in place of the configured hyper-parameters: a port that
    never reads those keys (it hard-codes YOLOv5's defaults)."""

    def forward(cfg, preds, layers, balance=None):
        cfg = dict(cfg)
        cfg["hyp"] = {**cfg["hyp"], **fixed}
        return _forward(cfg, preds, layers, balance)

    return forward


def _focal_ignored(loss, x, t, gamma):
    return loss


def _ciou_v7(box1, box2, atan=torch.atan, alpha=None, release="v6.0"):
    return _ciou(box1, box2, atan=atan, alpha=alpha, release="v7.0")


def _build_soft_tobj_xy_swapped(rows, bs, na, ny, nx, distance, score, overlap, with_stats=True):
    """The soft builder with x and y exchanged: each cell is written at the flat index
    ``((b na + a) nx + ci) ny + cj``, so that a square layer's ``tobj`` comes out transposed
    (a non-square one scrambled, never out of range)."""
    swapped = sot.Rows(b=rows.b, c=rows.c, a=rows.a, gx=rows.gy, gy=rows.gx, gw=rows.gh,
                       gh=rows.gw, aw=rows.aw, ah=rows.ah)
    tobj, stats = _build_soft_tobj(swapped, bs, na, nx, ny, distance, score, overlap, with_stats)
    return tobj.reshape(bs, na, ny, nx), stats


def _build_soft_tobj_last_write(rows, bs, na, ny, nx, distance, score, overlap, with_stats=True):
    return _build_soft_tobj(rows, bs, na, ny, nx, distance, score, "last_write", with_stats)


_UNCUT = "power (no cut)"


def _build_soft_tobj_uncut(rows, bs, na, ny, nx, distance, score, overlap, with_stats=True):
    """The power score without rule 4.6's skip of ``d > 2``: the builder is given a score kind
    its cut does not recognise, scored by :func:`_score_fn_uncut` as the power score."""
    if score["kind"] == "power":
        score = {"kind": _UNCUT, "n": score["n"]}
    return _build_soft_tobj(rows, bs, na, ny, nx, distance, score, overlap, with_stats)


def _score_fn_uncut(score):
    if score["kind"] == _UNCUT:
        return lambda d: sot.power_score(d, score["n"])
    return _score_fn(score)


def _loss2_without_entropy(x, t, soft_loss):
    """loss2 as a plain BCE on probabilities: the target's entropy term (a constant in ``x``)
    left out, so the value is off and the gradient right. loss1 and loss3 are the reference's."""
    if soft_loss["kind"] != "loss2":
        return _soft_element_loss(x, t, soft_loss)
    p = torch.sigmoid(x)
    eps = losses.SOFT_EPS
    return -t * torch.log(p + eps) - (1.0 - t) * torch.log(1.0 - p + eps)


def _mean_of_empty_is_nan(v):
    return v.mean()


def _prepare_over_na(cfg, targets, preds, builder="tensor"):
    """The layer loop runs over ``na`` where it means ``nl``: right when they are equal; with
    ``nl > na`` the last layers get no targets (the answer has ``na`` layers of ``tobj``), with
    ``nl < na`` it raises ``IndexError`` (a crash is a failure the harness reports)."""
    na = cfg["anchors"]["shape"][1]
    return _prepare(cfg, targets, [preds[i] for i in range(na)], builder)


def _forward_class_loss_nc1(cfg, preds, layers, balance=None):
    """The class loss of section 5 also for ``nc == 1`` (YOLOv5 skips it there): BCE of the one
    class logit of every row against ``1 - 0.5 label_smoothing``."""
    out = _forward(cfg, preds, layers, balance)
    if cfg["nc"] != 1:
        return out
    hyp = cfg["hyp"]
    lcls = preds[0].new_zeros(())
    for p, L in zip(preds, layers):
        if len(L):
            xc = p[L.b, L.a, L.gj, L.gi][:, 5:]
            t = torch.full_like(xc, 1.0 - 0.5 * hyp["label_smoothing"])
            bce = losses.bce_with_logits(xc, t, hyp["cls_pw"])
            lcls = lcls + losses.focal(bce, xc, t, hyp["fl_gamma"]).mean()
    out["lcls"] = lcls * hyp["cls"]
    out["loss"] = (out["lbox"] + out["lobj"] + out["lcls"]) * preds[0].shape[0]
    return out


def _autobalance_by_layer0(balance, hs):
    """Decisions item 5's update normalised by layer 0 instead of the stride-16 layer 1."""
    bal = list(balance)
    for i, v in enumerate(hs):
        if v > 0.0:
            bal[i] = 0.9999 * bal[i] + 0.0001 / v
    return [b / bal[0] for b in bal]


def _gaussian_sigma_not_squared(d, sigma):
    return sot.exp_glibc(-(d * d) / (2.0 * sigma))


def _emit_centre_only(rows, nx, ny):
    """The baseline assigner without its four neighbour blocks (section 3): centre cells only."""
    gi = rows.gx.long().clamp(0, nx - 1)
    gj = rows.gy.long().clamp(0, ny - 1)
    return rows, gi, gj


def _round_f32(x: Any) -> Any:
    """A value as a float32 port returns it: every number rounded to the nearest float32."""
    if isinstance(x, np.ndarray):
        return x.astype(np.float32).astype(np.float64)
    if isinstance(x, float):
        return float(np.float32(x))
    if isinstance(x, list):
        return [_round_f32(v) for v in x]
    if isinstance(x, dict):
        return {k: _round_f32(v) for k, v in x.items()}
    return x


def _float32_losses(answer: Dict[str, Any]) -> Dict[str, Any]:
    """Losses accumulated in float32: every loss, the balance and the gradient rounded; the
    targets (``tobj``, ``counts``) as built in float64."""
    out = _round_f32(answer)
    out["tobj"], out["counts"] = answer["tobj"], answer["counts"]
    return out


def _float32_everything(answer: Dict[str, Any]) -> Dict[str, Any]:
    """Every value rounded through float32, ``tobj`` included (a tiny Gaussian score becomes 0:
    the cell turns from soft to negative, which the f32 preset refuses too); ``counts`` stay
    those of the float64 targets."""
    out = _round_f32(answer)
    out["counts"] = answer["counts"]
    return out


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

BOX = (1, 0.40, 0.55, 0.43, 0.30)   # spec 4's worked example on an 8x8 layer (not square)


def _bug(name, rule, keys, when, what, minimal, patches=None, post=None, example=None,
         control=None, edge=()):
    return Bug(name=name, rule=rule, keys=tuple(keys), when=when, what=what, minimal=minimal,
               patches=patches or (lambda: []), post=post, example=example or {},
               control=control, edge=tuple(edge))


_LIST = [
    _bug("focal_ignored", "spec 5, focal wrapper (decisions item 9)", ["hyp.fl_gamma"],
         "hyp.fl_gamma > 0",
         "the focal factor is never applied: plain BCE on hard cells and classes",
         "1 image, 0 boxes (every cell a hard negative)",
         lambda: [(losses, "focal", _focal_ignored)],
         example={"config": {"hyp": {"fl_gamma": 1.5}}},
         control={"config": {"hyp": {"fl_gamma": 0.0}}},
         edge=["focal", "focal-yolov5"]),
    _bug("label_smoothing_ignored", "spec 5, class targets cp, cn", ["hyp.label_smoothing"],
         "hyp.label_smoothing > 0 (with nc > 1 and a matched row)",
         "class targets are 1 and 0 whatever label_smoothing says",
         "1 image, 1 box, nc 2",
         lambda: [(sot, "forward", _forward_with_hyp(label_smoothing=0.0))],
         example={"config": {"hyp": {"label_smoothing": 0.1}}, "boxes": [BOX]},
         control={"config": {"hyp": {"label_smoothing": 0.0}}},
         edge=["label-smoothing"]),
    _bug("obj_pw_ignored", "spec 5, hard objectness BCE pos_weight", ["hyp.obj_pw"],
         "hyp.obj_pw != 1 (with a positive cell)",
         "the hard objectness BCE has pos_weight 1",
         "1 image, 1 box",
         lambda: [(sot, "forward", _forward_with_hyp(obj_pw=1.0))],
         example={"config": {"hyp": {"obj_pw": 2.5}}, "boxes": [BOX]},
         control={"config": {"hyp": {"obj_pw": 1.0}}},
         edge=["pos-weights"]),
    _bug("cls_pw_ignored", "spec 5, class BCE pos_weight", ["hyp.cls_pw"],
         "hyp.cls_pw != 1 (with nc > 1 and a matched row)",
         "the class BCE has pos_weight 1",
         "1 image, 1 box, nc 2",
         lambda: [(sot, "forward", _forward_with_hyp(cls_pw=1.0))],
         example={"config": {"hyp": {"cls_pw": 0.6}}, "boxes": [BOX]},
         control={"config": {"hyp": {"cls_pw": 1.0}}},
         edge=["pos-weights"]),
    _bug("ciou_v7_for_v6", "spec 5, CIoU sizes (v6.0 recomputes them from the corners)",
         ["ciou"], "ciou = v6.0 (with a matched row)",
         "YOLOv5 v7.0's CIoU everywhere, also where the config says v6.0",
         "1 image, 1 box",
         lambda: [(losses, "ciou", _ciou_v7), (sot, "ciou", _ciou_v7)],
         example={"boxes": [BOX]},
         control={"config": {"ciou": "v7.0"}},
         edge=["default-3-layers"]),
    _bug("soft_xy_swapped", "spec 4.7, scatter at tobj[b, a, cj, ci]", ["assigner"],
         "assigner = soft (with a box not symmetric in x and y)",
         "the soft targets are written with x and y exchanged (square layers: transposed)",
         "1 image, 1 box",
         lambda: [(sot, "build_soft_tobj", _build_soft_tobj_xy_swapped)],
         example={"boxes": [BOX]},
         control={"config": {"assigner": "yolov5"}},
         edge=["default-3-layers", "nonsquare-grid"]),
    _bug("diagonal_for_cell_index", "spec 4.5, the cell_index distance", ["distance"],
         "distance = cell_index (with a soft cell)",
         "the diagonal distance is used where the config says cell_index",
         "1 image, 1 box",
         lambda: [(sot, "DISTANCES", {**sot.DISTANCES, "cell_index": sot.distance_diagonal})],
         example={"boxes": [BOX]},
         control={"config": {"distance": "continuous"}},
         edge=["distance-cell-index"]),
    _bug("loss2_without_entropy", "spec 5, loss2's second bracket (the target's entropy)",
         ["soft_loss.kind"], "soft_loss.kind = loss2 (with a soft cell)",
         "loss2 without its entropy term: S_i too large, gradient unchanged",
         "1 image, 1 box",
         lambda: [(losses, "soft_element_loss", _loss2_without_entropy)],
         example={"boxes": [BOX]},
         control={"config": {"soft_loss": {"kind": "loss3"}}},
         edge=["loss2"]),
    _bug("overlap_max_as_last_write", "spec 4.7, overlap = max keeps the largest score",
         ["overlap"], "overlap = max (with two different scores written to one cell)",
         "overlap = max is treated as last_write",
         "1 image, 1 box leaving the grid (clamped duplicates) or 2 overlapping boxes",
         lambda: [(sot, "build_soft_tobj", _build_soft_tobj_last_write)],
         example={"config": {"overlap": "max"}, "boxes": [(1, 0.95, 0.55, 0.5, 0.3)]},
         control={"config": {"overlap": "last_write"}},
         edge=["equal-cells-max", "overlap-max-crowded"]),
    _bug("layers_looped_over_na", "spec 1-2, one anchor set and one target set per layer",
         ["nl", "na"], "nl != na (nl < na: the port raises)",
         "the layer loop runs over na (layers past na get nothing; nl < na raises IndexError)",
         "1 image, 0 boxes, 2 layers of 1 anchor",
         lambda: [(sot, "prepare", _prepare_over_na)],
         example={"grids": [(8, 8), (4, 4)]},
         control={"grids": [(8, 8)]},
         edge=["two-layers-one-anchor", "leave-left"]),
    _bug("class_loss_when_nc1", "spec 5, class loss only when nc > 1", ["nc"],
         "nc == 1 (with a matched row)",
         "the class loss is computed on the one class channel",
         "1 image, 1 box, nc 1",
         lambda: [(sot, "forward", _forward_class_loss_nc1)],
         example={"nc": 1, "boxes": [(0,) + BOX[1:]]},
         control={"nc": 2},
         edge=["nc-1"]),
    _bug("float32_accumulation", "spec preamble and 7: f64 arithmetic, the f64 preset", [],
         "always (losses, balance and gradients exactly float32 values)",
         "the losses, the balance and the gradient rounded through float32 (tobj and counts "
         "exact): conforms under the f32 preset",
         "1 image, 0 boxes",
         post=_float32_losses,
         edge=["default-3-layers"]),
    _bug("float32_throughout", "spec preamble, 4.9 and 7: f64 arithmetic, exact cell classes",
         [], "always under f64; under f32 where a tiny Gaussian score underflows "
         "(score.sigma small)",
         "every value of the answer, tobj included, rounded through float32",
         "1 image, 1 box",
         post=_float32_everything,
         example={"config": {"score": {"kind": "gaussian", "sigma": 0.05}}, "boxes": [BOX]},
         edge=["gaussian-tiny-sigma-underflow"]),
    _bug("empty_mean_nan", "spec 5, a mean over an empty set is 0 (decisions item 8)",
         ["assigner"], "assigner = soft with a layer without soft cells",
         "an empty soft set is averaged over zero cells (NaN loss)",
         "1 image, 0 boxes",
         lambda: [(losses, "mean_or_zero", _mean_of_empty_is_nan)],
         control={"config": {"assigner": "yolov5"}},
         edge=["empty-targets", "layer-without-matches"]),
    _bug("autobalance_by_layer0", "spec 5, autobalance normalised by layer 1 (decisions item 5)",
         ["autobalance"], "autobalance = true with nl > 1",
         "the updated balance is divided by layer 0's entry instead of layer 1's",
         "1 image, 0 boxes, 2 layers",
         lambda: [(sot, "autobalance_update", _autobalance_by_layer0)],
         example={"config": {"autobalance": True}, "grids": [(8, 8), (4, 4)]},
         control={"config": {"autobalance": False}},
         edge=["autobalance"]),
    _bug("power_cut_missing", "spec 4.6, power cells with d > 2 are skipped",
         ["score.kind", "distance"], "score.kind = power with distance continuous or diagonal",
         "cells with d > 2 are written (targets above 1, NaN soft losses)",
         "1 image, 1 box",
         lambda: [(sot, "build_soft_tobj", _build_soft_tobj_uncut),
                  (sot, "score_fn", _score_fn_uncut)],
         example={"config": {"score": {"kind": "power", "n": 2}, "distance": "continuous"},
                  "boxes": [(1, 0.49375, 0.55, 0.025, 0.3)], "anchors": [(0.3, 2.0)]},
         control={"config": {"distance": "cell_index"}},
         edge=["power-d-above-2-continuous", "power-d-above-2-diagonal"]),
    _bug("gaussian_sigma_not_squared", "spec 4.6, exp(-d^2 / (2 sigma^2))", ["score.sigma"],
         "score.kind = gaussian with score.sigma != 1",
         "the Gaussian divides by 2 sigma instead of 2 sigma^2",
         "1 image, 1 box",
         lambda: [(sot, "gaussian_score", _gaussian_sigma_not_squared)],
         example={"config": {"score": {"kind": "gaussian", "sigma": 0.5}}, "boxes": [BOX]},
         control={"config": {"score": {"kind": "gaussian", "sigma": 1.0}}},
         edge=["distance-cell-index", "score-gaussian-2"]),
    _bug("yolov5_no_neighbours", "spec 3, the four neighbour blocks", ["assigner"],
         "assigner = yolov5 (with a box off a cell's centre)",
         "the baseline assigner emits the centre cells only",
         "1 image, 1 box",
         lambda: [(sot, "yolov5_emit_rows", _emit_centre_only)],
         example={"config": {"assigner": "yolov5"}, "boxes": [BOX]},
         control={"config": {"assigner": "soft"}},
         edge=["leave-all-sides-yolov5"]),
]

BUGS: Dict[str, Bug] = {b.name: b for b in _LIST}


def example_case(bug: str | Bug, control: bool = False) -> Dict[str, Any]:
    """The bug's small case (at most 1 image and 2 boxes) that shows it; with ``control`` the
    same case with the responsible option reset, on which the bugged port conforms."""
    b = BUGS[bug] if isinstance(bug, str) else bug
    kw = dict(b.example)
    if control:
        if b.control is None:
            raise ValueError(f"{b.name}: no control case (the bug shows on every case)")
        for k, v in b.control.items():
            if k == "config":
                cfg = {**kw.get("config", {}), **v}
                cfg["hyp"] = {**kw.get("config", {}).get("hyp", {}), **v.get("hyp", {})}
                kw["config"] = cfg
            else:
                kw[k] = v
    name = f"{b.name} {'control' if control else 'example'}"
    return tiny_case(name=name, **kw)


def reference_port(bug: Optional[str | Bug] = None) -> Callable[..., Dict[str, Any]]:
    """The reference as a port ``port(config, targets, predictions) -> answer``; with ``bug``
    (a name of :data:`BUGS` or a :class:`Bug`) that bug is planted for each call."""
    from .reference import answer

    if bug is None:
        return answer
    b = BUGS[bug] if isinstance(bug, str) else bug

    def port(config: Mapping[str, Any], targets: Any, predictions: Any) -> Dict[str, Any]:
        with LOCK, planted(b):
            a = answer(config, targets, predictions)
        return b.post(a) if b.post is not None else a

    port.__name__ = port.__qualname__ = f"reference_port_{b.name}"
    return port
