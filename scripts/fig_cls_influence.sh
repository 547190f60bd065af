#!/usr/bin/env bash
# Average influence of each patch on the cls token (mean |cls row| over images and channels) for the first and
# last layers. Usage: scripts/fig_cls_influence.sh [CHECKPOINT] [IMAGES (200)]
# About a minute on 2 cores for the bundled model. Writes out/fig_cls_influence/influence.png.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:-models/weights/vim_cluttered.safetensors}
./build/bin/hattn influence --checkpoint "$ckpt" --layers first,last --limit "${2:-200}" --out out/fig_cls_influence
