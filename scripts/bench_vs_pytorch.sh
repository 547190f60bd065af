#!/usr/bin/env bash
# CPU speed side by side (the CPU-speed issue): our end-to-end benchmark and whole `hattn` processes, and,
# when Debian's python3-torch is installed, the same computations in PyTorch in the same run
# (scripts/bench_vs_pytorch.py: the pure-PyTorch Vim of make_reference.py, float32). Prints a table with the
# ratios and writes everything under OUTDIR (default out/bench).
#
# Usage: scripts/bench_vs_pytorch.sh [OUTDIR]        (HATTN_BENCH_REPEAT=N: best of N, default 3)
# Model: Vim-tiny shapes (D 192, depth 24, 224x224, 197 tokens), random weights from `hattn init`.
# OpenBLAS's core set is chosen by speed on this machine (scripts/openblas_fastest.sh) and printed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/bench}
repeat=${HATTN_BENCH_REPEAT:-3}
threads=$(nproc)
mkdir -p "$out"
hattn=./build/bin/hattn
for f in $hattn build/bench/bench_end_to_end build/bench/bench_gemm; do
  [[ -x $f ]] || { echo "bench_vs_pytorch: $f is missing; run 'make' (and scripts/setup.sh for Google Benchmark)" >&2; exit 2; }
done
ckpt=$out/vim_tiny.safetensors
image=tests/data/images/src_wide.png
[[ -f $ckpt ]] || $hattn init --config tiny --seed 0 --out "$ckpt" >/dev/null

command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c 'import torch' 2>/dev/null && source scripts/openblas_fastest.sh
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(date -u +%F)"
echo "== ours, in-process (build/bench/bench_end_to_end; best of $repeat)"
./build/bench/bench_end_to_end --benchmark_repetitions="$repeat" --benchmark_report_aggregates_only=false \
  --benchmark_format=csv 2>/dev/null >"$out/ours_e2e.csv"
./build/bench/bench_gemm --benchmark_filter='gemm_ours/(197|1576)/(192/768|384/192)/' --benchmark_format=csv \
  2>/dev/null >"$out/ours_gemm.csv"

# best-of-N wall time and peak RSS of a whole process: time_process FILE NAME COMMAND...
time_process() {
  local file=$1 name=$2; shift 2
  local best="" rss=0
  for _ in $(seq "$repeat"); do
    /usr/bin/time -f "%e %M" -o "$out/time.txt" "$@" >/dev/null 2>&1 || { echo "bench_vs_pytorch: '$*' failed" >&2; exit 1; }
    read -r t m <"$out/time.txt"
    if [[ -z $best ]] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    (( m > rss )) && rss=$m
  done
  echo "$name $best" >>"$file"
  echo "$name:peak_rss_mb $((rss / 1024))" >>"$file"
}
: >"$out/ours.txt"
# in-process numbers: the minimum real time over the repetitions, in seconds
awk -F, '/^"BM_/ && !/_(mean|median|stddev|cv)"/ { gsub(/"/, "", $1); sub(/\/real_time.*/, "", $1); t = $3 / 1000;
          if (!($1 in best) || t < best[$1]) best[$1] = t }
         END { for (k in best) print k, best[k] }' "$out/ours_e2e.csv" >>"$out/ours.txt"
awk -F, '/^name,/ { for (i = 1; i <= NF; ++i) if ($i ~ /GFLOP/) col = i }
         /^"gemm_ours/ { gsub(/"/, "", $1); split($1, p, "/"); print "sgemm_gflops:" p[2] "x" p[3] "x" p[4], $col }' \
  "$out/ours_gemm.csv" >>"$out/ours.txt"
echo "== ours, whole processes (best of $repeat; loading, decoding and writing included)"
time_process "$out/ours.txt" classify_process $hattn classify --checkpoint "$ckpt" --image "$image" \
  --logits-npy "$out/ours_logits.npy"
time_process "$out/ours.txt" explain_attr_process $hattn explain --checkpoint "$ckpt" --image "$image" \
  --method attr --variant official --out "$out/explain"

