"""Small cases: one image with given boxes (``tiny_case``), and cases cut out of generated
ones (``sub_case``: chosen layers, anchors and images)."""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np


def sub_case(case: Mapping[str, Any], layers: Sequence[int], anchors: Sequence[int],
             images: Optional[Sequence[int]] = None, name: Optional[str] = None) -> Dict[str, Any]:
    """The part of ``case`` (a dict as :func:`soft_objectness.gen_cases` returns it) made of
    the given ``layers``, ``anchors`` (the same for every layer) and ``images`` (default all;
    targets of the other images are dropped, the kept ones renumbered).

    The result is a valid case whenever ``len(layers)`` is 1 to 5 and at least one image is
    kept; its ``config`` keeps every other key. ``so.check`` evaluates it with the oracle.
    """
    layers, anchors = list(layers), list(anchors)
    cfg = dict(case["config"])
    a = np.asarray(_anchor_array(cfg["anchors"]), dtype=np.float64)
    cfg["anchors"] = a[np.ix_(layers, anchors)].copy()
    preds = [np.asarray(case["inputs"]["predictions"][i])[:, anchors] for i in layers]
    targets = np.asarray(case["inputs"]["targets"], dtype=np.float64).reshape(-1, 6)
    if images is not None:
        images = list(images)
        preds = [p[images] for p in preds]
        keep = np.isin(targets[:, 0], images)
        targets = targets[keep].copy()
        targets[:, 0] = [images.index(int(b)) for b in targets[:, 0]]
    return {
        "format": case.get("format", "soft-objectness-case/1"),
        "name": name or f"{case.get('name', 'case')} [layers {layers}, anchors {anchors}]",
        "config": cfg,
        "inputs": {"targets": targets, "predictions": [np.ascontiguousarray(p) for p in preds]},
    }


def _anchor_array(anchors: Any) -> np.ndarray:
    if isinstance(anchors, Mapping):
        return np.asarray(anchors["data"], dtype=np.float64).reshape(anchors["shape"])
    return np.asarray(anchors, dtype=np.float64)


def tiny_case(config: Optional[Mapping[str, Any]] = None, boxes: Sequence[Sequence[float]] = (),
              grids: Sequence[Tuple[int, int]] = ((8, 8),), anchors: Any = ((3.0, 2.5),),
              nc: int = 2, seed: int = 0, name: str = "tiny") -> Dict[str, Any]:
    """A case of one image: ``boxes`` as ``(class, x, y, w, h)`` rows, one layer per
    ``(ny, nx)`` of ``grids``, the same ``anchors`` (``[na, 2]``, grid units) on every layer,
    float64 logits drawn from N(0, 1) with ``seed`` and rounded to 1/16. ``config`` overrides
    the defaults (spec section 10) key by key, ``hyp`` entry by entry; the result has every key
    explicit, as :func:`soft_objectness.load_case` gives it."""
    from .reference import sot

    rng = np.random.default_rng(seed)
    a = np.asarray(anchors, dtype=np.float64)
    nl, na = len(grids), a.shape[0]
    preds = [np.round(rng.standard_normal((1, na, ny, nx, 5 + nc)) * 16.0) / 16.0
             for ny, nx in grids]
    targets = np.array([[0.0, *b] for b in boxes], dtype=np.float64).reshape(-1, 6)
    partial = dict(config or {})
    partial["nc"] = nc
    partial["anchors"] = {"shape": [nl, na, 2], "data": np.tile(a, (nl, 1, 1)).ravel().tolist()}
    return {
        "format": "soft-objectness-case/1",
        "name": name,
        "config": sot.complete_config(partial),
        "inputs": {"targets": targets, "predictions": preds},
    }
