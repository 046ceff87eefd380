#!/usr/bin/env bash
# Downloads the yolov5 wheels the comparison loads (tests/yolov5/yolov5_ref.py: VERSIONS) into
# YOLOV5_WHEELS (default ~/.cache/soft-objectness/yolov5), without dependencies; a wheel already
# there is kept. PY: the Python to run pip with (default python3).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=${PY:-python3}
DIR=${YOLOV5_WHEELS:-${XDG_CACHE_HOME:-$HOME/.cache}/soft-objectness/yolov5}
mkdir -p "$DIR"
for v in $("$PY" -c 'import ast, re, sys
src = open(sys.argv[1]).read()
print(*ast.literal_eval(re.search(r"^VERSIONS = (\{.*?\})", src, re.M).group(1)).values())' "$HERE/yolov5_ref.py"); do
    ls "$DIR"/yolov5-"$v"-*.whl >/dev/null 2>&1 \
        || "$PY" -m pip download --quiet --disable-pip-version-check --no-deps \
            --only-binary=:all: "yolov5==$v" -d "$DIR"
done
