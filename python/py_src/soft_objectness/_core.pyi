"""Type stubs of the compiled module ``soft_objectness._core`` (python/src/lib.rs).

The public, documented interface is the package ``soft_objectness``; these functions are its
building blocks. ``tests/test_api.py`` checks that every function named here exists.
"""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

_Path = Union[str, PathLike[str]]
_Json = Any

__version__: str
FORMAT: str
PRESETS: Dict[str, Tuple[float, float, float, float]]
ANSWER_KEYS: List[str]
CASE_KEYS: List[str]
MAX_ELEMENTS: int

class CaseError(ValueError):
    field: Optional[str]

class TooLargeError(CaseError): ...
class NonFiniteError(CaseError): ...
class GpuError(RuntimeError): ...
class InternalError(RuntimeError): ...

class Config:
    def __init__(self, config: Union[Dict[str, Any], "Config"], nc: Optional[int] = None) -> None: ...
    def to_dict(self) -> Dict[str, Any]: ...
    @property
    def nc(self) -> int: ...
    @property
    def nl(self) -> int: ...
    @property
    def na(self) -> int: ...

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
    def layers(self) -> int: ...
    def counts(self) -> List[Dict[str, int]]: ...
    def tobj(self) -> List[np.ndarray]: ...
    def rows(self) -> List[Dict[str, np.ndarray]]: ...
    def grad(self) -> List[np.ndarray]: ...
    def grad_into(self, out: Sequence[np.ndarray], scale: float = 1.0) -> None: ...
    def to_answer(self) -> Dict[str, Any]: ...

def evaluate(
    config: _Json,
    targets: np.ndarray,
    predictions: Sequence[np.ndarray],
    builder: str = "vectorised",
    backend: str = "cpu",
    balance: Optional[Sequence[float]] = None,
) -> Evaluation: ...
def _prediction_addresses(targets: np.ndarray, predictions: Sequence[np.ndarray]) -> List[int]: ...
def build_targets(
    config: _Json,
    targets: np.ndarray,
    shapes: Sequence[Sequence[int]],
    builder: str = "vectorised",
) -> List[Dict[str, Any]]: ...
def _time_build_targets(
    config: _Json,
    targets: np.ndarray,
    shapes: Sequence[Sequence[int]],
    reps: int,
    in_pool: bool,
) -> List[float]: ...
def check(
    config: _Json,
    targets: np.ndarray,
    predictions: Sequence[np.ndarray],
    answer: _Json,
    tolerances: Tuple[float, float, float, float],
    listed: int = 8,
    base_dir: Optional[_Path] = None,
) -> Dict[str, Any]: ...
def load_case(path: _Path) -> Tuple[Dict[str, Any], List[str]]: ...
def read_case(case: _Json, base_dir: Optional[_Path] = None) -> Tuple[Dict[str, Any], List[str]]: ...
def load_answer(path: _Path) -> Dict[str, Any]: ...
def read_answer(answer: _Json, base_dir: Optional[_Path] = None) -> Tuple[Dict[str, Any], List[str]]: ...
def read_array(obj: _Json, field: str, base_dir: Optional[_Path] = None) -> np.ndarray: ...
def write_case(
    path: _Path,
    name: str,
    config: _Json,
    targets: np.ndarray,
    predictions: Sequence[np.ndarray],
    expected: Optional[_Json] = None,
    npy: bool = False,
) -> List[str]: ...
def gen_cases(
    count: int,
    seed: int = 0,
    edge: bool = False,
    width: int = 64,
    height: int = 64,
    batch: int = 2,
    nc: int = 3,
    with_expected: bool = False,
) -> List[Tuple[str, Dict[str, Any]]]: ...
def default_batch(
    boxes_per_image: int = 8, batch: int = 16, size: int = 640, nc: int = 80, seed: int = 0x5EED
) -> Dict[str, Any]: ...
