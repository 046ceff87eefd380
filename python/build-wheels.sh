#!/usr/bin/env bash
# Builds the files a release uploads to PyPI into OUT_DIR:
#
#   python/build-wheels.sh OUT_DIR
#
#   soft_objectness-VERSION.tar.gz          the sdist: the binding, the core crate's sources
#                                           (its Cargo.toml `include` list: no fixtures, tests
#                                           or benchmarks), Cargo.lock
#   soft_objectness-VERSION-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
#                                           one wheel for CPython 3.9 and newer (abi3), built
#                                           FROM that sdist, so a broken sdist fails here
#
# The wheel is tagged manylinux2014 (glibc 2.17: RHEL/CentOS 7, Ubuntu 14.04 and newer), the tag
# of the compiled wheels most of the Python ecosystem ships: maturin's `--zig` links with zig
# (the ziglang package) against glibc 2.17's symbols whatever this machine's glibc is, and
# `--auditwheel check` fails the build if the library needs anything newer or outside the
# manylinux policy; `auditwheel show` prints the report and `twine check` the metadata.
#
# Needs a Rust toolchain (Cargo.toml's rust-version or newer) and python3. The build tools
# (python/requirements-build.txt, pinned) go into the virtual environment BUILD_VENV (default
# .venv-build at the repository root). Cargo builds in CARGO_TARGET_DIR (default target/; the
# wheel's objects land in target/x86_64-unknown-linux-gnu/, apart from `cargo build`'s).
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: python/build-wheels.sh OUT_DIR" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
BUILD_VENV="${BUILD_VENV:-$ROOT/.venv-build}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
[ -x "$BUILD_VENV/bin/python" ] || python3 -m venv "$BUILD_VENV"
"$BUILD_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$ROOT/python/requirements-build.txt"
export PATH="$BUILD_VENV/bin:$PATH"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/dist" "$WORK/src"

maturin sdist --manifest-path "$ROOT/python/Cargo.toml" --out "$WORK/dist"
SDIST=$(echo "$WORK"/dist/*.tar.gz)
python "$ROOT/python/fix-sdist.py" "$SDIST"

# --touch: maturin stamps every file of the sdist with one fixed date, older than cargo's
# fingerprints, and cargo finds path crates fresh by date; files dated now make it recompile
# the two crates of the sdist (the registry crates stay built in CARGO_TARGET_DIR).
tar -xzf "$SDIST" -C "$WORK/src" --touch
(cd "$WORK"/src/* && maturin build --release --locked --zig --compatibility manylinux2014 \
    --auditwheel check --out "$WORK/dist")
WHEEL=$(echo "$WORK"/dist/*.whl)
auditwheel show "$WHEEL"
twine check --strict "$SDIST" "$WHEEL"

mv -f "$SDIST" "$WHEEL" "$OUT/"
echo "built into $OUT:"
ls -l "$OUT/$(basename "$SDIST")" "$OUT/$(basename "$WHEEL")"
