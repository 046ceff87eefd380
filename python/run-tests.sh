#!/usr/bin/env bash
# Every Python test, against the wheel a user installs:
#
# 1. python/build-wheels.sh builds the sdist and, from it, the manylinux wheel into DIST
#    (default python/dist). SOFTOBJ_WHEEL=PATH tests that wheel instead of building one.
# 2. From then on no Rust tool is on the PATH (every directory holding cargo, rustc or rustup
#    is left out of it). The wheel goes into a fresh virtual environment (VENV, default
#    .venv-py at the repository root) with python/requirements-test.txt (numpy 2, pytest,
#    mypy, torch) and the two YOLOv5 wheels the comparison loads (no dependencies, under 1 MB each;
#    tests/yolov5/fetch-wheels.sh); pytest runs
#
#      python/tests     the package: the oracle in-process, the PyTorch drop-in, and
#                       test_wheel.py: the extension module is the installed wheel's
#      tests/yolov5     the baseline assigner against YOLOv5 6.0's and 7.0's ComputeLoss
#      fixtures/export  the torch reference the fixtures were exported with
#
#    Extra arguments go to this pytest run. Before it, mypy.stubtest checks the stubs
#    (python/py_src/soft_objectness/_core/*.pyi) against the installed compiled module: any
#    difference fails the run.
# 3. The same wheel goes into a second fresh environment (VENV_NUMPY1, default
#    .venv-py-numpy1) with numpy 1.x and pytest alone (python/requirements-numpy1.txt), which
#    runs the test files that need numpy alone (NUMPY_ONLY below); the torch test among them
#    skips there, so that run does not forbid skips, and at least MIN_NUMPY1 tests must pass.
#
# The CLI tests need the `softobj` binary: SOFTOBJ, default
# ${CARGO_TARGET_DIR:-target}/release/softobj, which `cargo test --release` builds first.
# SOFTOBJ_PY_QUICK=1 leaves torch and the YOLOv5 wheels out of step 2 and skips step 3: the
# torch tests then skip, or fail where SOFTOBJ_NO_SKIP=1 (as in CI).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv-py}"
VENV_NUMPY1="${VENV_NUMPY1:-$ROOT/.venv-py-numpy1}"
DIST="${DIST:-$ROOT/python/dist}"
export SOFTOBJ="${SOFTOBJ:-${CARGO_TARGET_DIR:-$ROOT/target}/release/softobj}"
export YOLOV5_WHEELS="${YOLOV5_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/soft-objectness/yolov5}"
NUMPY_ONLY=(python/tests/test_wheel.py python/tests/test_api.py python/tests/test_check.py
    python/tests/test_fixtures.py python/tests/test_inputs.py python/tests/test_threads.py
    python/tests/test_binding.py)
# A floor well under the number of tests these files hold, which an empty or mistaken
# selection cannot pass.
MIN_NUMPY1=150

if [ -z "${SOFTOBJ_WHEEL:-}" ]; then
    rm -f "$DIST"/soft_objectness-*
    bash python/build-wheels.sh "$DIST"
    SOFTOBJ_WHEEL=$(echo "$DIST"/soft_objectness-*.whl)
fi
export SOFTOBJ_WHEEL=$(cd "$(dirname "$SOFTOBJ_WHEEL")" && pwd)/$(basename "$SOFTOBJ_WHEEL")
BASE_PYTHON=$(python3 -c 'import sys; print(sys.executable)')

# The PATH without the directories that hold a Rust tool.
no_rust_path() {
    local dir tool out=""
    IFS=: read -ra dirs <<<"$PATH"
    for dir in "${dirs[@]}"; do
        [ -n "$dir" ] || continue
        for tool in cargo rustc rustup; do [ -e "$dir/$tool" ] && continue 2; done
        out="${out:+$out:}$dir"
    done
    echo "$out"
}
PATH=$(no_rust_path)
! command -v cargo rustc rustup >/dev/null || { echo "a Rust tool is still on the PATH" >&2; exit 1; }

# fresh_venv DIR REQUIREMENTS: a new virtual environment in DIR with the wheel and the
# requirements file, wheels only (nothing may compile here).
fresh_venv() {
    "$BASE_PYTHON" -m venv --clear "$1"
    "$1/bin/python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: \
        "$SOFTOBJ_WHEEL" -r "$2"
}
# The stubs against the compiled module installed in VENV (mypy.stubtest, run outside the
# checkout so that the installed package is the one checked).
stubtest_in() {
    local dir rc=0
    dir=$(mktemp -d)
    (cd "$dir" && "$1/bin/python" -m mypy.stubtest soft_objectness._core) || rc=$?
    rm -rf "$dir"
    return "$rc"
}
# pytest in VENV over the arguments; --confcutdir: the repository's conftest.py (SOFTOBJ_NO_SKIP,
# SOFTOBJ_MIN_PASSED) applies even where python/pyproject.toml is the configuration pytest finds.
pytest_in() {
    local venv=$1; shift
    "$venv/bin/python" -m pytest -q -p no:cacheprovider -rs --rootdir="$ROOT" --confcutdir="$ROOT" "$@"
}

if [ "${SOFTOBJ_PY_QUICK:-0}" = 1 ]; then
    fresh_venv "$VENV" <(grep -v '^torch' python/requirements-test.txt)
    stubtest_in "$VENV"
    SOFTOBJ_NUMPY_MAJOR=2 pytest_in "$VENV" python/tests tests/yolov5 fixtures/export "$@"
    exit
fi
fresh_venv "$VENV" python/requirements-test.txt
PY="$VENV/bin/python" bash tests/yolov5/fetch-wheels.sh
stubtest_in "$VENV"
SOFTOBJ_NUMPY_MAJOR=2 pytest_in "$VENV" python/tests tests/yolov5 fixtures/export "$@"

fresh_venv "$VENV_NUMPY1" python/requirements-numpy1.txt
SOFTOBJ_NUMPY_MAJOR=1 SOFTOBJ_MIN_PASSED=$MIN_NUMPY1 SOFTOBJ_NO_SKIP=0 \
    pytest_in "$VENV_NUMPY1" "${NUMPY_ONLY[@]}"
