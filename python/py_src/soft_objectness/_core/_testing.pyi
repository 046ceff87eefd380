"""Test hooks of the compiled module, not API (python/src/testing.rs): for the package's tests and
bench/python_api.py."""

from typing import Any, List, Sequence

__all__ = ["prediction_addresses", "time_build_targets"]

def prediction_addresses(targets: Any, predictions: Sequence[Any]) -> List[int]: ...
def time_build_targets(
    config: Any, targets: Any, shapes: Sequence[Sequence[int]], reps: int, in_pool: bool
) -> List[float]: ...
