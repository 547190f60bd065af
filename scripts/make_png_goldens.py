#!/usr/bin/python3
"""Writes tests/data/png/: PNG files of the layouts where decoders disagree, and what Pillow makes of them
(Image.open(f).convert("RGB")), the goldens for the C++ PNG path (developer tool; Debian python3-pil, numpy).
  <name>.png   written byte by byte here (any bit depth and colour type, not only what Pillow writes):
               gray16 (16-bit grey: Pillow clips the value to 255, it does not scale it), gray_alpha16, rgb16,
               rgba16 (Pillow keeps the high byte), gray1, gray2, gray4 (low bit depths, scaled to 0..255),
               palette8, palette4 (indexed colour), palette_trns (indexed with a tRNS chunk: alpha dropped),
               rgb_trns (a tRNS colour key on RGB: dropped), interlaced (Adam7)
  <name>.npy   uint8 (H, W, 3): Image.open(f).convert("RGB")

--check (run it with a PyPI Pillow wheel in a venv) compares the committed goldens with that Pillow's pixels.
"""
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "png")
W, H = 13, 7


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, bits):
    """samples: (H, W*channels) ints; rows packed MSB first at `bits` per sample, each with filter byte 0."""
    out = b""
    for row in samples:
        if bits == 16:
            out += b"\0" + b"".join(struct.pack(">H", int(v)) for v in row)
        elif bits == 8:
            out += b"\0" + bytes(int(v) for v in row)
        else:
            acc, n, packed = 0, 0, bytearray()
            for v in row:
                acc = (acc << bits) | int(v)
                n += bits
                if n == 8:
                    packed.append(acc)
                    acc, n = 0, 0
            if n:
                packed.append(acc << (8 - n))
            out += b"\0" + bytes(packed)
    return out


def png(samples, bits, colour_type, extra=b"", interlace=0):
    ihdr = struct.pack(">IIBBBBB", W, H, bits, colour_type, 0, 0, interlace)
    if interlace:  # Adam7: the seven passes' pixels, each pass's rows packed and filtered on their own
        channels = samples.shape[1] // W
        pix = samples.reshape(H, W, channels)
        data = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = pix[y0::dy, x0::dx]
            if sub.size:
                data += pack_rows(sub.reshape(sub.shape[0], -1), bits)
    else:
        data = pack_rows(samples, bits)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(data)) + chunk(b"IEND", b"")


def files():
    rng = np.random.default_rng(3)
    g16 = rng.integers(0, 65536, (H, W))
    g16[0, :6] = [0, 1, 254, 255, 256, 300]  # around Pillow's clip
    rgb8 = rng.integers(0, 256, (H, W * 3))
    palette = rng.integers(0, 256, 16 * 3).astype(np.uint8).tobytes()
    idx = rng.integers(0, 16, (H, W))
    return {
        "gray16": png(g16, 16, 0),
        "gray_alpha16": png(np.stack([g16, rng.integers(0, 65536, (H, W))], -1).reshape(H, -1), 16, 4),
        "rgb16": png(rng.integers(0, 65536, (H, W * 3)), 16, 2),
        "rgba16": png(rng.integers(0, 65536, (H, W * 4)), 16, 6),
        "gray1": png(rng.integers(0, 2, (H, W)), 1, 0),
        "gray2": png(rng.integers(0, 4, (H, W)), 2, 0),
        "gray4": png(rng.integers(0, 16, (H, W)), 4, 0),
        "palette8": png(idx, 8, 3, chunk(b"PLTE", palette)),
        "palette4": png(idx, 4, 3, chunk(b"PLTE", palette)),
        "palette_trns": png(idx, 8, 3, chunk(b"PLTE", palette) + chunk(b"tRNS", bytes(range(0, 256, 16)))),
        "rgb_trns": png(rgb8, 8, 2, chunk(b"tRNS", struct.pack(">HHH", *rgb8[0, :3]))),
        "interlaced": png(rgb8, 8, 2, interlace=1),
    }


def decode(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def main():
    check = "--check" in sys.argv
    if not check:
        os.makedirs(OUT, exist_ok=True)
    bad = 0
    for name, data in files().items():
        path = os.path.join(OUT, name + ".png")
        if check:
            ref = np.load(os.path.join(OUT, name + ".npy"))
            got = decode(path)
            same = got.shape == ref.shape and (got == ref).all()
            print(f"{name:14s} {'equal' if same else 'DIFFERS'}")
            bad += not same
        else:
            with open(path, "wb") as f:
                f.write(data)
            np.save(os.path.join(OUT, name + ".npy"), decode(path))
    print(("checked" if check else "wrote"), OUT, "with Pillow", Image.__version__)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
