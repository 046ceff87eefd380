"""The Soft-Objectness loss as differentiable PyTorch operations: the one torch implementation of
the repository.

Three users import it: :class:`soft_objectness.torch.ComputeLoss` (its ``backend="torch"``
path, on any device), the fixture exporter (``fixtures/export/soft_objectness_torch.py``, which
builds the targets itself in float64 on the CPU and exports the golden fixtures from
:func:`forward`'s values and autograd's gradients) and the benchmarks' torch side
(``bench/torch_side.py``). The targets are not built here: they come from the Rust builder
(``soft_objectness.build_targets``) or from the exporter.

Sections refer to ``docs/spec.md``:

* :func:`bce_with_logits` / :func:`focal` / :func:`soft_element_loss` -- section 5; BCE's
  gradient at a logit exactly 0 is the smooth one (section 6, :func:`softplus_neg`);
* :func:`ciou` -- section 5's box loss (decisions item 4), ``release`` ``"v6.0"`` or ``"v7.0"``;
  :func:`pred_box` -- the predicted box of a row; :func:`refuse_empty_boxes` (with
  :func:`empty_box_message`) -- section 8's rule on v7.0's boxes of size 0;
* :func:`forward` -- the loss of one batch (section 5, soft assigner; section 3, baseline) from
  per-layer :class:`LayerTargets`; :func:`autobalance_update` -- the balance after a batch
  (decisions item 5); :func:`counts_of` -- the cell counts (section 4 rule 9).

Functions that must be bit-exact for the exporter take the transcendental functions as
arguments (``ciou(..., atan=)``, ``pred_box(..., sigmoid=)``); the defaults are torch's. Every
function works on tensors of any floating dtype and device; the exporter calls them on float64
CPU tensors, and their values there are the bits of the golden fixtures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

import soft_objectness as so

Tensor = torch.Tensor

CIOU_EPS = 1e-7          # decisions item 4
SOFT_EPS = 1e-6          # section 5, the faithful 1e-6 terms
FOCAL_ALPHA = 0.25       # section 5 focal wrapper
FOUR_OVER_PI2 = 4.0 / (math.pi * math.pi)  # == 4 / math.pi ** 2 (glibc pow is correctly rounded)
CIOU_RELEASES = ("v6.0", "v7.0")   # section 5: which YOLOv5 release's CIoU

__all__ = [
    "CIOU_EPS",
    "SOFT_EPS",
    "FOCAL_ALPHA",
    "FOUR_OVER_PI2",
    "CIOU_RELEASES",
    "default_balance",
    "softplus_neg",
    "bce_with_logits",
    "focal",
    "soft_element_loss",
    "mean_or_zero",
    "ciou",
    "pred_box",
    "empty_box_message",
    "refuse_empty_boxes",
    "scatter_last_write",
    "LayerTargets",
    "forward",
    "autobalance_update",
    "counts_of",
]


def default_balance(nl: int) -> List[float]:
    """Decisions item 5: [4, 1, 0.4] for 3 layers, else the first nl of [4, 1, 0.25, 0.06, 0.02]."""
    if not 1 <= nl <= 5:
        raise ValueError(f"nl must be 1..=5, got {nl}")
    if nl == 3:
        return [4.0, 1.0, 0.4]
    return [4.0, 1.0, 0.25, 0.06, 0.02][:nl]


# --------------------------------------------------------------------------------------------
# Section 5: element losses
# --------------------------------------------------------------------------------------------

def softplus_neg(x: Tensor) -> Tensor:
    """``ln(1 + e^{-x})`` in the stable form ``ln(1 + e^{-|x|}) + max(-x, 0)`` (section 5), with
    the derivative of the smooth function, ``-sigmoid(-x)``, also at ``x = 0`` (section 6).

    Autograd of the stable form takes a subgradient at ``x = 0`` (0 for ``|x|``, -1 for the
    clamp: -1 in all instead of -1/2). At elements where ``x == 0`` the value is taken from the
    stable form (detached) and the slope from ``-x / 2``; elsewhere the stable form is used as
    it is. The values are the stable form's bits everywhere, and the gradients at ``x != 0`` are
    autograd's of the stable form plus an exact ``-0.0`` (which changes no bit), so fixtures
    exported before this rule are unchanged.
    """
    stable = torch.log1p(torch.exp(-x.abs())) + torch.clamp(-x, min=0.0)
    return torch.where(x == 0.0, stable.detach() - x / 2.0, stable)


def bce_with_logits(x: Tensor, t: Tensor, pos_weight: float) -> Tensor:
    """Stable BCE-with-logits with pos_weight, elementwise (section 5); its gradient is
    ``sigmoid(x) (1 + (w - 1) t) - w t`` everywhere, ``x = 0`` included (section 6)."""
    return (1.0 - t) * x + (1.0 + (pos_weight - 1.0) * t) * softplus_neg(x)


def focal(loss: Tensor, x: Tensor, t: Tensor, gamma: float) -> Tensor:
    """v6.0 focal wrapper (decisions item 9); identity when gamma == 0."""
    if gamma <= 0.0:
        return loss
    p = torch.sigmoid(x)
    p_t = t * p + (1.0 - t) * (1.0 - p)
    alpha_factor = t * FOCAL_ALPHA + (1.0 - t) * (1.0 - FOCAL_ALPHA)
    return loss * (alpha_factor * (1.0 - p_t) ** gamma)


def soft_element_loss(x: Tensor, t: Tensor, soft_loss: Mapping[str, Any]) -> Tensor:
    """loss1{gamma} / loss2 / loss3 on soft cells (section 5); ``soft_loss`` is the config's."""
    p = torch.sigmoid(x)
    if soft_loss["kind"] == "loss1":
        return -((1.0 - t) ** soft_loss["gamma"]) * torch.log(1.0 - p + SOFT_EPS)
    l2 = (-t * torch.log(p + SOFT_EPS) - (1.0 - t) * torch.log(1.0 - p + SOFT_EPS)) - (
        -t * torch.log(t + SOFT_EPS) - (1.0 - t) * torch.log(1.0 - t + SOFT_EPS))
    if soft_loss["kind"] == "loss2":
        return l2
    return (1.0 - t) * l2


