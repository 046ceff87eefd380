#!/usr/bin/env bash
# Prints one sha256 per oracle answer: `softobj eval` on every fixture and on every case of
# `softobj gen --edge`, through both soft builders (lines `HASH BUILDER NAME`), then the same
# cases on the GPU backend (lines `HASH gpu NAME`; on a machine without a GPU adapter they are
# left out, with a note on stderr), then the generated files themselves (`HASH gen NAME`). The
# indented answer is hashed (`eval --pretty`; a binary from before compact JSON became the
# default has no `--pretty` and prints it by default), so lists made by older and newer
# binaries compare.
# A restructuring that must not change behaviour shows the same list before and after:
#   .ci/identity.sh OLD/softobj > before.txt; .ci/identity.sh target/release/softobj > after.txt
#   diff before.txt after.txt
set -euo pipefail
bin=${1:-target/release/softobj}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$bin" gen --out "$work/edge" --edge >/dev/null
pretty=()
# grep reads the whole help (no -q): an early exit would end the pipe with SIGPIPE, which pipefail
# turns into a false condition.
if "$bin" eval --help | grep -- '--pretty' >/dev/null; then pretty=(--pretty); fi
for f in fixtures/*.json "$work"/edge/*.json; do
  name=$(basename "$f")
  for builder in vectorised loop; do
    printf '%s %s %s\n' "$("$bin" eval "$f" "${pretty[@]}" --builder "$builder" | sha256sum | cut -c1-16)" "$builder" "$name"
  done
done
# The GPU backend on the same cases (f32 shaders: its own answers, pinned as the CPU's are).
if "$bin" eval fixtures/worked_example_power10.json --backend gpu >/dev/null 2>"$work/gpu.err"; then
  for f in fixtures/*.json "$work"/edge/*.json; do
    printf '%s gpu %s\n' "$("$bin" eval "$f" "${pretty[@]}" --backend gpu | sha256sum | cut -c1-16)" "$(basename "$f")"
  done
else
  echo "identity.sh: no GPU lines: $(head -c 300 "$work/gpu.err")" >&2
fi
# The generated cases themselves (the edge mix and a random batch with expected answers).
"$bin" gen --out "$work/rand" --count 12 --seed 7 --with-expected >/dev/null
for f in "$work"/edge/*.json "$work"/rand/*; do
  printf '%s gen %s\n' "$(sha256sum < "$f" | cut -c1-16)" "$(basename "$f")"
done
