#!/usr/bin/env bash
# The oracle's baseline assigner against YOLOv5's own ComputeLoss (6.0, 6.1, 6.2, 7.0 from PyPI).
#
#   tests/yolov5/run.sh [pytest options]
#
# Uses (or creates) the venv $VENV (default .venv-torch, shared with fixtures/export), installs
# tests/yolov5/requirements.txt into it if torch, numpy or pytest is missing (about 3 GB of
# wheels with torch's CUDA libraries; export PIP_INDEX_URL to use a CPU-only torch index),
# downloads the yolov5 wheels (no dependencies, under 1 MB each) into $YOLOV5_WHEELS
# (default ~/.cache/soft-objectness/yolov5), builds target/release/softobj and runs pytest.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${VENV:-$ROOT/.venv-torch}
export YOLOV5_WHEELS=${YOLOV5_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/soft-objectness/yolov5}
export SOFTOBJ=${SOFTOBJ:-$ROOT/target/release/softobj}

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
PY="$VENV/bin/python"
"$PY" -c 'import torch, numpy, pytest' 2>/dev/null \
    || "$PY" -m pip install -r "$ROOT/tests/yolov5/requirements.txt"

PY="$PY" bash "$ROOT/tests/yolov5/fetch-wheels.sh"

if [ "$SOFTOBJ" = "$ROOT/target/release/softobj" ]; then
    (cd "$ROOT" && cargo build --release --bin softobj)
fi
exec "$PY" -m pytest -p no:cacheprovider -q -rs "$ROOT/tests/yolov5" "$@"
