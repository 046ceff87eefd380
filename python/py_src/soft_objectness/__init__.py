"""The soft-objectness oracle in Python.

The reference implementation of the Soft-Objectness loss (a YOLOv5 loss variant), compiled from
the Rust crate ``soft-objectness`` and run in-process: no files, no subprocess. Every rule (the
configuration's defaults and validation, the targets, the loss and its gradient, the
comparison of an answer with the oracle's) is the Rust crate's; this package converts Python
objects and documents the interface. ``docs/python.md`` has a tutorial.

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

import json
import math
import os
import warnings
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _convert, _core
from ._core import CaseError, Config, GpuError, InternalError, NonFiniteError, TooLargeError
from ._report import Report, format_assertion

__version__: str = _core.__version__

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

PathLike = Union[str, "os.PathLike[str]"]

#: The tolerance presets of ``softobj check``: ``{"f64": {...}, "f32": {...}}``.
PRESETS: Dict[str, Dict[str, float]] = {
    name: dict(zip(("rtol", "atol", "tobj_atol", "grad_rtol"), t)) for name, t in _core.PRESETS.items()
}

#: The format tag of every case (``soft-objectness-case/1``).
FORMAT: str = _core.FORMAT


class CaseWarning(UserWarning):
    """What the case reader notices without refusing a case: an unknown top-level key, targets
    that look like pixel coordinates (the messages of ``softobj eval``)."""


def _warn(messages: Iterable[str], stacklevel: int = 3) -> None:
    for m in messages:
        warnings.warn(m, CaseWarning, stacklevel=stacklevel)


class Evaluation:
    """The oracle's result for one batch (spec section 7).

    Scalars and per layer lists are plain Python values; arrays are float64 numpy arrays built
    on first access and cached (``grad`` is dense and large: ask for it only when needed).

    Attributes:
        loss: ``(lbox + lobj + lcls) * bs``.
        lbox, lobj, lcls: the three terms after their gains.
        balance: the layer balance after the autobalance update.
        hard_loss, soft_loss: per layer mean hard and soft objectness losses ``H_i``, ``S_i``.
        counts: per layer ``{"positive", "negative", "soft"}`` cell counts.
        tobj: per layer objectness targets ``[bs, na, ny, nx]``.
        rows: per layer dict of arrays ``b, a, gj, gi, class`` (int64 ``[n]``), ``tbox``
            (``[n, 4]``: ``gx - gi, gy - gj, gw, gh``) and ``anchor`` (``[n, 2]``, grid units).
        grad: per layer ``d loss / d predictions``, shaped like the predictions.
    """

    __slots__ = ("_e", "_cache")

    def __init__(self, core: Any) -> None:
        self._e = core
        self._cache: Dict[str, Any] = {}

    def _cached(self, key: str) -> Any:
        v = self._cache.get(key)
        if v is None:
            v = getattr(self._e, key)()
            self._cache[key] = v
        return v

    @property
    def loss(self) -> float:
        return self._e.loss

    @property
    def lbox(self) -> float:
        return self._e.lbox

    @property
    def lobj(self) -> float:
        return self._e.lobj

    @property
    def lcls(self) -> float:
        return self._e.lcls

    @property
    def balance(self) -> List[float]:
        return self._e.balance

    @property
    def hard_loss(self) -> List[float]:
        return self._e.hard_loss

    @property
    def soft_loss(self) -> List[float]:
        return self._e.soft_loss

    @property
    def counts(self) -> List[Dict[str, int]]:
        return self._cached("counts")

    @property
    def tobj(self) -> List[np.ndarray]:
        return self._cached("tobj")

    @property
    def rows(self) -> List[Dict[str, np.ndarray]]:
        return self._cached("rows")

    @property
    def grad(self) -> List[np.ndarray]:
        return self._cached("grad")

    def grad_into(self, out: Sequence[Any], scale: float = 1.0) -> None:
        """Writes ``scale * grad`` into the caller's arrays, one per layer, without building
        :attr:`grad`: the memory-speed form a training loop's backward wants.

        Args:
            out: per layer a writable, C-contiguous float32 or float64 numpy array or CPU torch
                tensor of the layer's prediction shape (the predictions' own dtype is the usual
                choice). Every element is overwritten; each component is computed in float64,
                multiplied by ``scale`` and rounded once to the array's dtype.
            scale: a factor applied to every component (``grad_output`` in a backward).

        Raises:
            TypeError: an array is not an array, has another dtype, or is not C-contiguous.
            ValueError: the wrong number of arrays, a wrong shape, or a read-only array.
        """
        if isinstance(out, np.ndarray) or _convert.is_tensor(out):
            raise TypeError("out: expected a list of arrays, one per layer; got a single array")
        arrays = [
            _convert.from_tensor(o, f"out[{i}]") if _convert.is_tensor(o) else o
            for i, o in enumerate(out)
        ]
        self._e.grad_into(arrays, float(scale))

    def to_answer(self) -> Dict[str, Any]:
        """The answer of this evaluation as ``softobj eval`` prints it (a dict shaped like a
        case's ``expected``, arrays as numpy arrays), for :func:`write_answer` or :func:`check`."""
        return self._e.to_answer()

    def __repr__(self) -> str:
        return (
            f"Evaluation(loss={self.loss!r}, lbox={self.lbox!r}, lobj={self.lobj!r}, "
            f"lcls={self.lcls!r}, layers={self._e.layers})"
        )


def evaluate(
    config: Union[Mapping[str, Any], Config],
    targets: Any,
    predictions: Sequence[Any],
    *,
    builder: str = "vectorised",
    backend: str = "cpu",
    balance: Optional[Sequence[float]] = None,
) -> Evaluation:
    """Evaluates the loss, targets and gradient of one batch.

    Args:
        config: the case format's ``config`` (same keys, defaults, validation and messages as a
            case file; ``nc`` may be left out, it is then read from the predictions), or a
            :class:`Config` read once (what a training loop passes: no reading per call).
            ``anchors`` may be a numpy array ``[nl, na, 2]`` or ``{"shape", "data"}``.
        targets: ``[nt, 6]`` rows ``(image, class, x, y, w, h)``, normalised. Any real dtype
            or a nested list (converted once to float64: they are small).
        predictions: one ``[bs, na, ny, nx, 5 + nc]`` array per layer. float32 and float64
            numpy arrays (any strides) and CPU torch tensors are read where they lie, never
            copied; nested lists are converted once to float64; other dtypes (float16,
            integers) are refused with a ``TypeError`` naming the argument, dtype and layout;
            CUDA tensors are refused (pass ``t.detach().cpu()``). Do not modify the arrays
            from another thread while the call runs.
        builder: the soft assigner's builder, ``"vectorised"`` or ``"loop"`` (same bits).
        backend: ``"cpu"`` (the float64 oracle) or ``"gpu"`` (the WGSL shaders in float32,
            through wgpu; the inputs are copied to the device).
        balance: the layer balance in force (autobalance state from an earlier evaluation);
            default the configuration's.

    Raises:
        CaseError: a rule of the case format or spec section 8 is broken; the message names
            the field, e.g. ``inputs.predictions[1] at [0, 2, 3, 4, 5]: must be a finite
            number (got NaN)``.
        TypeError: an argument is not an array, or not of a dtype the oracle reads.
        GpuError: ``backend="gpu"`` without a usable adapter.
    """
    preds = _convert.predictions(predictions)
    t = _convert.targets(targets)
    bal = None if balance is None else [float(b) for b in balance]
    return Evaluation(
        _core.evaluate(config, t, preds, builder, backend, bal)
    )


def build_targets(
    config: Union[Mapping[str, Any], Config],
    targets: Any,
    shapes: Sequence[Sequence[int]],
    *,
    builder: str = "vectorised",
) -> List[Dict[str, Any]]:
    """The targets of every layer from the layer shapes alone (no predictions): what a
    training loop needs before its own loss.

    Args:
        config: as for :func:`evaluate` (``nc`` required), a dict or a :class:`Config`.
        targets: as for :func:`evaluate`.
        shapes: per layer ``(bs, na, ny, nx)``; a prediction's 5-D shape works too (its first
            four entries are used).
        builder: ``"vectorised"`` or ``"loop"``.

    Returns:
        Per layer ``{"tobj": [bs, na, ny, nx] float64, "rows": {b, a, gj, gi, tbox, anchor,
        class}}``, the same as an evaluation's ``tobj`` and ``rows`` (for the ``yolov5``
        assigner ``tobj`` is zeros: its targets are the IoUs of the predictions).
    """
    return _core.build_targets(config, _convert.targets(targets), shapes, builder)


def load_case(path: PathLike) -> Dict[str, Any]:
    """Reads a case file (spec section 10) as the command line does.

    Returns a dict shaped like the file: ``format``, ``name``, ``config`` (every key
    explicit), ``inputs`` (``targets`` float64 ``[nt, 6]``, ``predictions`` in the precision
    they were stored in, ``.npy`` references resolved) and ``expected`` when the case has one
    (as :func:`load_answer` returns it). The reader's warnings become :class:`CaseWarning`.
    """
    case, warns = _core.load_case(os.fspath(path))
    _warn(warns)
    return case


def evaluate_case(
    case: Union[PathLike, Mapping[str, Any]],
    *,
    builder: str = "vectorised",
    backend: str = "cpu",
    balance: Optional[Sequence[float]] = None,
) -> Evaluation:
    """:func:`evaluate` on a case: a path, a dict as :func:`load_case` returns it (arrays taken
    as they are), or a dict in the JSON form (as ``json.load`` gives it; read by the case
    reader, ``{"npy": FILE}`` references relative to the current directory)."""
    c, _ = _convert.read_case(case)
    config, t, preds = _convert.case_parts(c)
    return evaluate(config, t, preds, builder=builder, backend=backend, balance=balance)


def write_case(path: PathLike, case: Mapping[str, Any], npy: bool = False) -> List[str]:
    """Writes a case as ``softobj gen`` does: ``path`` (``STEM.json``) and, with ``npy``, each
    prediction layer as ``STEM.pL.npy`` beside it in its own precision. ``case`` is a dict in
    either form; its ``expected``, when present, is written too. The case is validated first
    (a case the oracle would refuse raises :class:`CaseError`). Returns the files written."""
    c, _ = _convert.read_case(case)
    config, t, preds = _convert.case_parts(c)
    expected = c.get("expected")
    if expected is not None:
        expected = _answer(expected)
    files = _core.write_case(
        os.fspath(path), str(c.get("name", "")), config, t, preds, expected, bool(npy)
    )
    return [os.fspath(f) for f in files]


def load_answer(path: PathLike) -> Dict[str, Any]:
    """Reads an answer: a JSON answer (``softobj eval`` output), a case file with
    ``expected``, or a folder written by ``softobj eval --out``. ``tobj`` and ``grad`` come
    back as lists of float64 numpy arrays, the rest as the answer format has it."""
    return _core.load_answer(os.fspath(path))


def _answer(answer: Any) -> Any:
    """An answer for ``_core``: an Evaluation's, a file's, or a dict with numpy and torch
    values made plain (``_core`` reads it with the crate's answer reader)."""
    if isinstance(answer, Evaluation):
        return answer.to_answer()
    if _convert.is_path(answer):
        return load_answer(answer)
    if not isinstance(answer, Mapping):
        raise TypeError(
            f"answer: expected a dict, an Evaluation or a path, got {type(answer).__name__}"
        )
    return _convert.plain_answer(answer)


def _json_ready(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return {"shape": list(x.shape), "data": x.ravel().tolist()}
    if isinstance(x, dict):
        return {k: _json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(v) for v in x]
    return x


def write_answer(path: PathLike, answer: Any) -> str:
    """Writes an answer as one JSON file that ``softobj check`` and :func:`load_answer` read.

    ``answer`` is an :class:`Evaluation`, or a dict shaped like a case's ``expected`` whose
    values may be numpy or torch scalars and arrays, or the JSON form. Non-finite values are
    written as the tokens ``NaN``, ``Infinity`` and ``-Infinity`` (spec revision 2: the reader
    accepts them, and such an answer does not conform). Returns the path written."""
    a, warns = _core.read_answer(_answer(answer))
    _warn(warns)
    text = json.dumps(_json_ready(a), allow_nan=True)
    path = os.fspath(path)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return path


def _tolerances(preset: str, overrides: Mapping[str, Any]) -> Tuple[float, float, float, float]:
    if preset not in PRESETS:
        raise ValueError(f"preset: unknown value {preset!r} (accepted: {', '.join(PRESETS)})")
    tol = dict(PRESETS[preset])
    for k, v in overrides.items():
        if k not in tol:
            raise TypeError(
                f"unknown tolerance {k!r} (accepted: {', '.join(tol)}, with preset and listed)"
            )
        tol[k] = float(v)
    return (tol["rtol"], tol["atol"], tol["tobj_atol"], tol["grad_rtol"])


def check(
    case: Union[PathLike, Mapping[str, Any]],
    answer: Any,
    preset: str = "f64",
    *,
    listed: int = 8,
    **tolerances: float,
) -> Report:
    """Judges another implementation's answer to a case: the same code as ``softobj check``.

    Args:
        case: a path or a case dict (either form).
        answer: a dict shaped like a case's ``expected`` (numpy or torch values, or the JSON
            form; ``{"npy": FILE}`` references resolved beside a case file given by path, else
            in the current directory), an :class:`Evaluation`, or a path to an answer.
        preset: ``"f64"`` or ``"f32"`` (:data:`PRESETS`); the rules are those of
            ``softobj check --help`` and docs/oracle-guide.md.
        listed: how many failures to list per field.
        **tolerances: ``rtol``, ``atol``, ``tobj_atol``, ``grad_rtol`` overriding the preset.

    Returns:
        A :class:`Report`; ``report.ok`` says whether the answer conforms.
    """
    tol = _tolerances(preset, tolerances)
    c, base = _convert.read_case(case)
    config, t, preds = _convert.case_parts(c)
    d = _core.check(config, t, preds, _answer(answer), tol, int(listed), base)
    _warn(d.pop("warnings"))
    return Report(d, preset if not tolerances else "custom")


def assert_conforms(
    case: Union[PathLike, Mapping[str, Any]],
    answer: Any,
    preset: str = "f64",
    *,
    msg: Optional[str] = None,
    listed: int = 8,
    **tolerances: float,
) -> None:
    """Raises ``AssertionError`` unless ``answer`` conforms (see :func:`check`); the message
    reads like ``torch.testing.assert_close``'s: per failing field the mismatched elements
    (count and share), the greatest absolute and relative differences and where, the first
    mismatches with the input logit there."""
    report = check(case, answer, preset, listed=listed, **tolerances)
    if not report.ok:
        raise AssertionError(format_assertion(report, msg))


def gen_cases(
    count: int = 10,
    seed: int = 0,
    edge: bool = False,
    *,
    image: Tuple[int, int] = (64, 64),
    batch: int = 2,
    nc: int = 3,
    with_expected: bool = False,
    out: Optional[PathLike] = None,
    npy: bool = False,
) -> List[Dict[str, Any]]:
    """Cases as ``softobj gen`` makes them, bit for bit: ``count`` random cases over every
    option (``image`` is ``(width, height)`` in pixels, multiples of 32), or with ``edge`` the
    edge mix (a fixed list covering every rule of the spec; ``count``, ``image``, ``batch``,
    ``nc`` ignored). ``with_expected`` adds the oracle's answer. With ``out``, each case is
    also written there under the command line's file name (``case-000.json``,
    ``edge-00-KEY.json``). Returns the cases as :func:`load_case` would read them."""
    pairs = _core.gen_cases(
        int(count), int(seed), bool(edge), int(image[0]), int(image[1]), int(batch), int(nc),
        bool(with_expected),
    )
    if out is not None:
        os.makedirs(out, exist_ok=True)
        for stem, case in pairs:
            write_case(os.path.join(os.fspath(out), stem + ".json"), case, npy=npy)
    return [case for _, case in pairs]


def default_batch(boxes_per_image: int = 8, *, batch: int = 16, size: int = 640, nc: int = 80,
                  seed: int = 0x5EED) -> Dict[str, Any]:
    """The standard workload of ``softobj bench`` as a case dict (YOLOv5s anchors, float32
    predictions): batch 16, 640x640, 80 classes by default."""
    return _core.default_batch(int(boxes_per_image), int(batch), int(size), int(nc), int(seed))
