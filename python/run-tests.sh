#!/usr/bin/env bash
# Every Python test on a fresh machine: build and install `./python` into a virtual
# environment (VENV, default .venv-py at the repository root) with python/requirements-test.txt
# (numpy, pytest, torch), fetch the two YOLOv5 wheels the comparison loads (no dependencies,
# under 1 MB each; tests/yolov5/fetch-wheels.sh), then run pytest over
#
#   python/tests                 the package: the oracle in-process, the PyTorch drop-in
#   tests/yolov5                 the baseline assigner against YOLOv5 6.0's and 7.0's ComputeLoss
#   fixtures/export              the torch reference the fixtures were exported with
#
# The CLI tests need target/release/softobj (`cargo test --release` builds it first; the tests
# build it when missing). SOFTOBJ_PY_QUICK=1 installs numpy and pytest only (no torch): the
# torch tests then skip, or fail where SOFTOBJ_NO_SKIP=1 (as in CI). Extra arguments go to pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv-py}"
PY="$VENV/bin/python"
[ -x "$PY" ] || python3 -m venv "$VENV"
pip_install() { "$PY" -m pip install --quiet --disable-pip-version-check "$@"; }
if [ "${SOFTOBJ_PY_QUICK:-0}" = 1 ]; then
    pip_install ./python numpy pytest
else
    pip_install ./python -r python/requirements-test.txt
    PY="$PY" bash tests/yolov5/fetch-wheels.sh
fi
export YOLOV5_WHEELS="${YOLOV5_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/soft-objectness/yolov5}"
exec "$PY" -m pytest -q -p no:cacheprovider -rs --rootdir="$ROOT" \
    python/tests tests/yolov5 fixtures/export "$@"
