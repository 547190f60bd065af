#!/usr/bin/python3
"""Writes tests/data/jpeg/: JPEG files of every layout Pillow writes, and what Pillow decodes them to, the goldens
for the C++ JPEG decoder (developer tool; Debian python3-pil, python3-numpy).
  <name>.jpg        a 79x53 photo-like image (odd sizes: the chroma planes' edges) saved by Pillow as:
                    420, 422, 444 (baseline, quality 87, that chroma subsampling), progressive (4:2:0),
                    optimized (optimised Huffman tables), gray (one component), cmyk (four, Adobe-inverted as Pillow writes CMYK), exif_rotated (EXIF
                    orientation 6, which Image.open ignores), tiny (1x1), q100 (quality 100, 4:4:4)
  <name>.npy        uint8 (H, W, 3): Image.open(f).convert("RGB"), the pixels every PyTorch pipeline sees
  truncated.jpg     420.jpg cut in the middle of its scan data: Pillow refuses it ("image file is truncated")
  truncated_eoi.jpg 420.jpg without its final EOI marker: Pillow refuses that too
  420_vim_ref_logits.npy  float32 (1, 1000): the reference Vim (tests/data/vim_ref/vim_ref.pth) in float64 PyTorch
                    (scripts/make_reference.py's forward) on 420.jpg as Pillow decodes it and torchvision's crop
                    preprocessing makes it: hattn classify on a JPEG, end to end (needs python3-torch)

--check (run it with a PyPI Pillow wheel in a venv, which bundles its own libjpeg-turbo) decodes the committed
files and compares them with the committed goldens, so the goldens are not one Pillow build's accident:
  /tmp/venv/bin/python scripts/make_jpeg_goldens.py --check
"""
import io
import os
import sys

import numpy as np
from PIL import Image

from synthetic_photo import photo

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "jpeg")


def encodings():
    rgb = Image.fromarray(photo(79, 53, 1))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° to display
    return {
        "420": (rgb, dict(quality=87, subsampling=2)),
        "422": (rgb, dict(quality=87, subsampling=1)),
        "444": (rgb, dict(quality=87, subsampling=0)),
        "progressive": (rgb, dict(quality=87, progressive=True)),
        "optimized": (rgb, dict(quality=87, optimize=True)),
        "gray": (rgb.convert("L"), dict(quality=87)),
        "cmyk": (rgb.convert("CMYK"), dict(quality=90)),
        "exif_rotated": (rgb, dict(quality=87, exif=exif.tobytes())),
        "tiny": (Image.fromarray(photo(1, 1, 2)), dict(quality=87)),
        "q100": (rgb, dict(quality=100, subsampling=0)),
    }


def decode(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def write():
    os.makedirs(OUT, exist_ok=True)
    for name, (img, opts) in encodings().items():
        buf = io.BytesIO()
        img.save(buf, "JPEG", **opts)
        path = os.path.join(OUT, name + ".jpg")
        with open(path, "wb") as f:
            f.write(buf.getvalue())
        np.save(os.path.join(OUT, name + ".npy"), decode(path))
    data = open(os.path.join(OUT, "420.jpg"), "rb").read()
    sos = data.index(b"\xff\xda")
    with open(os.path.join(OUT, "truncated.jpg"), "wb") as f:
        f.write(data[: sos + (len(data) - sos) // 2])
    with open(os.path.join(OUT, "truncated_eoi.jpg"), "wb") as f:  # only the end-of-image marker missing
        f.write(data[:-2])
    for name in ["truncated.jpg", "truncated_eoi.jpg"]:
        try:
            decode(os.path.join(OUT, name))
            raise SystemExit(f"Pillow decoded {name}; the test expects a refusal")
        except OSError as e:
            print(f"{name}: Pillow says", e)
    write_logits()
    print("wrote", OUT, "with Pillow", Image.__version__)


def write_logits():
    import torch
    import torchvision.transforms as T
    sys.path.insert(0, os.path.dirname(__file__))
    from make_reference import vim_forward
    ckpt = torch.load(os.path.join(OUT, "..", "vim_ref", "vim_ref.pth"))  # our own committed test file
    sd = {k: v.double() for k, v in ckpt["model"].items()}
    n = ckpt["args"].input_size
    tf = T.Compose([T.Resize(n), T.CenterCrop(n), T.ToTensor(),
                    T.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))])
    with Image.open(os.path.join(OUT, "420.jpg")) as im:
        img = tf(im.convert("RGB"))[None].double()
    depth = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("layers."))
    with torch.no_grad():
        logits, _ = vim_forward(img, sd, depth, 16)
    np.save(os.path.join(OUT, "420_vim_ref_logits.npy"), logits.float().numpy())


def check():
    import PIL.features
    print("Pillow", Image.__version__, "libjpeg-turbo", PIL.features.version("libjpeg_turbo"))
    bad = 0
    for name in encodings():
        got = decode(os.path.join(OUT, name + ".jpg"))
        ref = np.load(os.path.join(OUT, name + ".npy"))
        diff = np.abs(got.astype(int) - ref).max() if got.shape == ref.shape else -1
        print(f"{name:14s} {'equal' if diff == 0 else f'max diff {diff}'}")
        bad += diff != 0
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    check() if "--check" in sys.argv else write()