def mean_or_zero(v: Tensor) -> Tensor:
    """Mean; 0 for an empty set (section 5, decisions item 8), keeping the autograd graph."""
    return v.mean() if v.numel() else v.sum()


# --------------------------------------------------------------------------------------------
# Section 5: box loss
# --------------------------------------------------------------------------------------------

class _Ratio(torch.autograd.Function):
    """``w / h`` whose backward rounds as the Rust oracle's: ``dh = -(g * r) / h``.

    Autograd's division computes ``-g * ((w / h) / h)``, which overflows to inf (or gives
    ``0 * inf = NaN``) for v7.0 boxes with a height below about 1e-162 (tw, th logits below
    about -187, where ``(2 sigmoid)^2`` is tiny) even where the gradient is finite. v6.0's
    heights are at least eps, so only v7.0 uses this.
    """

    @staticmethod
    def forward(ctx, w, h):  # type: ignore[override]
        r = w / h
        ctx.save_for_backward(h, r)
        return r

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        h, r = ctx.saved_tensors
        return g / h, -(g * r) / h


def ciou(
    box1: Sequence[Tensor],
    box2: Sequence[Tensor],
    atan: Callable[[Tensor], Tensor] = torch.atan,
    alpha: Optional[Tensor] = None,
    release: str = "v6.0",
) -> Tuple[Tensor, Tensor, Tensor]:
    """CIoU of (x, y, w, h) boxes through corners, eps 1e-7 (section 5, decisions item 4).

    ``release`` "v6.0" recomputes the sizes from the corners (heights ``+ eps``); "v7.0" takes
    the sizes as given. Returns (ciou, iou, alpha); alpha is computed without gradient unless
    given (as YOLOv5 does).
    """
    eps = CIOU_EPS
    x1, y1, w1, h1 = box1
    x2, y2, w2, h2 = box2
    b1x1, b1x2 = x1 - w1 / 2.0, x1 + w1 / 2.0
    b1y1, b1y2 = y1 - h1 / 2.0, y1 + h1 / 2.0
    b2x1, b2x2 = x2 - w2 / 2.0, x2 + w2 / 2.0
    b2y1, b2y2 = y2 - h2 / 2.0, y2 + h2 / 2.0
    inter = torch.clamp(torch.minimum(b1x2, b2x2) - torch.maximum(b1x1, b2x1), min=0.0) * \
        torch.clamp(torch.minimum(b1y2, b2y2) - torch.maximum(b1y1, b2y1), min=0.0)
    if release == "v6.0":
        W1 = b1x2 - b1x1
        H1 = b1y2 - b1y1 + eps
        W2 = b2x2 - b2x1
        H2 = b2y2 - b2y1 + eps
    elif release == "v7.0":
        W1, H1, W2, H2 = w1, h1, w2, h2
    else:
        raise ValueError(f"ciou release: {release!r}")
    union = W1 * H1 + W2 * H2 - inter + eps
    iou = inter / union
    cw = torch.maximum(b1x2, b2x2) - torch.minimum(b1x1, b2x1)
    ch = torch.maximum(b1y2, b2y2) - torch.minimum(b1y1, b2y1)
    c2 = cw * cw + ch * ch + eps
    dx = b2x1 + b2x2 - b1x1 - b1x2
    dy = b2y1 + b2y2 - b1y1 - b1y2
    rho2 = (dx * dx + dy * dy) / 4.0
    if release == "v7.0" and isinstance(W1, torch.Tensor) and W1.requires_grad:
        da = atan(W2 / H2) - atan(_Ratio.apply(W1, H1))
    else:
        da = atan(W2 / H2) - atan(W1 / H1)
    v = FOUR_OVER_PI2 * (da * da)
    if alpha is None:
        with torch.no_grad():
            alpha = v / (v - iou + (1.0 + eps))
    return iou - (rho2 / c2 + v * alpha), iou, alpha


