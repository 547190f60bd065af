#!/usr/bin/python3
"""The PyTorch side of scripts/bench_vs_pytorch.sh (developer tool; Debian's python3-torch).

Times, in this process, what our end-to-end benchmark and `hattn` compute, with the pure-PyTorch Vim of
scripts/make_reference.py (float32, the BLAS PyTorch is linked with) and its scan chosen by --scan:
"sequential" (mamba_ssm's selective_scan_ref: a Python loop over the tokens, what mamba_ssm runs on a CPU) or
"vectorised" (a log-depth parallel scan over whole tensors, as the mambapy package does; checked at start to
equal the sequential one):
  forward        logits of one 224x224 image (no autograd)
  explain_attr   forward with traces + backward of the top logit + the official Mamba-Attribution map
  layer_attn     the full hidden attention of one layer (every channel, both directions)
  train_step     forward + backward + AdamW at batch 2 (the reference keeps every scan step on its tape:
                 several GB and minutes per step at batch 8)
  classify_e2e   read the safetensors checkpoint + decode and preprocess the image + forward (what the
                 `hattn classify` process does, without the interpreter's start-up)
  sgemm          GFLOP/s of torch.mm on Vim-tiny's projection shapes
and checks that its logits agree with ours (--ours-logits, written by `hattn classify --logits-npy`).
Writes one JSON object (seconds, best of --repeat) to --json and the same as "name value" lines beside it (.txt).
With --process classify|explain_attr it instead does that one job once, as a whole process to be timed from
outside (interpreter start and imports included, like a `hattn` process), and exits.
"""
import argparse
import json
import math
import os
import struct
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_reference as ref  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    types = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    sd = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype=types[info["dtype"]]).reshape(info["shape"])
        sd[name] = torch.from_numpy(arr.copy())
    return sd, header.get("__metadata__", {})


