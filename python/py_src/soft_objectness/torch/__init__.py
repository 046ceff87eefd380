"""Train with the soft-objectness loss in PyTorch: a drop-in for YOLOv5's ``ComputeLoss``.

>>> from soft_objectness.torch import ComputeLoss
>>> compute_loss = ComputeLoss(model)                 # reads model.hyp and the Detect layer
>>> loss, loss_items = compute_loss(pred, targets)    # YOLOv5's calling convention
>>> loss.backward()

Two paths with the same numbers, chosen by ``backend`` (the word :func:`soft_objectness.evaluate`
uses for where the work runs): ``"cpu"``, the Rust oracle's loss and analytic gradient on CPU
tensors through a ``torch.autograd.Function`` (no copy of the predictions; ``"gpu"`` runs the
same path through the oracle's WGSL shaders); ``"torch"``, targets from the Rust builder moved
to the predictions' device and the loss computed there by :mod:`soft_objectness.torch.losses`
(CUDA, MPS, CPU), with autograd. ``"auto"`` (default) takes ``"cpu"`` for CPU tensors and
``"torch"`` elsewhere. See ``docs/torch.md``.

This subpackage needs torch; ``import soft_objectness`` never imports it.
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised only without torch
    raise ImportError(
        "soft_objectness.torch needs PyTorch (pip install torch); the rest of soft_objectness "
        "works without it"
    ) from e

from . import losses
from ._compute_loss import BACKENDS, ComputeLoss

__all__ = ["ComputeLoss", "BACKENDS", "losses"]
