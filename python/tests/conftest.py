"""Shared helpers: the repository's fixtures and the `softobj` binary the Python API is held to.

The binary is `$SOFTOBJ` when set, else `target/release/softobj` (built by `cargo build
--release` or `cargo test --release`, which `.ci/run` runs first). Where it is missing the
tests build it with cargo, except in wheel mode (`SOFTOBJ_WHEEL` set by python/run-tests.sh:
the package under test is an installed wheel and no Rust tool is on the PATH), where they fail
saying how to build it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


def fixture_paths():
    return sorted(FIXTURES.glob("*.json"))


@pytest.fixture(scope="session")
def softobj() -> str:
    exe = os.environ.get("SOFTOBJ") or str(ROOT / "target" / "release" / "softobj")
    if not Path(exe).exists():
        if os.environ.get("SOFTOBJ_WHEEL"):
            pytest.fail(
                f"the softobj binary is missing at {exe}: build it before the Python tests "
                "(`cargo build --release --bin softobj`, or `cargo test --release` as .ci/run "
                "does) or set SOFTOBJ to its path; wheel mode never runs cargo",
                pytrace=False,
            )
        subprocess.run(
            ["cargo", "build", "--release", "--bin", "softobj"], cwd=ROOT, check=True
        )
    return exe


@pytest.fixture
def skip_without_gpu():
    """Call it with the ``so.GpuError`` that a ``backend="gpu"`` evaluation raised: without an
    adapter the test is skipped, visibly, or fails where ``SOFTOBJ_REQUIRE_GPU=1`` (as the Rust
    GPU tests do); any other GPU error (a kernel that does not compile) is raised again."""

    def skip(err: Exception):
        if "no GPU adapter found" not in str(err):
            raise err
        if os.environ.get("SOFTOBJ_REQUIRE_GPU") == "1":
            pytest.fail(f"SOFTOBJ_REQUIRE_GPU=1 but {err}", pytrace=False)
        pytest.skip(f"no GPU adapter (SOFTOBJ_REQUIRE_GPU=1 makes this a failure): {err}")

    return skip


def run(exe: str, *args, check: bool = True) -> subprocess.CompletedProcess:
    """Runs `softobj ARGS`, returning the completed process (stdout, stderr as text)."""
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"softobj {' '.join(map(str, args))}: exit {p.returncode}\n{p.stderr}")
    return p


def json_form(x):
    """An answer or case with numpy arrays as the JSON form (`{"shape", "data"}`), for exact
    comparison with parsed JSON."""
    if isinstance(x, np.ndarray):
        return {"shape": list(x.shape), "data": x.ravel().tolist()}
    if isinstance(x, dict):
        return {k: json_form(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_form(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


# One shape of the random space, for tests that quote its numbers in messages and indices: 2
# images of 64x64 pixels, 3 layers (8x8, 4x4, 2x2 cells) of 3 anchors.
FIXED_SHAPE = {"image": "64x64", "batch": 2, "nl": 3, "na": 3}


def small_case(nc: int = 3, seed: int = 0):
    """A small generated case of :data:`FIXED_SHAPE` with ``nc`` classes in the dict form
    (float32 predictions)."""
    import soft_objectness as so

    return so.gen_cases(1, seed=seed, space={**FIXED_SHAPE, "nc": nc})[0]


def parts(case):
    return case["config"], case["inputs"]["targets"], case["inputs"]["predictions"]


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
