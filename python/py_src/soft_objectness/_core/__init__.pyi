"""Type stubs of the compiled module ``soft_objectness._core`` (python/src).

The package ``soft_objectness`` re-exports every public name here but ``ANSWER_KEYS``.
``python/run-tests.sh`` checks these stubs (and ``_testing.pyi``, the test hooks) against the
compiled module with ``mypy.stubtest``, with no allowlist: they describe it in full (what
stubtest cannot check is the types of values, which it takes from here).
"""

import os
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union, final

import numpy as np

from . import _testing as _testing

_Path = Union[str, os.PathLike[str]]
# A case: a path, or a dict in the array form (as load_case returns it) or the JSON form.
_Case = Union[_Path, Mapping[str, Any]]
_ConfigArg = Union[Mapping[str, Any], "Config"]

__all__ = [
    "ANSWER_KEYS",
    "CaseError",
    "CaseWarning",
    "Config",
    "Conformance",
    "Evaluation",
    "FORMAT",
    "GpuError",
    "InternalError",
    "NonFiniteError",
    "PRESETS",
    "Report",
    "TooLargeError",
    "build_targets",
    "check",
    "conformance",
    "default_batch",
    "evaluate",
    "evaluate_case",
    "gen_cases",
    "load_answer",
    "load_case",
    "write_answer",
    "write_case",
]

__version__: str
FORMAT: str
PRESETS: Dict[str, Dict[str, float]]
ANSWER_KEYS: List[str]

class CaseError(ValueError):
    field: Optional[str]

class TooLargeError(CaseError): ...
class NonFiniteError(CaseError): ...
class GpuError(RuntimeError): ...
class InternalError(RuntimeError): ...
class CaseWarning(UserWarning): ...

@final
class Config:
    def __new__(cls, config: _ConfigArg, nc: Optional[int] = None) -> Config: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @property
    def nc(self) -> int: ...
    @property
    def nl(self) -> int: ...
    @property
    def na(self) -> int: ...

@final
class Evaluation:
    @property
    def loss(self) -> float: ...
    @property
    def lbox(self) -> float: ...
    @property
    def lobj(self) -> float: ...
    @property
    def lcls(self) -> float: ...
    @property
    def balance(self) -> List[float]: ...
    @property
    def hard_loss(self) -> List[float]: ...
    @property
    def soft_loss(self) -> List[float]: ...
    @property
    def counts(self) -> List[Dict[str, int]]: ...
    @property
    def tobj(self) -> List[np.ndarray]: ...
    @property
    def rows(self) -> List[Dict[str, np.ndarray]]: ...
    @property
    def grad(self) -> List[np.ndarray]: ...
    def grad_into(self, out: Sequence[Any], scale: float = 1.0) -> None: ...
    def to_answer(self) -> Dict[str, Any]: ...

@final
class Report:
    @property
    def ok(self) -> bool: ...
    @property
    def verdict(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def tolerances(self) -> Dict[str, float]: ...
    @property
    def preset(self) -> str: ...
    @property
    def fields(self) -> List[Dict[str, Any]]: ...
    @property
    def missing(self) -> List[str]: ...
    @property
    def not_given(self) -> List[str]: ...
    @property
    def problems(self) -> List[str]: ...
    @property
    def patterns(self) -> List[str]: ...
    @property
    def class_changes(self) -> str: ...
    @property
    def only(self) -> Optional[List[str]]: ...
    @property
    def worst(self) -> Dict[str, Dict[str, float]]: ...
    @property
    def failures(self) -> List[Dict[str, Any]]: ...
    def field(self, name: str) -> Optional[Dict[str, Any]]: ...

@final
class Conformance:
    @property
    def ok(self) -> bool: ...
    @property
    def text(self) -> str: ...
    @property
    def cases(self) -> List[Dict[str, Any]]: ...
    @property
    def groups(self) -> List[Dict[str, Any]]: ...
    @property
    def suspects(self) -> List[Dict[str, Any]]: ...
    @property
    def minimal(self) -> List[Dict[str, Any]]: ...
    @property
    def precision(self) -> Optional[Dict[str, Any]]: ...
    @property
    def tolerances(self) -> Dict[str, float]: ...
    @property
    def preset(self) -> str: ...
    @property
    def only(self) -> Optional[List[str]]: ...
    @property
    def space(self) -> str: ...
    @property
    def left_out(self) -> int: ...
    @property
    def port_calls(self) -> int: ...
    @property
    def port_seconds(self) -> float: ...
    @property
    def seconds(self) -> float: ...
    def to_dict(self) -> Dict[str, Any]: ...

def evaluate(
    config: _ConfigArg,
    targets: Any,
    predictions: Sequence[Any],
    *,
    builder: str = "vectorised",
    backend: str = "cpu",
    balance: Optional[Sequence[float]] = None,
) -> Evaluation: ...
def build_targets(
    config: _ConfigArg,
    targets: Any,
    shapes: Sequence[Sequence[int]],
    *,
    builder: str = "vectorised",
) -> List[Dict[str, Any]]: ...
def load_case(path: _Path) -> Dict[str, Any]: ...
def evaluate_case(
    case: _Case,
    *,
    builder: str = "vectorised",
    backend: str = "cpu",
    balance: Optional[Sequence[float]] = None,
) -> Evaluation: ...
def write_case(path: _Path, case: _Case, npy: bool = False, *, force: bool = False) -> List[str]: ...
def load_answer(path: _Path) -> Dict[str, Any]: ...
def write_answer(path: _Path, answer: Any) -> str: ...
def check(
    case: _Case,
    answer: Any,
    preset: str = "f64",
    *,
    only: Union[str, Sequence[str], None] = None,
    listed: int = 8,
    **tolerances: float,
) -> Report: ...
def gen_cases(
    count: int = 10,
    seed: int = 0,
    edge: bool = False,
    *,
    space: Optional[Mapping[str, Any]] = None,
    with_expected: bool = False,
    out: Optional[_Path] = None,
    npy: bool = False,
    force: bool = False,
) -> List[Dict[str, Any]]: ...
def default_batch(
    boxes_per_image: int = 8,
    *,
    batch: Optional[int] = None,
    size: Optional[int] = None,
    nc: Optional[int] = None,
    seed: Optional[int] = None,
) -> Dict[str, Any]: ...
def conformance(
    port: Callable[..., Any],
    cases: Optional[Iterable[_Case]] = None,
    *,
    preset: str = "f64",
    only: Union[str, Sequence[str], None] = None,
    count: int = 100,
    seed: int = 0,
    space: Optional[Mapping[str, Any]] = None,
    shrink: bool = True,
    timeout: Optional[float] = 10.0,
    shrink_calls: int = 200,
    **tolerances: float,
) -> Conformance: ...
