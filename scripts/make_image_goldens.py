#!/usr/bin/python3
"""Writes tests/data/images/: small source images and what torchvision's eval transforms (on PIL images)
make of them, the goldens for the C++ preprocessing (developer tool; Debian python3-torchvision, python3-pil).
  src_<name>.png                       sources: a 157x103 photo-like RGB, a 61x47 one (upsampling), grayscale, RGBA
  <name>_<mode>_<n>.npy                uint8 (n, n, 3) after the mode's resize + crop, before ToTensor
  wide_crop_224_normalized.npy         float32 (3, 224, 224) after ToTensor + Normalize
Modes: crop = Resize(n) + CenterCrop(n); vim-eval = Resize(int(n/0.875), BICUBIC) + CenterCrop(n);
squash = Resize((n, n)).
"""
import os

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image

from synthetic_photo import photo

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "images")


def modes(n):
    return {
        "crop": T.Compose([T.Resize(n), T.CenterCrop(n)]),
        "vim-eval": T.Compose([T.Resize(int(n / 0.875), interpolation=T.InterpolationMode.BICUBIC), T.CenterCrop(n)]),
        "squash": T.Resize((n, n)),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    sources = {
        "wide": Image.fromarray(photo(157, 103, 0)),
        "small": Image.fromarray(photo(47, 61, 1)),
    }
    gray = Image.fromarray(photo(90, 70, 2)[..., 0], mode="L")
    rgba = Image.fromarray(np.concatenate([photo(70, 90, 3), np.full((90, 70, 1), 128, np.uint8)], -1), mode="RGBA")
    for name, img in sources.items():
        img.save(os.path.join(OUT, f"src_{name}.png"))
    gray.save(os.path.join(OUT, "src_gray.png"))
    rgba.save(os.path.join(OUT, "src_rgba.png"))
    sources["gray"] = gray.convert("RGB")
    sources["rgba"] = rgba.convert("RGB")
    for name, img in sources.items():
        for n in [64] + ([224] if name == "wide" else []):
            for mode, tf in modes(n).items():
                np.save(os.path.join(OUT, f"{name}_{mode}_{n}.npy"), np.asarray(tf(img), dtype=np.uint8))
    norm = T.Compose([T.Resize(224), T.CenterCrop(224), T.ToTensor(),
                      T.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))])
    np.save(os.path.join(OUT, "wide_crop_224_normalized.npy"), norm(sources["wide"]).numpy().astype(np.float32))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
