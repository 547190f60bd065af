#!/usr/bin/env bash
# Runs every fuzz target of build-fuzz for SECONDS each (default 60), growing a working corpus in
# out/fuzz/<target>/corpus from the committed seeds in tests/fuzz/corpus/<target>/. A crash leaves its input in
# out/fuzz/<target>/ (crash-*, leak-*, timeout-*); keep it as a regression test under tests/data/hostile/.
# FUZZ_TARGETS="tokenizer lm_config" picks targets; the JSON ones use the dictionary tests/fuzz/json.dict.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
status=0
targets=${FUZZ_TARGETS:-pth safetensors npy idx image gtsegs tokenizer lm_config}
for target in $targets; do
  dir=out/fuzz/$target
  mkdir -p "$dir/corpus"
  start=$SECONDS
  dict=()
  [[ $target == tokenizer || $target == lm_config ]] && dict=(-dict=tests/fuzz/json.dict)
  ./build-fuzz/tests/fuzz/fuzz_$target "${dict[@]}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/" "$dir/corpus" "tests/fuzz/corpus/$target" >"$dir/log.txt" 2>&1
  rc=$?
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$dir/log.txt" | grep -oE '[0-9]+$')
  echo "fuzz_$target: exit $rc, ${execs:-?} inputs in $((SECONDS - start)) s, corpus $(ls "$dir/corpus" | wc -l) files"
  [[ $rc -ne 0 ]] && { status=1; tail -20 "$dir/log.txt"; }
done
exit $status
