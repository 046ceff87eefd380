"""The soft-objectness oracle in Python.

The reference implementation of the Soft-Objectness loss (a YOLOv5 loss variant), compiled from
the Rust crate ``soft-objectness`` and run in-process: no files, no subprocess. Every rule (the
configuration's defaults and validation, the targets, the loss and its gradient, the
comparison of an answer with the oracle's, the porter's harness) is the Rust crate's, and so
is every function and class here but :func:`assert_conforms` and
:func:`assert_port_conforms` (the compiled module ``soft_objectness._core``, whose stubs
``_core/__init__.pyi`` give the signatures). ``docs/python.md`` has a tutorial.

>>> import numpy as np, soft_objectness as so
>>> config = {"nc": 2, "anchors": {"shape": [1, 1, 2], "data": [3.0, 3.0]}}
>>> targets = np.array([[0, 1, 0.40, 0.55, 0.43, 0.30]])    # image, class, x, y, w, h
>>> logits = np.zeros((1, 1, 8, 8, 7), np.float32)            # [bs, na, ny, nx, 5 + nc]
>>> e = so.evaluate(config, targets, [logits])
>>> float(e.tobj[0][0, 0, 4, 3]), e.counts[0]["positive"]
(1.0, 1)
>>> so.check({"config": config, "inputs": {"targets": targets, "predictions": [logits]}},
...          e.to_answer()).ok
True

Arrays: float32 and float64 numpy arrays are read where they lie (never copied), CPU torch
tensors too; see :func:`evaluate` for what else is accepted. The GIL is released while the
oracle runs, so threads evaluate in parallel, each with the same bits as alone.
"""

from __future__ import annotations

from ._assert import assert_conforms, assert_port_conforms
from ._core import (
    FORMAT,
    PRESETS,
    CaseError,
    CaseWarning,
    Config,
    Conformance,
    Evaluation,
    GpuError,
    InternalError,
    NonFiniteError,
    Report,
    TooLargeError,
    __version__,
    build_targets,
    check,
    conformance,
    default_batch,
    evaluate,
    evaluate_case,
    gen_cases,
    load_answer,
    load_case,
    write_answer,
    write_case,
)

__all__ = [
    "evaluate",
    "Evaluation",
    "Config",
    "build_targets",
    "load_case",
    "evaluate_case",
    "write_case",
    "load_answer",
    "write_answer",
    "check",
    "assert_conforms",
    "Report",
    "conformance",
    "assert_port_conforms",
    "Conformance",
    "gen_cases",
    "default_batch",
    "CaseError",
    "TooLargeError",
    "NonFiniteError",
    "GpuError",
    "InternalError",
    "CaseWarning",
    "PRESETS",
    "FORMAT",
]
