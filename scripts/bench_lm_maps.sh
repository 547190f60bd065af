#!/usr/bin/env bash
# Language-model maps against the forward's cost, whole processes, in one run: 130m-shaped Mamba-1 and Mamba-2
# (random weights from `hattn init`), T token ids (default 512), `hattn lm logits` and `hattn lm explain --method
# raw | rollout | attr | lrp`, each with its time, its ratio to the same model's `lm logits`, and the peak memory of the
# slowest; each the best of REPEATS (3) runs. Beside them, when .venv-peers exists (scripts/setup.sh --dev), the strongest alternatives a user could
# pick: transformers 4.44.2's forward for the logits and a vectorised PyTorch implementation of the same maps
# (scripts/bench_lm_maps.py), whose maps are compared with ours. Needs /usr/bin/time.
# Usage: scripts/bench_lm_maps.sh [OUTDIR (out/bench_lm_maps)] [T (512)]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench_lm_maps}
T=${2:-512}
hattn=./build/bin/hattn
py=.venv-peers/bin/python
[[ -x $hattn ]] || { echo "bench_lm_maps: $hattn is missing: run make" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench_lm_maps: /usr/bin/time is missing (apt-get install time)" >&2; exit 2; }
peers=0
if [[ -x $py ]]; then peers=1; source scripts/openblas_fastest.sh
else echo "bench_lm_maps: $py is missing (scripts/setup.sh --dev): hattn's side only" >&2; fi
mkdir -p "$out"
ids=$(awk -v n="$T" 'BEGIN { srand(0); for (i = 0; i < n; ++i) printf "%s%d", (i ? "," : ""), int(rand() * 50000) }')
repeats=${REPEATS:-3}
run() {  # prints "seconds peak_kB": the best time of $repeats runs (this machine's noise is ~20%) and its memory
  local best=""
  for ((k = 0; k < repeats; ++k)); do
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" > /dev/null 2> "$out/last.err" || { cat "$out/last.err" >&2; exit 1; }
    read -r t m < "$out/time.txt"
    if [[ -z $best ]] || awk "BEGIN { exit !($t < ${best% *}) }"; then best="$t $m"; fi
  done
  echo "$best"
}
gb() { awk "BEGIN { printf \"%.2f\", $1 / 1048576 }"; }
{
  echo "## Language-model maps, $T tokens ($(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
  echo
  echo "| model | | logits | raw | rollout | attr | lrp | peak memory |"
  echo "|---|---|---|---|---|---|---|---|"
  for config in mamba-130m mamba2-130m; do
    model=$out/$config
    [[ -f $model/config.json ]] || { $hattn init --config $config --out "$model" > /dev/null; sync; }
    repeats=1 run $hattn lm logits --model "$model" --ids "$ids" > /dev/null  # warm-up: the weights in the page cache
    sides=(hattn)
    [[ $peers == 1 ]] && sides+=(pytorch)
    for side in "${sides[@]}"; do
      if [[ $side == hattn ]]; then
        read -r t0 m0 < <(run $hattn lm logits --model "$model" --ids "$ids")
        row="| $config | hattn | $t0 s"
      else
        read -r t0 m0 < <(run $py scripts/bench_lm_maps.py --model "$model" --ids "$ids" --method logits --out "$out/logits.npy")
        row="| | PyTorch (logits: transformers) | $t0 s"
      fi
      peak=$m0
      for method in raw rollout attr lrp; do
        if [[ $side == hattn ]]; then
          read -r t m < <(run $hattn lm explain --model "$model" --ids "$ids" --method $method --out "$out/maps_$config")
        else
          read -r t m < <(run $py scripts/bench_lm_maps.py --model "$model" --ids "$ids" --method $method --out "$out/torch_${config}_$method.npy")
        fi
        row+=" | $t s ($(awk "BEGIN { printf \"%.1f\", $t / $t0 }")x)"
        (( m > peak )) && peak=$m
      done
      echo "$row | $(gb "$peak") GB |"
    done
    if [[ $peers == 1 ]]; then
      $py - "$out" "$config" <<'EOF'
import sys
import numpy as np
out, config = sys.argv[1], sys.argv[2]
worst = max(float(np.abs(np.load(f"{out}/maps_{config}/{m}.npy") - np.load(f"{out}/torch_{config}_{m}.npy")).max()
                  / np.abs(np.load(f"{out}/maps_{config}/{m}.npy")).max()) for m in ("raw", "rollout", "attr", "lrp"))
print(f"| | maps: max abs difference / max | {worst:.1e} | | | | | |")
EOF
    fi
  done
  echo
  echo "Best of $repeats runs each; ratios are to the same side's logits; the peak memory is the largest of that side's five processes."
} | tee "$out/table.md"
