#!/usr/bin/python3
"""Writes tests/data/hostile/: small malformed and unusual-but-valid files for the robustness tests
(developer tool; Debian python3-pil, python3-numpy). Each file exercises one case of tests/test_hostile.cpp.
Usage: /usr/bin/python3 scripts/make_hostile_inputs.py
"""
import io
import os
import struct
import zipfile

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "hostile")
os.makedirs(OUT, exist_ok=True)


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def zip_bytes(entries, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in entries.items():  # a fixed timestamp: the files are the same on every run
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=compression)
    return buf.getvalue()


def pth(pickle_bytes, extra=None, compression=zipfile.ZIP_STORED):
    entries = {"archive/data.pkl": pickle_bytes}
    entries.update(extra or {})
    return zip_bytes(entries, compression)


P2 = b"\x80\x02"
# pickle bombs and malformed streams
write("pickle_deep_nesting.pth", pth(P2 + b"]" * 300 + b"a" * 299 + b"."))
write("pickle_memo_get_unset.pth", pth(P2 + b"}h\xff."))
write("pickle_memo_put_huge.pth", pth(P2 + b"}r\xff\xff\xff\x7f."))
write("pickle_string_beyond_file.pth", pth(P2 + b"X\xff\xff\xff\x7fabc"))
write("pickle_binbytes.pth", pth(P2 + b"C\x03abc."))
write("pickle_stack_underflow.pth", pth(P2 + b"s."))
write("pickle_no_stop.pth", pth(P2 + b"}"))
# a two-step reference cycle through the memo: L = [M], then M.append(L) (L and M hold each other)
write("pickle_list_cycle.pth", pth(P2 + b"]q\x00]q\x01ah\x01h\x00a0."))
# the same through a dict placed in a tuple and filled afterwards
write("pickle_dict_grown_after_placed.pth", pth(P2 + b"}q\x00\x85h\x00(X\x01\x00\x00\x00kK\x01u0."))
write("pickle_reduce_os.pth", pth(P2 + b"cos\nsystem\nX\x02\x00\x00\x00ls\x85R."))
# zip structure
good = pth(P2 + b"}.")
write("zip_compressed_entry.pth", pth(P2 + b"}." * 50, compression=zipfile.ZIP_DEFLATED))
bad = bytearray(good)
cd = bad.rfind(b"PK\x01\x02")
struct.pack_into("<I", bad, cd + 42, len(bad) + 1000)  # local header offset beyond the file
write("zip_offset_outside.pth", bytes(bad))
bad = bytearray(good)
struct.pack_into("<I", bad, cd + 20, 10 ** 9)  # compressed size far beyond the file
struct.pack_into("<I", bad, cd + 24, 10 ** 9)
write("zip_size_outside.pth", bytes(bad))
bad = bytearray(good)
eocd = bad.rfind(b"PK\x05\x06")
struct.pack_into("<I", bad, eocd + 16, 3)  # central directory offset pointing into the local data
write("zip_cd_overlaps.pth", bytes(bad))
write("empty.pth", b"")
# a valid bare state dict plus the byteorder entry newer torch versions write
tensor_pkl = (P2 + b"}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\nFloatStorage\n"
              b"X\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK\x00K\x02K\x02\x86K\x02K\x01\x86\x89ccollections\nOrderedDict\n)RtRu.")
write("byteorder_entry.pth", pth(tensor_pkl, {"archive/data/0": np.arange(4, dtype="<f4").tobytes(),
                                              "archive/byteorder": b"little", "archive/version": b"3\n"}))
# images
rgb = np.random.default_rng(0).integers(0, 256, (9, 7, 3), dtype=np.uint8)
png = io.BytesIO()
Image.fromarray(rgb).save(png, "PNG")
write("image_truncated.png", png.getvalue()[: len(png.getvalue()) // 2])
write("image_empty.png", b"")
Image.fromarray(np.array([[[200, 10, 30]]], dtype=np.uint8)).save(os.path.join(OUT, "image_1x1.png"))
Image.fromarray((np.arange(35, dtype=np.uint16).reshape(5, 7) * 1800), mode="I;16").save(os.path.join(OUT, "image_16bit.png"))
Image.fromarray(rgb[..., :2].copy(), mode="LA").save(os.path.join(OUT, "image_gray_alpha.png"))
Image.fromarray(rgb).convert("CMYK").save(os.path.join(OUT, "image_cmyk.jpg"), quality=90)
# a 100-megapixel PNG header (10000 x 10000) followed by nothing
ihdr = struct.pack(">IIBBBBB", 10000, 10000, 8, 2, 0, 0, 0)
import zlib
chunk = b"IHDR" + ihdr
write("image_100mp_header.png", b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk)))
# npy: header claiming a huge shape; IDX with a lying shape
write("npy_huge_shape.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) +
      b"{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }".ljust(117) + b"\n")
write("idx_lying_shape.idx", bytes([0, 0, 8, 3]) + struct.pack(">III", 60000, 28, 28) + b"\x00" * 100)
print(f"wrote {OUT}")
