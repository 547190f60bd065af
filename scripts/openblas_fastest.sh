# Sourced by the benchmark scripts before they run PyTorch: picks the OpenBLAS kernel set that is fastest on this
# machine, so the PyTorch side is the strongest alternative. Debian's OpenBLAS 0.3.21 does not know every CPU: on
# an unrecognised model it falls back to "Prescott" (SSE3) when OPENBLAS_CORETYPE is unset (60 GFLOP/s here, on a
# 2026 Xeon), while a named AVX-512 core set runs at 250. Times one SGEMM of Vim's shapes per candidate (a second
# each) and exports the winner; OPENBLAS_L2_SIZE stays unset (setting it slowed OpenBLAS on every machine tried).
unset OPENBLAS_L2_SIZE
openblas_probe_py="
import time, torch
torch.set_num_threads($(nproc))
a, b = torch.randn(1576, 384), torch.randn(384, 192)
for _ in range(3): a @ b
n, t = 40, time.perf_counter()
for _ in range(n): a @ b
print(int(2 * 1576 * 384 * 192 * n / (time.perf_counter() - t) / 1e9))"
openblas_best=unset
openblas_best_rate=$(env -u OPENBLAS_CORETYPE /usr/bin/python3 -c "$openblas_probe_py" 2>/dev/null || echo 0)
openblas_tried="unset: $openblas_best_rate"
for core in SKYLAKEX COOPERLAKE HASWELL; do  # GFLOP/s of PyTorch's SGEMM on Vim's shapes with each kernel set
  rate=$(OPENBLAS_CORETYPE=$core /usr/bin/python3 -c "$openblas_probe_py" 2>/dev/null || echo 0)
  openblas_tried+=", $core: $rate"
  if (( rate > openblas_best_rate )); then openblas_best=$core openblas_best_rate=$rate; fi
done
if [[ $openblas_best == unset ]]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$openblas_best; fi
echo "== OpenBLAS core set for PyTorch: $openblas_best (SGEMM GFLOP/s, $openblas_tried)"
