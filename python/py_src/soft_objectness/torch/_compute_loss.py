"""``ComputeLoss``: YOLOv5's loss interface over the oracle (path 1) or torch (path 2)."""

from __future__ import annotations

import sys
import threading
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

import soft_objectness as so

from . import losses

#: The accepted values of ``ComputeLoss(backend=...)``.
BACKENDS = ("auto", "cpu", "gpu", "torch")

_HALF = (torch.float16, torch.bfloat16)

#: The hyp keys the loss reads (the oracle's, with their defaults).
_LOSS_KEYS = frozenset(so.Config({"nc": 1}).to_dict()["hyp"])


def _loss_hyp(hyp: Mapping[str, Any], name: str = "hyp") -> Dict[str, Any]:
    """The loss keys of a YOLOv5 hyp dict (``box, cls, cls_pw, obj, obj_pw, anchor_t, fl_gamma,
    label_smoothing``), as YOLOv5's ``ComputeLoss`` reads ``model.hyp``: every other training
    setting (``lr0``, ``mosaic``, ...) is left out. The values are taken as they are: the
    oracle's reader checks them (``CaseError`` naming ``config.hyp.KEY``).

    >>> _loss_hyp({"lr0": 0.01, "box": 0.05, "mosaic": 1.0})
    {'box': 0.05}
    """
    if not isinstance(hyp, Mapping):
        raise TypeError(f"{name}: expected a dict of hyperparameters, got {type(hyp).__name__}")
    return {k: v for k, v in hyp.items() if k in _LOSS_KEYS}


def _de_parallel(model: nn.Module) -> nn.Module:
    """The model inside DataParallel / DistributedDataParallel wrappers (their ``.module``)."""
    while isinstance(model, (nn.DataParallel, nn.parallel.DistributedDataParallel)):
        model = model.module
    return model


def _host(x: Any) -> Any:
    """A tensor as a float64 numpy array on the host; anything else as it is (the oracle's
    reader takes arrays, lists and ``{"shape", "data"}``)."""
    if isinstance(x, torch.Tensor):
        return x.detach().to("cpu", torch.float64).numpy()
    return x


class _State:
    """What one call leaves behind (the Function's forward writes ``evaluation``) and the
    gradient buffers of its backward."""

    __slots__ = ("evaluation", "buffers", "backend")

    def __init__(self, buffers: "_GradBuffers", backend: str) -> None:
        self.evaluation: Any = None
        self.buffers = buffers
        self.backend = backend


class _GradBuffers:
    """Memory for path 1's gradients, kept from one backward to the next.

    A fresh 100 MB tensor costs more to fault in, page by page, than the oracle takes to
    compute the whole loss and write the gradient (about 50 ms against 20 ms for the standard
    workload on 2 cores): PyTorch's CPU allocator returns such blocks to the system when they
    are freed, so every step would pay it again. The gradient is therefore written into numpy
    arrays kept here and handed to autograd as tensors over them (``torch.from_numpy``). A
    tensor over an array holds a reference to the array until its storage is freed, so an array
    whose only reference is this pool is no longer used by anyone (the step's backward is over,
    ``p.grad`` was reset) and is written again; any array still referenced elsewhere is left
    alone and a new one is made. At most ``keep`` arrays per shape and dtype are kept.
    """

    def __init__(self, keep: int = 2) -> None:
        self.keep = keep
        self._pool: Dict[Tuple[Tuple[int, ...], Any], List[np.ndarray]] = {}
        self._lock = threading.Lock()

    def tensor(self, shape: Tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        np_dtype = np.float32 if dtype == torch.float32 else np.float64
        key = (tuple(shape), np_dtype)
        with self._lock:
            arrays = self._pool.setdefault(key, [])
            for a in arrays:
                # References: the list, getrefcount's argument, the loop variable.
                if sys.getrefcount(a) <= 3:
                    return torch.from_numpy(a)
            a = np.empty(key[0], np_dtype)
            if len(arrays) < self.keep:
                arrays.append(a)
            return torch.from_numpy(a)


class _OracleLoss(torch.autograd.Function):
    """Path 1: the oracle's loss in forward, its analytic gradient in backward.

    ``forward(config, targets, balance, state, *preds)`` evaluates the oracle on the CPU
    tensors where they lie (no copy) and returns the loss as a ``[1]`` tensor in the
    predictions' dtype; ``backward`` writes ``grad_output * d loss / d preds`` once, in each
    layer's dtype, with ``Evaluation.grad_into``.
    """

    @staticmethod
    def forward(ctx, config, targets, balance, state, *preds):  # type: ignore[override]
        e = so.evaluate(config, targets, preds, backend=state.backend, balance=balance)
        state.evaluation = e
        ctx.evaluation = e
        ctx.buffers = state.buffers
        ctx.layouts = [(p.shape, p.dtype) for p in preds]
        return preds[0].new_full((1,), e.loss)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_output):  # type: ignore[override]
        grads = [ctx.buffers.tensor(shape, dtype) for shape, dtype in ctx.layouts]
        ctx.evaluation.grad_into(grads, scale=float(grad_output))
        needed = ctx.needs_input_grad[4:]
        return (None, None, None, None, *(g if n else None for g, n in zip(grads, needed)))