def pred_box(
    ps: Tensor, aw: Tensor, ah: Tensor, sigmoid: Callable[[Tensor], Tensor] = torch.sigmoid
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """The predicted box of rows ``ps`` (``[n, no]``): ``pxy = 2 sigmoid - 0.5``,
    ``pwh = (2 sigmoid)^2 * anchor`` (square first)."""
    sxy = sigmoid(ps[:, 0:2]) * 2.0 - 0.5
    swh = sigmoid(ps[:, 2:4]) * 2.0
    return (sxy[:, 0], sxy[:, 1], (swh[:, 0] * swh[:, 0]) * aw, (swh[:, 1] * swh[:, 1]) * ah)


def empty_box_message(layer: int, at: Sequence[int], row: int, logit: float,
                      dtype: Optional[torch.dtype] = None) -> Tuple[str, str]:
    """The field and the message of section 8's refusal of a v7.0 box of size 0, in the Rust
    oracle's words: ``at`` is the logit's index ``[b, a, gj, gi, c]`` (``c`` 2 for the width, 3
    for the height), ``row`` the matched row; ``dtype``, when given, is named as where the size
    underflowed.

    >>> empty_box_message(0, [0, 0, 2, 2, 2], 1, -400.0)[1]  # doctest: +NORMALIZE_WHITESPACE
    'inputs.predictions[0] at [0, 0, 2, 2, 2]: with ciou v7.0 a logit must not underflow the
    predicted width of matched row 1 to exactly 0 (CIoU is undefined there; spec section 8)
    (got -400)'
    """
    field = f"inputs.predictions[{layer}] at {list(at)}"
    side = "width" if at[4] == 2 else "height"
    where = "" if dtype is None else f" in {str(dtype).replace('torch.', '')}"
    # The oracle's number format: integers plainly, others in their shortest round-trip form.
    value = str(int(logit)) if logit.is_integer() and abs(logit) < 1e16 else repr(logit)
    return field, (f"{field}: with ciou v7.0 a logit must not underflow the predicted {side} of "
                   f"matched row {row} to exactly 0{where} (CIoU is undefined there; spec "
                   f"section 8) (got {value.replace('e+', 'e')})")


def refuse_empty_boxes(boxes: Sequence[Tuple[int, "LayerTargets", Tensor, Sequence[Tensor]]]) -> None:
    """Section 8 (revision 2.1): with ``ciou: v7.0`` no row may have a predicted width or height
    of exactly 0, where CIoU is undefined (``atan(0 / 0)``, a NaN loss).

    ``boxes`` holds, per layer with rows, ``(layer, targets, ps, box)``: the rows' logits ``ps``
    and their :func:`pred_box` as the loss computed it, on the predictions' device and in their
    dtype (float32 sizes underflow from box-size logits below about -46 to -53, float64 ones
    below about -366 to -373, the anchor deciding). One device-to-host copy of one boolean per
    call decides; only then are the first such row (layers, then rows, in order; the width
    before the height) and its logit read, and :class:`soft_objectness.CaseError` raised naming
    them (:func:`empty_box_message` with the dtype; the logit's index in ``.field``).
    """
    if not boxes:
        return
    empty = [(w == 0.0) | (h == 0.0) for _, _, _, (_, _, w, h) in boxes]
    if not bool(torch.stack([e.any() for e in empty]).any()):
        return
    for (i, L, ps, (_, _, w, _)), e in zip(boxes, empty):
        rows = e.nonzero()
        if len(rows):
            r = int(rows[0, 0])
            c = 2 if float(w[r].detach()) == 0.0 else 3
            at = [int(L.b[r]), int(L.a[r]), int(L.gj[r]), int(L.gi[r]), c]
            field, message = empty_box_message(i, at, r, float(ps[r, c].detach()), ps.dtype)
            err = so.CaseError(message)
            err.field = field
            raise err


def scatter_last_write(size: int, flat: Tensor, values: Tensor, seq: Optional[Tensor] = None) -> Tensor:
    """A flat buffer of ``size`` zeros where ``values`` are written at ``flat`` and, where an
    index repeats, the value with the largest sequence number wins (``seq``, default the
    position): the "later row wins" of section 3, the same on every device (a plain
    ``index_put_`` leaves duplicates to the device's order). Dtype and device of ``values``."""
    out = torch.zeros(size, dtype=values.dtype, device=values.device)
    if flat.numel() == 0:
        return out
    if seq is None:
        seq = torch.arange(flat.numel(), device=flat.device)
    winner = torch.full((size,), -1, dtype=torch.long, device=flat.device)
    winner.scatter_reduce_(0, flat, seq, reduce="amax", include_self=True)
    win = seq == winner[flat]
    out[flat[win]] = values[win]         # winners are unique per index: a well-defined write
    return out


# --------------------------------------------------------------------------------------------
# The loss of a batch
# --------------------------------------------------------------------------------------------

@dataclass
class LayerTargets:
    """The constants of one layer's loss (what a target builder gives): rows and cells.

    Rows (1-D, ``n`` each, on the predictions' device): ``b, a, gj, gi, cls`` (int64; ``gj``,
    ``gi`` the clamped cell), ``tbox`` = ``(gx - gi, gy - gj, gw, gh)`` and ``anchor`` =
    ``(aw, ah)`` in grid units, in the predictions' dtype. ``tobj`` ``[bs, na, ny, nx]``: the
    objectness targets; ``None`` for the baseline assigner, whose targets :func:`forward`
    makes from the rows' CIoU (``max(CIoU, 0)``, the later row winning) as YOLOv5 does.
    ``hard``, ``soft``: the soft assigner's cell masks (bool ``[bs, na, ny, nx]``; cells whose
    target is exactly 0 or 1, and the others). ``alpha``: the rows' CIoU alpha when already
    known (else computed without gradient).
    """

    b: Tensor
    a: Tensor
    gj: Tensor
    gi: Tensor
    cls: Tensor
    tbox: Tuple[Tensor, Tensor, Tensor, Tensor]
    anchor: Tuple[Tensor, Tensor]
    tobj: Optional[Tensor] = None
    hard: Optional[Tensor] = None
    soft: Optional[Tensor] = None
    alpha: Optional[Tensor] = None

    def __len__(self) -> int:
        return int(self.b.numel())


def _baseline_tobj(p: Tensor, L: LayerTargets, c: Tensor) -> Tensor:
    """Section 3's objectness targets: ``max(CIoU, 0)`` of each row at its cell, later row wins."""
    bs, na, ny, nx = p.shape[:4]
    flat = ((L.b * na + L.a) * ny + L.gj) * nx + L.gi
    target = torch.clamp(c.detach(), min=0.0) + 0.0
    return scatter_last_write(bs * na * ny * nx, flat, target).reshape(bs, na, ny, nx)


def _gather(p: Tensor, L: LayerTargets) -> Tuple[Tensor, Optional[Tensor]]:
    """The objectness logits of every cell ``[bs, na, ny, nx]`` and the rows' logit vectors
    ``[n, no]`` (or None without rows) in one gather.

    The values are those of ``p[..., 4]`` and ``p[b, a, gj, gi]``; one gather instead of two
    makes autograd build one dense gradient of ``p`` (zeros, then the touched elements
    accumulated) instead of two added together, which is most of a backward's time for
    training-sized layers (a 100 MB layer at 640 x 640).
    """
    bs, na, ny, nx, no = p.shape
    cells = bs * na * ny * nx
    idx = torch.arange(cells, device=p.device) * no + 4
    n = len(L)
    if n:
        rows = ((L.b * na + L.a) * ny + L.gj) * nx + L.gi
        idx = torch.cat((idx, (rows[:, None] * no + torch.arange(no, device=p.device)).reshape(-1)))
    vals = torch.take(p, idx)
    x = vals[:cells].view(bs, na, ny, nx)
    return x, (vals[cells:].view(n, no) if n else None)


def forward(
    cfg: Mapping[str, Any],
    preds: Sequence[Tensor],
    layers: Sequence[LayerTargets],
    balance: Optional[Sequence[float]] = None,
) -> Dict[str, Any]:
    """The loss of section 5 (soft) / section 3 (baseline) as a differentiable function of preds.

    Args:
        cfg: the configuration with every key explicit (``soft_objectness.Config.to_dict()``
            or the exporter's ``complete_config``): ``nc``, ``hyp``, ``assigner``,
            ``soft_loss``, ``ciou`` are read.
        preds: per layer ``[bs, na, ny, nx, 5 + nc]`` logits, one dtype and device.
        layers: per layer :class:`LayerTargets` on that device.
        balance: the layer balance in force (default :func:`default_balance`).

    Returns:
        A dict of tensors (0-dim): ``loss`` (``(lbox + lobj + lcls) * bs``), ``lbox``, ``lobj``,
        ``lcls``; lists ``hard`` (``H_i``), ``soft`` (``S_i``) and ``tobj`` (the objectness
        targets used, per layer).

    Raises:
        soft_objectness.CaseError: with ``ciou`` ``"v7.0"``, a row whose predicted width or
            height is exactly 0 in the predictions' dtype (:func:`refuse_empty_boxes`).
    """
    hyp = cfg["hyp"]
    nl = len(preds)
    balance = default_balance(nl) if balance is None else balance
    nc = cfg["nc"]
    fl = hyp["fl_gamma"]
    eps_ls = hyp["label_smoothing"]
    cp, cn = 1.0 - 0.5 * eps_ls, 0.5 * eps_ls
    zero = preds[0].new_zeros(())
    lbox, lobj, lcls = zero, zero, zero
    H, S, T = [], [], []
    boxes: List[Tuple[int, LayerTargets, Tensor, Tuple[Tensor, ...]]] = []
    for i, (p, L) in enumerate(zip(preds, layers)):
        n = len(L)
        tobj = L.tobj
        x, ps = _gather(p, L)
        if n:
            box = pred_box(ps, L.anchor[0], L.anchor[1])
            if cfg["ciou"] == "v7.0":
                boxes.append((i, L, ps, box))
            c, _, _ = ciou(box, L.tbox, alpha=L.alpha, release=cfg["ciou"])
            lbox = lbox + (1.0 - c).mean()
            if tobj is None:
                tobj = _baseline_tobj(p, L, c)
            if nc > 1:
                t = torch.full((n, nc), cn, dtype=p.dtype, device=p.device)
                t[torch.arange(n, device=p.device), L.cls] = cp
                xc = ps[:, 5:]
                lcls = lcls + focal(bce_with_logits(xc, t, hyp["cls_pw"]), xc, t, fl).mean()
        elif tobj is None:
            tobj = p.new_zeros(p.shape[:4])
        if cfg["assigner"] == "yolov5":
            h_i = mean_or_zero(focal(bce_with_logits(x, tobj, hyp["obj_pw"]), x, tobj, fl))
            s_i = zero
        else:
            xh, th = x[L.hard], tobj[L.hard]
            h_i = mean_or_zero(focal(bce_with_logits(xh, th, hyp["obj_pw"]), xh, th, fl))
            xs, ts = x[L.soft], tobj[L.soft]
            s_i = mean_or_zero(soft_element_loss(xs, ts, cfg["soft_loss"]))
        H.append(h_i)
        S.append(s_i)
        T.append(tobj)
        lobj = lobj + (h_i + s_i) * balance[i]
    refuse_empty_boxes(boxes)
    lbox = lbox * hyp["box"]
    lobj = lobj * hyp["obj"]
    lcls = lcls * hyp["cls"]
    bs = preds[0].shape[0]
    return {"loss": (lbox + lobj + lcls) * bs, "lbox": lbox, "lobj": lobj, "lcls": lcls,
            "hard": H, "soft": S, "tobj": T}


def autobalance_update(balance: Sequence[float], hs: Sequence[float]) -> List[float]:
    """Decisions item 5: the balance after a batch whose per-layer objectness losses
    (``H_i + S_i``) are ``hs``; normalised by layer 1 (layer 0 when there is one layer)."""
    nl = len(balance)
    bal = list(balance)
    for i, v in enumerate(hs):
        if v > 0.0:
            bal[i] = 0.9999 * bal[i] + 0.0001 / v
    ssi = 1 if nl > 1 else 0
    ref = bal[ssi]
    return [b / ref for b in bal]


def counts_of(assigner: str, tobj: Tensor) -> Dict[str, int]:
    """Section 4 rule 9 (soft) / section 3 (baseline), over every cell (decisions item 6)."""
    if assigner == "yolov5":
        return {"positive": int((tobj > 0.0).sum()), "negative": int((tobj == 0.0).sum()), "soft": 0}
    pos = int((tobj == 1.0).sum())
    neg = int((tobj == 0.0).sum())
    return {"positive": pos, "negative": neg, "soft": int(tobj.numel()) - pos - neg}
