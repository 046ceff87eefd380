#!/usr/bin/env bash
# Runs one fuzz target on one core: fuzz/run.sh TARGET SECONDS [extra libFuzzer flags]
# Working corpus in fuzz/corpus/TARGET (ignored by git), kept seeds in fuzz/seeds/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
target=$1; secs=$2; shift 2
dict=(); [ -f "$target.dict" ] && dict=(-dict="$target.dict")
mkdir -p "corpus/$target" artifacts/"$target"
export RAYON_NUM_THREADS=1 RUSTC_BOOTSTRAP=1
exec cargo fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
  -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 "${dict[@]}" "$@"
