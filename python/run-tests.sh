#!/usr/bin/env bash
# The Python package's tests on a fresh machine: build and install `./python` into a fresh
# virtual environment (VENV, default .venv-py at the repository root), then run pytest. The
# CLI tests need target/release/softobj (`cargo build --release`, or `cargo test --release`
# first); conftest.py builds it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-.venv-py}"
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check ./python pytest numpy
"$VENV/bin/python" -m pytest python/tests -q -p no:cacheprovider "$@"