def preprocess_crop(path, size=224):
    """torchvision's Resize(size) + CenterCrop(size) + ToTensor + ImageNet Normalize, with PIL only."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    img = img.resize((nw, nh), Image.BILINEAR)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    img = img.crop((left, top, left + size, top + size))
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
    mean = torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    return ((x - mean) / std)[None]


def save(res, path):
    """Writes the results so far (JSON, and "name value" lines beside it for the shell script)."""
    with open(path, "w") as f:
        json.dump(res, f, indent=1)
    with open(os.path.splitext(path)[0] + ".txt", "w") as f:
        for k, v in res.items():
            for name, x in (v.items() if isinstance(v, dict) else [(k, v)]):
                f.write(f"{k + ':' + name if isinstance(v, dict) else k} {x}\n")


def best_of(fn, repeat, name=""):
    if name:
        print(f"  pytorch: {name} (best of {repeat}) ...", file=sys.stderr, flush=True)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def attr_official(sd, img, depth):
    img = img.clone().requires_grad_()
    traces = []
    logits, blocks = ref.vim_forward(img, sd, depth, 16, traces)
    top = int(logits[0].argmax())
    logits[0, top].backward()
    L = traces[0]["fwd"]["delta"].shape[1]
    cls, G, start = (L - 1) // 2, int(round(math.sqrt(L - 1))), 15 * depth // 24
    s = [ref.minmax(torch.clamp(b.grad[0], min=0).max(-1).values) for b in blocks]
    V = [ref.layer_vectors(traces[l], cls, "official") for l in range(start, depth)]
    rows = [(ref.minmax(torch.clamp(v, min=0)).mean(0) * s[start + k])[None, :].expand(L, -1) for k, v in enumerate(V)]
    r = ref.rollout(rows, cls)
    return torch.clamp(torch.cat([r[:cls], r[cls + 1:]]).reshape(G, G), min=0)


def time_layer_attention_and_gemm(res, sd, img, depth, a):
    traces = []
    with torch.no_grad():
        ref.vim_forward(img, sd, depth, 16, traces)
    layer = traces[12]

    def layer_attn():
        with torch.no_grad():
            return ref.alpha_matrix(layer["fwd"]) + ref.alpha_matrix(layer["bwd"]).flip(-1, -2)
    res["layer_attn"] = best_of(layer_attn, max(1, a.repeat - 1), "layer_attn")
    save(res, a.json)
    gf = {}
    for M, K, N in [(197, 192, 768), (197, 384, 192), (1576, 192, 768), (1576, 384, 192)]:  # in_proj, out_proj
        A, B = torch.randn(M, K), torch.randn(K, N)
        reps = max(3, int(2e9 / (2 * M * K * N)))
        t = best_of(lambda: [torch.mm(A, B) for _ in range(reps)], 3) / reps
        gf[f"{M}x{K}x{N}"] = 2 * M * K * N / t / 1e9
    res["sgemm_gflops"] = gf
    save(res, a.json)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True, help="a Vim-tiny .safetensors (hattn init --config tiny)")
    ap.add_argument("--image", required=True)
    ap.add_argument("--ours-logits", default=None, help="our logits (.npy) for the same checkpoint and image")
    ap.add_argument("--json", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scan", choices=["sequential", "vectorised"], default="sequential")
    ap.add_argument("--process", choices=["classify", "explain_attr"], default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ref.SCAN = a.scan
    if a.process:
        sd, meta = read_safetensors(a.checkpoint)
        img = preprocess_crop(a.image)
        if a.process == "classify":
            with torch.no_grad():
                print(int(ref.vim_forward(img, sd, int(meta.get("depth", 24)), 16)[0].argmax()))
        else:
            np.save(os.path.splitext(a.json)[0] + "_attr.npy", attr_official(sd, img, int(meta.get("depth", 24))).detach().numpy())
        return
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(), "scan": a.scan,
           "scan_check_rel": ref.check_scans(),
           "blas": "see torch.__config__ (BLAS_INFO) and update-alternatives libblas.so.3"}

    def classify_e2e():
        sd, meta = read_safetensors(a.checkpoint)
        with torch.no_grad():
            return ref.vim_forward(preprocess_crop(a.image), sd, int(meta.get("depth", 24)), 16)[0]

    res["classify_e2e"] = best_of(classify_e2e, a.repeat, "classify_e2e")
    save(res, a.json)
    sd, meta = read_safetensors(a.checkpoint)
    depth = int(meta.get("depth", 24))
    img = preprocess_crop(a.image)
    with torch.no_grad():
        logits = ref.vim_forward(img, sd, depth, 16)[0]
    if a.ours_logits:
        ours = torch.from_numpy(np.load(a.ours_logits))
        res["logits_max_abs_diff"] = float((ours - logits).abs().max())
        res["logits_scale"] = float(logits.abs().max())
        res["same_top1"] = int(ours.argmax()) == int(logits.argmax())

    def forward():
        with torch.no_grad():
            ref.vim_forward(img, sd, depth, 16)
    res["forward"] = best_of(forward, a.repeat, "forward")
    save(res, a.json)
    res["explain_attr"] = best_of(lambda: attr_official(sd, img, depth), max(1, a.repeat - 1), "explain_attr")
    save(res, a.json)

    if a.scan == "sequential":  # these do not run the scan: timed once, with the sequential run
        time_layer_attention_and_gemm(res, sd, img, depth, a)

    params = {k: v.clone().requires_grad_() for k, v in sd.items()}
    opt = torch.optim.AdamW(params.values(), lr=1e-4)
    g = torch.Generator().manual_seed(7)
    x8 = torch.randn(2, 3, 224, 224, generator=g)
    y8 = torch.tensor([i * 37 % 1000 for i in range(2)])

    def train_step():
        opt.zero_grad()
        out = ref.vim_forward(x8, params, depth, 16)[0]
        torch.nn.functional.cross_entropy(out, y8, label_smoothing=0.1).backward()
        opt.step()
    res["train_step_b2"] = best_of(train_step, 1, "train_step (batch 2)")

    save(res, a.json)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