for scan in sequential vectorised; do : >"$out/torch_$scan.txt"; done
if /usr/bin/python3 -c 'import torch, PIL, numpy' 2>/dev/null; then
  for scan in sequential vectorised; do
    echo "== PyTorch, $scan scan, in-process (the sequential scan takes a few minutes)"
    OMP_NUM_THREADS=$threads /usr/bin/python3 scripts/bench_vs_pytorch.py --checkpoint "$ckpt" --image "$image" \
      --ours-logits "$out/ours_logits.npy" --json "$out/torch_$scan.json" --threads "$threads" --repeat "$repeat" \
      --scan $scan >/dev/null
    echo "== PyTorch, $scan scan, whole processes (interpreter start and imports included)"
    for job in classify explain_attr; do
      time_process "$out/torch_$scan.txt" ${job}_process env OMP_NUM_THREADS=$threads /usr/bin/python3 \
        scripts/bench_vs_pytorch.py --checkpoint "$ckpt" --image "$image" --json "$out/torch_${scan}_process.json" \
        --threads "$threads" --scan $scan --process $job
    done
  done
else
  echo "== PyTorch: not installed (apt-get install python3-torch); ours only"
fi

echo
# columns: ours, PyTorch with the sequential scan, PyTorch with the vectorised scan, and how many times faster
# we are than the faster of the two (a time: theirs / ours; GFLOP/s: ours / theirs)
awk '
  FILENAME ~ /ours.txt$/ { ours[$1] = $2; next }
  FILENAME ~ /sequential.txt$/ { seq[$1] = $2; next }
  { vec[$1] = $2 }
  function cell(fmt, v) { return v == "" ? "—" : sprintf(fmt, v) }
  function row(label, o, s, v, fmt, higher_better,   best, r) {
    if (o == "") return
    best = s; if (v != "" && (best == "" || (higher_better ? v > best : v < best))) best = v
    r = best == "" ? "—" : sprintf("%.1fx", higher_better ? o / best : best / o)
    printf "| %-42s | %10s | %10s | %10s | %8s |\n", label, cell(fmt, o), cell(fmt, s), cell(fmt, v), r
  }
  function both(label, key, okey, fmt, hb) { row(label, ours[okey], seq[key], vec[key], fmt, hb) }
  END {
    printf "| %-42s | %10s | %10s | %10s | %8s |\n", "Vim-tiny, batch 1, " threads " threads", "ours",
           "PyTorch seq", "PyTorch vec", "speed-up"
    printf "|%s|%s|%s|%s|%s|\n", "--------------------------------------------", "------------", "------------",
           "------------", "----------"
    both("forward, in-process (s)", "forward", "BM_Forward", "%.4f", 0)
    both("Mamba-Attribution map, in-process (s)", "explain_attr", "BM_ExplainAttr", "%.4f", 0)
    row("full hidden attention of one layer (s)", ours["BM_LayerAttention"], seq["layer_attn"], "", "%.4f", 0)
    both("training step, batch 2 (s)", "train_step_b2", "BM_TrainStep/2", "%.3f", 0)
    row("training step, batch 8 (s)", ours["BM_TrainStep/8"], "", "", "%.3f", 0)
    both("classify, whole process (s)", "classify_process", "classify_process", "%.3f", 0)
    both("classify, whole process: peak RSS (MB)", "classify_process:peak_rss_mb", "classify_process:peak_rss_mb", "%d", 0)
    both("explain attr, whole process (s)", "explain_attr_process", "explain_attr_process", "%.3f", 0)
    both("explain attr, whole process: peak RSS (MB)", "explain_attr_process:peak_rss_mb", "explain_attr_process:peak_rss_mb", "%d", 0)
    for (k in ours) if (k ~ /^sgemm_gflops:/) row("SGEMM " substr(k, 14) " (GFLOP/s)", ours[k], seq[k], "", "%.0f", 1)
    if (seq["logits_max_abs_diff"] != "")
      printf "\nsame weights and image: logits differ by at most %s (scale %s), same top-1: %s\n",
             seq["logits_max_abs_diff"], seq["logits_scale"], seq["same_top1"]
    if (vec["scan_check_rel"] != "")
      printf "vectorised scan vs sequential scan (float32, L 197): max difference %s of max|y|\n", vec["scan_check_rel"]
  }' threads="$threads" "$out/ours.txt" "$out/torch_sequential.txt" "$out/torch_vectorised.txt" | tee "$out/table.md"
echo
echo "files: $out/{ours.txt,torch_sequential.json,torch_vectorised.json,table.md}"
