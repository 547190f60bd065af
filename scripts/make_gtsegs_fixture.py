#!/usr/bin/python3
"""Writes tests/data/gtsegs/: a small file in ImageNet-Segmentation's gtsegs_ijcv.mat layout and the same
images and masks as PNGs, so the test can check that `hattn eval segmentation --mat` equals the PNG path.
Developer tool (Debian's python3-h5py, python3-pil, python3-numpy).

Layout (MATLAB v7.3: HDF5 after a 512-byte user block holding MATLAB's text header):
  /value/img  [N, 1] object references, each to a uint8 dataset (3, W, H) (MATLAB's H x W x 3, transposed)
  /value/gt   [N, 1] object references, each to a [1, 1] dataset holding one reference to a uint8 (W, H) mask
The referenced datasets live in /#refs#, as MATLAB writes them.

Usage: make_gtsegs_fixture.py --from DIR (a `hattn cluttered --count 3` export) --out tests/data/gtsegs
"""
import argparse
import os

import h5py
import numpy as np
from PIL import Image

SIZES = [(70, 84), (112, 56), (56, 56)]  # (W, H): non-square, larger and equal to the 56x56 input


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--from", dest="src", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    items = []
    for k, (w, h) in enumerate(SIZES):
        img = Image.open(os.path.join(a.src, f"test_{k}.png")).convert("RGB").resize((w, h), Image.NEAREST)
        mask = Image.open(os.path.join(a.src, f"test_{k}_mask.png")).convert("L").resize((w, h), Image.NEAREST)
        img.save(os.path.join(a.out, f"item_{k}.png"))
        mask.save(os.path.join(a.out, f"item_{k}_mask.png"))
        items.append((np.asarray(img, dtype=np.uint8), (np.asarray(mask) > 127).astype(np.uint8)))
    path = os.path.join(a.out, "small.mat")
    with h5py.File(path, "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        img_refs, gt_refs = [], []
        for k, (img, mask) in enumerate(items):
            d = refs.create_dataset(f"img{k}", data=np.ascontiguousarray(img.transpose(2, 1, 0)))  # (3, W, H)
            m = refs.create_dataset(f"mask{k}", data=np.ascontiguousarray(mask.T))  # (W, H)
            cell = refs.create_dataset(f"cell{k}", data=np.array([[m.ref]], dtype=h5py.ref_dtype))
            img_refs.append(d.ref)
            gt_refs.append(cell.ref)
        v = f.create_group("value")
        v.create_dataset("img", data=np.array(img_refs, dtype=h5py.ref_dtype).reshape(-1, 1))
        v.create_dataset("gt", data=np.array(gt_refs, dtype=h5py.ref_dtype).reshape(-1, 1))
    text = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created by: scripts/make_gtsegs_fixture.py HDF5 schema 1.00 ."
    header = text.ljust(116, b" ") + b"\0" * 8 + b"\x00\x02" + b"IM"
    with open(path, "r+b") as f:
        f.write(header.ljust(512, b"\0"))
    print(f"wrote {path} and {len(items)} PNG pairs")
    # hostile variants for tests/test_hostile.cpp: a truncated file and an HDF5 file without the layout
    hostile = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "hostile")
    with open(path, "rb") as f:
        whole = f.read()
    with open(os.path.join(hostile, "mat_truncated.mat"), "wb") as f:
        f.write(whole[: len(whole) // 3])
    with h5py.File(os.path.join(hostile, "mat_no_value.mat"), "w", userblock_size=512) as f:
        f.create_dataset("other", data=np.zeros((2, 2), dtype=np.uint8))
    with h5py.File(os.path.join(hostile, "mat_wrong_shape.mat"), "w", userblock_size=512) as f:
        refs = f.create_group("#refs#")
        d = refs.create_dataset("img0", data=np.zeros((4, 5), dtype=np.uint8))  # not (3, W, H)
        m = refs.create_dataset("mask0", data=np.zeros((4, 5), dtype=np.uint8))
        cell = refs.create_dataset("cell0", data=np.array([[m.ref]], dtype=h5py.ref_dtype))
        v = f.create_group("value")
        v.create_dataset("img", data=np.array([d.ref], dtype=h5py.ref_dtype).reshape(-1, 1))
        v.create_dataset("gt", data=np.array([cell.ref], dtype=h5py.ref_dtype).reshape(-1, 1))


if __name__ == "__main__":
    main()
