#!/usr/bin/env bash
# Language-model maps against the forward's cost, whole processes, in one run: 130m-shaped Mamba-1 and Mamba-2
# (random weights from `hattn init`), T token ids (default 512), `hattn lm logits` and `hattn lm explain --method
# raw | rollout | attr`, each with its time, its ratio to the same model's `lm logits`, and its peak memory.
# Needs /usr/bin/time. Usage: scripts/bench_lm_maps.sh [OUTDIR (out/bench_lm_maps)] [T (512)]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench_lm_maps}
T=${2:-512}
hattn=./build/bin/hattn
[[ -x $hattn ]] || { echo "bench_lm_maps: $hattn is missing: run make" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench_lm_maps: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
mkdir -p "$out"
ids=$(awk -v n="$T" 'BEGIN { srand(0); for (i = 0; i < n; ++i) printf "%s%d", (i ? "," : ""), int(rand() * 50000) }')
run() {  # prints "seconds peak_kB"
  /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" > /dev/null 2> "$out/last.err" || { cat "$out/last.err" >&2; exit 1; }
  cat "$out/time.txt"
}
{
  echo "## Language-model maps, $T tokens ($(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
  echo
  echo "| model | lm logits | raw | rollout | attr | peak memory (attr) |"
  echo "|---|---|---|---|---|---|"
  for config in mamba-130m mamba2-130m; do
    model=$out/$config
    [[ -f $model/config.json ]] || $hattn init --config $config --out "$model" > /dev/null
    read -r t0 m0 < <(run $hattn lm logits --model "$model" --ids "$ids")
    row="| $config | $t0 s"
    for method in raw rollout attr; do
      read -r t m < <(run $hattn lm explain --model "$model" --ids "$ids" --method $method --out "$out/maps_$config")
      row+=" | $t s ($(awk "BEGIN { printf \"%.1f\", $t / $t0 }")x)"
      mem=$m
    done
    echo "$row | $(awk "BEGIN { printf \"%.2f\", $mem / 1048576 }") GB |"
  done
} | tee "$out/table.md"