class ComputeLoss:
    """YOLOv5's ``ComputeLoss`` with the soft-objectness method (or the YOLOv5 baseline).

    ``loss, loss_items = compute_loss(p, targets)`` as in YOLOv5's ``train.py``: ``p`` the list
    of ``[bs, na, ny, nx, 5 + nc]`` logits of a Detect head (training mode), ``targets``
    ``[nt, 6]`` rows ``(image, class, x, y, w, h)`` normalised to the image. ``loss`` is
    ``(lbox + lobj + lcls) * bs`` as a ``[1]`` tensor and ``loss_items`` the detached ``[3]``
    tensor ``(lbox, lobj, lcls)``, both in the predictions' dtype on their device (YOLOv5 makes
    them in the default dtype, float32, whatever the predictions).

    Args:
        model: a YOLOv5-style model, read as YOLOv5's ``ComputeLoss`` reads it: ``model.hyp``
            (the keys the method uses: ``box, cls, cls_pw, obj, obj_pw, anchor_t, fl_gamma,
            label_smoothing``; other training keys are ignored) and its Detect layer
            ``model.model[-1]`` (``nc``, ``na``, ``nl``, ``anchors`` in grid units,
            ``stride``), through ``DataParallel`` / ``DistributedDataParallel`` wrappers.
            ``None`` to build from the keyword arguments alone.
        anchors: ``[nl, na, 2]`` in grid units (pixels / stride, as the Detect layer holds
            them); default the model's, else YOLOv5s's.
        strides: per layer stride (informational: the anchors are already in grid units);
            default the model's.
        nc: number of classes; default the model's, else read from the predictions' last
            dimension at the first call.
        hyp: hyperparameters overriding the model's: a whole YOLOv5 hyp dict (e.g.
            ``yaml.safe_load`` of ``hyp.scratch-low.yaml``) is read as ``model.hyp`` is, its
            loss keys taken and the training settings left out. The values are used as given:
            YOLOv5's ``train.py`` scales ``box``, ``cls`` and ``obj`` to the layers, classes
            and image size before it sets ``model.hyp``.
        assigner, score, distance, soft_loss, overlap, autobalance, ciou: the case format's
            ``config`` keys (docs/spec.md section 10), with the same defaults (``None``: the
            config's default), validation and messages (:class:`soft_objectness.CaseError`).
        backend: where the loss is computed, in the words of :func:`soft_objectness.evaluate`:
            ``"cpu"`` (path 1: the Rust oracle's float64 loss and analytic gradient on CPU
            tensors, float32 or float64, no copy of the predictions), ``"gpu"`` (path 1 through
            the oracle's WGSL shaders, float32, on CPU tensors), ``"torch"`` (path 2: targets
            from the Rust builder, loss by torch operations on the predictions' device,
            autograd) or ``"auto"`` (``"cpu"`` for CPU tensors, ``"torch"`` elsewhere).

    Predictions in float16 or bfloat16 (mixed precision) are computed in float32.

    Attributes:
        balance: the layer balance in force; with ``autobalance`` it is updated by every call
            as YOLOv5 updates its ``self.balance``.
        last_counts: the last call's per-layer cell counts ``{"positive", "soft",
            "negative"}``.
        last_tobj: the last call's objectness targets per layer.
        hyp, nc, na, nl, anchors, stride: as in YOLOv5's ``ComputeLoss``.

    Raises:
        soft_objectness.CaseError: a configuration value is refused (the message names the
            field, e.g. ``config.score.n: ...``, or ``config.hyp.box: ...`` for a bad value of
            a loss key in ``model.hyp`` or ``hyp``), or at a call, the predictions or targets break
            a rule of the case format (``inputs.predictions[1]: shape mismatch: ...``).
        ValueError: an unknown ``backend``, or a missing Detect layer.
        TypeError: ``backend="cpu"`` or ``"gpu"`` with predictions off the CPU, or layers on
            several devices.
    """

    def __init__(
        self,
        model: Optional[nn.Module] = None,
        *,
        anchors: Any = None,
        strides: Optional[Sequence[float]] = None,
        nc: Optional[int] = None,
        hyp: Optional[Mapping[str, Any]] = None,
        assigner: Optional[str] = "soft",
        score: Optional[Mapping[str, Any]] = None,
        distance: Optional[str] = None,
        soft_loss: Optional[Mapping[str, Any]] = None,
        overlap: Optional[str] = None,
        autobalance: bool = False,
        ciou: Optional[str] = "v6.0",
        backend: str = "auto",
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend: unknown value {backend!r} (accepted: {', '.join(BACKENDS)})")
        self.backend = backend
        model_hyp: Mapping[str, Any] = {}
        if model is not None:
            m = _de_parallel(model)
            try:
                detect = m.model[-1]
            except (AttributeError, IndexError, TypeError) as e:
                raise ValueError(
                    f"model: expected a YOLOv5-style model whose model.model[-1] is the Detect "
                    f"layer ({type(m).__name__} has none: {e})"
                ) from None
            if anchors is None:
                anchors = detect.anchors
            if nc is None:
                nc = int(detect.nc)
            if strides is None and getattr(detect, "stride", None) is not None:
                strides = detect.stride
            model_hyp = getattr(m, "hyp", None) or {}
        config: Dict[str, Any] = {"autobalance": autobalance}
        if anchors is not None:
            config["anchors"] = _host(anchors)
        if nc is not None:
            config["nc"] = nc
        for key, value in (("assigner", assigner), ("score", score), ("distance", distance),
                           ("soft_loss", soft_loss), ("overlap", overlap), ("ciou", ciou)):
            if value is not None:
                config[key] = value
        if model_hyp or hyp:
            config["hyp"] = {**_loss_hyp(model_hyp, "model.hyp"), **_loss_hyp(hyp or {}, "hyp")}
        self._dict = config
        # Read and validated once (the oracle's reader: CaseError naming the field); without
        # nc it is read at the first call, with nc from the predictions.
        probe = so.Config(config, nc=None if "nc" in config else 1)
        self._configs: Dict[int, Any] = {}
        if "nc" in config:
            self._configs[probe.nc] = probe
        full = probe.to_dict()
        self.hyp: Dict[str, float] = full["hyp"]
        self.nl: int = probe.nl
        self.na: int = probe.na
        self.nc: Optional[int] = probe.nc if "nc" in config else None
        self.anchors = torch.tensor(full["anchors"]["data"], dtype=torch.float64).reshape(
            full["anchors"]["shape"])
        self.stride: Optional[List[float]] = None
        if strides is not None:
            self.stride = [float(s) for s in np.asarray(_host(strides), np.float64).reshape(-1)]
        self.autobalance = bool(full["autobalance"])
        self.balance: List[float] = losses.default_balance(self.nl)
        self._state: Optional[Tuple[str, Any, Any]] = None
        self._full_cache: Optional[Tuple[Any, Dict[str, Any]]] = None
        self._buffers = _GradBuffers()

    # ---------------------------------------------------------------------------------------

    def config(self, nc: Optional[int] = None) -> Any:
        """The :class:`soft_objectness.Config` of the calls (``nc`` fills a missing ``nc``)."""
        if self.nc is not None:
            return self._configs[self.nc]
        if nc is None:
            raise ValueError("nc: not known yet (give nc, a model, or call with predictions)")
        c = self._configs.get(nc)
        if c is None:
            c = self._configs[nc] = so.Config(self._dict, nc=nc)
        return c

    def __call__(self, p: Sequence[torch.Tensor], targets: Any) -> Tuple[torch.Tensor, torch.Tensor]:
        """``loss, loss_items`` of one batch (see the class)."""
        if isinstance(p, torch.Tensor) or not isinstance(p, (list, tuple)):
            raise TypeError(
                f"p: expected the list of prediction layers [bs, na, ny, nx, 5 + nc], got "
                f"{type(p).__name__}"
            )
        for i, x in enumerate(p):
            if not isinstance(x, torch.Tensor):
                raise TypeError(f"p[{i}]: expected a torch tensor, got {type(x).__name__}")
        preds = [x.float() if x.dtype in _HALF else x for x in p]
        for i, x in enumerate(preds):
            if x.device != preds[0].device:
                raise TypeError(
                    f"p[{i}]: on {x.device}, p[0] on {preds[0].device}: every layer must be on "
                    f"one device"
                )
        device = preds[0].device if preds else torch.device("cpu")
        backend = self.backend
        if backend == "auto":
            backend = "cpu" if device.type == "cpu" else "torch"
        if backend != "torch" and device.type != "cpu":
            raise TypeError(
                f"p: backend={backend!r} reads the predictions from host memory, they are on "
                f"{device}: use backend='torch' (or 'auto') there, or pass CPU tensors"
            )
        nc = self.nc
        if nc is None and preds and preds[0].dim() == 5:
            nc = int(preds[0].shape[-1]) - 5
        config = self.config(max(nc, 0) if nc is not None else None)
        if isinstance(targets, torch.Tensor):
            targets = targets.detach()
            if targets.device.type != "cpu":
                targets = targets.cpu()
        if backend == "torch":
            return self._torch(config, targets, preds)
        return self._oracle(config, targets, preds, backend)

    def _oracle(self, config: Any, targets: Any, preds: List[torch.Tensor], backend: str):
        state = _State(self._buffers, backend)
        loss = _OracleLoss.apply(config, targets, list(self.balance), state, *preds)
        e = state.evaluation
        if self.autobalance:
            self.balance = list(e.balance)
        self._state = ("oracle", e, None)
        items = torch.tensor([e.lbox, e.lobj, e.lcls], dtype=loss.dtype)
        return loss, items

    def _torch(self, config: Any, targets: Any, preds: List[torch.Tensor]):
        nc = config.nc
        if any(x.dim() != 5 or x.shape[4] != 5 + nc for x in preds):
            _shape_error(config, targets, preds)
        full = self._full(config)
        built = so.build_targets(config, targets, [tuple(x.shape) for x in preds])
        device, dtype = preds[0].device, preds[0].dtype
        soft = full["assigner"] == "soft"
        layers, host_tobj = [], []
        for x, t in zip(preds, built):
            r = t["rows"]
            ints = torch.from_numpy(np.stack((r["b"], r["a"], r["gj"], r["gi"], r["class"])))
            reals = torch.from_numpy(np.concatenate((r["tbox"], r["anchor"]), axis=1))
            b, a, gj, gi, cls = ints.to(device).unbind(0)
            cols = reals.to(device=device, dtype=dtype).unbind(1)
            layer = losses.LayerTargets(b, a, gj, gi, cls, cols[0:4], cols[4:6])
            if soft:
                tobj = torch.from_numpy(t["tobj"])
                hard = (tobj == 0.0) | (tobj == 1.0)
                layer.tobj = tobj.to(device=device, dtype=dtype)
                layer.hard, layer.soft = hard.to(device), (~hard).to(device)
                host_tobj.append(tobj)
            layers.append(layer)
        out = losses.forward(full, preds, layers, balance=self.balance)
        if self.autobalance:
            hs = torch.stack(out["hard"] + out["soft"]).tolist()
            self.balance = losses.autobalance_update(
                self.balance, [h + s for h, s in zip(hs[: self.nl], hs[self.nl:])])
        self._state = ("torch", full["assigner"], host_tobj if soft else out["tobj"])
        items = torch.stack((out["lbox"], out["lobj"], out["lcls"])).detach()
        return out["loss"].reshape(1), items

    def _full(self, config: Any) -> Dict[str, Any]:
        """The configuration as a dict with every key explicit (read once per Config)."""
        if self._full_cache is None or self._full_cache[0] is not config:
            self._full_cache = (config, config.to_dict())
        return self._full_cache[1]

    # ---------------------------------------------------------------------------------------

    @property
    def last_counts(self) -> List[Dict[str, int]]:
        """Per layer ``{"positive", "soft", "negative"}`` cell counts of the last call."""
        if self._state is None:
            raise RuntimeError("last_counts: no call yet")
        kind, a, b = self._state
        if kind == "oracle":
            return a.counts
        return [losses.counts_of(a, t) for t in b]

    @property
    def last_tobj(self) -> List[torch.Tensor]:
        """Per layer objectness targets ``[bs, na, ny, nx]`` of the last call (float64 from the
        oracle or the Rust builder; the baseline's of path 2 in the predictions' dtype)."""
        if self._state is None:
            raise RuntimeError("last_tobj: no call yet")
        kind, a, b = self._state
        if kind == "oracle":
            return [torch.from_numpy(t) for t in a.tobj]
        return list(b)

    def __repr__(self) -> str:
        return f"ComputeLoss(backend={self.backend!r}, config={self._dict!r})"


def _shape_error(config: Any, targets: Any, preds: Sequence[torch.Tensor]) -> None:
    """Raises the oracle's own message for predictions of the wrong shape (the Rust builder
    reads only the grids): ``evaluate`` on zero-stride views of the shapes, no data."""
    zeros = [np.broadcast_to(np.zeros((), np.float32), tuple(x.shape)) for x in preds]
    so.evaluate(config, targets, zeros)
    raise so.CaseError(f"inputs.predictions: shapes {[list(x.shape) for x in preds]} do not "
                       f"fit nc={config.nc}")
