#!/usr/bin/env bash
# Per CUDA kernel, what ptxas reports for sm_90 (registers, spill stores and loads, static shared memory, stack),
# its __launch_bounds__ (the PTX's .maxntid) and the largest block it can launch (65,536 registers per SM allocated
# per warp in units of 256, at most 1,024 threads, at most its __launch_bounds__). Fails on a spill, on static
# shared memory over 48 KB, or on a kernel that declares no __launch_bounds__, except for the kernels listed in
# KNOWN_SPILLS (none today).
# Also writes OUTDIR/kernel_resources.inc, the table the CUDA emulation checks launches against (CMake generates it
# for `make cuda-emu`). Needs nvcc (skipped, exit 77, without it). CUDA_RESOURCES_QUIET=1 prints the summary only.
# Usage: bash scripts/cuda_resources.sh [OUTDIR (out/cuda_resources)]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/cuda_resources}
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[[ -x $nvcc ]] || { echo "cuda_resources: skipped (no nvcc)"; exit 77; }
# Kernels allowed to spill, each with why and what removes it: none since the selective scan keeps its states in
# shared memory instead of registers. Patterns match the demangled kernel name.
KNOWN_SPILLS=()
mkdir -p "$out"
log=$out/ptxas.log
: > "$log"
keep=$out/intermediate  # nvcc's intermediate files, the PTX among them: its .maxntid is each kernel's launch bound
rm -rf "$keep" && mkdir -p "$keep"
for cu in tensor/cuda/*.cu ops/cuda/*.cu xai/cuda/*.cu; do
  mkdir -p "$keep/${cu%.cu}"  # a folder per source: two sources of one name must not share a .ptx
  "$nvcc" -O3 -DNDEBUG -std=c++17 -arch=sm_90 -I. -DHATTN_WITH_CUDA=1 -Xptxas -v -keep -keep-dir "$keep/${cu%.cu}" \
    -c "$cu" -o /dev/null 2>> "$log" || { echo "cuda_resources: $cu does not compile"; tail -20 "$log"; exit 1; }
done
find "$keep" -type f ! -name '*.ptx' -delete  # the preprocessed sources and binaries: tens of MB, unread
/usr/bin/python3 - "$log" "$out" "$keep" "${KNOWN_SPILLS[@]}" <<'PY'
import glob, os, re, subprocess, sys
log, out, keep, known = sys.argv[1], sys.argv[2], sys.argv[3], [re.compile(k) for k in sys.argv[4:]]
bounds = {}  # mangled entry name -> threads of its .maxntid (the directive follows the entry's parameter list)
entries = set()  # every entry the PTX declares, to tell "no bound declared" from "not found in the PTX"
for ptx in glob.glob(f"{keep}/**/*.ptx", recursive=True):
    entry = None
    for line in open(ptx):
        m = re.match(r"\s*(?:\.(?:visible|weak|extern)\s+)*\.entry\s+([\w$.]+)\s*\(", line)
        if m:
            entry = m.group(1)
            entries.add(entry)
            continue
        m = re.match(r"\s*\.maxntid\s+(\d+)(?:\s*,\s*(\d+))?(?:\s*,\s*(\d+))?", line)  # 1 to 3 extents
        if m and entry:
            bounds[entry] = int(m.group(1)) * int(m.group(2) or 1) * int(m.group(3) or 1)
        if line.lstrip().startswith("{"):
            entry = None
kernels, current = [], None
for line in open(log):
    m = re.search(r"Compiling entry function '(\S+)' for 'sm_90'", line)
    if m:
        current = {"mangled": m.group(1), "regs": 0, "spill_st": 0, "spill_ld": 0, "smem": 0, "stack": 0}
        kernels.append(current)
        continue
    if current is None:
        continue
    m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
    if m:
        current["stack"], current["spill_st"], current["spill_ld"] = map(int, m.groups())
    m = re.search(r"Used (\d+) registers", line)
    if m:
        current["regs"] = int(m.group(1))
        s = re.search(r"(\d+) bytes smem", line)
        current["smem"] = int(s.group(1)) if s else 0
names = subprocess.run(["c++filt"], input="\n".join(k["mangled"] for k in kernels), capture_output=True,
                       text=True).stdout.split("\n")
rows, failures = [], 0
for k, name in zip(kernels, names):
    regs_per_warp = -(-max(k["regs"], 1) * 32 // 256) * 256
    bound = bounds.get(k["mangled"], 0)
    max_threads = min(1024, 65536 // regs_per_warp * 32, bound or 1024)
    short = name.replace("(anonymous namespace)::", "")
    if short.endswith(")"):  # drop the parameter list (the last balanced parentheses)
        depth = 0
        for i in range(len(short) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(short[i], 0)
            if depth == 0:
                short = short[:i]
                break
    short = re.sub(r"^void ", "", short)
    problems = []
    if k["spill_st"] or k["spill_ld"]:
        problems.append("spills")
    if k["smem"] > 48 * 1024:
        problems.append("static shared memory over 48 KB")
    if not bound:
        problems.append("no __launch_bounds__" if k["mangled"] in entries else "entry not found in the PTX")
    allowed = problems == ["spills"] and any(p.search(name) for p in known)
    status = "ok" if not problems else ("known" if allowed else "FAIL")
    failures += status == "FAIL"
    rows.append((status, short, k["regs"], k["spill_st"], k["spill_ld"], k["smem"], k["stack"], bound or "none",
                 max_threads))
rows.sort(key=lambda r: (r[0] != "FAIL", r[0] != "known", r[1]))
with open(f"{out}/resources.md", "w") as f:
    f.write("| status | kernel | registers | spill stores | spill loads | static smem (B) | stack (B) | launch bound "
            "| largest block |\n")
    f.write("|---|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        f.write("| " + " | ".join(map(str, r)) + " |\n")
# For the CUDA emulation's launch check: per kernel name without namespaces or template arguments, over its
# instantiations the most registers, the smallest launch bound, the smallest largest block and the most static
# shared memory.
worst = {}
for r in rows:
    base = r[1].split("<")[0].split("::")[-1].strip()
    regs, bound, block, smem = worst.get(base, (0, 1024, 1024, 0))
    worst[base] = (max(regs, r[2]), min(bound, r[7] if isinstance(r[7], int) else 1024), min(block, r[8]),
                   max(smem, r[5]))
with open(f"{out}/kernel_resources.inc", "w") as f:
    f.write("// Generated by scripts/cuda_resources.sh from ptxas (sm_90): kernel, registers, launch bound, largest "
            "block, static shared bytes.\n")
    for base in sorted(worst):
        regs, bound, block, smem = worst[base]
        f.write(f'{{"{base}", {regs}, {bound}, {block}, {smem}}},\n')
if not os.environ.get("CUDA_RESOURCES_QUIET"):
    print(open(f"{out}/resources.md").read())
print(f"cuda_resources: {len(rows)} kernels for sm_90, {sum(r[0] == 'known' for r in rows)} known spills, {failures} failing")
sys.exit(1 if failures else 0)
PY
