"""Python objects to what ``_core`` reads: numpy arrays, CPU torch tensors, lists.

Conversion policy (docs/python.md, "Arrays"):

* predictions: float32 or float64 numpy arrays of any strides are read where they lie (no copy);
  CPU torch tensors through ``tensor.detach().numpy()`` (a view, no copy); nested lists are
  converted once to float64; float16, integer and other dtypes are refused with a ``TypeError``
  naming the argument, its dtype and layout; a CUDA tensor is refused with what to do.
* targets (``[nt, 6]``, small): any real dtype or nested list, converted once to float64 when
  it is not float64 already.
* torch is never imported: a tensor is recognised by its type's module.
"""

from __future__ import annotations

import os
from typing import Any, List, Mapping, Sequence

import numpy as np

from . import _core


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (without importing torch)."""
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach") and hasattr(x, "device")


def from_tensor(x: Any, arg: str, *, to_host: bool = False) -> np.ndarray:
    """A CPU tensor's memory as a numpy array (no copy); a device tensor refused, or copied to
    the host when ``to_host`` (answers)."""
    device = x.device
    if getattr(device, "type", "cpu") != "cpu":
        if to_host:
            x = x.detach().cpu()
        else:
            raise TypeError(
                f"{arg}: a torch tensor on {device}; the oracle reads host memory: pass "
                f"`{arg}.detach().cpu()` (one copy to the host), or evaluate on the CPU"
            )
    try:
        return x.detach().numpy()
    except (TypeError, RuntimeError) as e:
        raise TypeError(
            f"{arg}: torch dtype {x.dtype} has no numpy view ({e}); convert once with "
            f"`{arg}.float()`"
        ) from None


def _from_list(x: Any, arg: str) -> np.ndarray:
    try:
        return np.asarray(x, dtype=np.float64)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{arg}: a list that is not a rectangular array of numbers ({e})") from None


def prediction(x: Any, i: int) -> Any:
    """Layer ``i`` of the predictions, ready for ``_core`` (which checks dtype and layout)."""
    arg = f"predictions[{i}]"
    if isinstance(x, np.ndarray):
        return x
    if is_tensor(x):
        return from_tensor(x, arg)
    if isinstance(x, (list, tuple)):
        return _from_list(x, arg)
    if hasattr(x, "__array_interface__") or hasattr(x, "__array__"):
        return np.asarray(x)
    return x  # _core refuses it with a TypeError naming its type


def predictions(xs: Any) -> List[Any]:
    """The list of prediction layers."""
    if isinstance(xs, np.ndarray) or is_tensor(xs):
        raise TypeError(
            "predictions: expected a list of arrays, one per layer; got a single array "
            "(wrap it in a list)"
        )
    if isinstance(xs, (str, bytes, Mapping)) or not isinstance(xs, Sequence):
        raise TypeError(
            f"predictions: expected a list of arrays, one per layer; got {type(xs).__name__}"
        )
    return [prediction(x, i) for i, x in enumerate(xs)]


def targets(x: Any) -> Any:
    """The targets ``[nt, 6]`` as float64 (converted once when needed: they are small)."""
    if is_tensor(x):
        x = from_tensor(x, "targets")
    if isinstance(x, (list, tuple)):
        return _from_list(x, "targets")
    if not isinstance(x, np.ndarray) and (hasattr(x, "__array_interface__") or hasattr(x, "__array__")):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        if x.dtype == np.float64 and x.dtype.isnative:
            return x
        if x.dtype.kind in "fiu":
            return x.astype(np.float64)
        raise TypeError(
            f"targets: dtype {x.dtype} is not a real number type; expected float64 [nt, 6]"
        )
    return x  # _core refuses it with a TypeError naming its type


def plain(x: Any, arg: str, arrays: bool = True) -> Any:
    """JSON-like data with numpy and torch scalars as Python numbers; arrays kept as numpy
    arrays (configurations: ``_core`` reads them as ``{"shape", "data"}``), or as nested lists
    when not ``arrays``."""
    if isinstance(x, Mapping):
        return {k: plain(v, f"{arg}.{k}", arrays) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v, f"{arg}[{i}]", arrays) for i, v in enumerate(x)]
    if isinstance(x, np.generic):
        return x.item()
    if is_tensor(x):
        x = from_tensor(x, arg, to_host=True)
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return x.item()
        return x if arrays else x.tolist()
    return x


def plain_answer(answer: Mapping) -> dict:
    """An answer with numpy and torch values made plain: ``tobj`` and ``grad`` layers stay
    arrays, every other array becomes a list (``balance``, ``hard_loss``, ...)."""
    if "format" in answer:  # a case holding the answer in `expected`
        out = dict(answer)
        if isinstance(answer.get("expected"), Mapping):
            out["expected"] = plain_answer(answer["expected"])
        return out
    return {
        k: plain(v, f"answer.{k}", arrays=k in ("tobj", "grad")) for k, v in answer.items()
    }


def is_path(x: Any) -> bool:
    """Whether ``x`` names a file."""
    return isinstance(x, (str, os.PathLike))


def is_array_form(case: Mapping) -> bool:
    """Whether a case dict holds its inputs as arrays (numpy, torch, lists) rather than in the
    JSON form (``{"shape", "data"}`` or ``{"npy": FILE}`` objects)."""
    inputs = case.get("inputs")
    if not isinstance(inputs, Mapping):
        return False
    items = [inputs.get("targets")]
    preds = inputs.get("predictions")
    if isinstance(preds, (list, tuple)):
        items.extend(preds)
    return not any(isinstance(v, Mapping) or v is None for v in items)


def read_case(case: Any) -> "tuple[dict, Any]":
    """A case in the array form and the folder its ``.npy`` references are resolved in."""
    if is_path(case):
        from . import load_case

        return load_case(case), os.path.dirname(os.path.abspath(os.fspath(case)))
    if not isinstance(case, Mapping):
        raise TypeError(f"case: expected a dict or a path, got {type(case).__name__}")
    if is_array_form(case):
        return dict(case), None
    d, warns = _core.read_case(plain(case, "case"))
    from . import _warn

    _warn(warns)
    return d, None


def case_parts(case: Mapping) -> "tuple[Any, Any, List[Any]]":
    """``config``, targets and predictions of a case in the array form."""
    inputs = case.get("inputs") or {}
    config = case.get("config")
    return (
        {} if config is None else config,
        targets(inputs.get("targets")),
        predictions(inputs.get("predictions", [])),
    )
