#!/usr/bin/env bash
# Installs what HiddenAttn needs to build, test and benchmark. Idempotent: a package that is
# already installed is left alone. `--dev` adds the developer-only tools (PyTorch, h5py for golden files) and
# .venv-peers/: a virtual environment over Debian's torch with the peers' own implementations from PyPI
# (transformers 4.44.2, the last that accepts torch 1.13; timm 0.9.16; tokenizers) that the reference scripts
# check themselves against; unicode-data feeds scripts/make_unicode_tables.py. `--slurm` adds Slurm and munge for scripts/slurm_check.sh.
set -euo pipefail

packages=(build-essential cmake pkg-config zlib1g-dev libgtest-dev libgmock-dev libbenchmark-dev libstb-dev
          libjpeg62-turbo-dev dataset-fashion-mnist chromium libhdf5-dev
          python3-venv python3-numpy python3-pil python3-pytest python3-wheel jupyter-nbconvert python3-ipykernel)
# chromium: scripts/check_explorer.sh renders the explorer page; libhdf5-dev: gtsegs_ijcv.mat (optional at build);
# libjpeg62-turbo-dev: JPEG decoded as Pillow decodes it (optional at build: stb_image otherwise);
# python3-*, jupyter-nbconvert: the Python package's tests and the notebook (scripts/python_check.sh; optional)
if [[ "${1:-}" == "--slurm" ]]; then  # scripts/slurm_check.sh: a one-node cluster (no daemon is started here)
  packages+=(slurm-wlm munge)
fi
if [[ "${1:-}" == "--dev" ]]; then
  packages+=(python3-torch python3-torchvision python3-numpy python3-pil python3-matplotlib python3-opencv
            libopenblas0-pthread python3-h5py python3-venv unicode-data)
fi

peers_venv() {  # idempotent: a venv whose pins are all present is left alone
  local venv
  venv="$(cd "$(dirname "$0")/.." && pwd)/.venv-peers"
  [[ -x $venv/bin/python ]] || /usr/bin/python3 -m venv --system-site-packages "$venv"
  if ! "$venv/bin/python" -c 'import transformers, timm, tokenizers; assert transformers.__version__ == "4.44.2"' \
      2>/dev/null; then
    "$venv/bin/pip" install -q transformers==4.44.2 timm==0.9.16 tokenizers
  fi
  echo "setup.sh: $venv has transformers 4.44.2, timm 0.9.16 and tokenizers"
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "setup.sh: all ${#packages[@]} packages already installed; nothing to do."
  [[ "${1:-}" == "--dev" ]] && peers_venv
  exit 0
fi

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

echo "setup.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup.sh: installed ${missing[*]}"
[[ "${1:-}" == "--dev" ]] && peers_venv
exit 0
