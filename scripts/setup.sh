#!/usr/bin/env bash
# Installs what HiddenAttn needs to build, test and benchmark. Idempotent: a package that is
# already installed is left alone. `--dev` adds the developer-only tools (PyTorch, h5py for golden files);
# `--slurm` adds Slurm and munge for scripts/slurm_check.sh.
set -euo pipefail

packages=(build-essential cmake pkg-config zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev libstb-dev
          dataset-fashion-mnist chromium libhdf5-dev)
# chromium: scripts/check_explorer.sh renders the explorer page; libhdf5-dev: gtsegs_ijcv.mat (optional at build)
if [[ "${1:-}" == "--slurm" ]]; then  # scripts/slurm_check.sh: a one-node cluster (no daemon is started here)
  packages+=(slurm-wlm munge)
fi
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(python3-torch python3-torchvision python3-numpy python3-pil python3-matplotlib python3-opencv
            libopenblas0-pthread python3-h5py)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup.sh: all ${#packages[@]} packages already installed; nothing to do."
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup.sh: installed ${missing[*]}"
