"""The correct port: the repository's independent torch reference driven as a port.

``port(config, targets, predictions) -> answer`` is the interface of issue 22's harness: the
case format's ``config`` (every key explicit, as :func:`soft_objectness.load_case` returns it;
``anchors`` a numpy array ``[nl, na, 2]`` or ``{"shape", "data"}``), ``targets`` ``[nt, 6]``
and one ``[bs, na, ny, nx, 5 + nc]`` array per layer (float32 or float64). The answer holds
``loss, lbox, lobj, lcls, tobj, counts, grad, hard_loss, soft_loss, balance`` (spec section 7),
numpy arrays and Python numbers.

The work is the reference's (``fixtures/export/soft_objectness_torch.py``, which imports the
package's ``soft_objectness.torch.losses``): :func:`answer` is its ``evaluate`` without two
things a port does not do. It does not refuse a non-finite result (a port answers, the oracle
judges: a planted bug that yields NaN must come back as a NaN answer, not as an exception),
and it does not list the ``matched`` rows (an optional key, a Python loop per row).

Every call goes through the reference module's attributes at call time (``sot.prepare``,
``sot.forward``, ...), so that :mod:`ports.bugs` can replace one of them inside a context.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Sequence

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[3]
_EXPORT = str(ROOT / "fixtures" / "export")
if _EXPORT not in sys.path:
    sys.path.insert(0, _EXPORT)

import soft_objectness_torch as sot  # noqa: E402  (the reference, beside the fixtures)

F64 = torch.float64

# One port call at a time in the process: a planted bug replaces functions of shared modules
# for the length of a call (ports.bugs.planted), and torch's thread count is process-wide, so
# concurrent calls (a harness running ports from several threads) must not interleave.
LOCK = threading.RLock()


def case_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """The case format's config as the reference reads it: anchors as ``{"shape", "data"}``
    (a numpy array ``[nl, na, 2]`` is flattened), every other key as given."""
    cfg = dict(config)
    anchors = cfg.get("anchors")
    if anchors is not None and not isinstance(anchors, Mapping):
        a = np.asarray(anchors, dtype=np.float64)
        cfg["anchors"] = {"shape": list(a.shape), "data": a.ravel().tolist()}
    elif isinstance(anchors, Mapping):
        data = np.asarray(anchors["data"], dtype=np.float64).ravel().tolist()
        cfg["anchors"] = {"shape": [int(s) for s in anchors["shape"]], "data": data}
    return cfg


def _numbers(xs: Sequence[Any]) -> List[float]:
    return [float(x.detach()) if isinstance(x, torch.Tensor) else float(x) for x in xs]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """torch's intra-op pool held to one thread for the block: a case's tensors have tens to
    thousands of elements, where waking the pool costs more than the work (about 1 ms a call on
    a loaded 2-core machine against microseconds in one thread)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def answer(config: Mapping[str, Any], targets: Any, predictions: Sequence[Any]) -> Dict[str, Any]:
    """One evaluation by the reference: the answer dict of spec section 7 (without
    ``matched``); non-finite values are returned, not refused."""
    with LOCK, one_thread():
        return _answer(config, targets, predictions)


def _answer(config: Mapping[str, Any], targets: Any, predictions: Sequence[Any]) -> Dict[str, Any]:
    cfg = sot.complete_config(case_config(config))
    t = torch.from_numpy(np.array(targets, dtype=np.float64)).reshape(-1, 6)
    preds = [torch.from_numpy(np.array(p)).to(F64).requires_grad_(True) for p in predictions]
    plans = sot.prepare(cfg, t, preds)
    out = sot.forward(cfg, preds, plans)
    grads = torch.autograd.grad(out["loss"], preds, allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(preds, grads)]
    hard, soft = _numbers(out["hard"]), _numbers(out["soft"])
    balance = sot.default_balance(len(preds))
    if cfg["autobalance"]:
        balance = sot.autobalance_update(balance, [h + s for h, s in zip(hard, soft)])
    return {
        "loss": float(out["loss"].detach()),
        "lbox": float(out["lbox"].detach()),
        "lobj": float(out["lobj"].detach()),
        "lcls": float(out["lcls"].detach()),
        "tobj": [L.tobj.detach().numpy().copy() for L in plans],
        "counts": [sot.counts_of(cfg, L.tobj) for L in plans],
        "grad": [g.detach().numpy().copy() for g in grads],
        "hard_loss": hard,
        "soft_loss": soft,
        "balance": [float(b) for b in balance],
    }
